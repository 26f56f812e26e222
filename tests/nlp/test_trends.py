import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from nlp.trends import (
    TooLittleHistory,
    benjamini_hochberg,
    complete_periods,
    data_start,
    fit_dispersion,
    history,
    onset,
    period_start,
    periods_in,
    rate_test,
    rolling_periods,
    rolling_start,
)


def test_rate_test_is_the_exact_conditional_binomial_test():
    p = rate_test([12], [20], [5.0], [15.0])[0]
    assert p == pytest.approx(binomtest(12, 32, 0.25, alternative="greater").pvalue)


def test_rate_test_scales_counts_by_dispersion_and_handles_zero():
    strict = rate_test([30, 0], [60, 5], [10.0, 1.0], [40.0, 4.0], dispersion=1.0)
    lenient = rate_test([30, 0], [60, 5], [10.0, 1.0], [40.0, 4.0], dispersion=4.0)
    assert strict[0] < lenient[0] < 0.5 and strict[1] == lenient[1] == 1.0


def test_benjamini_hochberg_known_values():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    # ranked p * n / i = 0.04, 0.06, 0.0533, 0.5, then the running minimum from the largest p
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])


def pooled(counts: np.ndarray, expected: np.ndarray) -> float:
    """The dispersion of cells with one mean count."""
    dispersion = fit_dispersion(counts, expected)
    return float(dispersion(dispersion.lowest))


def test_dispersion_is_one_for_poisson_and_large_for_bursts():
    rng = np.random.default_rng(0)
    expected = np.full((40, 12), 20.0)
    assert pooled(rng.poisson(expected), expected) == pytest.approx(1.0, abs=0.15)
    bursty = rng.poisson(expected * rng.choice([0.2, 1.8], size=expected.shape))
    assert pooled(bursty, expected) > 5


def overdispersed(phi: float, expected: np.ndarray, rng) -> np.ndarray:
    """Negative binomial counts with mean `expected` and variance phi x mean (0 where nothing is expected)."""
    n = np.maximum(expected / (phi - 1), 1e-9)
    return np.where(expected > 0, rng.negative_binomial(n, n / (n + np.maximum(expected, 1e-9))), 0)


def scaled(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Expectations scaled to the observed row sums, as the detector passes them."""
    return expected * counts.sum(axis=1, keepdims=True) / np.maximum(expected.sum(axis=1, keepdims=True), 1e-12)


@pytest.mark.parametrize("empty", [0, 5])
def test_dispersion_recovers_phi_3_with_empty_baseline_periods(empty):
    rng = np.random.default_rng(7)
    volume = np.r_[np.zeros(empty), np.full(12 - empty, 200.0)]  # the corpus starts `empty` periods late
    expected = rng.uniform(0.02, 0.1, size=(1000, 1)) * volume
    counts = overdispersed(3.0, expected, rng)
    dispersion = fit_dispersion(counts, scaled(counts, expected))
    assert dispersion(12.0) == pytest.approx(3.0, rel=0.1)
    # the curve's power cannot go below 0, so noise tilts a flat truth up at the ends (2.5 and 3.1 here)
    assert dispersion(np.array([4.0, 20.0])) == pytest.approx(3.0, rel=0.2)


def test_dispersion_needs_three_periods_with_volume_per_cell():
    expected = np.array([[0, 0, 0, 0, 50.0, 50.0]] * 10)
    counts = np.array([[0, 0, 0, 0, 90, 10]] * 10)  # wildly dispersed, but one degree of freedom
    assert fit_dispersion(counts, expected)(np.array([1.0, 50.0])).tolist() == [1.0, 1.0]


def test_dispersion_grows_with_the_count_when_rates_wander_between_periods():
    """Each cell's rate varies between periods by a gamma factor of variance 0.1 (a call cycle): its counts'
    variance / mean is 1 + 0.1 x mean, 1.2 for a cell of 2 a period and 11 for one of 100. The fitted dispersion
    follows it; one pooled value would be near the rare cells' (most cells are rare), too sure of the common ones."""
    rng = np.random.default_rng(3)
    means = np.exp(rng.uniform(np.log(1.0), np.log(200.0), size=1500))[:, None]
    expected = np.repeat(means, 24, axis=1)
    counts = rng.poisson(expected * rng.gamma(10.0, 0.1, size=expected.shape))
    dispersion = fit_dispersion(counts, scaled(counts, expected))
    for mean in (3.0, 20.0, 100.0):
        assert dispersion(np.array([mean]))[0] == pytest.approx(1 + 0.1 * mean, rel=0.25), mean


@pytest.mark.parametrize("period, expected", [("month", "2024-05-01"), ("quarter", "2024-04-01"),
                                              ("year", "2024-01-01"), ("week", "2024-05-13")])
def test_period_start(period, expected):
    assert period_start(pd.Series(pd.to_datetime(["2024-05-15"])), period)[0] == pd.Timestamp(expected)


def test_complete_periods_skip_the_partial_one():
    assert complete_periods(pd.Timestamp("2024-05-15"), 2, "quarter") == [pd.Timestamp("2023-10-01"),
                                                                         pd.Timestamp("2024-01-01")]


@pytest.mark.parametrize("period", ["week", "month", "quarter", "year"])
def test_rolling_periods_end_with_the_as_of_day_and_are_the_calendar_ones_at_a_period_end(period):
    offset = pd.DateOffset(weeks=1) if period == "week" else pd.DateOffset(months={"month": 1, "quarter": 3,
                                                                                    "year": 12}[period])
    for as_of in ("2024-01-30", "2024-02-29", "2024-11-15"):
        end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        assert rolling_periods(as_of, 30, period) == [end - offset * k for k in range(30, 0, -1)]
    if period != "week":
        assert rolling_periods("2024-12-31", 6, period) == complete_periods(pd.Timestamp("2024-12-31"), 6, period)
    assert rolling_periods("2024-12-29", 6, "week") == complete_periods(pd.Timestamp("2024-12-29"), 6, "week")


def test_rolling_start_bins_dates_up_to_the_as_of_day():
    dates = pd.Series(pd.to_datetime(["2024-11-15", "2024-11-16", "2024-10-16", "2024-10-15", "2020-01-01"]))
    starts = rolling_start(dates, "2024-11-15", "month")
    assert starts.tolist()[:4] == [pd.Timestamp("2024-10-16"), pd.NaT, pd.Timestamp("2024-10-16"),
                                   pd.Timestamp("2024-09-16")]
    assert starts[4] == pd.Timestamp("2019-12-16")
    assert (periods_in(182, "week"), periods_in(182, "month"), periods_in(182, "quarter"), periods_in(182, "year")) \
        == (26, 6, 2, 1)


def test_onset_finds_the_upward_break_only():
    assert onset(np.array([1.0] * 8 + [3.0] * 4)) == 8
    assert onset(np.array([3.0] * 8 + [1.0] * 4)) is None


def test_onset_skips_periods_where_nothing_was_expected():
    """Leading periods before the corpus starts are missing, not zero: the onset is the real rise."""
    assert onset(np.array([np.nan] * 5 + [1.0, 1.1, 0.9, 1.0, 1.0] + [3.0] * 4)) == 10
    assert onset(np.array([np.nan] * 10 + [1.0, 3.0])) is None


def test_history_shortens_the_baseline_to_the_data_and_refuses_less_than_the_minimum():
    dates = pd.Series(pd.date_range("2024-01-01", "2024-12-31", freq="3D"))  # fewer than 200: no tail left out
    whole = history(dates, "2024-12-31", recent_days=91, baseline_days=200, min_baseline_days=91)
    assert not whole.shortened and whole.baseline_days == 200 and whole.note is None
    short = history(dates, "2024-12-31", recent_days=182, baseline_days=730, min_baseline_days=91)
    assert short.shortened and short.span_days == 366 and short.baseline_days == 366 - 182
    assert short.note == "baseline shortened to 184 days: the corpus starts on 2024-01-01"
    with pytest.raises(TooLittleHistory, match=r"^too little history: the corpus spans 366 days \(from 2024-01-01\), "
                                               r"the windows need 547 \(182 recent \+ 365 baseline\)$"):
        history(dates, "2024-12-31", recent_days=182, baseline_days=730, min_baseline_days=365)
    capped = history(dates, "2024-12-31", recent_days=182, baseline_days=100, min_baseline_days=365)
    assert not capped.shortened and capped.needed_days == 282  # the minimum never exceeds the baseline itself


def test_data_start_ignores_a_thin_early_tail_like_data_edge_a_late_one():
    dates = pd.Series([pd.Timestamp("2021-07-07")] + list(pd.date_range("2022-01-01", periods=299, freq="D")))
    assert data_start(dates) == pd.Timestamp("2022-01-01")  # one stray in 300 is no half year of history
    assert data_start(dates[:100]) == pd.Timestamp("2021-07-07")  # ... but the first of fewer than 200 is
