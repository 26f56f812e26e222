"""A detection's forecasts per theme series (`theme_forecasts`): what `trends --json`, the digest and dashboard read."""

from __future__ import annotations

import pandas as pd

from pipelines.store import Store

Series = tuple[str, int, str]  # scope, topic_id, cell: a trend_scores / trend_cells row


def theme_forecasts(store: Store, detect_id: str, topic_id: int | None = None) -> dict[Series, dict]:
    """Per series (scope, topic_id, cell; only `topic_id`'s when given): the model, the horizon, P(lasting growth)
    (calibrated per scope; the series' own: `p_lasting_raw`), its baseline and last shares, and per step ahead the
    period, mean and median share and the 50 % / 80 % intervals."""
    rows = store.df("SELECT * FROM theme_forecasts WHERE detect_id = ? AND (? IS NULL OR topic_id = ?) "
                    "ORDER BY scope, topic_id, cell, step", [detect_id, topic_id, topic_id])
    out: dict[Series, dict] = {}
    for row in rows.itertuples():
        p_lasting, raw, base, last = (None if pd.isna(p) else float(p)  # NaN: no JSON
                                      for p in (row.p_lasting, row.p_lasting_raw, row.share_baseline, row.share_last))
        series = out.setdefault((row.scope, int(row.topic_id), row.cell), {
            "model": row.model, "horizon": 0, "p_lasting": p_lasting, "p_lasting_raw": raw, "share_baseline": base,
            "share_last": last, "steps": []})
        series["horizon"] += 1
        series["steps"].append({"step": int(row.step), "period": pd.Timestamp(row.period).date().isoformat(),
                                "mean": row.mean, "median": row.q50, "interval_50": [row.q25, row.q75],
                                "interval_80": [row.q10, row.q90]})
    return out


def forecast_line(forecast: dict | None, period: str) -> str | None:
    """A forecast in one line: 'next 4 months: share 1.20 % → 1.85 % (80 %: 0.90–2.60 %); P(lasting) 64 %' (from
    the last complete period's share to the median at the horizon); None without one."""
    if not forecast:
        return None
    last = forecast["steps"][-1]
    low, high = last["interval_80"]
    now = "" if forecast["share_last"] is None else f"{100 * forecast['share_last']:.2f} % → "
    n = forecast["horizon"]
    line = (f"next {n} {period}{'s' if n > 1 else ''}: share {now}{100 * last['median']:.2f} % "
            f"(80 %: {100 * low:.2f}–{100 * high:.2f} %)")
    return line + ("" if forecast["p_lasting"] is None else f"; P(lasting) {100 * forecast['p_lasting']:.0f} %")


def add_cell_lines(topic_id: int, regions: list[dict], sectors: list[dict], forecasts: dict, period: str) -> None:
    """Set `forecast` on each row of a theme's regions and sectors (`views.themes`): the line of its cell's forecast
    when the cell is flagged and has one, else None."""
    for scope, rows, key in (("region", regions, "code"), ("sector", sectors, "sector")):
        for row in rows:
            found = forecasts.get((scope, topic_id, row[key])) if row.get("flagged") else None
            row["forecast"] = forecast_line(found, period)


def fan_traces(series: list, forecast: dict) -> list[dict]:
    """Plotly traces of a theme's share per period (% of documents) and, after its last period, the forecast
    fan: the 80 % and 50 % bands and the median, starting from the last observed share before it."""
    history = {"type": "scatter", "mode": "lines+markers", "name": "share of documents",
               "x": [p for p, _, _ in series], "y": [round(100 * s, 3) for _, s, _ in series],
               "customdata": [n for _, _, n in series], "hovertemplate": "%{x}: %{y:.2f}% (%{customdata} documents)",
               "line": {"color": "#364fc7"}}
    steps = forecast["steps"]
    before = [(p, share) for p, share, _ in series if p < steps[0]["period"]] or [series[0][:2]]
    x = [before[-1][0]] + [s["period"] for s in steps]

    def line(values: list[float], name: str, **style) -> dict:
        return {"type": "scatter", "mode": "lines", "name": name, "x": x,
                "y": [round(100 * v, 3) for v in [before[-1][1], *values]], "hovertemplate": "%{x}: %{y:.2f}%", **style}

    band = {"line": {"width": 0}, "showlegend": False}
    return [history,
            line([s["interval_80"][0] for s in steps], "80 % low", **band),
            line([s["interval_80"][1] for s in steps], "forecast 80 %", fill="tonexty",
                 fillcolor="rgba(54,79,199,0.15)", line={"width": 0}),
            line([s["interval_50"][0] for s in steps], "50 % low", **band),
            line([s["interval_50"][1] for s in steps], "forecast 50 %", fill="tonexty",
                 fillcolor="rgba(54,79,199,0.3)", line={"width": 0}),
            line([s["median"] for s in steps], "forecast median", line={"color": "#364fc7", "dash": "dot"})]
