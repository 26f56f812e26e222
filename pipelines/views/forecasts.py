"""The forecasts of a detection's topics (`theme_forecasts`): what `trends --json`, the digest and dashboard read."""

from __future__ import annotations

import pandas as pd

from pipelines.store import Store


def theme_forecasts(store: Store, detect_id: str, topic_id: int | None = None) -> dict[int, dict]:
    """Per topic (only `topic_id` when given): the model, P(lasting growth) (calibrated across topics; the topic's
    own: `p_lasting_raw`) and per step ahead the period, mean and median share and the 50 % / 80 % intervals."""
    rows = store.df("SELECT * FROM theme_forecasts WHERE detect_id = ? AND (? IS NULL OR topic_id = ?) "
                    "ORDER BY topic_id, step", [detect_id, topic_id, topic_id])
    out: dict[int, dict] = {}
    for row in rows.itertuples():
        p_lasting, raw = (None if pd.isna(p) else float(p) for p in (row.p_lasting, row.p_lasting_raw))  # NaN: no JSON
        topic = out.setdefault(int(row.topic_id), {"model": row.model, "p_lasting": p_lasting, "p_lasting_raw": raw,
                                                   "steps": []})
        topic["steps"].append({"step": int(row.step), "period": pd.Timestamp(row.period).date().isoformat(),
                               "mean": row.mean, "median": row.q50, "interval_50": [row.q25, row.q75],
                               "interval_80": [row.q10, row.q90]})
    return out


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
