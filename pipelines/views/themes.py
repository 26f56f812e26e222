"""What an analyst reads about one theme: regions, sectors, documents, organisations, onset and lineage.

Shared by the digest and the dashboard. Where the detector's per-cell table (`trend_cells`) holds rows for
the detection, regions, sectors, onset and components come from it; otherwise they are computed from the
base tables: a document's NUTS-2 regions are the first 4 characters of its organisations' NUTS codes, its
sectors come from `documents.codes` ('sector', else 'legal_basis'), and a location quotient is the topic's
share of a region's documents over its share of all documents with a region.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlparse

import pandas as pd

from pipelines.store import Store
from pipelines.views.features import REGION_CODES_SQL, REGIONS_SQL, SECTORS_SQL

NUTS = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,3}$")


def safe_url(url: str | None) -> str | None:
    """Keep only absolute http(s) links (crawled URLs are untrusted; a missing one may arrive as NaN)."""
    if not isinstance(url, str) or not url:
        return None
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


def has_table(store: Store, name: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))


@dataclass(frozen=True)
class DocFilter:
    """Which documents count: a date range, a NUTS region (any level), a sector and a kind."""

    start: date | None = None
    end: date | None = None
    region: str | None = None
    sector: str | None = None
    kind: str | None = None

    def sql(self, alias: str = "d") -> tuple[str, list]:
        """A WHERE condition on documents `alias` and its parameters ('TRUE' when nothing is set)."""
        parts, params = ["TRUE"], []
        if self.start:
            parts.append(f"{alias}.published_on >= ?")
            params.append(self.start)
        if self.end:
            parts.append(f"{alias}.published_on <= ?")
            params.append(self.end)
        if self.region:
            parts.append(f"{alias}.doc_id IN (SELECT doc_id FROM ({REGION_CODES_SQL}) WHERE starts_with(code, ?))")
            params.append(self.region)
        if self.sector:
            parts.append(f"{alias}.doc_id IN (SELECT doc_id FROM ({SECTORS_SQL}) WHERE sector = ?)")
            params.append(self.sector)
        if self.kind:
            parts.append(f"{alias}.kind = ?")
            params.append(self.kind)
        return " AND ".join(parts), params


def topic_cell(store: Store, detect_id: str, topic_id: int) -> dict | None:
    """The detector's scope-'topic' cell (components, onset, cross-sectoral/-border flags), if recorded."""
    rows = _cells(store, detect_id, topic_id, "topic")
    return rows[0] if rows else None


def _cells(store: Store, detect_id: str, topic_id: int, scope: str) -> list[dict]:
    if not has_table(store, "trend_cells"):
        return []
    frame = store.df("SELECT c.*, n.name FROM trend_cells c LEFT JOIN nuts_regions n ON n.code = c.cell "
                     "WHERE detect_id = ? AND topic_id = ? AND scope = ? ORDER BY n_recent DESC, cell",
                     [detect_id, topic_id, scope])
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        row["components"] = json.loads(row["components"]) if row.get("components") else {}
    return rows


def theme_regions(store: Store, topic_id: int, since: date, detect_id: str, k: int = 10) -> list[dict]:
    """Regions of a theme's recent documents, most documents first: code, name, country, n, lq."""
    cells = _cells(store, detect_id, topic_id, "region")
    if cells:
        return [{"code": c["cell"], "name": c["name"], "country": c["country"], "n": int(c["n_recent"] or 0),
                 "lq": c["location_quotient"], "flagged": bool(c["flagged"])} for c in cells[:k]]
    return _quotients(store, REGIONS_SQL, "nuts2", topic_id, since, k,
                      extra="any_value(x.country) AS country, any_value(n.name) AS name",
                      join="LEFT JOIN nuts_regions n ON n.code = x.nuts2", key="code")


def theme_sectors(store: Store, topic_id: int, since: date, detect_id: str, k: int = 8) -> list[dict]:
    """Sectors of a theme's recent documents: sector, n, share (of the theme's documents with a sector), lq,
    confidence (the mean score of the labels, which enrichment keeps only above their calibrated threshold)."""
    cells = _cells(store, detect_id, topic_id, "sector")
    if cells:
        total = sum(int(c["n_recent"] or 0) for c in cells) or 1
        rows = [{"sector": c["cell"], "n": int(c["n_recent"] or 0), "share": (c["n_recent"] or 0) / total,
                 "lq": c["location_quotient"], "flagged": bool(c["flagged"])} for c in cells[:k]]
    else:
        rows = _quotients(store, SECTORS_SQL, "sector", topic_id, since, k, key="sector")
        total = sum(r["n"] for r in rows) or 1
        rows = [{**r, "share": r["n"] / total} for r in rows]
    confidence = dict(store.con.execute(
        "SELECT s.sector, avg(s.score) FROM doc_sectors s JOIN topic_assignments a USING (doc_id) "
        "JOIN documents d USING (doc_id) WHERE a.topic_id = ? AND d.published_on >= ? GROUP BY 1",
        [topic_id, since]).fetchall())
    return [{**r, "confidence": confidence.get(r["sector"])} for r in rows]


def _quotients(store: Store, cells_sql: str, column: str, topic_id: int, since: date, k: int, *, key: str,
               extra: str = "NULL AS _none", join: str = "") -> list[dict]:
    """Documents of the topic per cell since `since`, with location quotients against all topics."""
    frame = store.df(f"""
        WITH docs AS (SELECT d.doc_id, a.topic_id FROM documents d JOIN topic_assignments a USING (doc_id)
                      WHERE d.published_on >= ?),
             x AS (SELECT c.*, docs.topic_id FROM docs JOIN ({cells_sql}) c USING (doc_id)),
             totals AS (SELECT count(DISTINCT doc_id) FILTER (WHERE topic_id = ?) AS n_topic,
                               count(DISTINCT doc_id) AS n_all FROM x)
        SELECT x.{column} AS cell, {extra}, count(*) FILTER (WHERE x.topic_id = ?) AS n, count(*) AS n_cell,
               any_value(totals.n_topic) AS n_topic, any_value(totals.n_all) AS n_all
        FROM x CROSS JOIN totals {join} GROUP BY x.{column}
        HAVING count(*) FILTER (WHERE x.topic_id = ?) > 0 ORDER BY n DESC, cell LIMIT ?""",
                     [since, topic_id, topic_id, topic_id, k])
    frame["lq"] = (frame["n"] / frame["n_cell"]) / (frame["n_topic"] / frame["n_all"])
    frame = frame.rename(columns={"cell": key}).drop(columns=["n_cell", "n_topic", "n_all", "_none"], errors="ignore")
    frame = frame.astype(object).where(frame.notna(), None)  # unknown region names: None, not NaN
    return [{**r, "n": int(r["n"]), "lq": float(r["lq"])} for r in frame.to_dict("records")]


def theme_documents(store: Store, topic_id: int, since: date | None, k: int,
                    where: DocFilter | None = None, offset: int = 0, by_date: bool = False) -> list[dict]:
    """Representative documents (recent ones first, then by assignment probability), or newest first."""
    condition, params = (where or DocFilter()).sql("d")
    order = "d.published_on DESC NULLS LAST" if by_date else \
        "(d.published_on >= ?) DESC, a.probability DESC, d.published_on DESC"
    frame = store.df("SELECT d.doc_id, d.title, d.source, d.kind, d.published_on, d.url FROM topic_assignments a "
                     f"JOIN documents d USING (doc_id) WHERE a.topic_id = ? AND {condition} "
                     f"ORDER BY {order}, d.doc_id LIMIT ? OFFSET ?",
                     [topic_id, *params, *([] if by_date else [since or date(1900, 1, 1)]), k, offset])
    return [{"doc_id": r.doc_id, "title": r.title, "source": r.source, "kind": r.kind,
             "date": r.published_on.strftime("%Y-%m-%d") if r.published_on else "", "url": safe_url(r.url)}
            for r in frame.itertuples()]


def theme_organisations(store: Store, topic_id: int, since: date, k: int = 10) -> tuple[list[dict], list[dict]]:
    """(most active, newly active) organisations of a theme since `since`; newly = first seen in it then."""
    frame = store.df("""
        WITH o AS (SELECT DISTINCT doc_id, coalesce(org_id, name) AS org_key, name, country,
                          left(nuts_code, 4) AS nuts2 FROM document_organisations WHERE name IS NOT NULL)
        SELECT org_key, any_value(o.name) AS name, any_value(o.country) AS country, any_value(o.nuts2) AS nuts2,
               min(d.published_on) AS first_on, count(DISTINCT d.doc_id) FILTER (WHERE d.published_on >= ?) AS n
        FROM o JOIN topic_assignments a USING (doc_id) JOIN documents d USING (doc_id)
        WHERE a.topic_id = ? GROUP BY org_key HAVING n > 0 ORDER BY n DESC, name""", [since, topic_id])
    rows = [{"name": r.name, "country": r.country, "nuts2": r.nuts2, "n": int(r.n),
             "first_on": str(pd.Timestamp(r.first_on).date())} for r in frame.itertuples()]
    return rows[:k], [r for r in rows if r["first_on"] >= str(since)][:k]


def onset_period(series: list, recent: list[str]) -> str | None:
    """Fallback onset: the first period of the last run of periods above the baseline's mean share."""
    baseline = [share for period, share, _ in series if not recent or period < recent[0]]
    if not series or not baseline:
        return None
    level = sum(baseline) / len(baseline)
    start = None
    for period, share, _ in series:
        start = (start or period) if share > level else None
    return start


def lineage(store: Store, topic_id: int | None = None, start: date | None = None,
            end: date | None = None) -> list[dict]:
    """Lineage events (birth, split, merge, ...) of one topic, or of all topics recorded between two dates."""
    if not has_table(store, "topic_lineage"):
        return []
    frame = store.df("SELECT l.event, l.topic_id, t.label, l.related_topic_ids, l.occurred_on, l.similarity, "
                     "l.recorded_at FROM topic_lineage l LEFT JOIN topics t USING (topic_id) "
                     "WHERE (? IS NULL OR l.topic_id = ? OR list_contains(l.related_topic_ids, ?)) "
                     "AND (? IS NULL OR l.recorded_at::DATE BETWEEN ? AND ?) AND l.event <> 'continue' "
                     "ORDER BY l.recorded_at DESC, l.topic_id",
                     [topic_id, topic_id, topic_id, start, start, end])
    return [{"event": r.event, "topic_id": int(r.topic_id), "label": r.label,
             "related": [int(x) for x in (r.related_topic_ids if r.related_topic_ids is not None else [])],
             "occurred_on": str(pd.Timestamp(r.occurred_on).date()),
             "similarity": None if pd.isna(r.similarity) else r.similarity}
            for r in frame.itertuples()]
