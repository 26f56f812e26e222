"""Theme forecasts: honest intervals on series with known parameters, the naive fallback, CRPS, the backtest scores."""

import numpy as np
import pandas as pd
import pytest

from nlp.forecast import ForecastBacktest, ThemeForecaster, crps_normal, crps_samples, holt_forecast, naive_forecast
from pipelines.settings import ForecastSettings

OPTIONS = ForecastSettings().forecaster_options() | {"n_samples": 1000}


def coverage(simulate, n_series: int = 300, horizon: int = 4, history: int = 12, seed: int = 1
             ) -> tuple[float, float]:
    """Share of outcomes `horizon` periods ahead inside the 50 % and 80 % intervals, over simulated series."""
    rng = np.random.default_rng(seed)
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


def random_walk_share(sd: float, dispersion: float):
    """Counts around a share on a random walk of the log share (sd per period), negative binomial."""
    def simulate(rng, v):
        mean = 0.03 * np.exp(np.cumsum(rng.normal(0, sd, len(v)))) * v
        return rng.poisson(mean * rng.gamma(mean / dispersion, dispersion / mean)).astype(float)
    return simulate


@pytest.mark.parametrize("seed", [1, 2])
def test_hindcast_calibrated_intervals_hit_their_nominal_coverage_on_a_drifting_series(seed):
    c50, c80 = coverage(random_walk_share(0.1, 2.0), n_series=400, seed=seed)  # binomial sd ~0.025 and ~0.02
    assert 0.45 <= c50 <= 0.55 and 0.75 <= c80 <= 0.85


def test_the_spread_comes_from_the_series_own_hindcast_errors():
    volumes = np.full(12, 1000.0)
    steady = np.array([20, 22, 19, 21, 20, 18, 22, 20, 21, 19, 22, 20.0])
    swinging = np.array([21, 19, 28, 21, 15, 24, 38, 32, 14, 11, 15, 20.0])  # same level, log share sd ~0.4
    calm, wild = (ThemeForecaster(**OPTIONS).fit(c, volumes) for c in (steady, swinging))
    assert calm.hindcasts_ == wild.hindcasts_ == 12 - 4 - 3 + 1 and calm.error_lag_ == 4  # origins with 3+ periods
    assert wild.error_var_ > 2 * calm.error_var_
    width = [m.predict(4).iloc[-1] for m in (calm, wild)]
    assert width[1]["q90"] - width[1]["q10"] > 1.5 * (width[0]["q90"] - width[0]["q10"])


def test_beyond_the_hindcast_lag_the_spread_grows_by_the_drift_only():
    swinging = np.array([21, 19, 28, 21, 15, 24, 38, 32, 14, 11, 15, 20.0])
    model = ThemeForecaster(**OPTIONS | {"n_samples": 200_000}).fit(swinging, np.full(12, 1000.0))
    t_var = model.dof_ / (model.dof_ - 2)  # the variance of a unit Student-t
    beyond = model.error_var_ + 8 * model.level_sd_ ** 2  # 8 steps past the hindcasts' lag of 4
    for step, var in ((2, model.error_var_ / 2), (4, model.error_var_), (12, beyond)):
        sd = model._log_share(step, np.random.default_rng(step)).std()
        assert sd == pytest.approx(np.sqrt(var * t_var), rel=0.03)


def test_a_jump_the_last_periods_show_is_not_lagged():
    volumes = np.full(12, 1000.0)
    counts = np.array([20, 22, 19, 21, 20, 18, 22, 20, 60, 58, 62, 61.0])
    model = ThemeForecaster(**OPTIONS).fit(counts, volumes)
    assert model.point_ != "local"  # the hindcasts across the jump: the fitted level lagged it
    assert model.predict(4)["q50"].iloc[-1] == pytest.approx(0.061, rel=0.15)


def test_calibration_uses_only_the_window_up_to_the_cutoff():
    rng = np.random.default_rng(5)
    volumes = np.full(20, 1000.0)
    counts = rng.poisson(30, 20).astype(float)
    later = counts.copy()
    later[12:] *= 5  # what happens after the cutoff
    fits = [ThemeForecaster(**OPTIONS).fit(c[:12], volumes[:12]) for c in (counts, later)]
    assert fits[0].error_var_ == fits[1].error_var_ and fits[0].point_ == fits[1].point_
    older = counts.copy()
    older[:2] = 0  # before the window of the last 12 periods
    assert ThemeForecaster(**OPTIONS).fit(older[:14], volumes[:14]).error_var_ == \
        ThemeForecaster(**OPTIONS).fit(counts[2:14], volumes[2:14]).error_var_


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
    calibrator = ForecastSettings().calibrator_options() | {"min_resolved": 40}
    bt = ForecastBacktest(horizon=4, growth_factor=1.5, forecaster=OPTIONS, calibrator=calibrator)
    for c in range(11, 29):
        bt.add(counts.loc[:, c - 11: c], volumes, future=list(range(c + 1, c + 5)), baseline_periods=9,
               lasting_periods=4)
    scores = bt.score(counts / 1000.0)
    assert scores["n_forecasts"] == 20 * len(range(11, 26))
    assert 0.3 <= scores["coverage_50"] <= 0.8 and 0.65 <= scores["coverage_80"] <= 0.97  # a floor on the drift: wide
    assert scores["crps"] < scores["crps_naive"]  # a constant share: the local level beats the last value
    assert scores["brier"] <= scores["brier_base_rate"] + 0.01  # no share ever reaches 1.5 x its baseline
    assert scores["n_calibrated"] == 0 and scores["brier"] == scores["brier_raw"]  # no event seen: no map
