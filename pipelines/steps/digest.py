"""Digest: a week's detection -> reports/<ISO week>/digest.html, .md, .json and chart-topic-<id>.png.

The first screen answers what is new, how sure, where and in which sectors: a summary (flags that passed
the test, bursts, new topics, data freshness), then one card per flag that passed (a sentence built from
the numbers, a chart, example documents, organisations, the components behind a fold). When nothing
passed, it says so and lists the strongest candidates as a watch list, not significant.

Crawled text is untrusted: the HTML template autoescapes everything, links are kept only when they
are http(s), and Markdown output escapes its control characters. The HTML file has no scripts and a
Content-Security-Policy that loads nothing but the chart images beside it (inline images when mailed).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipelines.errors import NotFound, TrendscoutError
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.steps.digest_sections import (
    PERIOD_DAYS,
    cooled,
    early_terms,
    flag_sentence,
    health,
    region_highlights,
    why_flagged,
    windows,
)
from pipelines.store import Store
from pipelines.views.charts import png_chart
from pipelines.views.detections import latest_detection
from pipelines.views.feedback import apply_feedback, feedback_status, latest_feedback
from pipelines.views.forecasts import add_cell_lines, forecast_line, theme_forecasts
from pipelines.views.names import nuts_names, region_label, sector_label
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
_MD_INLINE = re.compile(r"([\\`*_{}\[\]#|<>&~])")  # mid-line prose: no link, image, HTML, emphasis or table
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


def md_prose(text) -> str:
    """Escape the characters that make markup in the middle of a line, keeping numbers, dates and (…) readable
    in the plain-text part of a mail (a sentence that starts with a count, never with list or heading syntax)."""
    return _MD_INLINE.sub(r"\\\1", " ".join(str(text or "").split()))


def md_url(url: str) -> str:
    """Percent-encode what could end a Markdown link destination early (spaces, brackets, quotes)."""
    return quote(url, safe=":/?#@!$&*+,;=%~-._'")


def detection_for_week(store: Store, week: str | None, sunday: date) -> str:
    """The newest detection made by the end of `week` (None: the newest of all); refuses a week before any."""
    if week is None:
        detect_id = latest_detection(store)
    else:
        detect_id = store.scalar("SELECT detect_id FROM detections WHERE created_at::DATE <= ? "
                                 "ORDER BY created_at DESC LIMIT 1", [sunday])
    if detect_id is None:
        first = store.scalar("SELECT min(created_at)::DATE FROM detections")
        raise NotFound(f"no detection was made by {sunday} (the first is from {first}); a digest for {week} would "
                       "show later results" if first else "no trend scores yet; run 'trendscout nightly' first")
    return detect_id


def verdicts(scores: pd.DataFrame) -> pd.Series:
    """Each flag's verdict (emerging | burst | style); a detection that records none: all emerging."""
    return scores["verdict"].fillna("emerging") if "verdict" in scores else pd.Series("emerging", scores.index)


def forecast_fan(forecast: dict | None) -> list[tuple[str, float, float, float]] | None:
    """A theme's forecast (`views.forecasts`) as its chart's fan: (period, 80 % low, median, 80 % high) shares per
    period ahead; None without one."""
    if not forecast:
        return None
    return [(s["period"], s["interval_80"][0], s["median"], s["interval_80"][1]) for s in forecast["steps"]]


def with_forecasts(theme: dict, forecasts: dict, period: str) -> dict:
    """A theme card with its forecast (`views.forecasts`): its chart's fan, its line, and the line of each of its
    flagged region and sector cells that has one."""
    add_cell_lines(theme["topic_id"], theme["regions"], theme["sectors"], forecasts, period)
    own = forecasts.get(("topic", theme["topic_id"], ""))
    return theme | {"forecast": forecast_fan(own), "forecast_line": forecast_line(own, period)}


def freshness(store: Store, sunday: date, period: str) -> dict:
    """The newest document's date and whether it is older than two periods at the end of the week (or today)."""
    newest = store.scalar("SELECT max(published_on) FROM documents WHERE published_on <= ?", [sunday])
    reference = min(sunday, datetime.now(UTC).date())
    age = (reference - newest).days if newest else None
    period = period or "month"  # a detection without scores (too little history) chose none
    limit = 2 * PERIOD_DAYS.get(period, 31)
    return {"newest": str(newest) if newest else None, "age_days": age, "period": period, "limit_days": limit,
            "is_stale": age is None or age > limit}


def _theme(store: Store, row: dict, detect_id: str, params: dict, feedback: dict, k_docs: int,
           names: dict[str, str]) -> dict:
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
    for r in regions:
        r["label"] = region_label(r["code"], names)
    for s in sectors:
        s["name"] = sector_label(s["sector"])
    theme = {
        "topic_id": topic_id, "rank": int(row["rank"]), "flagged": bool(row["flagged"]), "verdict": row["verdict"],
        "label": evidence.get("label"), "terms": evidence.get("terms", [])[:10],
        "n_recent": int(row["n_recent"]), "n_baseline": int(row["n_baseline"]),
        **{k: float(row[k]) for k in ("share_recent", "share_baseline", "growth", "p_value", "q_value", "score")},
        "why": why_flagged(row, params, cell), "series": series, "recent_periods": recent, "onset": onset,
        "regions": regions, "sectors": sectors, "top_organisations": top_orgs, "new_organisations": new_orgs,
        "is_cross_sectoral": bool(cell["is_cross_sectoral"]) if cell else
        sum(s["share"] >= 0.2 for s in sectors) >= 2,
        "is_cross_border": bool(cell["is_cross_border"]) if cell else
        len({r["country"] for r in regions if r["n"] >= 2}) >= 3,
        "documents": sorted(theme_documents(store, topic_id, since, k_docs), key=lambda d: d["date"], reverse=True),
        "windows": windows(series, recent, params.get("period", "month"), int(params.get("baseline_periods", 0))),
        "chart": f"chart-topic-{topic_id}.png",
        "feedback": None if not verdict else {
            "status": status, "text": STATUS_TEXT[status], "since": str(pd.Timestamp(verdict["created_at"]).date()),
            "note": verdict["note"], "user": verdict["user"]},
    }
    theme["sentence"] = flag_sentence(theme, names)
    return theme


def build_digest(store: Store, settings: Settings, week: str | None = None) -> dict:
    """Gather the digest's content as plain data (the JSON output)."""
    label, monday, sunday = parse_week(week)
    detect_id = detection_for_week(store, week, sunday)
    as_of, period, raw_params = store.con.execute("SELECT as_of, period, params FROM detections WHERE detect_id = ?",
                                                  [detect_id]).fetchone()
    params = json.loads(raw_params or "{}") | {"period": period}
    names = nuts_names(store)
    fb = latest_feedback(store)
    scores = apply_feedback(store.df("SELECT * FROM trend_scores WHERE detect_id = ? ORDER BY rank", [detect_id]), fb)
    scores["verdict"] = verdicts(scores)
    feedback = {int(r["topic_id"]): r for r in fb.to_dict("records")}
    by_topic = {t: feedback_status(v["verdict"], v["growth"], g)
                for t, g in zip(scores["topic_id"], scores["growth"], strict=True) if (v := feedback.get(t))}
    statuses = scores["topic_id"].map(by_topic)
    shown = scores[statuses.ne("suppressed")]
    flagged = shown["flagged"].astype(bool)
    passed = shown[flagged & shown["verdict"].eq("emerging")].head(settings.digest.top_n)
    bursts = shown[flagged & shown["verdict"].eq("burst")].head(settings.digest.top_n)
    watch = shown[~flagged & shown["growth"].gt(1)].sort_values("score", ascending=False).head(5) \
        if passed.empty else shown.iloc[:0]

    forecasts = theme_forecasts(store, detect_id)

    def themes_of(frame: pd.DataFrame) -> list[dict]:
        return [with_forecasts(_theme(store, row, detect_id, params, feedback, min(settings.digest.docs_per_theme, 5),
                                      names), forecasts, period) for row in frame.to_dict("records")]

    themes, burst_themes, watch_list = themes_of(passed), themes_of(bursts), themes_of(watch)
    suppressed = [{"topic_id": int(r["topic_id"]), "label": json.loads(r["evidence"]).get("label"),
                   "since": str(pd.Timestamp(feedback[int(r["topic_id"])]["created_at"]).date()),
                   "growth": r["growth"]}
                  for r in scores[statuses.eq("suppressed")].to_dict("records")]
    listed = themes or watch_list
    recent = listed[0]["recent_periods"] if listed else []
    since = date.fromisoformat(recent[0]) if recent else monday
    terms = early_terms(store, detect_id, since)
    by_term = {cell: f for (scope, _, cell), f in forecasts.items() if scope == "term"}
    for term in terms:  # the detector's flagged terms: their forecast
        term["forecast"] = forecast_line(by_term.get(term["term"]), period) if term.get("flagged") else None
    births = lineage(store, start=monday, end=sunday)
    dashboard = settings.dashboard
    return {"week": label, "from": str(monday), "to": str(sunday), "as_of": str(as_of),
            "detect_id": detect_id, "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "dashboard_url": f"http://{dashboard.host}:{dashboard.port}",
            "history": params.get("history") or {},  # a shortened baseline, or too little history: the note says
            "summary": {"n_passed": len(themes), "n_terms": sum(1 for t in terms if t.get("flagged")),
                        "n_bursts": len(burst_themes), "n_new_topics": sum(e["event"] == "birth" for e in births),
                        "freshness": freshness(store, sunday, period)},
            "themes": themes, "bursts": burst_themes, "watch_list": watch_list,
            "cross_sectoral": [t["topic_id"] for t in themes if t["is_cross_sectoral"]],
            "cross_border": [t["topic_id"] for t in themes if t["is_cross_border"]],
            "regions": region_highlights(store, detect_id, since, listed, settings.dashboard.regions, names),
            "lineage": births, "early_terms": terms,
            "cooled": cooled(store, detect_id, settings.trends.min_docs,
                             {t["topic_id"] for t in themes + burst_themes + watch_list}),
            "geography": digest_geography(store, settings.dashboard.regions,
                                          [t["topic_id"] for t in themes if t["flagged"]], settings.geography),
            "suppressed": suppressed, "health": health(store, monday, sunday)}


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("pipelines", "templates"),
                      autoescape=select_autoescape(["html.j2"], default=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["md_prose"] = md_prose
    env.filters["pct"] = lambda x: f"{100 * (x or 0):.2f}%"
    env.filters["num"] = lambda x, f="%.2f": "–" if x is None or pd.isna(x) else f % x
    env.filters["region"] = lambda code, names: region_label(code, names)
    return env


def render_digest(content: dict) -> dict[str, str]:
    """The three files of a digest: name -> text."""
    env = _environment()
    by_id = {t["topic_id"]: t for t in content["themes"] + content["bursts"] + content["watch_list"]}
    return {"digest.html": env.get_template("digest.html.j2").render(d=content, by_id=by_id),
            "digest.md": env.get_template("digest.md.j2").render(d=content, by_id=by_id),
            "digest.json": json.dumps(content, indent=2, default=str)}


def charts(content: dict) -> dict[str, bytes]:
    """One PNG per theme on the page (cards, bursts, watch list): file name -> bytes; a theme's optional
    "forecast" ((period, low, mid, high) shares) is drawn as a fan."""
    return {t["chart"]: png_chart(t["series"], t["recent_periods"], t["onset"], title=t["label"] or "",
                                  forecast=t.get("forecast"))
            for t in content["themes"] + content["bursts"] + content["watch_list"] if t["series"]}


def write_digest(store: Store, settings: Settings, week: str | None = None) -> tuple[StepResult, Path]:
    """Write digest.html, digest.md and digest.json for the week (and e-mail it when set up); return the folder."""
    from pipelines.steps.mail import mail_of, send_digest

    result = StepResult("digest")
    content = build_digest(store, settings, week)
    folder = settings.reports_dir / content["week"]
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("chart-topic-*.png"):
        old.unlink()
    files = render_digest(content) | charts(content)
    for name, data in files.items():
        tmp = folder / f".{name}.tmp"
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        tmp.replace(folder / name)
    result.count(themes=len(content["themes"]), charts=sum(name.endswith(".png") for name in files))
    logger.info("digest: wrote %s", folder)
    mail = mail_of(settings)
    if mail.enabled:
        try:
            result.count(mailed=send_digest(folder, mail))
        except (OSError, TrendscoutError) as exc:  # smtplib errors are OSErrors; the files are written anyway
            logger.warning("digest: e-mail to %d recipients failed: %s", len(mail.recipients), exc)
            result.error(f"mail: {type(exc).__name__}: {exc}")
    return result, folder
