"""The dashboard's interactive charts as Plotly figures (plain JSON): recent documents per region, sector mix.

The numbers are those of the tables beside the charts (`views.themes`); regions are named "Name (CODE)"
(`views.names`), sectors by their taxonomy label. Sector labels are the ones enrichment kept, that is above
their calibrated threshold (zero-shot) or given by the source; their mean score is shown as the confidence.
Plotly reads a few HTML tags in labels, so names go out HTML-escaped (it shows the entities as text).
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape

import pandas as pd

from nlp.trends import period_freq
from pipelines.store import Store
from pipelines.views.features import SECTORS_SQL
from pipelines.views.names import region_label, sector_label

_BAR_LAYOUT = {"margin": {"t": 10, "r": 10, "b": 45, "l": 10},
               "legend": {"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom"},
               "yaxis": {"autorange": "reversed", "automargin": True}}
_NAME = 34  # characters of a region's name on an axis (hover shows the same label)


def region_figure(themes: list[tuple[str, list[dict]]], names: dict[str, str], k: int = 12) -> dict:
    """Horizontal bars of recent documents per NUTS-2 region ("Name (CODE)"), stacked by theme; the regions
    with most documents over all themes first, at most `k`.

    Args:
        themes: (theme label, rows with code, n and lq as `views.themes.theme_regions` returns them).
    """
    totals: dict[str, int] = {}
    for _, rows in themes:
        for r in rows:
            totals[r["code"]] = totals.get(r["code"], 0) + int(r["n"])
    codes = sorted((c for c, n in totals.items() if n > 0), key=lambda c: (-totals[c], c))[:k]
    labels = [escape(region_label(c, {c: _cut(names[c])} if names.get(c) else {})) for c in codes]
    data = []
    for theme, rows in themes:
        by_code = {r["code"]: r for r in rows}
        if not any(c in by_code for c in codes):
            continue
        data.append({"type": "bar", "orientation": "h", "name": escape(theme), "y": labels,
                     "x": [int(by_code[c]["n"]) if c in by_code else 0 for c in codes],
                     "customdata": [_number(by_code.get(c, {}).get("lq")) for c in codes],
                     "hovertemplate": "%{y}: %{x} recent documents, location quotient %{customdata}"})
    layout = {**_BAR_LAYOUT, "barmode": "stack", "showlegend": len(data) > 1,
              "height": 70 + 24 * len(codes) + (24 * (1 + len(data) // 3) if len(data) > 1 else 0),
              "xaxis": {"title": {"text": "documents in the recent window"}, "rangemode": "tozero"}}
    return {"data": data, "layout": layout}


def _cut(name: str) -> str:
    return name if len(name) <= _NAME else name[:_NAME - 1].rstrip() + "…"


def _number(value) -> str:
    return "–" if value is None or value != value else f"{value:.2f}"


def sector_mix(store: Store, topic_id: int, series: list, recent: list[str], period: str,
               baseline_periods: int = 0, k: int = 8) -> dict:
    """A theme's sectors before and in the recent window, most recent documents first (at most `k`).

    Windows: the recent periods, and the `baseline_periods` periods of `series` before them (0: all). Per sector:
    n_before, n_recent, share_before, share_recent (of the theme's documents with a sector in that window),
    confidence (the mean score of its labels on the theme's documents; None for sectors the source gave).
    Returns {"from", "until" (the baseline's days), "since", "to" (the recent window's), "rows"}; no rows
    without a recent window.
    """
    if not recent:
        return {"from": None, "until": None, "since": None, "to": None, "rows": []}
    before = [p for p, _, _ in series if p < recent[0]][-baseline_periods:]  # [-0:]: all of them
    start, since = date.fromisoformat(before[0] if before else recent[0]), date.fromisoformat(recent[0])
    end = pd.Timestamp(recent[-1]).to_period(period_freq(period)).end_time.date()
    frame = store.df(f"""
        WITH docs AS (SELECT d.doc_id, d.published_on >= ? AS recent FROM topic_assignments a
                      JOIN documents d USING (doc_id)
                      WHERE a.topic_id = ? AND d.published_on >= ? AND d.published_on <= ?),
             s AS (SELECT docs.doc_id, docs.recent, x.sector FROM docs JOIN ({SECTORS_SQL}) x USING (doc_id))
        SELECT s.sector, count(*) FILTER (WHERE NOT s.recent) AS n_before, count(*) FILTER (WHERE s.recent) AS n_recent,
               avg(l.score) AS confidence
        FROM s LEFT JOIN doc_sectors l USING (doc_id, sector) GROUP BY s.sector""", [since, topic_id, start, end])
    totals = store.df(f"""
        SELECT d.published_on >= ? AS recent, count(DISTINCT d.doc_id) AS n FROM topic_assignments a
        JOIN documents d USING (doc_id) WHERE a.topic_id = ? AND d.published_on >= ? AND d.published_on <= ?
        AND d.doc_id IN (SELECT doc_id FROM ({SECTORS_SQL})) GROUP BY 1""", [since, topic_id, start, end])
    n = {bool(r): int(c) for r, c in zip(totals["recent"], totals["n"], strict=True)}
    frame = frame.sort_values(["n_recent", "n_before", "sector"], ascending=[False, False, True]).head(k)
    rows = [{"sector": r.sector, "name": sector_label(r.sector), "n_before": int(r.n_before),
             "n_recent": int(r.n_recent), "share_before": r.n_before / n[False] if n.get(False) else 0.0,
             "share_recent": r.n_recent / n[True] if n.get(True) else 0.0,
             "confidence": None if pd.isna(r.confidence) else round(float(r.confidence), 3)}
            for r in frame.itertuples()]
    return {"from": str(start) if before else None, "until": str(since - timedelta(days=1)) if before else None,
            "since": str(since), "to": str(end), "rows": rows}


def sector_figure(mix: dict) -> dict:
    """Grouped horizontal bars: each sector's share of the theme's documents before and in the recent window."""
    rows = mix["rows"]
    names = [escape(r["name"]) for r in rows]
    confidence = [_number(r["confidence"]) for r in rows]
    windows = [(f"recent: {mix['since']} to {mix['to']}", "recent")]
    if mix["from"]:
        windows.insert(0, (f"before: {mix['from']} to {mix['until']}", "before"))
    data = [{"type": "bar", "orientation": "h", "name": name, "y": names,
             "x": [round(100 * r[f"share_{key}"], 2) for r in rows],
             "customdata": [[r[f"n_{key}"], c] for r, c in zip(rows, confidence, strict=True)],
             "hovertemplate": "%{y}: %{x:.1f}% of the theme's documents (%{customdata[0]}), "
                              "confidence %{customdata[1]}"}
            for name, key in windows]
    layout = {**_BAR_LAYOUT, "barmode": "group", "height": 110 + 18 * len(data) * len(rows),
              "xaxis": {"title": {"text": "% of the theme's documents with a sector"}, "rangemode": "tozero"}}
    return {"data": data if rows else [], "layout": layout}
