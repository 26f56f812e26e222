"""The forecasts of a detection's topics (`theme_forecasts`): what `trends --json`, the digest and dashboard read."""

from __future__ import annotations

import pandas as pd

from pipelines.store import Store


def theme_forecasts(store: Store, detect_id: str) -> dict[int, dict]:
    """Per topic: the model, P(lasting growth) and per step ahead the period, mean share and 50 % / 80 % intervals."""
    rows = store.df("SELECT * FROM theme_forecasts WHERE detect_id = ? ORDER BY topic_id, step", [detect_id])
    out: dict[int, dict] = {}
    for row in rows.itertuples():
        p_lasting = None if pd.isna(row.p_lasting) else float(row.p_lasting)  # NaN is not JSON
        topic = out.setdefault(int(row.topic_id), {"model": row.model, "p_lasting": p_lasting, "steps": []})
        topic["steps"].append({"step": int(row.step), "period": pd.Timestamp(row.period).date().isoformat(),
                               "mean": row.mean, "interval_50": [row.q25, row.q75], "interval_80": [row.q10, row.q90]})
    return out
