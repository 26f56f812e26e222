"""Digest: the latest trend scores -> reports/<ISO week>/digest.html, .md and .json.

Crawled text is untrusted: the HTML template autoescapes everything, links are kept only when they
are http(s), and Markdown output escapes its control characters.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlparse

from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.detect import latest_detection
from pipelines.errors import NotFound, TrendscoutError
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.store import Store

logger = logging.getLogger(__name__)

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~])")


def parse_week(week: str | None) -> tuple[str, date, date]:
    """'2026-W48' -> (label, Monday, Sunday); None -> the current ISO week."""
    if week is None:
        year, number, _ = datetime.now(UTC).date().isocalendar()
    else:
        match = _WEEK.match(week)
        if not match:
            raise TrendscoutError(f"week must look like 2026-W48, not {week!r}")
        year, number = int(match.group(1)), int(match.group(2))
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise TrendscoutError(f"{week} is not an ISO week: {exc}") from exc
    return f"{year}-W{number:02d}", monday, monday + timedelta(days=6)


def safe_url(url: str | None) -> str | None:
    """Keep only absolute http(s) links."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


def md_escape(text) -> str:
    """Escape Markdown (and inline HTML) control characters in untrusted text."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def md_url(url: str) -> str:
    """Percent-encode what could end a Markdown link destination early (spaces, brackets, quotes)."""
    return quote(url, safe=":/?#@!$&*+,;=%~-._'")


def svg_chart(series: list, recent: list[str], width: int = 360, height: int = 90) -> dict:
    """Coordinates for an inline SVG line chart of a topic's share per period (no scripts)."""
    if not series:
        return {"points": "", "width": width, "height": height, "recent_x": None, "max_share": 0}
    shares = [s for _, s, _ in series]
    top = max(shares) or 1.0
    step = width / max(len(series) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - 4 - (s / top) * (height - 8):.1f}" for i, s in enumerate(shares))
    first_recent = next((i for i, (p, _, _) in enumerate(series) if p in recent), None)
    return {"points": points, "width": width, "height": height, "max_share": top,
            "recent_x": None if first_recent is None else round(first_recent * step, 1),
            "first": series[0][0], "last": series[-1][0]}


def _documents(store: Store, topic_id: int, recent_from: str | None, k: int) -> list[dict]:
    rows = store.df("SELECT d.title, d.source, d.published_on, d.url FROM topic_assignments a "
                    "JOIN documents d USING (doc_id) WHERE a.topic_id = ? "
                    "ORDER BY (d.published_on >= ?) DESC, a.probability DESC, d.published_on DESC, d.doc_id "
                    "LIMIT ?", [topic_id, recent_from or "1900-01-01", k])
    return [{"title": r.title, "source": r.source, "date": r.published_on.strftime("%Y-%m-%d"),
             "url": safe_url(r.url)}
            for r in rows.itertuples()]


def health(store: Store, monday: date, sunday: date) -> dict:
    by_source = store.df("SELECT source, kind, count(*) AS n FROM documents GROUP BY ALL ORDER BY n DESC")
    new = store.scalar("SELECT count(*) FROM documents WHERE first_seen_at::DATE BETWEEN ? AND ?",
                       [monday, sunday])
    errors = store.df("SELECT s.step, s.errors, s.skipped FROM run_steps s JOIN runs r USING (run_id) "
                      "WHERE r.started_at::DATE BETWEEN ? AND ?", [monday, sunday])
    crawl_errors = [e for raw in errors["errors"] for e in json.loads(raw or "[]")]
    skipped: dict[str, int] = {}
    for raw in errors["skipped"]:
        for reason, n in json.loads(raw or "{}").items():
            skipped[reason] = skipped.get(reason, 0) + n
    return {"documents_by_source": by_source.to_dict("records"), "total": int(by_source["n"].sum()),
            "new_this_week": int(new or 0), "errors": crawl_errors[:50], "n_errors": len(crawl_errors),
            "skipped": skipped}


def build_digest(store: Store, settings: Settings, week: str | None = None) -> dict:
    """Gather the digest's content as plain data (the JSON output)."""
    label, monday, sunday = parse_week(week)
    detect_id = latest_detection(store)
    if detect_id is None:
        raise NotFound("no trend scores yet; run 'trendscout nightly' first")
    as_of = store.scalar("SELECT as_of FROM detections WHERE detect_id = ?", [detect_id])
    scores = store.df("SELECT * FROM trend_scores WHERE detect_id = ? ORDER BY rank LIMIT ?",
                      [detect_id, settings.digest.top_n])
    themes = []
    for row in scores.itertuples():
        evidence = json.loads(row.evidence)
        recent = evidence.get("recent_periods", [])
        themes.append({
            "topic_id": int(row.topic_id), "rank": int(row.rank), "flagged": bool(row.flagged),
            "label": evidence.get("label"), "terms": evidence.get("terms", [])[:10],
            "n_recent": int(row.n_recent), "n_baseline": int(row.n_baseline),
            "share_recent": row.share_recent, "share_baseline": row.share_baseline, "growth": row.growth,
            "p_value": row.p_value, "q_value": row.q_value, "score": row.score,
            "series": evidence.get("series", []), "recent_periods": recent,
            "documents": _documents(store, int(row.topic_id), recent[0] if recent else None,
                                    settings.digest.docs_per_theme),
        })
    return {"week": label, "from": str(monday), "to": str(sunday), "as_of": str(as_of),
            "detect_id": detect_id, "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "themes": themes, "health": health(store, monday, sunday)}


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("pipelines", "templates"),
                      autoescape=select_autoescape(["html.j2"], default=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["pct"] = lambda x: f"{100 * (x or 0):.2f}%"
    env.globals["svg_chart"] = svg_chart
    return env


def write_digest(store: Store, settings: Settings, week: str | None = None) -> tuple[StepResult, Path]:
    """Write digest.html, digest.md and digest.json for the week; return the folder."""
    result = StepResult("digest")
    content = build_digest(store, settings, week)
    folder = settings.reports_dir / content["week"]
    folder.mkdir(parents=True, exist_ok=True)
    env = _environment()
    outputs = {"digest.html": env.get_template("digest.html.j2").render(d=content),
               "digest.md": env.get_template("digest.md.j2").render(d=content),
               "digest.json": json.dumps(content, indent=2, default=str)}
    for name, text in outputs.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
    result.count(themes=len(content["themes"]))
    logger.info("digest: wrote %s", folder)
    return result, folder
