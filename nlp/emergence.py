"""Emergence of topics: scored from named components, tested per topic x region x sector x kind cell.

A *cell* is a topic inside a sub-corpus: all documents (scope "topic"), one NUTS-2 region, one sector
or one kind — or a topic-specific word or phrase (scope "term", `nlp.term_trends`). Each cell's recent
count is tested against its baseline with a per-source volume offset (`nlp.trends.rate_test`), and
Benjamini–Hochberg runs across every cell that can reach significance, all scopes at once.
The windows are measured in days and end at the as-of date (`recent_days` against the `baseline_days`
before), so they move with every cutoff. Inside them, counts are binned by periods anchored at the as-of
date (for dispersion, persistence and onset); with `period="auto"` the period (week … year) is the
shortest in which the median topic has `min_period_docs` documents per period, among those that put at
least `min_active_periods` periods in the recent window: thin data gets coarser bins, not longer
windows. A corpus that starts inside the baseline window gets a baseline from its start when that
holds at least `min_baseline_days` (`nlp.trends.history`; `history_.note` says so), else `fit` raises
`TooLittleHistory`. The score an analyst reads is a weighted sum of components,
each stored on its own:

- growth: log2 of the rate ratio recent / baseline, normalised for volume per source;
- acceleration: log2 rate ratio of the late half of the recent window over its early half;
- novelty: young topics far from older ones (age in periods; 1 - cosine to the nearest older centroid);
- persistence: longest run of recent periods above the baseline share, over the recent window;
- spread: regions, sectors and organisations new to the topic (a leading indicator).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from nlp.diversity import sector_diversity
from nlp.regional import cross_border, regional_measures
from nlp.series import cell_matrices
from nlp.term_trends import TermCounts, carried, linked_topics, redundant, specific_terms, term_counts
from nlp.trends import (
    AUTO,
    Dispersion,
    choose_period,
    data_edge,
    discrete_bh,
    fit_dispersion,
    history,
    onset,
    per_period_mean,
    periods_in,
    rate_test,
    rolling_periods,
    rolling_start,
)

OUTLIER = -1
COUNT_MODELS = ("poisson", "quasipoisson")
DEFAULT_WEIGHTS = {"growth": 1.0, "acceleration": 0.5, "novelty": 0.5, "persistence": 0.5, "spread": 0.5}


class EmergenceDetector(BaseEstimator):
    """Flag emerging topics and cells; every flag carries its p/q-value and components."""

    def __init__(self, *, period: str, recent_days: int, baseline_days: int, min_baseline_days: int, min_docs: int,
                 min_growth: float,
                 min_active_periods: int, fdr: float, count_model: str, weights: dict | None,
                 min_diversity_gain: float, min_period_docs: float, max_term_df: float, min_term_specificity: float,
                 term_chance_p: float,
                 max_term_flags: int, max_carried_share: float, esc_period: str, esc_periods: int):
        """Every argument is required: the defaults live in the caller's settings (trendscout: `[trends]`).

        `recent_days` and `baseline_days` are the windows' lengths (rounded to whole periods), `min_baseline_days`
        the shortest baseline a corpus that starts late may have; a flagged term whose rise a flagged topic's or a
        more significant flagged term's explains by `max_carried_share` is not flagged (`nlp.term_trends.carried`);
        `esc_period` ("auto": the detection's) and `esc_periods` fix the window of Porter's ESc term scores.
        """
        self.period = period
        self.recent_days = recent_days
        self.baseline_days = baseline_days
        self.min_baseline_days = min_baseline_days
        self.min_docs = min_docs
        self.min_growth = min_growth
        self.min_active_periods = min_active_periods
        self.fdr = fdr
        self.count_model = count_model
        self.weights = weights
        self.min_diversity_gain = min_diversity_gain
        self.min_period_docs = min_period_docs
        self.max_term_df = max_term_df
        self.min_term_specificity = min_term_specificity
        self.term_chance_p = term_chance_p
        self.max_term_flags = max_term_flags
        self.max_carried_share = max_carried_share
        self.esc_period = esc_period
        self.esc_periods = esc_periods

    def fit(self, docs: pd.DataFrame, y=None, *, as_of=None) -> EmergenceDetector:
        """Fix the windows at `as_of` (default: newest date) and learn the count dispersion.

        Fitted: `as_of_`, `history_` (`nlp.trends.History`: the baseline the corpus allows), `period_` (chosen
        when "auto"), `periods_` = `baseline_periods_` + `recent_periods_` (the starts of the periods ending with
        `as_of_`; a shortened baseline starts with the period of the data's start), `window_` (doc_id, topic_id,
        period, recent: the documents in those periods), `esc_window_` (doc_id, topic_id, t: the documents in
        ESc's `esc_periods` periods ending with `as_of_`, t their index) and `dispersion_` (`nlp.trends.Dispersion`:
        the topics' count dispersion as a function of their mean count per period; 1 with the Poisson model).

        Args:
            docs: one row per document: doc_id, topic_id, published_on, source (outliers included, so
                that volumes are the whole corpus).
        Raises:
            TooLittleHistory: the corpus starts less than `recent_days + min_baseline_days` before `as_of`.
        """
        if self.count_model not in COUNT_MODELS:
            raise ValueError(f"count_model must be one of {COUNT_MODELS}, not {self.count_model!r}")
        self.as_of_ = pd.Timestamp(as_of if as_of is not None else data_edge(docs["published_on"])).normalize()
        self.history_ = history(docs["published_on"], self.as_of_, self.recent_days, self.baseline_days,
                                self.min_baseline_days)
        self.period_ = self.period
        if self.period == AUTO:
            self.period_ = choose_period(docs, self.as_of_, self.recent_days, self.history_.baseline_days,
                                         self.min_period_docs, self.min_active_periods,
                                         shortened=self.history_.shortened)
        b, r = periods_in(self.baseline_days, self.period_), periods_in(self.recent_days, self.period_)
        periods = rolling_periods(self.as_of_, b + r, self.period_)
        if self.history_.shortened:  # the baseline starts with the bin of the data's start
            first = int(np.searchsorted(np.array(periods, dtype="datetime64[ns]"),
                                        self.history_.start.to_datetime64(), side="right")) - 1
            first = min(max(first, 0), b - 1)
            periods, b = periods[first:], b - first
        self.periods_ = periods
        self.baseline_periods_, self.recent_periods_ = periods[:b], periods[b:]
        window = docs[["doc_id", "topic_id"]].assign(period=self.period_starts(docs))
        window = window[window["period"].isin(periods)]
        self.window_ = window.assign(recent=window["period"].isin(self.recent_periods_)).reset_index(drop=True)
        esc_period = self.period_ if self.esc_period == AUTO else self.esc_period
        index = {p: i for i, p in enumerate(rolling_periods(self.as_of_, self.esc_periods, esc_period))}
        t = rolling_start(docs["published_on"], self.as_of_, esc_period).map(index)
        self.esc_window_ = docs.loc[t.notna().to_numpy(), ["doc_id", "topic_id"]].assign(
            t=t.dropna().astype(int).to_numpy()).reset_index(drop=True)
        keys, counts, _, base_expected = cell_matrices(self._windowed(docs), len(periods), b, self.min_docs)
        real = (keys["topic_id"] != OUTLIER).to_numpy()
        self.dispersion_ = self._dispersion(counts[real], base_expected[real])
        return self

    def period_starts(self, docs: pd.DataFrame) -> pd.Series:
        """The start of each document's period, the periods anchored at the as-of date (NaT after it)."""
        return rolling_start(docs["published_on"], self.as_of_, self.period_)

    @property
    def _split(self) -> tuple[int, int]:
        """(baseline, recent) numbers of periods of the fitted windows."""
        return len(self.baseline_periods_), len(self.recent_periods_)

    def _windowed(self, docs: pd.DataFrame, groups: pd.DataFrame | None = None) -> pd.DataFrame:
        """Memberships (scope, cell) of the documents in the window, with their period index."""
        frame = docs.assign(period=self.period_starts(docs))
        index = {p: i for i, p in enumerate(self.periods_)}
        frame = frame[frame["period"].isin(index)].assign(t=lambda f: f["period"].map(index))
        members = [frame.assign(scope="topic", cell="")]
        if groups is not None and len(groups):
            members.append(frame.merge(groups[["doc_id", "scope", "cell"]], on="doc_id"))
        return pd.concat(members, ignore_index=True)[["doc_id", "topic_id", "source", "t", "scope", "cell"]]

    def transform(self, docs: pd.DataFrame, groups: pd.DataFrame | None = None, orgs: pd.DataFrame | None = None,
                  centroids: dict[int, np.ndarray] | None = None, terms: TermCounts | None = None) -> pd.DataFrame:
        """One row per topic cell (and tested term) with counts, components, p/q-values, flags and rank.

        Args:
            docs: as in `fit`.
            groups: doc_id, scope (region | sector | kind), cell (NUTS-2 code, sector label, kind),
                country (regions only): the sub-corpora each document belongs to.
            orgs: doc_id, org, region (NUTS-2 or None), country: the organisations behind documents.
            centroids: topic_id -> unit centroid, for the distance part of novelty.
            terms: term counts of (at least) the window's documents, for the term cells.
        """
        b, r = self._split
        members = self._windowed(docs, groups)
        keys, counts, expected, base_expected = cell_matrices(members, b + r, b)
        keys = keys[keys["topic_id"] != OUTLIER]
        counts, expected, base_expected = (m[keys.index] for m in (counts, expected, base_expected))
        cells = self._tests(keys.reset_index(drop=True), counts, expected, base_expected, self.dispersion_)
        terms, term_docs, term_rows = self._term_cells(docs, terms) if terms is not None else (None, None, None)
        self._fdr(*(f for f in (cells, terms) if f is not None))
        cells = cells.merge(self._topic_spread(docs, groups, orgs, centroids), on="topic_id", how="left")
        cells = regional_measures(cells, members, b)
        cells = self._flag(cells)
        topic_flags = cells.loc[cells["scope"] == "topic"].set_index("topic_id")["flagged"]
        diversity = sector_diversity(members, b, topic_flags, self.min_diversity_gain)
        cells = cells.merge(diversity, on="topic_id", how="left").merge(cross_border(cells, members, orgs, b),
                                                                       on="topic_id", how="left")
        if terms is not None and len(terms):
            terms = self._flag(terms)
            flagged = terms.index[terms["flagged"]].to_numpy()
            order = flagged[np.argsort(terms.loc[flagged, "p_value"].to_numpy(), kind="stable")]
            same = redundant(term_docs, order)
            terms, order = terms.drop(order[same]), order[~same]
            flagged_topics = cells.loc[(cells["scope"] == "topic") & cells["flagged"], "topic_id"]
            topics = [term_rows["topic_id"].to_numpy() == t for t in flagged_topics]
            riding = order[carried(term_docs, term_rows["recent"].to_numpy(), order, self.max_carried_share, topics)]
            terms.loc[riding, ["flagged", "failed"]] = [False, "carried"]  # another flag's rise explains it
            beyond = terms[terms["flagged"]].sort_values(["q_value", "p_value"], kind="stable")\
                .index[self.max_term_flags:]
            terms.loc[beyond, ["flagged", "failed"]] = [False, "term_cap"]  # the most significant terms are kept
            cells = pd.concat([cells, terms.astype({"flagged": bool})], ignore_index=True)
        cells = cells.sort_values(["flagged", "score"], ascending=[False, False]).reset_index(drop=True)
        cells["rank"] = cells.groupby("scope").cumcount() + 1
        return cells

    def _tests(self, cells: pd.DataFrame, counts: np.ndarray, expected: np.ndarray, base_expected: np.ndarray,
               dispersion: Dispersion) -> pd.DataFrame:
        """Counts, growth, dispersion (at the cell's baseline documents per period with volume), p-value, smallest
        attainable p-value, shape and index series per cell."""
        b = self._split[0]
        cells["n_baseline"], cells["n_recent"] = counts[:, :b].sum(axis=1), counts[:, b:].sum(axis=1)
        e_b, e_r = expected[:, :b].sum(axis=1), expected[:, b:].sum(axis=1)
        cells["dispersion"] = dispersion = dispersion(per_period_mean(counts[:, :b], expected[:, :b]))
        cells["expected_recent"] = e_r * (cells["n_baseline"] + 0.5) / (e_b + 0.5)
        has_volume = (e_b > 0) & (e_r > 0)  # a sub-corpus empty in one window has no growth to measure
        cells["growth"] = np.where(has_volume, (cells["n_recent"] + 0.5) * e_b / np.maximum(e_r, 1e-12)
                                   / (cells["n_baseline"] + 0.5), np.nan)
        cells["p_value"] = rate_test(cells["n_recent"], cells["n_baseline"], e_r, e_b, dispersion)
        total = cells["n_recent"] + cells["n_baseline"]
        cells["p_min"] = rate_test(total, np.zeros(len(cells)), e_r, e_b, dispersion)
        cells = cells.join(self._shape(counts[:, b:], base_expected[:, b:]))
        ratio = np.where(expected > 0, counts / np.where(expected > 0, expected, 1.0), np.nan)
        cells["index_series"] = list(np.round(ratio, 4))  # NaN where nothing was expected: no data, not 0
        return cells

    def _dispersion(self, counts: np.ndarray, base_expected: np.ndarray) -> Dispersion:
        """Dispersion of the baseline periods' counts around the cells' own baseline shares, by mean count (1 with
        the Poisson model)."""
        b = self._split[0]
        if self.count_model != "quasipoisson" or not len(counts):
            return Dispersion()
        observed = counts[:, :b].sum(axis=1, keepdims=True)
        scaled = base_expected[:, :b] * observed / np.maximum(base_expected[:, :b].sum(axis=1, keepdims=True), 1e-12)
        return fit_dispersion(counts[:, :b], scaled, self.min_docs)

    def _fdr(self, *frames: pd.DataFrame) -> None:
        """q-values by BH over every cell with minimum support that can reach significance, all frames at once."""
        support = [f["n_baseline"] + f["n_recent"] >= self.min_docs for f in frames]  # the total, not the split
        p = np.concatenate([f.loc[s, "p_value"].to_numpy() for f, s in zip(frames, support, strict=True)])
        floor = np.concatenate([f.loc[s, "p_min"].to_numpy() for f, s in zip(frames, support, strict=True)])
        q, testable = discrete_bh(p, floor, self.fdr)
        start = 0
        for frame, s in zip(frames, support, strict=True):
            n = int(s.sum())
            frame["q_value"], frame["tested"] = 1.0, False
            frame.loc[s, "q_value"], frame.loc[s, "tested"] = q[start:start + n], testable[start:start + n]
            start += n

    def _flag(self, cells: pd.DataFrame) -> pd.DataFrame:
        """Score from the components; flag tested cells that pass q, support, growth and persistence (`failed`
        names the rules a cell did not pass); date onsets."""
        weights = {**DEFAULT_WEIGHTS, **(self.weights or {})}
        components = {"growth": np.log2(cells["growth"]).clip(lower=0).fillna(0),
                      "acceleration": cells["acceleration"].clip(-1, 1), "novelty": cells["novelty"].fillna(0),
                      "persistence": cells["persistence"], "spread": cells["spread"].fillna(0)}
        cells["score"] = sum(weights[name] * value for name, value in components.items())
        failed = pd.DataFrame({
            "untestable": ~cells["tested"].astype(bool), "fdr": ~(cells["q_value"] <= self.fdr),
            "support": cells["n_recent"] < self.min_docs, "growth": ~(cells["growth"] >= self.min_growth),
            "persistence": cells["active_periods"] < min(self.min_active_periods, self._split[1])})
        cells["flagged"] = ~failed.any(axis=1).to_numpy()
        names = failed.columns.to_numpy()
        cells["failed"] = [",".join(names[row]) for row in failed.to_numpy()]  # the rules a cell did not pass
        cells["onset"] = [self.periods_[i] if flagged and (i := onset(series)) is not None else pd.NaT
                          for flagged, series in zip(cells["flagged"], cells["index_series"], strict=True)]
        return cells

    def _term_cells(self, docs: pd.DataFrame, counts: TermCounts):
        """Tests of the window's topic-specific terms (scope "term", cell = the term, topic = where most occur), their
        documents x terms matrix and its rows' topic_id and whether they are recent."""
        b, r = self._split
        frame = self._windowed(docs)
        frame = frame[frame["doc_id"].isin(counts.doc_ids)]
        matrix, names = counts.subset(frame["doc_id"], self.min_docs, self.max_term_df)
        topics = frame["topic_id"].to_numpy()
        keep, specificity = specific_terms(matrix, topics, self.min_term_specificity, self.term_chance_p)
        matrix, names, specificity = matrix[:, keep], names[keep], specificity[keep]
        t, sources = frame["t"].to_numpy(), frame["source"].to_numpy()
        counts, expected, base_expected = term_counts(matrix, t, sources, b + r, b)
        dispersion = self._dispersion(counts, base_expected)
        cells = pd.DataFrame({"scope": "term", "cell": names.astype(str), "topic_id": linked_topics(matrix, topics)
                              if len(names) else np.zeros(0, dtype=int), "specificity": specificity})
        cells = self._tests(cells, counts, expected, base_expected, dispersion)
        cells = cells.assign(country=None, novelty=np.nan, spread=np.nan)
        return cells, matrix, pd.DataFrame({"topic_id": topics, "recent": t >= b})

    def _shape(self, recent: np.ndarray, base_expected: np.ndarray) -> pd.DataFrame:
        """Acceleration and persistence from the recent periods' counts and baseline-share expectations.

        A period without documents (no volume: a conference-dated corpus between conferences) is no
        observation: it neither extends nor breaks a run of periods above the baseline share.
        """
        r = recent.shape[1]
        above, observed = recent > base_expected, base_expected > 0
        runs = np.zeros(len(recent), dtype=int)
        current = np.zeros(len(recent), dtype=int)
        for t in range(r):
            current = np.where(observed[:, t], np.where(above[:, t], current + 1, 0), current)
            runs = np.maximum(runs, current)
        half = r // 2
        if half:
            early = (recent[:, :half].sum(1) + 0.5) / (base_expected[:, :half].sum(1) + 0.5)
            late = (recent[:, half:].sum(1) + 0.5) / (base_expected[:, half:].sum(1) + 0.5)
            acceleration = np.log2(late / early)
        else:
            acceleration = np.zeros(len(recent))
        return pd.DataFrame({"acceleration": acceleration, "active_periods": runs, "persistence": runs / r})

    def _topic_spread(self, docs: pd.DataFrame, groups, orgs, centroids) -> pd.DataFrame:
        """Per topic: age, novelty and the breadth of its recent documents (regions, sectors, new organisations)."""
        periods = self.period_starts(docs)
        recent = periods.isin(self.recent_periods_)
        born = periods.groupby(docs["topic_id"]).min()
        out = pd.DataFrame({"topic_id": born.index})
        end = self.as_of_ + pd.Timedelta(days=1)  # periods since the topic's first one, that one included
        out["age_periods"] = [1 if pd.isna(p) else periods_in((end - p).days, self.period_) for p in born]
        window = sum(self._split)
        out["distance"] = _distance_to_older(out["topic_id"].tolist(), born.tolist(), centroids)
        novelty_age = (1 - out["age_periods"] / window).clip(lower=0)
        out["novelty"] = np.where(out["distance"].isna(), novelty_age, (novelty_age + out["distance"]) / 2)
        recent_docs = docs.loc[recent, ["doc_id", "topic_id"]]
        parts = []
        for scope in ("region", "sector"):
            if groups is None or groups.empty:
                out[f"n_{scope}s"] = 0
                continue
            scoped = recent_docs.merge(groups[groups["scope"] == scope], on="doc_id")
            out[f"n_{scope}s"] = out["topic_id"].map(scoped.groupby("topic_id")["cell"].nunique()).fillna(0).astype(int)
            parts.append(1 - np.exp(-out[f"n_{scope}s"] / (5 if scope == "region" else 3)))
        out["n_orgs"], out["n_new_orgs"] = 0, 0
        if orgs is not None and len(orgs):
            with_orgs = docs[["doc_id", "topic_id"]].assign(is_recent=recent.to_numpy(),
                                                            early=(periods < self.recent_periods_[0]).to_numpy())
            with_orgs = with_orgs.merge(orgs[["doc_id", "org"]].dropna(), on="doc_id")
            seen = set(zip(with_orgs.loc[with_orgs["early"], "topic_id"], with_orgs.loc[with_orgs["early"], "org"],
                           strict=True))
            now = with_orgs.loc[with_orgs["is_recent"], ["topic_id", "org"]].drop_duplicates()
            now["is_new"] = [(t, o) not in seen for t, o in zip(now["topic_id"], now["org"], strict=True)]
            out["n_orgs"] = out["topic_id"].map(now.groupby("topic_id").size()).fillna(0).astype(int)
            out["n_new_orgs"] = out["topic_id"].map(now.groupby("topic_id")["is_new"].sum()).fillna(0).astype(int)
            parts.append(out["n_new_orgs"] / out["n_orgs"].clip(lower=1))
        out["new_org_share"] = out["n_new_orgs"] / out["n_orgs"].clip(lower=1)
        out["spread"] = sum(parts) / len(parts) if parts else np.nan
        return out


def _distance_to_older(topics: list[int], born: list, centroids: dict[int, np.ndarray] | None) -> list[float]:
    """1 - cosine similarity to the nearest centroid of a topic born earlier (1 when none is older)."""
    if not centroids:
        return [np.nan] * len(topics)
    out = []
    for topic, first in zip(topics, born, strict=True):
        if topic not in centroids:
            out.append(np.nan)
            continue
        older = [centroids[t] for t, b in zip(topics, born, strict=True) if b < first and t in centroids and t != topic]
        out.append(1.0 if not older else float(1 - np.max(np.stack(older) @ centroids[topic])))
    return out
