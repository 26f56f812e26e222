"""Read-only queries behind the dashboard's pages: theme lists, one theme, document search, filters, digests."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.store import Store
from pipelines.views.detections import detection_params, latest_detection
from pipelines.views.features import REGIONS_SQL, SECTORS_SQL
from pipelines.views.feedback import feedback_history, feedback_status, latest_feedback
from pipelines.views.names import nuts_names, region_label, sector_label
from pipelines.views.plots import region_figure, sector_figure, sector_mix
from pipelines.views.search import bm25_sql, tokens
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
CHART_FILE = re.compile(r"^chart-topic-\d+\.png$")
SORTS = {"rank": "rank", "growth": "growth", "q": "q_value", "recent": "n_recent", "onset": "onset",
         "documents": "n_docs"}  # ?sort= -> column; growth, recent and documents sort high first
_QUERY = re.compile(r'"([^"]+)"|(\S+)')


def filter_options(store: Store, kind_choices: list[str]) -> dict:
    """Choices for the filter form: NUTS-2 regions with names, sectors, and the kinds `kind_choices`."""
    regions = store.df(f"SELECT r.nuts2 AS code, any_value(n.name) AS name, count(DISTINCT r.doc_id) AS n "
                       f"FROM ({REGIONS_SQL}) r LEFT JOIN nuts_regions n ON n.code = r.nuts2 "
                       "GROUP BY 1 ORDER BY n DESC, code LIMIT 300")
    sectors = store.df(f"SELECT sector, count(*) AS n FROM ({SECTORS_SQL}) GROUP BY 1 ORDER BY n DESC, 1 LIMIT 100")
    names = nuts_names(store)
    regions["label"] = [region_label(code, names) for code in regions["code"]]
    return {"regions": regions.to_dict("records"), "kinds": kind_choices,
            "sectors": [{"slug": s, "name": sector_label(s)} for s in sectors["sector"]]}


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


def list_themes(store: Store, where: DocFilter, limit: int, sort: str = "rank", descending: bool | None = None) -> dict:
    """The latest detection's themes with the number of documents matching the filter, sorted by `sort`
    (a key of SORTS; growth, recent and documents high first unless `descending` says otherwise)."""
    detect_id = latest_detection(store)
    if detect_id is None:
        return {"detect_id": None, "themes": [], "sort": sort, "descending": False}
    condition, params = where.sql("d")
    is_filtered = where != DocFilter()
    frame = store.df(f"""
        WITH matching AS (SELECT a.topic_id, count(*) AS n_docs FROM topic_assignments a
                          JOIN documents d USING (doc_id) WHERE {condition} GROUP BY a.topic_id)
        SELECT s.topic_id, s.rank, s.flagged, s.growth, s.n_recent, s.q_value, s.evidence,
               coalesce(m.n_docs, 0) AS n_docs, c.onset
        FROM trend_scores s LEFT JOIN matching m USING (topic_id)
        LEFT JOIN trend_cells c ON c.detect_id = s.detect_id AND c.topic_id = s.topic_id AND c.scope = 'topic'
        WHERE s.detect_id = ? AND (? OR m.n_docs > 0) ORDER BY s.rank""",
                     [*params, detect_id, not is_filtered])
    statuses = _statuses(store, dict(zip(frame["topic_id"].astype(int), frame["growth"], strict=True)))
    themes = []
    for row in frame.to_dict("records"):
        evidence = json.loads(row.pop("evidence"))
        onset = row.pop("onset")
        onset = str(pd.Timestamp(onset).date()) if onset is not None and not pd.isna(onset) else \
            onset_period(evidence.get("series", []), evidence.get("recent_periods", []))
        themes.append({**row, "topic_id": int(row["topic_id"]), "label": evidence.get("label"), "onset": onset,
                       "terms": evidence.get("terms", [])[:6], "feedback": statuses.get(int(row["topic_id"])),
                       "series": evidence.get("series", []), "recent_periods": evidence.get("recent_periods", [])})
    sort = sort if sort in SORTS else "rank"
    descending = sort in ("growth", "recent", "documents") if descending is None else descending
    key = SORTS[sort]
    present = [t for t in themes if t[key] is not None and t[key] == t[key]]
    present.sort(key=lambda t: t[key], reverse=descending)
    return {"detect_id": detect_id, "sort": sort, "descending": descending,
            "history": detection_params(store, detect_id).get("history") or {},  # a shortened baseline, or none
            "themes": (present + [t for t in themes if t not in present])[:limit]}


def theme_page(store: Store, topic_id: int, where: DocFilter, limit: int, page: int = 1) -> dict | None:
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
    names = nuts_names(store)
    for r in regions:
        r["label"] = region_label(r["code"], names)
    sectors = [{**s, "name": sector_label(s["sector"])} for s in theme_sectors(store, topic_id, since, detect_id or "")]
    condition, params = where.sql("d")
    n_documents = store.scalar("SELECT count(*) FROM topic_assignments a JOIN documents d USING (doc_id) "
                               f"WHERE a.topic_id = ? AND {condition}", [topic_id, *params])
    top_orgs, new_orgs = theme_organisations(store, topic_id, since)
    stats = score.drop(columns=["evidence"]).to_dict("records")[0] if not score.empty else None
    page_label = evidence.get("label") or (topic["label"].iloc[0] if not topic.empty else f"topic {topic_id}")
    params = detection_params(store, detect_id)
    return {
        "topic_id": topic_id, "detect_id": detect_id, "period": params.get("period", "month"), "stats": stats,
        "label": page_label,
        "terms": evidence.get("terms") or (json.loads(topic["terms"].iloc[0] or "[]") if not topic.empty else []),
        "onset": onset,
        "regions": regions, "sectors": sectors,
        "region_plot": region_figure([(page_label, regions)], names),
        "sector_plot": sector_figure(sector_mix(store, topic_id, series, recent, params.get("period", "month"),
                                                int(params.get("baseline_periods", 0)))),
        "top_organisations": top_orgs, "new_organisations": new_orgs, "lineage": lineage(store, topic_id),
        "documents": theme_documents(store, topic_id, since, limit, where, offset=(max(page, 1) - 1) * limit,
                                     by_date=True),
        "n_documents": n_documents, "page": max(page, 1), "pages": -(-n_documents // limit),

        "feedback": feedback_history(store, topic_id).to_dict("records"),
        "status": _statuses(store, {topic_id: stats["growth"]} if stats else {}).get(topic_id),
    }


def parse_query(text: str) -> list[str]:
    """Words and "quoted phrases" of a search, lower-cased, each at least 2 characters."""
    return [t for a, b in _QUERY.findall(text.lower()) if len(t := " ".join((a or b).split())) >= 2]


def search_documents(store: Store, query: str, where: DocFilter, limit: int, page: int = 1) -> dict:
    """Documents holding every word and phrase of `query` (whole words, any case), most relevant first, ties newest.

    With the inverted index (`doc_terms`, written by enrich): candidates hold every word of the query, phrases are
    then checked on their tokens, relevance is BM25 (`pipelines.views.search`). A store with no index rows is scanned
    instead: per term, 3 for a match in the title plus its matches in the text (at most 5), summed. Returns the
    page's results, the total count and the terms.
    """
    terms = parse_query(query)
    words = sorted({w for term in terms for w in tokens(term)})
    if not words:
        return {"terms": terms, "total": 0, "page": 1, "pages": 0, "results": []}
    page = max(page, 1)
    condition, params = where.sql("d")
    ranked = _indexed(store, terms, words) if _has_index(store) else _scanned(store, terms)
    with store.registered("_ranked", ranked):
        frame = store.df(f"""
            SELECT d.doc_id, d.title, d.text, d.source, d.kind, d.published_on, d.url, a.topic_id, t.label,
                   r.relevance, count(*) OVER () AS total
            FROM _ranked r JOIN documents d USING (doc_id) LEFT JOIN topic_assignments a USING (doc_id)
            LEFT JOIN topics t ON t.topic_id = a.topic_id
            WHERE {condition}
            ORDER BY r.relevance DESC, d.published_on DESC NULLS LAST, d.doc_id LIMIT ? OFFSET ?""",
                         [*params, limit, (page - 1) * limit])
        total = int(frame["total"].iloc[0]) if len(frame) else int(store.scalar(
            f"SELECT count(*) FROM _ranked r JOIN documents d USING (doc_id) WHERE {condition}", params))
    shown = tokens(next(t for t in terms if tokens(t)))  # the snippet marks the first term
    first = re.compile(r"(?<!\w)" + r"\W+".join(map(re.escape, shown)) + r"(?!\w)", re.IGNORECASE)
    out = []
    for r in frame.itertuples():
        text = r.text or ""
        found = first.search(text)
        at, end = (found.start(), found.end()) if found else (-1, -1)
        start = max(at - 80, 0)
        out.append({"title": r.title, "source": r.source, "kind": r.kind, "url": safe_url(r.url),
                    "date": r.published_on.strftime("%Y-%m-%d") if r.published_on else "",
                    "topic_id": None if pd.isna(r.topic_id) else int(r.topic_id),  # NA: not in a topic
                    "label": None if pd.isna(r.label) else r.label, "relevance": round(float(r.relevance), 3),
                    "before": text[start:at] if at >= 0 else text[:160],
                    "match": text[at:end] if at >= 0 else "", "after": text[end:end + 80] if at >= 0 else ""})
    return {"terms": terms, "total": total, "page": page, "pages": -(-total // limit), "results": out}


def _has_index(store: Store) -> bool:
    """Whether the store holds index rows (none before migration 14 or the first enrich after it)."""
    return bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'doc_lengths'")
                and store.scalar("SELECT EXISTS (FROM doc_lengths)"))


def _indexed(store: Store, terms: list[str], words: list[str]) -> pd.DataFrame:
    """doc_id, relevance from the index: every word (BM25), then each multi-word term's tokens in a row."""
    ranked = store.df(bm25_sql(len(words)), words)
    phrases = [split for term in terms if len(split := tokens(term)) > 1]
    if not phrases or ranked.empty:
        return ranked
    with store.registered("_candidates", ranked[["doc_id"]]):
        texts = store.df("SELECT doc_id, title, text FROM documents JOIN _candidates USING (doc_id)")
    keep = {r.doc_id for r in texts.itertuples()
            if all(_in_row(tokens(r.title or ""), p) or _in_row(tokens(r.text or ""), p) for p in phrases)}
    return ranked[ranked["doc_id"].isin(keep)]


def _in_row(seq: list[str], phrase: list[str]) -> bool:
    """Whether the tokens `phrase` occur consecutively in `seq`."""
    n = len(phrase)
    return any(seq[i:i + n] == phrase for i in range(len(seq) - n + 1) if seq[i] == phrase[0])


def _scanned(store: Store, terms: list[str]) -> pd.DataFrame:
    """doc_id, relevance scanning every document with regular expressions."""
    patterns = ["(?i)\\b" + r"\s+".join(re.escape(w) for w in term.split()) + "\\b" for term in terms]
    match = " AND ".join("(regexp_matches(d.title, ?) OR regexp_matches(d.text, ?))" for _ in patterns)
    score = " + ".join("3 * regexp_matches(d.title, ?)::INT + least(len(regexp_extract_all(d.text, ?)), 5)"
                       for _ in patterns)
    return store.df(f"SELECT d.doc_id, {score} AS relevance FROM documents d WHERE {match}",
                    [p for p in patterns for _ in (0, 1)] * 2)


def list_digests(reports_dir: Path) -> list[dict]:
    """Weeks under reports_dir that hold a digest, newest first."""
    if not reports_dir.is_dir():
        return []
    weeks = sorted((p.name for p in reports_dir.iterdir() if WEEK_DIR.match(p.name) and p.is_dir()), reverse=True)
    return [{"week": w, "formats": [f for f, name in DIGEST_FILES.items() if (reports_dir / w / name).is_file()]}
            for w in weeks]


def digest_file(reports_dir: Path, week: str, fmt: str) -> Path | None:
    """The digest file for a week and format (or one of its chart files), only ever inside reports_dir."""
    if not WEEK_DIR.match(week) or (fmt not in DIGEST_FILES and not CHART_FILE.match(fmt)):
        return None
    root = reports_dir.resolve()
    path = (root / week / DIGEST_FILES.get(fmt, fmt)).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def home_series(store: Store, k: int = 6) -> dict[str, list]:
    """Label -> share series of the latest detection's flagged themes, then its top-ranked ones, at most k."""
    frame = store.df("SELECT evidence FROM trend_scores WHERE detect_id = ? ORDER BY flagged DESC, rank LIMIT ?",
                     [latest_detection(store), k])
    return series_of([json.loads(raw) for raw in frame["evidence"]])


def listed_series(themes: list[dict], k: int = 6) -> dict[str, list]:
    """As `home_series`, over the themes a (filtered) page lists, from their evidence `list_themes` read."""
    return series_of(sorted(themes, key=lambda t: (not t["flagged"], t["rank"]))[:k])


def series_of(themes: list[dict]) -> dict[str, list]:
    """Label (cut to 40 characters) -> share series of the themes that have one."""
    return {str(t.get("label"))[:40]: t["series"] for t in themes if t.get("series")}


def flagged_regions(store: Store, listing: dict, k: int = 6) -> dict:
    """The regions figure of the home page: recent documents per NUTS-2 region of the listed flagged themes."""
    flagged = [t for t in listing["themes"] if t["flagged"] and t["recent_periods"]][:k]
    names = nuts_names(store)
    return region_figure([(str(t["label"])[:40], theme_regions(store, t["topic_id"],
                                                                date.fromisoformat(t["recent_periods"][0]),
                                                                listing["detect_id"])) for t in flagged], names)


def plot_series(lines: dict[str, list]) -> list[dict]:
    """Plotly traces (one line per theme: dates, % of documents, counts on hover) for the home chart."""
    return [{"type": "scatter", "mode": "lines+markers", "name": label, "x": [p for p, _, _ in series],
             "y": [round(100 * s, 3) for _, s, _ in series], "customdata": [n for _, _, n in series],
             "hovertemplate": "%{x}: %{y:.2f}% (%{customdata} documents)"} for label, series in lines.items()]


def theme_series(store: Store, topic_id: int) -> tuple[list, list[str], str | None] | None:
    """(share series, recent periods, onset) of a theme in the latest detection, or None."""
    detect_id = latest_detection(store)
    raw = store.scalar("SELECT evidence FROM trend_scores WHERE detect_id = ? AND topic_id = ?", [detect_id, topic_id])
    if not raw:
        return None
    evidence = json.loads(raw)
    series, recent = evidence.get("series", []), evidence.get("recent_periods", [])
    return series, recent, evidence.get("onset") or onset_period(series, recent)
