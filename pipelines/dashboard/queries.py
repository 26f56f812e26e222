"""Read-only queries behind the dashboard's pages: theme lists, one theme, document search, filters, digests."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.store import Store
from pipelines.views.charts import svg_bars, svg_chart
from pipelines.views.detections import latest_detection
from pipelines.views.features import REGIONS_SQL, SECTORS_SQL
from pipelines.views.feedback import feedback_history, feedback_status, latest_feedback
from pipelines.views.themes import (
    DocFilter,
    lineage,
    onset_period,
    safe_url,
    theme_documents,
    theme_organisations,
    theme_regions,
    theme_sectors,
    topic_cell,
)

WEEK_DIR = re.compile(r"^\d{4}-W\d{2}$")
DIGEST_FILES = {"html": "digest.html", "md": "digest.md", "json": "digest.json"}


def filter_options(store: Store) -> dict:
    """Choices for the filter form: NUTS-2 regions with names, sectors and kinds that occur."""
    regions = store.df(f"SELECT r.nuts2 AS code, any_value(n.name) AS name, count(DISTINCT r.doc_id) AS n "
                       f"FROM ({REGIONS_SQL}) r LEFT JOIN nuts_regions n ON n.code = r.nuts2 "
                       "GROUP BY 1 ORDER BY n DESC, code LIMIT 300")
    sectors = store.df(f"SELECT sector, count(*) AS n FROM ({SECTORS_SQL}) GROUP BY 1 ORDER BY n DESC, 1 LIMIT 100")
    return {"regions": regions.to_dict("records"), "sectors": sectors["sector"].tolist(), "kinds": kinds(store)}


def kinds(store: Store) -> list[str]:
    """The kinds of document in the store (news, project, patent, paper)."""
    return store.df("SELECT DISTINCT kind FROM documents ORDER BY kind")["kind"].tolist()


def _statuses(store: Store, growth_by_topic: dict[int, float]) -> dict[int, dict]:
    out = {}
    for row in latest_feedback(store).to_dict("records"):
        topic = int(row["topic_id"])
        status = feedback_status(row["verdict"], row["growth"], growth_by_topic.get(topic))
        out[topic] = {"status": status, "since": str(row["created_at"])[:10], "note": row["note"]}
    return out


def list_themes(store: Store, where: DocFilter, limit: int) -> dict:
    """The latest detection's themes in rank order with the number of documents matching the filter."""
    detect_id = latest_detection(store)
    if detect_id is None:
        return {"detect_id": None, "themes": []}
    condition, params = where.sql("d")
    is_filtered = where != DocFilter()
    frame = store.df(f"""
        WITH matching AS (SELECT a.topic_id, count(*) AS n_docs FROM topic_assignments a
                          JOIN documents d USING (doc_id) WHERE {condition} GROUP BY a.topic_id)
        SELECT s.topic_id, s.rank, s.flagged, s.growth, s.n_recent, s.q_value, s.evidence,
               coalesce(m.n_docs, 0) AS n_docs
        FROM trend_scores s LEFT JOIN matching m USING (topic_id)
        WHERE s.detect_id = ? AND (? OR m.n_docs > 0) ORDER BY s.rank LIMIT ?""",
                     [*params, detect_id, not is_filtered, limit])
    statuses = _statuses(store, dict(zip(frame["topic_id"].astype(int), frame["growth"], strict=True)))
    themes = []
    for row in frame.to_dict("records"):
        evidence = json.loads(row.pop("evidence"))
        themes.append({**row, "topic_id": int(row["topic_id"]), "label": evidence.get("label"),
                       "terms": evidence.get("terms", [])[:6], "feedback": statuses.get(int(row["topic_id"]))})
    return {"detect_id": detect_id, "themes": themes}


def theme_page(store: Store, topic_id: int, where: DocFilter, limit: int) -> dict | None:
    """Everything the theme page shows, or None when the topic is unknown."""
    topic = store.df("SELECT topic_id, label, terms, born_on, status FROM topics WHERE topic_id = ?", [topic_id])
    detect_id = latest_detection(store)
    score = store.df("SELECT * FROM trend_scores WHERE detect_id = ? AND topic_id = ?", [detect_id, topic_id])
    if topic.empty and score.empty:
        return None
    evidence = json.loads(score["evidence"].iloc[0]) if not score.empty else {}
    recent, series = evidence.get("recent_periods", []), evidence.get("series", [])
    since = date.fromisoformat(recent[0]) if recent else date(1900, 1, 1)
    cell = topic_cell(store, detect_id, topic_id) if detect_id else None
    onset = str(pd.Timestamp(cell["onset"]).date()) if cell and cell.get("onset") else onset_period(series, recent)
    regions = theme_regions(store, topic_id, since, detect_id or "")
    top_orgs, new_orgs = theme_organisations(store, topic_id, since)
    stats = score.drop(columns=["evidence"]).to_dict("records")[0] if not score.empty else None
    return {
        "topic_id": topic_id, "detect_id": detect_id, "stats": stats,
        "label": evidence.get("label") or (topic["label"].iloc[0] if not topic.empty else f"topic {topic_id}"),
        "terms": evidence.get("terms") or (json.loads(topic["terms"].iloc[0] or "[]") if not topic.empty else []),
        "chart": svg_chart(series, recent, onset, width=640, height=140), "onset": onset,
        "regions": regions, "region_bars": svg_bars(regions, "lq", "code"),
        "sectors": theme_sectors(store, topic_id, since, detect_id or ""),
        "top_organisations": top_orgs, "new_organisations": new_orgs, "lineage": lineage(store, topic_id),
        "documents": theme_documents(store, topic_id, since, limit, where),
        "feedback": feedback_history(store, topic_id).to_dict("records"),
        "status": _statuses(store, {topic_id: stats["growth"]} if stats else {}).get(topic_id),
    }


def search_documents(store: Store, query: str, where: DocFilter, limit: int) -> list[dict]:
    """Documents whose title or text contains `query` (case-insensitive), newest first, with a snippet."""
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", query) + "%"
    condition, params = where.sql("d")
    frame = store.df("SELECT d.doc_id, d.title, d.text, d.source, d.kind, d.published_on, d.url, a.topic_id, "
                     "t.label FROM documents d LEFT JOIN topic_assignments a USING (doc_id) "
                     "LEFT JOIN topics t ON t.topic_id = a.topic_id "
                     f"WHERE (d.title ILIKE ? ESCAPE '\\' OR d.text ILIKE ? ESCAPE '\\') AND {condition} "
                     "ORDER BY d.published_on DESC NULLS LAST, d.doc_id LIMIT ?", [pattern, pattern, *params, limit])
    out = []
    for r in frame.itertuples():
        text = r.text or ""
        at = text.lower().find(query.lower())
        start = max(at - 80, 0)
        out.append({"title": r.title, "source": r.source, "kind": r.kind, "url": safe_url(r.url),
                    "date": str(r.published_on) if r.published_on else "",
                    "topic_id": None if r.topic_id != r.topic_id or r.topic_id is None else int(r.topic_id),
                    "label": r.label, "before": text[start:at] if at >= 0 else text[:160],
                    "match": text[at:at + len(query)] if at >= 0 else "",
                    "after": text[at + len(query):at + len(query) + 80] if at >= 0 else ""})
    return out


def list_digests(reports_dir: Path) -> list[dict]:
    """Weeks under reports_dir that hold a digest, newest first."""
    if not reports_dir.is_dir():
        return []
    weeks = sorted((p.name for p in reports_dir.iterdir() if WEEK_DIR.match(p.name) and p.is_dir()), reverse=True)
    return [{"week": w, "formats": [f for f, name in DIGEST_FILES.items() if (reports_dir / w / name).is_file()]}
            for w in weeks]


def digest_file(reports_dir: Path, week: str, fmt: str) -> Path | None:
    """The digest file for a week and format, only ever inside reports_dir (None otherwise)."""
    if not WEEK_DIR.match(week) or fmt not in DIGEST_FILES:
        return None
    root = reports_dir.resolve()
    path = (root / week / DIGEST_FILES[fmt]).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None
