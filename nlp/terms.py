"""Term-level early signals: Porter et al.'s emergence score (ESc) for words and phrases.

After Porter, Garner, Carley & Newman (2019), "Emergence scoring to identify frontier R&D topics and
key players", Technological Forecasting & Social Change 146. Ten periods: a base of 3 and an active
span of 7. A term is a candidate when it appears in at least 7 records, in at least 3 periods, in
under 15% of the base period's records, and in at least twice as many active-period records as base
ones (a term absent from the base counts as new and passes). Its score is

    ESc = 2 * active trend + recent trend + slope

where, with a_k the term's records and n_k all records in active period k (1..7),
active trend = (a5+a6+a7) / (sqrt n5 + sqrt n6 + sqrt n7) - (a1+a2+a3) / (sqrt n1 + sqrt n2 + sqrt n3),
recent trend = 10 * [(a6+a7) / (sqrt n6 + sqrt n7) - (a4+a5) / (sqrt n4 + sqrt n5)] and
slope = 10 * (a7 / sqrt n7 - a4 / sqrt n4) / 3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from nlp.term_trends import term_matrix

OUTLIER = -1


class EmergentTermScorer(BaseEstimator):
    """Score terms by ESc and link each emergent term to the topic (or outlier pool) that holds it."""

    def __init__(self, *, base_periods: int, active_periods: int, min_records: int, min_periods: int = 3,
                 max_base_share: float = 0.15, min_active_base_ratio: float = 2.0, ngram_range=(1, 3),
                 max_terms: int = 50):
        self.base_periods = base_periods
        self.active_periods = active_periods
        self.min_records = min_records
        self.min_periods = min_periods
        self.max_base_share = max_base_share
        self.min_active_base_ratio = min_active_base_ratio
        self.ngram_range = ngram_range
        self.max_terms = max_terms

    def fit(self, texts: list[str], periods, topics=None) -> EmergentTermScorer:
        """Learn `terms_`: emergent terms with their ESc, counts and topic links, best first.

        Args:
            texts: one per record.
            periods: period index per record, 0 = first base period, base + active - 1 = last active
                period; records outside that range are ignored.
            topics: topic id per record (optional), for the links.
        """
        periods = np.asarray(periods)
        keep = (periods >= 0) & (periods < self.base_periods + self.active_periods)
        matrix, names = term_matrix([t for t, k in zip(texts, keep, strict=True) if k], self.min_records, 1.0,
                                    self.ngram_range)
        return self.fit_matrix(matrix, names, periods[keep], None if topics is None else np.asarray(topics)[keep])

    def fit_matrix(self, matrix, names: np.ndarray, periods, topics=None) -> EmergentTermScorer:
        """As `fit`, from binary records x terms counts (`nlp.term_trends`) of the records in the periods."""
        if self.active_periods != 7:
            raise ValueError("ESc's published trends are defined on 7 active periods")
        n_periods = self.base_periods + self.active_periods
        periods = np.asarray(periods)
        totals = np.bincount(periods, minlength=n_periods).astype(float)
        columns = ["term", "esc", "n_records", "n_base", "n_active", "topic_id", "topic_share", "outlier_share"]
        if len(periods) < self.min_records or (totals[self.base_periods:] == 0).any():
            self.terms_ = pd.DataFrame(columns=columns)
            return self
        by_period = np.vstack([np.asarray(matrix[periods == k].sum(axis=0)).ravel()
                               for k in range(n_periods)]).T.astype(int)
        base = by_period[:, : self.base_periods].sum(axis=1)
        active = by_period[:, self.base_periods:]
        n_base_records = max(totals[: self.base_periods].sum(), 1.0)
        candidate = ((by_period.sum(axis=1) >= self.min_records) & ((by_period > 0).sum(axis=1) >= self.min_periods)
                     & (base / n_base_records < self.max_base_share)
                     & (active.sum(axis=1) >= self.min_active_base_ratio * base))
        esc = escore(active, totals[self.base_periods:])
        frame = pd.DataFrame({"term": names, "esc": esc,
                              "n_records": by_period.sum(axis=1), "n_base": base, "n_active": active.sum(axis=1)})
        frame = frame[candidate & (esc > 0)].sort_values("esc", ascending=False).head(self.max_terms)
        links = _topic_links(matrix[:, frame.index.to_numpy()], periods >= self.base_periods, topics)
        self.terms_ = pd.concat([frame.reset_index(drop=True), links], axis=1)[columns]
        return self


def escore(active: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """ESc per term from its records in 7 active periods (terms x 7) and all records per period (7)."""
    a, root = np.asarray(active, float), np.sqrt(np.maximum(np.asarray(totals, float), 1.0))
    active_trend = a[:, 4:7].sum(1) / root[4:7].sum() - a[:, 0:3].sum(1) / root[0:3].sum()
    recent_trend = 10 * (a[:, 5:7].sum(1) / root[5:7].sum() - a[:, 3:5].sum(1) / root[3:5].sum())
    slope = 10 * (a[:, 6] / root[6] - a[:, 3] / root[3]) / 3
    return 2 * active_trend + recent_trend + slope


def _topic_links(matrix, is_active: np.ndarray, topics: np.ndarray | None) -> pd.DataFrame:
    """For each term column: the topic with most of its active records, that share, and the outlier share."""
    n_terms = matrix.shape[1]
    if topics is None or n_terms == 0:
        return pd.DataFrame({"topic_id": [None] * n_terms, "topic_share": np.nan, "outlier_share": np.nan})
    sub = matrix[is_active]
    topic_of = topics[is_active]
    labels = np.unique(topic_of)
    per_topic = np.vstack([np.asarray(sub[topic_of == t].sum(axis=0)).ravel() for t in labels])  # topics x terms
    totals = np.maximum(per_topic.sum(axis=0), 1)
    real = labels != OUTLIER
    best = per_topic[real].argmax(axis=0) if real.any() else np.zeros(n_terms, dtype=int)
    outliers = per_topic[~real].sum(axis=0) if (~real).any() else np.zeros(n_terms)
    return pd.DataFrame({"topic_id": labels[real][best] if real.any() else [None] * n_terms,
                         "topic_share": per_topic[real].max(axis=0) / totals if real.any() else np.nan,
                         "outlier_share": outliers / totals})
