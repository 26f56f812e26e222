"""Where to act: a region's brief and a theme's geography, read by the CLI, the dashboard and the digest.

The region x theme matrix counts each canonical document with a stable topic once, split over its regions:
enriched documents by their tagged NUTS codes and weights (`doc_regions`: organisations' codes, text placement
for news), others by their organisations' NUTS codes. Measures in `nlp.geography`, definitions in docs/regions.md.
"Rising in Europe" is the latest detection's flag on the topic; "rising in a region" its flag on the
topic x NUTS-2 cell. Organisations come from the documents' own organisation lists (CORDIS, keep.eu, patents).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import pandas as pd

from nlp.geography import (
    Geography,
    cross_border_pairs,
    internationalisation,
    measure,
    region_theme_matrix,
    shared_projects,
)
from pipelines.settings import GeographySettings
from pipelines.store import Store
from pipelines.views.detections import latest_detection
from pipelines.views.themes import NUTS, has_table


def _level(code: str | None) -> int:
    return len(code) - 2 if code and len(code) == 5 else 2


_DATED = "(CAST(? AS DATE) IS NULL OR c.published_on >= ?) AND (CAST(? AS DATE) IS NULL OR c.published_on <= ?)"


def places(store: Store, level: int = 2, start: date | None = None, end: date | None = None) -> pd.DataFrame:
    """doc_id, region (NUTS code cut to `level`), weight: where each canonical document (published between
    `start` and `end` when given) is."""
    n = level + 2
    return store.df(f"""
        WITH r AS (SELECT doc_id, code, coalesce(weight, 1.0) AS weight FROM doc_regions WHERE length(code) >= {n}
                   UNION ALL
                   SELECT doc_id, nuts_code, 1.0 FROM document_organisations WHERE length(nuts_code) >= {n}
                   AND doc_id NOT IN (SELECT doc_id FROM doc_features))
        SELECT r.doc_id, left(r.code, {n}) AS region, sum(r.weight) AS weight
        FROM r JOIN canonical_documents c USING (doc_id) WHERE {_DATED} GROUP BY ALL""", [start, start, end, end])


def organisations(store: Store, level: int = 2) -> pd.DataFrame:
    """doc_id, region, country, organisation: one row per organisation of a document."""
    return store.df(f"SELECT DISTINCT doc_id, left(nuts_code, {level + 2}) AS region, upper(country) AS country, "
                    "coalesce(name, org_id) AS organisation FROM document_organisations "
                    "WHERE coalesce(name, org_id) IS NOT NULL")


@dataclass(frozen=True)
class Atlas:
    """Everything the briefs read, loaded once: the measures, labels, flags, organisations."""

    geo: Geography
    labels: dict[int, str]
    rising: set[int]  # topics flagged in the latest detection
    rising_cells: set[tuple[int, str]]  # (topic, NUTS-2) cells flagged in it
    orgs: pd.DataFrame  # doc_id, region, country, organisation, topic_id
    names: dict[str, str]
    options: GeographySettings

    @cached_property
    def _carriers(self) -> dict[tuple[str, int], list[str]]:
        counts = self.orgs.groupby(["region", "topic_id", "organisation"])["doc_id"].nunique().reset_index()
        counts = counts.sort_values(["doc_id", "organisation"], ascending=[False, True])
        carriers: dict[tuple[str, int], list[str]] = {}
        for region, topic_id, name in counts.groupby(["region", "topic_id"]).head(self.options.top_n)[
                ["region", "topic_id", "organisation"]].itertuples(index=False):
            carriers.setdefault((region, int(topic_id)), []).append(name)
        return carriers

    def organisations_in(self, region: str, topic_id: int) -> list[str]:
        """The region's organisations with documents in the theme, most documents first."""
        return self._carriers.get((region, int(topic_id)), [])

    def status(self, topic_id: int) -> pd.DataFrame:
        """region, rca, rising for one theme (the input of `cross_border_pairs`)."""
        column = self.geo.rca[topic_id]
        return pd.DataFrame({"region": column.index, "rca": column.to_numpy(),
                             "rising": [(topic_id, r[:4]) in self.rising_cells for r in column.index]})


def atlas(store: Store, options: GeographySettings, level: int = 2, start: date | None = None,
          end: date | None = None) -> Atlas | None:
    """Load the matrix (of the documents published between `start` and `end`, when given) and what goes with
    it; None when no document has both a region and a stable topic."""
    themes = store.df("SELECT a.doc_id, a.topic_id FROM topic_assignments a JOIN canonical_documents c "
                      f"USING (doc_id) WHERE a.topic_id >= 0 AND {_DATED}", [start, start, end, end])
    counts = region_theme_matrix(places(store, level, start, end), themes)
    if counts.empty:
        return None
    labels = dict(store.df("SELECT topic_id, label FROM topics").itertuples(index=False))
    detect_id = latest_detection(store)
    rising: set[int] = set()
    cells: set[tuple[int, str]] = set()
    if detect_id:
        scores = store.df("SELECT topic_id, flagged, evidence FROM trend_scores WHERE detect_id = ?", [detect_id])
        rising = {int(t) for t, f in zip(scores["topic_id"], scores["flagged"], strict=True) if f}
        for t, evidence in zip(scores["topic_id"], scores["evidence"], strict=True):
            labels.setdefault(int(t), json.loads(evidence or "{}").get("label"))
        if has_table(store, "trend_cells"):
            flagged = store.df("SELECT topic_id, cell FROM trend_cells WHERE detect_id = ? AND scope = 'region' "
                               "AND flagged", [detect_id])
            cells = {(int(t), c) for t, c in flagged.itertuples(index=False)}
    orgs = organisations(store, level).merge(themes, on="doc_id")
    names = dict(store.df("SELECT code, name FROM nuts_regions").itertuples(index=False))
    return Atlas(measure(counts, rca_threshold=options.rca_threshold), labels, rising, cells, orgs, names, options)


def list_regions(store: Store, level: int = 2) -> list[dict]:
    """Regions with their documents (whole and weighted), most first."""
    frame = places(store, level)
    if frame.empty:
        return []
    frame["share"] = frame["weight"] / frame.groupby("doc_id")["weight"].transform("sum")
    table = frame.groupby("region").agg(n_docs=("doc_id", "nunique"), weighted=("share", "sum")).reset_index()
    names = dict(store.df("SELECT code, name FROM nuts_regions").itertuples(index=False))
    table = table.sort_values(["n_docs", "region"], ascending=[False, True])
    return [{"region": r.region, "name": names.get(r.region), "n_docs": int(r.n_docs),
             "weighted_docs": round(float(r.weighted), 2)} for r in table.itertuples()]


def _pairs_for(a: Atlas, topic_id: int, shared: pd.Series, region: str | None = None) -> list[dict]:
    pairs = cross_border_pairs(a.status(topic_id), shared, rca_threshold=a.options.rca_threshold)
    out = []
    for p in pairs.itertuples():
        if region is not None and region not in (p.region, p.partner_region):
            continue
        here, there = (p.region, p.partner_region) if region in (None, p.region) else (p.partner_region, p.region)
        rca_here, rca_there = (p.rca, p.partner_rca) if here == p.region else (p.partner_rca, p.rca)
        out.append({"topic_id": topic_id, "label": a.labels.get(topic_id), "region": here, "name": a.names.get(here),
                    "partner_region": there, "partner_name": a.names.get(there), "partner_country": there[:2],
                    "basis": p.basis, "rca": round(float(rca_here), 3), "partner_rca": round(float(rca_there), 3),
                    "organisations": a.organisations_in(here, topic_id),
                    "partner_organisations": a.organisations_in(there, topic_id),
                    "shared_projects": int(p.shared_projects),
                    "existing_collaboration": bool(p.existing_collaboration)})
    return out


def consortia(store: Store, level: int = 2) -> pd.Series:
    """Projects (any document with organisations, any theme) joining each pair of regions: who already works
    with whom."""
    n = level + 2  # NUTS codes the organisations carry (CORDIS), or enrichment placed their coordinates in (keep.eu)
    return shared_projects(store.df(
        f"SELECT DISTINCT doc_id, left(nuts_code, {n}) AS region FROM document_organisations "
        f"WHERE length(nuts_code) >= {n} UNION SELECT doc_id, left(code, {n}) FROM doc_regions "
        f"WHERE evidence = 'coordinates' AND length(code) >= {n} "
        "AND doc_id IN (SELECT doc_id FROM document_organisations)"))


def international(store: Store, topic_ids: list[int], options: GeographySettings) -> list[dict]:
    """Per theme: the share of participations from outside the EU, its trend and the top non-EU partners."""
    if not topic_ids:
        return []
    frame = store.df("SELECT a.topic_id, o.doc_id, upper(o.country) AS country, coalesce(o.name, o.org_id) AS "
                     "organisation, d.published_on AS date FROM document_organisations o JOIN topic_assignments a "
                     "USING (doc_id) JOIN canonical_documents d USING (doc_id) WHERE a.topic_id IN (SELECT unnest(?)) "
                     "AND o.country IS NOT NULL AND d.published_on IS NOT NULL", [topic_ids])
    if frame.empty:
        return []
    since = pd.Timestamp(frame["date"].max()) - timedelta(days=options.non_eu_recent_days)
    table = internationalisation(frame, since=since, **options.internationalisation_options())
    order = {t: i for i, t in enumerate(topic_ids)}
    rows = sorted(table.to_dict("records"), key=lambda r: order.get(r["topic_id"], len(order)))
    return [{"topic_id": int(r["topic_id"]), "non_eu_share": round(float(r["non_eu_share"]), 4),
             "share_before": _round(r["share_before"]), "share_since": _round(r["share_since"]),
             "since": str(since.date()), "rising": bool(r["rising"]), "n_participations": int(r["n"]),
             "top_countries": [{"country": c, "n": n} for c, n in r["top_countries"]],
             "top_organisations": [{"name": o, "country": c, "n": n} for o, c, n in r["top_organisations"]]}
            for r in rows]


def _round(x) -> float | None:
    return None if x is None or x != x else round(float(x), 4)


def region_brief(store: Store, code: str, options: GeographySettings, a: Atlas | None = None,
                 start: date | None = None, end: date | None = None, links: pd.Series | None = None) -> dict | None:
    """A region's specialisations, rising themes, adjacent possible, cross-border partners and non-EU partners.

    None when the code is not a NUTS-2/3 code or no document of the region has a stable topic. `start`, `end`:
    the measures of the documents published then (the non-EU shares always read the whole history). `a` and
    `links` (`consortia` at NUTS-2), when given, serve NUTS-2 codes: several briefs load them once.
    """
    code = code.strip().upper()
    if not NUTS.match(code) or len(code) < 4:
        return None
    a = a if a is not None and _level(code) == 2 else atlas(store, options, _level(code), start, end)
    if a is None or code not in a.geo.counts.index:
        return None
    k = options.top_n
    rca, density, counts = a.geo.rca.loc[code], a.geo.density.loc[code], a.geo.counts.loc[code]
    specialised = rca[rca >= options.rca_threshold].sort_values(ascending=False)
    rising_here = sorted({t for t, c in a.rising_cells if c == code[:4] and t in rca.index},
                         key=lambda t: -counts[t])
    specialisations = [{"topic_id": int(t), "label": a.labels.get(int(t)), "rca": round(float(v), 3),
                        "documents": round(float(counts[t]), 2), "rising": int(t) in a.rising,
                        "organisations": a.organisations_in(code, int(t))} for t, v in specialised.head(k).items()]
    # the adjacent possible: no RCA yet, relatedness above the theme's median across regions; rising ones first
    typical = a.geo.density.median(axis=0)
    candidates = [t for t in rca.index if rca[t] < options.rca_threshold and density[t] > typical[t]]
    candidates.sort(key=lambda t: (int(t) not in a.rising, -density[t]))
    adjacent = []
    for t in candidates[:k]:
        via = _closest_specialisation(a, t, specialised.index)
        adjacent.append({"topic_id": int(t), "label": a.labels.get(int(t)),
                         "relatedness_density": round(float(density[t]), 2), "rising": int(t) in a.rising,
                         "rca": round(float(rca[t]), 3), "via": via,
                         "organisations": a.organisations_in(code, int(t)) or
                         (a.organisations_in(code, via["topic_id"]) if via else [])})
    links = links if links is not None and _level(code) == 2 else consortia(store, _level(code))
    themes = list(dict.fromkeys([*rising_here, *specialised.index]))
    pairs = [p for t in themes for p in _pairs_for(a, int(t), links, code)]
    pairs.sort(key=lambda p: (["rising and specialised", "rising", "specialised"].index(p["basis"]),
                              -min(p["rca"], p["partner_rca"])))
    own = [int(t) for t in specialised.index[:k]]
    return {
        "region": code, "name": a.names.get(code), "documents": round(float(counts.sum()), 2),
        "from": str(start) if start else None, "to": str(end) if end else None,
        "eci": _round(a.geo.eci.get(code)),
        "specialisations": specialisations,
        "rising_in_region": [{"topic_id": int(t), "label": a.labels.get(int(t)), "rca": round(float(rca[t]), 3)}
                             for t in rising_here[:k]],
        "rising_in_europe": [{"topic_id": t, "label": a.labels.get(t), "rca": round(float(rca[t]), 3),
                              "relatedness_density": round(float(density[t]), 2)}
                             for t in sorted(a.rising, key=lambda t: -density.get(t, 0)) if t in rca.index][:k],
        "adjacent_possible": adjacent,
        "cross_border": [{"topic_id": p["topic_id"], "label": p["label"], "partner_region": p["partner_region"],
                          "partner_name": p["partner_name"], "partner_country": p["partner_country"],
                          "basis": p["basis"], "organisations": p["organisations"],
                          "partner_organisations": p["partner_organisations"], "shared_projects": p["shared_projects"],
                          "existing_collaboration": p["existing_collaboration"]} for p in pairs[:k]],
        "international": [{**row, "label": a.labels.get(row["topic_id"])}
                          for row in international(store, own + [x["topic_id"] for x in adjacent], options)],
    }


def _closest_specialisation(a: Atlas, topic_id, specialised: pd.Index) -> dict | None:
    """The region's specialisation most related to `topic_id` (its way in), if any is related at all."""
    if not len(specialised):
        return None
    phi = a.geo.proximity.loc[specialised, topic_id]
    best = phi.idxmax()
    return {"topic_id": int(best), "label": a.labels.get(int(best)), "proximity": round(float(phi[best]), 3)} \
        if phi[best] > 0 else None


def theme_geography(store: Store, topic_id: int, options: GeographySettings, a: Atlas | None = None) -> dict:
    """A theme's specialised regions, its cross-border collaboration areas and its non-EU partners."""
    a = a if a is not None else atlas(store, options)
    intl = international(store, [topic_id], options)
    if a is None or topic_id not in a.geo.rca.columns:
        return {"topic_id": topic_id, "specialised": [], "cross_border": [], "international": intl[0] if intl else None}
    rca = a.geo.rca[topic_id].sort_values(ascending=False)
    specialised = [{"region": r, "name": a.names.get(r), "rca": round(float(v), 3),
                    "documents": round(float(a.geo.counts.loc[r, topic_id]), 2)}
                   for r, v in rca[rca >= options.rca_threshold].head(options.top_n).items()]
    pairs = _pairs_for(a, topic_id, consortia(store))[: options.top_n]
    return {"topic_id": topic_id, "pci": _round(a.geo.pci.get(topic_id)), "specialised": specialised,
            "cross_border": pairs, "international": intl[0] if intl else None}


def digest_geography(store: Store, codes: list[str], topic_ids: list[int], options: GeographySettings,
                     k_pairs: int = 3) -> dict:
    """The digest's section: the rising themes' top cross-border pairs and those whose non-EU share rises,
    and the followed regions' briefs."""
    a = atlas(store, options)
    if a is None:
        return {"briefs": [], "collaboration": [], "non_eu_rising": []}
    links = consortia(store)
    briefs = [b for code in codes if (b := region_brief(store, code, options, a, links=links)) is not None]
    areas = [{"topic_id": t, "label": a.labels.get(t), "pairs": _pairs_for(a, t, links)[:k_pairs]}
             for t in topic_ids if t in a.geo.rca.columns]
    non_eu = [{**row, "label": a.labels.get(row["topic_id"])} for row in international(store, topic_ids, options)
              if row["rising"]]
    return {"briefs": briefs, "collaboration": [x for x in areas if x["pairs"]], "non_eu_rising": non_eu}
