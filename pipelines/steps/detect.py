"""Detect step: documents with topics, regions, sectors and organisations -> EmergenceDetector -> the store.

Writes `trend_scores` (one row per topic, read by the digest), `trend_cells` (every topic x region /
sector / kind cell with its test and components) and `emergent_terms` (Porter ESc). Regions and sectors
come from the enrichment tables `doc_regions` / `doc_sectors`; documents enrichment has not reached
fall back to `document_organisations.nuts_code` and `documents.codes.sector`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from nlp.emergence import EmergenceDetector
from nlp.term_trends import TermCounts, TermIndex
from nlp.terms import EmergentTermScorer
from nlp.trends import TooLittleHistory, data_edge
from pipelines.runs import StepResult
from pipelines.settings import TrendSettings
from pipelines.store import Store
from pipelines.views.bursts import (
    FlagJudge,
    baseline_documents,
    recent_documents,
)
from pipelines.views.features import ORGANISATIONS_SQL, REGIONS_SQL, SECTORS_SQL
from pipelines.views.feedback import apply_feedback, latest_feedback
from pipelines.views.topic_model import one_partition

logger = logging.getLogger(__name__)

COMPONENTS = ["acceleration", "novelty", "persistence", "spread", "active_periods", "age_periods", "distance",
              "n_regions", "n_sectors", "n_orgs", "n_new_orgs", "new_org_share", "diversity_baseline",
              "diversity_recent", "sector_mix", "bridges", "emerging_regions", "cross_border_orgs", "specificity",
              "dispersion"]
RUNNERS_UP = 5  # unflagged terms kept per term the trends view shows (it drops those with a corpus-generic word)


def doc_topics(store: Store, until=None) -> pd.DataFrame:
    """Canonical documents (one per near-duplicate group) with a topic, dated on or before `until`, each in its
    topic of one partition of them all (`pipelines.views.topic_model.one_partition`)."""
    docs = store.df("SELECT a.doc_id, a.topic_id, d.published_on, d.source, d.kind FROM topic_assignments a "
                    "JOIN canonical_documents d USING (doc_id) WHERE d.published_on IS NOT NULL "
                    "AND d.published_on <= ?", [until or "9999-12-31"])
    return one_partition(store, docs)


def doc_regions(store: Store) -> pd.DataFrame:
    """doc_id, code (NUTS-2) of every document."""
    return store.df(f"SELECT doc_id, nuts2 AS code FROM ({REGIONS_SQL})")


def doc_sectors(store: Store) -> pd.DataFrame:
    """doc_id, sector of every document."""
    return store.df(f"SELECT doc_id, sector FROM ({SECTORS_SQL})")


def doc_orgs(store: Store) -> pd.DataFrame:
    """doc_id, org (id or name), region (NUTS-2), country of the organisations behind documents."""
    return store.df(ORGANISATIONS_SQL)


def doc_groups(docs: pd.DataFrame, regions: pd.DataFrame, sectors: pd.DataFrame) -> pd.DataFrame:
    """The sub-corpora of each document: doc_id, scope (region | sector | kind), cell."""
    parts = [regions.rename(columns={"code": "cell"}).assign(scope="region"),
             sectors.rename(columns={"sector": "cell"}).assign(scope="sector")]
    if docs["kind"].nunique() > 1:  # with one kind, its cells would repeat the topic tests
        parts.append(docs[["doc_id", "kind"]].rename(columns={"kind": "cell"}).assign(scope="kind"))
    groups = pd.concat(parts, ignore_index=True)[["doc_id", "scope", "cell"]]
    return groups[groups["doc_id"].isin(docs["doc_id"])]


def centroids(store: Store) -> dict[int, np.ndarray]:
    rows = store.df("SELECT topic_id, centroid FROM topics WHERE centroid IS NOT NULL")
    return {int(t): np.asarray(c, dtype=float) for t, c in zip(rows["topic_id"], rows["centroid"], strict=True)}


def term_min_docs(trends: TrendSettings) -> int:
    """The fewest documents a term needs to be counted, for the term cells or ESc (whichever are on)."""
    return min(m for m, on in ((trends.min_docs, trends.term_cells), (trends.esc_min_records, trends.terms)) if on)


def score_cells(store: Store, trends: TrendSettings, as_of=None, index: TermIndex | None = None
                ) -> tuple[EmergenceDetector, pd.DataFrame, pd.DataFrame, TermCounts | None]:
    """Fit the detector on documents dated up to `as_of` (default: the newest); return (detector, cells, docs,
    the term counts of the detection window and the ESc window, read and counted once for both, or sliced
    from `index`, the corpus's terms vectorized once, which gives the same counts)."""
    docs = doc_topics(store, as_of)
    if docs.empty:
        return EmergenceDetector(**trends.detector_options()), pd.DataFrame(), docs, None
    detector = EmergenceDetector(**trends.detector_options()).fit(docs, as_of=as_of)
    counts = None
    if trends.term_cells or trends.terms:
        wanted = pd.Series(False, index=docs.index)
        if trends.term_cells:
            wanted |= docs["doc_id"].isin(detector.window_["doc_id"])
        if trends.terms:
            wanted |= docs["doc_id"].isin(detector.esc_window_["doc_id"])
        ids = docs.loc[wanted, "doc_id"]
        min_docs = term_min_docs(trends)
        counts = index.counts(ids, min_docs) if index is not None else \
            TermCounts.from_texts(pd.Series(store.texts(ids.tolist()), index=ids.to_numpy()), min_docs)
    cells = detector.transform(docs, groups=doc_groups(docs, doc_regions(store), doc_sectors(store)),
                               orgs=doc_orgs(store), centroids=centroids(store),
                               terms=counts if trends.term_cells else None)
    return detector, cells, docs, counts


def emergent_terms(trends: TrendSettings, detector: EmergenceDetector, counts: TermCounts) -> pd.DataFrame:
    """Porter ESc over the base + active periods ending at the as-of date, linked to topics and the outlier pool."""
    window = detector.esc_window_
    scorer = EmergentTermScorer(**trends.scorer_options())
    matrix, names = counts.subset(window["doc_id"], trends.esc_min_records)
    return scorer.fit_matrix(matrix, names, window["t"].astype(int).to_numpy(), window["topic_id"].to_numpy()).terms_


def _evidence(row, topics: pd.DataFrame, series: dict, recent: list[str]) -> str:
    label = topics["label"].get(row.topic_id, f"topic {row.topic_id}")
    return json.dumps({"label": label, "terms": json.loads(topics["terms"].get(row.topic_id, "[]") or "[]"),
                       "series": series.get(int(row.topic_id), []), "recent_periods": recent,
                       "onset": None if pd.isna(row.onset) else row.onset.strftime("%Y-%m-%d"),
                       "is_cross_sectoral": _is(row.is_cross_sectoral), "is_cross_border": _is(row.is_cross_border),
                       "components": _components(row)}, default=_plain)


def _is(value) -> bool:
    return bool(value) if isinstance(value, (bool, np.bool_)) else False


def _components(row) -> dict:
    values = {"growth": float(np.log2(row.growth))} | {k: getattr(row, k) for k in COMPONENTS if hasattr(row, k)}
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in values.items()}


def _plain(value):
    return value.tolist() if hasattr(value, "tolist") else str(value)


def share_series(docs: pd.DataFrame, detector: EmergenceDetector) -> dict[int, list[tuple[str, float, int]]]:
    """Per topic: (period start, share of all documents, count) for every period of the detection (anchored at
    its as-of date) up to it, oldest first."""
    counts = docs.assign(period=detector.period_starts(docs)).groupby(["period", "topic_id"]).size()
    wide = counts.unstack("topic_id", fill_value=0)
    totals = wide.sum(axis=1)
    return {int(t): [(p.strftime("%Y-%m-%d"), float(n / totals[p]), int(n)) for p, n in wide[t].items()]
            for t in wide.columns}


def with_verdicts(store: Store, trends: TrendSettings, detector: EmergenceDetector, scores: pd.DataFrame,
                  cells: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies of `scores` and `cells` with the verdict (emerging | burst | style) and its reason of every flagged
    topic (in either) and flagged term, judged on its marker (terms) and the detection's recent documents; NULL
    for the others."""
    topic_ids = set(scores.loc[scores["flagged"].astype(bool), "topic_id"]) | set(
        cells.loc[(cells["scope"] == "topic") & cells["flagged"].astype(bool), "topic_id"])
    terms = cells.loc[(cells["scope"] == "term") & cells["flagged"].astype(bool), "cell"]
    judged: dict[tuple[str, object], tuple[str, str]] = {}
    if topic_ids or not terms.empty:
        judge = FlagJudge(recent_documents(store, detector), trends, baseline_documents(store, detector))
        topic_terms = store.df("SELECT topic_id, terms FROM topics").set_index("topic_id")["terms"]
        judged = {("topic", t): judge("topic", t, "", json.loads(topic_terms.get(t, "[]") or "[]"))
                  for t in topic_ids}
        judged |= {("term", c): judge("term", -1, c, [c]) for c in set(terms)}
    none = (None, None)
    by_topic = [judged.get(("topic", t), none) for t in scores["topic_id"]]
    by_cell = [judged.get((s, t if s == "topic" else c), none) if f else none
               for s, t, c, f in zip(cells["scope"], cells["topic_id"], cells["cell"], cells["flagged"], strict=True)]
    return (scores.assign(verdict=[v for v, _ in by_topic], verdict_reason=[r for _, r in by_topic]),
            cells.assign(verdict=[v for v, _ in by_cell], verdict_reason=[r for _, r in by_cell]))


def detect(store: Store, trends: TrendSettings, run_id: str, as_of=None) -> StepResult:
    """Score every topic and cell at `as_of` (default: the newest document) and write them under `run_id`."""
    result = StepResult("detect")
    try:
        detector, cells, docs, counts = score_cells(store, trends, as_of)
    except TooLittleHistory as exc:
        return too_little_history(store, trends, run_id, as_of, str(exc), result)
    if cells.empty:
        result.skip("no_topic_counts")
        return result
    as_of = detector.as_of_
    topic_rows = cells[cells["scope"] == "topic"].copy()
    recent = detector.window_["recent"]
    topic_rows["share_recent"] = topic_rows["n_recent"] / max(int(recent.sum()), 1)
    topic_rows["share_baseline"] = topic_rows["n_baseline"] / max(int((~recent).sum()), 1)
    topics = store.df("SELECT topic_id, label, terms FROM topics").set_index("topic_id")
    series = share_series(docs, detector)
    recent_labels = [p.strftime("%Y-%m-%d") for p in detector.recent_periods_]
    topic_rows["evidence"] = [_evidence(r, topics, series, recent_labels) for r in topic_rows.itertuples()]
    scores = topic_rows[["topic_id", "rank", "n_recent", "n_baseline", "share_recent", "share_baseline", "growth",
                         "p_value", "q_value", "score", "flagged", "evidence"]].assign(detect_id=run_id)
    scores = apply_feedback(scores, latest_feedback(store))  # watched: always reported; rejected: suppressed
    is_term = cells["scope"] == "term"  # tens of thousands: keep the flagged ones and the best runners-up by q
    runners_up = cells[is_term & ~cells["flagged"].astype(bool)].sort_values(["q_value", "p_value"], kind="stable")\
        .index[:RUNNERS_UP * trends.top_n]  # `trends --terms` ranks by q and drops those with a generic word
    kept = cells[(cells["scope"] == "topic") | (~is_term & cells["tested"] & (cells["n_recent"] >= trends.min_docs))
                 | (is_term & (cells["flagged"] | (cells["rank"] <= trends.top_n)))  # what the forecast step reads
                 | cells.index.isin(runners_up)].copy()
    kept["components"] = [json.dumps(_components(r), default=_plain) for r in kept.itertuples()]
    kept = kept.assign(detect_id=run_id, is_cross_sectoral=kept["is_cross_sectoral"].fillna(False).astype(bool),
                       is_cross_border=kept["is_cross_border"].fillna(False).astype(bool))
    scores, kept = with_verdicts(store, trends, detector, scores, kept)
    kept = kept[["detect_id", "topic_id", "scope", "cell", "country", "rank", "n_recent", "n_baseline",
                 "expected_recent", "growth", "p_value", "q_value", "score", "flagged", "location_quotient",
                 "growth_vs_eu", "onset", "is_cross_sectoral", "is_cross_border", "components", "verdict",
                 "verdict_reason"]]
    terms = emergent_terms(trends, detector, counts).assign(detect_id=run_id) if trends.terms else pd.DataFrame()
    params = trends.model_dump() | {"period": detector.period_, "dispersion": detector.dispersion_.as_dict(),
                                    "recent_periods": len(detector.recent_periods_),
                                    "baseline_periods": len(detector.baseline_periods_),
                                    "history": detector.history_.as_dict(), "kinds": sorted(docs["kind"].unique())}
    with store.transaction() as con:
        for table in ("trend_scores", "trend_cells", "emergent_terms", "detections"):
            con.execute(f"DELETE FROM {table} WHERE detect_id = ?", [run_id])
        con.execute("INSERT INTO detections VALUES (?, ?, ?, ?, ?, ?)", [
            run_id, run_id, as_of.date(), detector.period_, datetime.now(UTC), json.dumps(params, default=str)])
        store.insert_frame("trend_scores", scores)
        store.insert_frame("trend_cells", kept)
        store.insert_frame("emergent_terms", terms)
    if detector.history_.note:
        logger.warning("detect: %s", detector.history_.note)
    result.count(topics=len(scores), flagged=int(scores["flagged"].sum()),
                 cells_flagged=int(kept.loc[~kept["scope"].isin(["topic", "term"]), "flagged"].sum()),
                 terms_flagged=int(kept.loc[kept["scope"] == "term", "flagged"].sum()), terms=len(terms))
    return result


def too_little_history(store: Store, trends: TrendSettings, run_id: str, as_of, note: str,
                       result: StepResult) -> StepResult:
    """Record a detection without scores that says why (the digest, dashboard and `trends` show the note)."""
    logger.warning("detect: %s", note)
    dates = store.df("SELECT published_on FROM canonical_documents WHERE published_on IS NOT NULL")["published_on"]
    day = pd.Timestamp(as_of).normalize() if as_of is not None else data_edge(dates)
    params = trends.model_dump() | {"history": {"too_little": True, "shortened": False, "note": note}}
    with store.transaction() as con:
        for table in ("trend_scores", "trend_cells", "emergent_terms", "detections"):
            con.execute(f"DELETE FROM {table} WHERE detect_id = ?", [run_id])
        con.execute("INSERT INTO detections VALUES (?, ?, ?, ?, ?, ?)",
                    [run_id, run_id, day.date(), None, datetime.now(UTC), json.dumps(params, default=str)])
    result.skip("too_little_history")
    return result
