"""Statistics shared by the emergence detectors: periods, the rate test, FDR control and onset dating.

The rate test compares a cell's recent count with its baseline count given how many documents each
window *could* have held (its volume offset, per source): conditional on the total, the recent count
of a Poisson process with a constant share is binomial with the recent window's share of the
expected volume. Over-dispersed counts (bursty news, call-driven projects) are handled quasi-Poisson
style: counts are divided by a dispersion factor before the same exact test, one that grows with the
cell's count (`fit_dispersion`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.special import betainc

PERIODS = {"week": "W-SUN", "month": "M", "quarter": "Q", "year": "Y"}
MONTHS = {"month": 1, "quarter": 3, "year": 12}
AUTO = "auto"
MIN_DISPERSION_PERIODS = 3  # periods with volume a cell needs to count towards the dispersion
DISPERSION_BIN_CELLS = 30  # the fewest cells in a bin of the dispersion's curve over the mean count (`mean_bins`)
DISPERSION_BINS = 8  # the most bins of cells by mean count the dispersion's curve is fitted to (equal width in log)


def period_freq(period: str) -> str:
    """The pandas frequency of a period name (week, month, quarter, year)."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")
    return PERIODS[period]


def period_start(dates: pd.Series, period: str = "month") -> pd.Series:
    """The first day of each date's week (ISO, Monday), month, quarter or year."""
    return pd.to_datetime(dates).dt.to_period(period_freq(period)).dt.start_time


def data_edge(dates: pd.Series, tail: float = 0.005) -> pd.Timestamp:
    """The date by which all but a `tail` share of documents are dated: where the data really ends.

    A thin tail of late dates (CORDIS projects dated by a start date months ahead, a mis-dated page)
    must not move the windows past the data, leaving the recent periods nearly empty.
    """
    dates = pd.to_datetime(pd.Series(dates)).dropna().sort_values()
    if dates.empty:
        raise ValueError("data_edge needs at least one date")
    return dates.iloc[min(len(dates) - 1, int(np.ceil((1 - tail) * len(dates))) - 1)]


def data_start(dates: pd.Series, tail: float = 0.005) -> pd.Timestamp:
    """The date from which all but a `tail` share of documents are dated: where the data really starts.

    The mirror of `data_edge`: one early mis-dated record (a CORDIS project signed months before the rest) must
    not pass for a year of history.
    """
    dates = pd.to_datetime(pd.Series(dates)).dropna().sort_values()
    if dates.empty:
        raise ValueError("data_start needs at least one date")
    return dates.iloc[int(np.floor(tail * len(dates)))]


def complete_periods(as_of: pd.Timestamp, n: int, period: str = "month") -> list[pd.Timestamp]:
    """The `n` last calendar periods that ended on or before `as_of`, oldest first."""
    current = pd.Timestamp(as_of).to_period(period_freq(period))
    last = current if pd.Timestamp(as_of).normalize() == current.end_time.normalize() else current - 1
    return [(last - i).start_time for i in range(n - 1, -1, -1)]


def periods_in(days: int, period: str) -> int:
    """How many periods of this length make a window of `days` days (rounded, at least 1)."""
    return max(1, round(days / (7.0 if period == "week" else MONTHS[period] * 365.25 / 12)))


def rolling_periods(as_of, n: int, period: str = "month") -> list[pd.Timestamp]:
    """The starts of the `n` periods that end with the day `as_of`, oldest first.

    The bins are anchored at the as-of date, not at calendar boundaries, so the windows move with every
    cutoff; at the end of a calendar period they are the calendar periods (as-of 2024-06-30: the
    quarter bins start 2024-04-01, 2024-01-01, ...).
    """
    period_freq(period)  # a known period name
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    if period == "week":
        return list(end - pd.to_timedelta(7 * np.arange(n, 0, -1), unit="D"))
    month = end.year * 12 + end.month - 1 - MONTHS[period] * np.arange(n, 0, -1)
    first = pd.to_datetime(pd.DataFrame({"year": month // 12, "month": month % 12 + 1, "day": 1}))
    day = np.minimum(end.day, first.dt.days_in_month)  # the same day, or the month's last (as DateOffset does)
    return list(first + pd.to_timedelta(day - 1, unit="D"))


def rolling_start(dates: pd.Series, as_of, period: str = "month") -> pd.Series:
    """The start of each date's bin among the periods ending with `as_of` (NaT after `as_of`)."""
    dates = pd.to_datetime(pd.Series(dates)).dt.normalize()
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    first = dates.min()
    span = 0 if pd.isna(first) else max(0, (end - first).days)
    shortest = 7 if period == "week" else 28 * MONTHS[period]
    starts = np.array(rolling_periods(as_of, span // shortest + 2, period), dtype="datetime64[ns]")
    position = np.searchsorted(starts, dates.to_numpy(dtype="datetime64[ns]"), side="right") - 1
    inside = (position >= 0) & (dates < end).to_numpy()
    out = np.where(inside, starts[np.clip(position, 0, None)], np.datetime64("NaT"))
    return pd.Series(out, index=dates.index, dtype="datetime64[ns]")


class TooLittleHistory(ValueError):
    """The corpus starts too late for the windows: no baseline of the minimum length before the recent window."""


@dataclass(frozen=True)
class History:
    """How much of the baseline window the corpus fills, at an as-of date.

    `baseline_days` is the baseline actually used: `baseline_days` of the settings when the corpus reaches
    back that far, else the days from the data's start to the start of the recent window (shortened).
    """

    start: pd.Timestamp  # where the data start (`data_start`: the first document but a 0.5 % early tail)
    span_days: int  # from the start to the as-of date, both included
    baseline_days: int
    needed_days: int  # recent_days + the minimum baseline
    shortened: bool

    @property
    def note(self) -> str | None:
        """What an analyst must be told about the windows (None when the baseline is whole)."""
        if not self.shortened:
            return None
        return f"baseline shortened to {self.baseline_days} days: the corpus starts on {self.start.date()}"

    def as_dict(self) -> dict:
        return {"start": str(self.start.date()), "span_days": self.span_days, "baseline_days": self.baseline_days,
                "needed_days": self.needed_days, "shortened": self.shortened, "too_little": False, "note": self.note}


def history(dates: pd.Series, as_of, recent_days: int, baseline_days: int, min_baseline_days: int) -> History:
    """The baseline the corpus allows at `as_of`: whole, shortened to the data before the recent window, or none.

    A corpus that starts (`data_start`: a thin early tail aside) less than `recent_days + baseline_days` before
    the as-of date gets a baseline from its start, as long as that is at least `min_baseline_days` (capped at
    `baseline_days`) long. Raises TooLittleHistory below that.
    """
    dates = pd.to_datetime(pd.Series(dates)).dropna()
    as_of = pd.Timestamp(as_of).normalize()
    dates = dates[dates <= as_of + pd.Timedelta(days=1)]
    start = data_start(dates).normalize() if len(dates) else as_of
    span = (as_of - start).days + 1
    minimum = min(min_baseline_days, baseline_days)
    needed = recent_days + minimum
    if span < needed:
        raise TooLittleHistory(f"too little history: the corpus spans {span} days (from {start.date()}), "
                               f"the windows need {needed} ({recent_days} recent + {minimum} baseline)")
    available = span - recent_days
    return History(start=start, span_days=span, baseline_days=min(available, baseline_days),
                   needed_days=needed, shortened=available < baseline_days)


def choose_period(docs: pd.DataFrame, as_of, recent_days: int, baseline_days: int, min_docs: float,
                  min_recent_periods: int, outlier: int = -1, shortened: bool = False) -> str:
    """The shortest period in which the median topic has at least `min_docs` documents per period.

    The windows are fixed in days (`recent_days` up to `as_of`, `baseline_days` before); the period only
    sets the bins inside them (dispersion, persistence, onset), anchored at `as_of`. Thin data gets
    coarser bins, never longer windows: a period is a candidate when the recent window holds at least
    `min_recent_periods` of them (the persistence rule needs them), the recent window has documents and
    the baseline has at least as many periods with documents as the recent window has periods — a baseline
    `shortened` by the corpus start (`history`) with fewer periods than that: all of them, and at least
    `MIN_DISPERSION_PERIODS`, the fewest the dispersion estimate reads. Counts over the periods of the window
    that hold documents, for the topics there (outliers excluded). When none reaches `min_docs`: the longest
    candidate.
    """
    real = docs[docs["topic_id"] != outlier]
    chosen = "month"
    for period in PERIODS:
        n_recent, n_baseline = periods_in(recent_days, period), periods_in(baseline_days, period)
        if n_recent < min_recent_periods:
            continue
        window = rolling_periods(as_of, n_baseline + n_recent, period)
        starts = rolling_start(docs["published_on"], as_of, period)
        active = starts[starts.isin(window)].unique()
        needed = max(MIN_DISPERSION_PERIODS, min(n_recent, n_baseline)) if shortened else n_recent
        if (active < window[n_baseline]).sum() < needed or not (active >= window[n_baseline]).any():
            continue  # a baseline shorter than the recent window cannot anchor a rate
        chosen = period
        counts = real.loc[starts[real.index].isin(window), "topic_id"].value_counts()
        if len(counts) and counts.median() / len(active) >= min_docs:
            return period
    return chosen


def discrete_bh(p_values: np.ndarray, min_p_values: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini–Hochberg over the tests that can reach significance (Tarone's trick, after Gilbert 2005).

    A discrete test on few documents has a smallest attainable p-value (all documents in the recent
    window); when that exceeds alpha / K it can never be rejected and only dilutes the others. K is the
    smallest number with at most K tests able to reach alpha / K; BH then runs over those tests only,
    which keeps the FDR at alpha. Returns (q-values, 1 for the excluded tests; the testable mask).
    """
    p, floor = np.asarray(p_values, dtype=float), np.asarray(min_p_values, dtype=float)
    q, testable = np.ones_like(p), np.zeros(p.shape, dtype=bool)
    if p.size == 0:
        return q, testable
    ordered = np.sort(floor)
    for k in range(1, p.size + 1):
        m_k = int(np.searchsorted(ordered, alpha / k, side="right"))
        if m_k <= k:
            break
    testable = floor <= alpha / k
    q[testable] = benjamini_hochberg(p[testable])
    return q, testable


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


def rate_test(n_recent, n_baseline, expected_recent, expected_baseline, dispersion=1.0) -> np.ndarray:
    """One-sided p-values that the recent rate exceeds the baseline rate, given volume offsets.

    Args:
        n_recent, n_baseline: observed counts per cell.
        expected_recent, expected_baseline: expected counts under a constant share (the offsets).
        dispersion: variance / mean of the counts, one value or one per cell; 1 is the exact Poisson
            (conditional binomial) test.
    Returns:
        P(X >= n_recent) for X ~ Binomial(n_recent + n_baseline, pi), pi the recent share of the offset,
        with all counts divided by `dispersion` (the regularised incomplete beta takes real arguments).
    """
    y_r = np.asarray(n_recent, dtype=float) / dispersion
    y_b = np.asarray(n_baseline, dtype=float) / dispersion
    e_r, e_b = np.asarray(expected_recent, dtype=float), np.asarray(expected_baseline, dtype=float)
    pi = np.clip(e_r / np.maximum(e_r + e_b, 1e-12), 1e-12, 1 - 1e-12)
    with np.errstate(invalid="ignore"):
        p = betainc(np.maximum(y_r, 1e-12), y_b + 1.0, pi)
    return np.where(y_r <= 0, 1.0, p)


def rose(k_recent: int, n_recent: int, k_base: int, n_base: int, *, min_docs: int, min_growth: float,
         alpha: float) -> bool:
    """Whether `k_recent` of `n_recent` documents rose against `k_base` of `n_base`: at least `min_docs` of them, a
    share `min_growth` times the baseline's and a `rate_test` p-value below `alpha`."""
    if not n_recent or not n_base or k_recent < min_docs or k_recent * n_base < min_growth * k_base * n_recent:
        return False
    return bool(rate_test(k_recent, k_base, n_recent, n_base) < alpha)


def mix_share(base: np.ndarray, base_hits: np.ndarray, recent: np.ndarray, observed: float,
              prior_docs: float = 10.0) -> tuple[float, np.ndarray]:
    """How much of an item's rise the recent mix of groups explains, and each group's shrunk baseline rate.

    Per group: `base` documents in the baseline, `base_hits` of them holding the item, `recent` documents in the
    recent window; `observed` the item's recent documents. With r the item's overall baseline rate, each group's
    rate is (hits + prior_docs x r) / (base + prior_docs) (a thin group is not trusted; one new in the recent
    window has rate r), E0 = recent documents x r and E = the sum of recent x rate over the groups; the share is
    (E - E0) / (O - E0), clipped to [0, 1]: 1 when the item's rate within every group stayed where it was. 0 when
    it has no baseline documents, did not rise, or the mix predicts no rise."""
    base, base_hits, recent = (np.asarray(a, dtype=float) for a in (base, base_hits, recent))
    if base.sum() == 0 or base_hits.sum() == 0:
        return 0.0, np.zeros(len(base))
    rate = base_hits.sum() / base.sum()
    rates = (base_hits + prior_docs * rate) / (base + prior_docs)
    plain, mixed = recent.sum() * rate, float((recent * rates).sum())
    if observed <= plain or mixed <= plain:
        return 0.0, rates
    return float(min(1.0, (mixed - plain) / (observed - plain))), rates


@dataclass(frozen=True)
class Dispersion:
    """Variance / mean of a cell's per-period counts as a function of its mean count per period m:
    1 + scale x m ** power, m held inside the range of means it was fitted on (`lowest`, `highest`).

    power 0 is the quasi-Poisson model (one factor for every cell); power 1 a Poisson rate that wanders between
    periods by a gamma factor (a call cycle, a conference season), whose variance grows with the mean squared.
    Real corpora lie between: CORDIS terms of 2022-23 read 1.1 below one project a month and 2.7 above 50 (power
    0.67 on the baseline of 2023-12-31), so one pooled value, dominated by the many rare cells, left the common
    ones' tests too sure.
    """

    scale: float = 0.0
    power: float = 0.0
    lowest: float = 1.0
    highest: float = 1.0

    def __call__(self, mean) -> np.ndarray:
        """The dispersion at each mean count per period."""
        return 1.0 + self.scale * np.clip(np.asarray(mean, dtype=float), self.lowest, self.highest) ** self.power

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in vars(self).items()}


def per_period_mean(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Each cell's mean count per period with volume (expected > 0): what its dispersion is a function of."""
    return np.asarray(counts, float).sum(axis=1) / np.maximum((np.asarray(expected) > 0).sum(axis=1), 1)


def mean_bins(log_mean: np.ndarray, min_cells: int) -> list[np.ndarray]:
    """Indices of the cells in up to `DISPERSION_BINS` bins of equal width in log mean count, a bin with fewer
    than `min_cells` merged into the next (the last into the one before)."""
    edges = np.linspace(log_mean.min(), log_mean.max(), DISPERSION_BINS + 1)[1:-1]
    label = np.searchsorted(edges, log_mean, side="right")
    bins, current = [], np.zeros(0, dtype=int)
    for k in range(DISPERSION_BINS):
        current = np.concatenate([current, np.flatnonzero(label == k)])
        if len(current) >= min_cells:
            bins, current = [*bins, current], np.zeros(0, dtype=int)
    if len(current):
        bins = [*bins[:-1], np.concatenate([bins[-1], current])] if bins else [current]
    return bins


def fit_dispersion(counts: np.ndarray, expected: np.ndarray, min_expected: float = 5.0,
                   bin_cells: int = DISPERSION_BIN_CELLS) -> Dispersion:
    """The Pearson dispersion of per-period counts around their expectation as a function of the cells' mean
    count per period (`Dispersion`, at least 1).

    Cells are binned by their mean count per period (`mean_bins`: up to `DISPERSION_BINS` of equal width in log
    mean, at least `bin_cells` cells each); each bin's dispersion is its cells' squared deviations summed over their
    degrees of freedom times their means (variance over mean, each summed over the bin: the median Pearson
    statistic lies well below the mean at a few degrees of freedom, and the mean of the cells' ratios reads low at
    small counts, where a cell's variance and mean rise together), measured at the mean those weights give.
    1 + scale x mean ** power is fitted to the bins' values (least squares on the log, each bin weighted by its
    degrees of freedom; power in [0, 1], one bin: power 0, the pooled value). Only periods with
    volume (expected > 0) are observations: an empty period carries no information, and counting it as a degree
    of freedom shrinks the estimate (true phi = 3 with 5 of 12 baseline periods empty reads as about 1.4). A cell
    needs `MIN_DISPERSION_PERIODS` periods with volume and `min_expected` documents.

    Args:
        counts, expected: cells x periods arrays over the baseline window; `expected` is scaled per
            cell so that its row sums equal the observed row sums (which costs one degree of freedom).
    """
    counts, expected = np.asarray(counts, float), np.asarray(expected, float)
    active = expected > 0
    n_active = active.sum(axis=1)
    keep = (expected.sum(axis=1) >= min_expected) & (n_active >= MIN_DISPERSION_PERIODS)
    if not keep.any():
        return Dispersion()
    c, e, a, n = counts[keep], expected[keep], active[keep], n_active[keep]
    squares = np.where(a, (c - e) ** 2, 0.0).sum(axis=1)  # (n - 1) x the cell's variance
    mean = per_period_mean(c, e)
    bins, weight = mean_bins(np.log(mean), bin_cells), (n - 1) * mean
    m = np.array([np.exp(np.average(np.log(mean[b]), weights=weight[b])) for b in bins])  # where y is measured
    y = np.maximum([squares[b].sum() / weight[b].sum() for b in bins], 1e-3)
    df = np.array([(n[b] - 1).sum() for b in bins], dtype=float)
    bounds = float(mean.min()), float(mean.max())
    if len(bins) == 1:
        return Dispersion(max(float(y[0]) - 1.0, 0.0), 0.0, *bounds)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return np.sqrt(df) * (np.log(y) - np.log(1.0 + theta[0] * m ** theta[1]))

    start = np.array([max(float(np.average(y, weights=df)) - 1.0, 0.01), 0.5])
    scale, power = least_squares(residuals, start, bounds=([0.0, 0.0], [np.inf, 1.0])).x
    return Dispersion(float(scale), float(power), *bounds)


def onset(index: np.ndarray, min_size: int = 2) -> int | None:
    """Position of the upward change point in a cell's relative-share series (ruptures, binary segmentation).

    Missing values (NaN: periods where nothing was expected, e.g. before the corpus starts) are left
    out, so leading empty periods cannot place the onset at the corpus start. Returns the index (in
    `index`) of the first period after the change, or None when the series is too short or the best
    single change point goes down.
    """
    import ruptures

    series = np.asarray(index, dtype=float)
    positions = np.flatnonzero(np.isfinite(series))
    values = series[positions]
    if len(values) < 2 * min_size or np.allclose(values, values[0]):
        return None
    change = ruptures.Binseg(model="l2", min_size=min_size, jump=1).fit(values.reshape(-1, 1)).predict(n_bkps=1)[0]
    if change >= len(values) or values[change:].mean() <= values[:change].mean():
        return None
    return int(positions[change])
