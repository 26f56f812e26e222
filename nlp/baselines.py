"""Baselines the detector must beat, each ranking the same topics or terms by its own score.

In a backtest every baseline flags, per cutoff, as many items as the detector did (its top k), so
they are compared at the same flag budget:

- `topic_share`: a topic's share of all documents, recent window over baseline window, counting only
  periods that hold documents (an empty period adds nothing to either side);
- `topics_over_time`: a topic's mean raw count per period, recent over baseline, as BERTopic's
  `topics_over_time` frequencies give it (empty periods count as zero, no volume normalisation);
- `term_share`: a term's share of the documents, recent over baseline, over the detector's candidate
  terms (the same cells the detector tests);
- `esc`: Porter's emergence score of terms (`nlp.terms`), the pyGrams candidate rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

OUTLIER = -1
METHODS = ("topic_share", "topics_over_time", "term_share", "esc")


def _window_counts(counts: pd.DataFrame, recent: list, baseline: list) -> pd.DataFrame:
    counts = counts.assign(period=pd.to_datetime(counts["period"]))
    n_recent = counts[counts["period"].isin(recent)].groupby("topic_id")["n_docs"].sum()
    n_base = counts[counts["period"].isin(baseline)].groupby("topic_id")["n_docs"].sum()
    return pd.DataFrame({"n_recent": n_recent, "n_baseline": n_base}).fillna(0).astype(int).rename_axis("topic_id")


def topic_share_growth(counts: pd.DataFrame, recent: list, baseline: list) -> pd.DataFrame:
    """Per topic: growth of its share of all documents (outliers count in the volume, are never ranked).

    Args:
        counts: topic_id, period, n_docs for every topic including the outliers.
    Returns:
        topic_id, n_recent, n_baseline, growth.
    """
    out = _window_counts(counts, recent, baseline)
    v_recent, v_base = out["n_recent"].sum(), out["n_baseline"].sum()
    out["growth"] = ((out["n_recent"] + 0.5) / (v_recent + 1.0)) / ((out["n_baseline"] + 0.5) / (v_base + 1.0))
    return out.drop(OUTLIER, errors="ignore").reset_index()


def topics_over_time_growth(counts: pd.DataFrame, recent: list, baseline: list) -> pd.DataFrame:
    """Per topic: growth of the mean raw count per period (BERTopic's topics_over_time frequencies)."""
    out = _window_counts(counts, recent, baseline)
    out["growth"] = (out["n_recent"] / len(recent) + 0.5) / (out["n_baseline"] / max(len(baseline), 1) + 0.5)
    return out.drop(OUTLIER, errors="ignore").reset_index()


def top_k(frame: pd.DataFrame, score: str, k: int, min_docs: int) -> pd.DataFrame:
    """The `k` items with at least `min_docs` recent documents and the highest `score`, ranked from 1."""
    if k <= 0 or frame.empty:
        return frame.iloc[:0].assign(rank=pd.Series(dtype=int))
    eligible = frame[frame["n_recent"] >= min_docs] if "n_recent" in frame else frame
    out = eligible.sort_values(score, ascending=False, kind="stable").head(k).copy()
    out["rank"] = np.arange(1, len(out) + 1)
    return out

