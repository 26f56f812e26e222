"""Theme forecasts: honest intervals on series with known parameters, the naive fallback, CRPS, the backtest scores."""

import numpy as np
import pandas as pd
import pytest

from nlp.forecast import ForecastBacktest, ThemeForecaster, crps_normal, crps_samples, holt_forecast, naive_forecast
from pipelines.settings import ForecastSettings

OPTIONS = ForecastSettings().forecaster_options() | {"n_samples": 1000}


def coverage(simulate, n_series: int = 300, horizon: int = 4, history: int = 12) -> tuple[float, float]:
    """Share of outcomes `horizon` periods ahead inside the 50 % and 80 % intervals, over simulated series."""
    rng = np.random.default_rng(1)
    inside50 = inside80 = 0
    for _ in range(n_series):
        volumes = rng.integers(400, 1200, history + horizon).astype(float)
        counts = simulate(rng, volumes)
        model = ThemeForecaster(**OPTIONS).fit(counts[:history], volumes[:history])
        q = np.quantile(model.sample(horizon), [0.1, 0.25, 0.75, 0.9])
        y = counts[history + horizon - 1] / volumes[history + horizon - 1]
        inside50 += q[1] <= y <= q[2]
        inside80 += q[0] <= y <= q[3]
    return inside50 / n_series, inside80 / n_series


def test_intervals_cover_poisson_series_with_a_constant_share():
    c50, c80 = coverage(lambda rng, v: rng.poisson(0.03 * v).astype(float))
    assert 0.40 <= c50 <= 0.65 and 0.72 <= c80 <= 0.92


def test_intervals_cover_overdispersed_series_with_a_drifting_share():
    def simulate(rng, v):  # negative binomial counts (dispersion ~ 3) around a share on a random walk (sd 0.1)
        share = 0.03 * np.exp(np.cumsum(rng.normal(0, 0.1, len(v))))
        mean = share * v
        return rng.poisson(mean * rng.gamma(mean / 2.0, 2.0 / mean)).astype(float)
    c50, c80 = coverage(simulate)
    assert 0.40 <= c50 <= 0.65 and 0.72 <= c80 <= 0.92


def test_a_steady_rise_is_kept_as_a_trend_and_projected_upwards():
    volumes = np.full(12, 1000.0)
    counts = np.round(20 * 1.15 ** np.arange(12))
    model = ThemeForecaster(**OPTIONS).fit(counts, volumes)
    fan = model.predict(4)
    assert model.model_ == "trend"
    assert fan["q50"].iloc[-1] > counts[-1] / 1000
    assert (fan["q10"] <= fan["q25"]).all() and (fan["q25"] <= fan["q75"]).all() and (fan["q75"] <= fan["q90"]).all()


def test_short_history_falls_back_to_the_naive_forecast():
    model = ThemeForecaster(**OPTIONS).fit([0, 0, 3, 5], [0, 100, 100, 100])
    assert model.model_ == "naive"
    assert model.coef_[0] == pytest.approx(np.log(8.5 / 301))
    wide, narrow = model.predict(4).iloc[-1], model.predict(1).iloc[0]
    assert wide["q90"] - wide["q10"] > narrow["q90"] - narrow["q10"]  # the level drifts: wider further ahead


def test_crps_of_samples_matches_the_closed_form_for_a_normal_forecast():
    samples = np.random.default_rng(0).normal(2.0, 0.5, 200_000)
    for y in (1.0, 2.0, 3.7):
        assert crps_samples(samples, y) == pytest.approx(float(crps_normal(2.0, 0.5, y)), rel=0.01)
    assert float(crps_normal(0.0, 1.0, 0.0)) == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi))


def test_baselines():
    assert naive_forecast(np.array([0.1, 0.2, 0.3]), 4)[0] == 0.3
    mean, sd = holt_forecast(np.linspace(0.1, 0.2, 10), 2)
    assert mean == pytest.approx(0.2 + 2 * 0.1 / 9, rel=0.05) and sd > 0


def test_backtest_scores_only_forecasts_whose_outcome_is_known():
    rng = np.random.default_rng(3)
    volumes = pd.Series(1000.0, index=range(30))
    counts = pd.DataFrame(rng.poisson(50, (20, 30)).astype(float), columns=range(30))
    bt = ForecastBacktest(horizon=4, growth_factor=1.5, forecaster=OPTIONS)
    for c in range(11, 29):
        bt.add(counts.loc[:, c - 11: c], volumes, future=list(range(c + 1, c + 5)), baseline_periods=9,
               lasting_periods=4)
    scores = bt.score(counts / 1000.0)
    assert scores["n_forecasts"] == 20 * len(range(11, 26))
    assert 0.3 <= scores["coverage_50"] <= 0.8 and 0.65 <= scores["coverage_80"] <= 0.97  # a floor on the drift: wide
    assert scores["crps"] < scores["crps_naive"]  # a constant share: the local level beats the last value
    assert scores["brier"] <= scores["brier_base_rate"] + 0.01  # no share ever reaches 1.5 x its baseline
