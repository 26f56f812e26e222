"""Rising themes: each topic's share of documents in a recent window against its baseline.

A topic's recent count is tested against what its smoothed baseline share predicts for the recent
volume (Poisson, one-sided), with Benjamini–Hochberg control of the false-discovery rate across
topics; a flag also needs minimum support and minimum growth of the share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import poisson
from sklearn.base import BaseEstimator

OUTLIER = -1


def period_start(dates: pd.Series, period: str = "month") -> pd.Series:
    """The first day of each date's month or ISO week."""
    dates = pd.to_datetime(dates)
    if period == "month":
        return dates.dt.to_period("M").dt.start_time
    if period == "week":
        return dates.dt.to_period("W-SUN").dt.start_time
    raise ValueError(f"period must be 'month' or 'week', not {period!r}")


def complete_periods(as_of: pd.Timestamp, n: int, period: str = "month") -> list[pd.Timestamp]:
    """The `n` last periods that ended on or before `as_of`, oldest first."""
    freq = "M" if period == "month" else "W-SUN"
    current = pd.Timestamp(as_of).to_period(freq)
    last = current if pd.Timestamp(as_of).normalize() == current.end_time.normalize() else current - 1
    return [(last - i).start_time for i in range(n - 1, -1, -1)]


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted q-values (monotone, capped at 1)."""
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


class RisingThemeDetector(BaseEstimator):
    """Score topics by the growth of their share in the recent periods over the baseline periods."""

    def __init__(self, recent_periods: int = 3, baseline_periods: int = 12, min_docs: int = 5,
                 min_growth: float = 1.5, fdr: float = 0.05):
        self.recent_periods = recent_periods
        self.baseline_periods = baseline_periods
        self.min_docs = min_docs
        self.min_growth = min_growth
        self.fdr = fdr

    def fit(self, counts: pd.DataFrame, y=None, *, as_of=None, period: str = "month") -> RisingThemeDetector:
        """Fix the windows from `as_of` (default: the last period in counts, taken as complete)."""
        if as_of is None:
            as_of = (pd.Timestamp(counts["period"].max()) + pd.offsets.MonthEnd(0)) if period == "month" \
                else pd.Timestamp(counts["period"].max()) + pd.Timedelta(days=6)
        periods = complete_periods(as_of, self.recent_periods + self.baseline_periods, period)
        self.baseline_periods_ = periods[: self.baseline_periods]
        self.recent_periods_ = periods[self.baseline_periods:]
        return self

    def transform(self, counts: pd.DataFrame) -> pd.DataFrame:
        """One row per topic (outliers excluded): counts, shares, growth, p/q-values, flag and rank.

        Args:
            counts: columns topic_id, period (period start), n_docs — including the outlier topic,
                so that period totals are the whole corpus.
        """
        periods = pd.to_datetime(counts["period"])
        recent = counts[periods.isin(self.recent_periods_)]
        base = counts[periods.isin(self.baseline_periods_)]
        n_recent_total, n_base_total = recent["n_docs"].sum(), base["n_docs"].sum()
        topics = sorted(t for t in counts["topic_id"].unique() if t != OUTLIER)
        out = pd.DataFrame({"topic_id": topics})
        out["n_recent"] = out["topic_id"].map(recent.groupby("topic_id")["n_docs"].sum()).fillna(0).astype(int)
        out["n_baseline"] = out["topic_id"].map(base.groupby("topic_id")["n_docs"].sum()).fillna(0).astype(int)
        out["share_recent"] = out["n_recent"] / max(n_recent_total, 1)
        out["share_baseline"] = out["n_baseline"] / max(n_base_total, 1)
        smoothed = (out["n_baseline"] + 0.5) / (n_base_total + 1.0)
        expected = smoothed * n_recent_total
        out["growth"] = out["share_recent"] / smoothed
        out["p_value"] = poisson.sf(out["n_recent"] - 1, expected) if len(out) else []
        out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy())
        out["score"] = np.log2(out["growth"].clip(lower=1e-9)) * np.sqrt(out["n_recent"])
        out["flagged"] = ((out["n_recent"] >= self.min_docs) & (out["growth"] >= self.min_growth)
                          & (out["q_value"] <= self.fdr))
        out = out.sort_values(["flagged", "score"], ascending=[False, False]).reset_index(drop=True)
        out["rank"] = np.arange(1, len(out) + 1)
        return out
