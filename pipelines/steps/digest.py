"""Digest: the latest trend scores -> reports/<ISO week>/digest.html, .md and .json (optionally e-mailed).

Crawled text is untrusted: the HTML template autoescapes everything, links are kept only when they
are http(s), and Markdown output escapes its control characters. The HTML file is self-contained: CSS
and SVG charts inline, no scripts, a Content-Security-Policy that forbids loading anything.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.errors import NotFound, TrendscoutError
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.steps.digest_sections import cooled, early_terms, health, region_highlights, why_flagged
from pipelines.store import Store
from pipelines.views.charts import svg_bars, svg_chart
from pipelines.views.detections import latest_detection
from pipelines.views.feedback import apply_feedback, feedback_status, latest_feedback
from pipelines.views.regions import digest_geography
from pipelines.views.themes import (
    lineage,
    onset_period,
    safe_url,
    theme_documents,
    theme_organisations,
    theme_regions,
    theme_sectors,
    topic_cell,
)

logger = logging.getLogger(__name__)

__all__ = ["build_digest", "md_escape", "parse_week", "safe_url", "write_digest"]
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~])")
STATUS_TEXT = {"watched": "watched", "relevant": "marked relevant", "suppressed": "suppressed: not relevant",
               "revived": "back although marked not relevant (growth doubled)"}


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


def md_escape(text) -> str:
    """Escape Markdown (and inline HTML) control characters in untrusted text."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text or "").split()))


def md_url(url: str) -> str:
    """Percent-encode what could end a Markdown link destination early (spaces, brackets, quotes)."""
    return quote(url, safe=":/?#@!$&*+,;=%~-._'")


def detection_for_week(store: Store, sunday: date) -> str | None:
    """The newest detection made by the end of the week, else the newest one."""
    return store.scalar("SELECT detect_id FROM detections WHERE created_at::DATE <= ? "
                        "ORDER BY created_at DESC LIMIT 1", [sunday]) or latest_detection(store)


def _theme(store: Store, row: dict, detect_id: str, params: dict, feedback: dict, k_docs: int) -> dict:
    evidence = json.loads(row["evidence"])
    recent = evidence.get("recent_periods", [])
    series = evidence.get("series", [])
    since = date.fromisoformat(recent[0]) if recent else date(1900, 1, 1)
    topic_id = int(row["topic_id"])
    cell = topic_cell(store, detect_id, topic_id)
    window = since if row["n_recent"] else date(1900, 1, 1)  # a theme with no recent documents: all of them
    regions = theme_regions(store, topic_id, window, detect_id)
    sectors = theme_sectors(store, topic_id, window, detect_id)
    top_orgs, new_orgs = theme_organisations(store, topic_id, since)
    onset = str(pd.Timestamp(cell["onset"]).date()) if cell and cell.get("onset") else onset_period(series, recent)
    verdict = feedback.get(topic_id)
    status = feedback_status(verdict["verdict"], verdict["growth"], row["growth"]) if verdict else None
    return {
        "topic_id": topic_id, "rank": int(row["rank"]), "flagged": bool(row["flagged"]),
        "label": evidence.get("label"), "terms": evidence.get("terms", [])[:10],
        "n_recent": int(row["n_recent"]), "n_baseline": int(row["n_baseline"]),
        **{k: float(row[k]) for k in ("share_recent", "share_baseline", "growth", "p_value", "q_value", "score")},
        "why": why_flagged(row, params, cell), "series": series, "recent_periods": recent, "onset": onset,
        "regions": regions, "sectors": sectors, "top_organisations": top_orgs, "new_organisations": new_orgs,
        "is_cross_sectoral": bool(cell["is_cross_sectoral"]) if cell else
        sum(s["share"] >= 0.2 for s in sectors) >= 2,
        "is_cross_border": bool(cell["is_cross_border"]) if cell else
        len({r["country"] for r in regions if r["n"] >= 2}) >= 3,
        "documents": theme_documents(store, topic_id, since, k_docs),
        "feedback": None if not verdict else {
            "status": status, "text": STATUS_TEXT[status], "since": str(pd.Timestamp(verdict["created_at"]).date()),
            "note": verdict["note"], "user": verdict["user"]},
    }


def build_digest(store: Store, settings: Settings, week: str | None = None) -> dict:
    """Gather the digest's content as plain data (the JSON output)."""
    label, monday, sunday = parse_week(week)
    detect_id = detection_for_week(store, sunday)
    if detect_id is None:
        raise NotFound("no trend scores yet; run 'trendscout nightly' first")
    as_of, raw_params = store.con.execute("SELECT as_of, params FROM detections WHERE detect_id = ?",
                                          [detect_id]).fetchone()
    params = json.loads(raw_params or "{}")
    fb = latest_feedback(store)
    scores = apply_feedback(store.df("SELECT * FROM trend_scores WHERE detect_id = ? ORDER BY rank", [detect_id]), fb)
    feedback = {int(r["topic_id"]): r for r in fb.to_dict("records")}
    statuses = {t: feedback_status(v["verdict"], v["growth"], g) for t, g in zip(scores["topic_id"], scores["growth"],
                                                                                 strict=True) if (v := feedback.get(t))}
    shown = scores[scores["topic_id"].map(statuses).ne("suppressed")]
    top = shown[(np.arange(len(shown)) < settings.digest.top_n) | shown["topic_id"].map(statuses).eq("watched")]
    themes = [_theme(store, row, detect_id, params, feedback, settings.digest.docs_per_theme)
              for row in top.to_dict("records")]
    suppressed = [{"topic_id": int(r["topic_id"]), "label": json.loads(r["evidence"]).get("label"),
                   "since": str(pd.Timestamp(feedback[int(r["topic_id"])]["created_at"]).date()),
                   "growth": r["growth"]}
                  for r in scores[scores["topic_id"].map(statuses).eq("suppressed")].to_dict("records")]
    recent = themes[0]["recent_periods"] if themes else []
    since = date.fromisoformat(recent[0]) if recent else monday
    return {"week": label, "from": str(monday), "to": str(sunday), "as_of": str(as_of),
            "detect_id": detect_id, "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "themes": themes,
            "cross_sectoral": [t["topic_id"] for t in themes if t["is_cross_sectoral"]],
            "cross_border": [t["topic_id"] for t in themes if t["is_cross_border"]],
            "regions": region_highlights(store, detect_id, since, themes, settings.dashboard.regions),
            "geography": digest_geography(store, settings.dashboard.regions,
                                          [t["topic_id"] for t in themes if t["flagged"]], settings.geography),
            "lineage": lineage(store, start=monday, end=sunday),
            "early_terms": early_terms(store, detect_id, since),
            "cooled": cooled(store, detect_id, settings.trends.min_docs),
            "suppressed": suppressed, "health": health(store, monday, sunday)}


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("pipelines", "templates"),
                      autoescape=select_autoescape(["html.j2"], default=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["pct"] = lambda x: f"{100 * (x or 0):.2f}%"
    env.filters["num"] = lambda x, f="%.2f": "–" if x is None or pd.isna(x) else f % x
    env.globals.update(svg_chart=svg_chart, svg_bars=svg_bars)
    return env


def render_digest(content: dict) -> dict[str, str]:
    """The three files of a digest: name -> text."""
    env = _environment()
    by_id = {t["topic_id"]: t for t in content["themes"]}
    return {"digest.html": env.get_template("digest.html.j2").render(d=content, by_id=by_id),
            "digest.md": env.get_template("digest.md.j2").render(d=content, by_id=by_id),
            "digest.json": json.dumps(content, indent=2, default=str)}


def write_digest(store: Store, settings: Settings, week: str | None = None) -> tuple[StepResult, Path]:
    """Write digest.html, digest.md and digest.json for the week (and e-mail it when set up); return the folder."""
    from pipelines.steps.mail import mail_of, send_digest

    result = StepResult("digest")
    content = build_digest(store, settings, week)
    folder = settings.reports_dir / content["week"]
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render_digest(content).items():
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(folder / name)
    result.count(themes=len(content["themes"]))
    logger.info("digest: wrote %s", folder)
    mail = mail_of(settings)
    if mail.enabled:
        try:
            result.count(mailed=send_digest(folder, mail))
        except (OSError, TrendscoutError) as exc:  # smtplib errors are OSErrors; the files are written anyway
            logger.warning("digest: e-mail to %d recipients failed: %s", len(mail.recipients), exc)
            result.error(f"mail: {type(exc).__name__}: {exc}")
    return result, folder
