"""Forecasts of a theme's share of documents with prediction intervals, their baselines and their scores.

`ThemeForecaster` fits one count series (documents of a theme per period) with the volume of every
period as offset and predicts the share h periods ahead as a distribution (samples), from which the
50 % and 80 % intervals and the probability of lasting growth are read. The model is chosen per series:

* fewer than `min_history` periods with documents -> **naive**: the pooled share of the history, the
  level's uncertainty growing as a random walk with `fallback_sd` per period on the log scale;
* otherwise a quasi-Poisson GLM with log link over the last `window` periods, log(share) = a + b·t,
  with the volume offset and weights `discount`^age (a local level and trend); the slope is kept
  (**trend**, damped by `damping` per period ahead) when it is significant at `trend_alpha` with the
  dispersion-scaled standard error, else the slope is dropped (**level**). On top of the parameter
  uncertainty the level drifts as a random walk whose variance per period is estimated from the
  changes of the log share over `drift_lag` periods (median absolute deviation) minus their counting noise
  (at least `min_level_sd`², at most `MAX_LEVEL_SD`²); counts are drawn negative-binomial with the
  fitted dispersion.

**Calibrated on the series' own hindcasts** (`calibrate`, after Farmer & Lafond 2016): the chosen model is
refitted at every origin inside the window with at least `MIN_HINDCAST_FIT` periods up to it and forecasts
`drift_lag` periods ahead (fewer when the window is short, so that 3 origins remain). The point forecast is
the one of `POINTS` (the fitted model, the last period's share, their mean on the log scale) with the least
mean squared log error over these hindcasts, so a rise the last periods already show is not lagged; the
variance of the log share at that lag is the hindcasts' mean squared error minus the outcomes' counting
noise, pooled with the drift model's as `prior_hindcasts` hindcasts, in proportion to the steps ahead up
to that lag and growing by the drift's variance per step beyond it (a swing the hindcasts measured is not
extrapolated as a random walk); the log share is drawn Student-t with hindcasts + prior_hindcasts degrees
of freedom (the variance is estimated from few errors), the counts negative-binomial as above. The
lasting-growth probability is read from the same draws. Everything comes from the window up to the
forecast's origin: no look-ahead.

The baselines are the naive last value and Holt's linear exponential smoothing (Holt-Winters without
season, ETS(A,A,N)), both with normal intervals. Scores: CRPS (closed form for a normal forecast, the
sample form for ours), coverage of the 50 % / 80 % intervals, relative RMSE (our point forecast is the
median, the fan's centre line; the mean of a log-normal drift is pulled up by its tail), and the Brier
score of the lasting-growth probability (calibrated across themes on the earlier cutoffs' resolved forecasts,
`nlp.calibration`; and raw) against its base rate with a reliability table. Every score is
computed on shares divided by the theme's mean share in the fitting window, so every theme weighs the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from nlp.calibration import METHODS, calibrate_by_cutoff
from nlp.trends import period_freq

PERIODS_PER_YEAR = {"week": 52, "month": 12, "quarter": 4, "year": 1}
MIN_DRIFT_COUNT = 3  # documents in both periods for a change of the log share to count towards the drift
MIN_HINDCAST_FIT = 3  # periods a hindcast is fitted on at least
MAX_LEVEL_SD = 1.0  # the drift is capped: a share that may multiply by e every period says nothing
POINTS = ("local", "last", "mixed")  # the fitted model, the last period's share, their mean (log scale)
QUANTILES = {"q10": 0.1, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q90": 0.9}


def _pad(counts: np.ndarray, volumes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Counts plus half a (weighted) document: an absent theme has a finite log share."""
    return counts + 0.5 * weights * volumes / (weights * volumes).sum()


def _glm(y: np.ndarray, offset: np.ndarray, x: np.ndarray, weights: np.ndarray, iters: int = 50
         ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Poisson GLM with log link by IRLS: coefficients and their unscaled covariance."""
    beta = np.zeros(x.shape[1])
    beta[0] = np.log((weights * y).sum() / (weights * np.exp(offset)).sum())
    for _ in range(iters):
        mu = np.exp(offset + x @ beta)
        information = (x.T * (weights * mu)) @ x
        step = np.linalg.solve(information, x.T @ (weights * (y - mu)))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    mu = np.exp(offset + x @ beta)
    return beta, np.linalg.inv((x.T * (weights * mu)) @ x)


class ThemeForecaster:
    """Share of documents h periods ahead, as a distribution; `fit(counts, volumes)`, then `predict`."""

    def __init__(self, *, window: int, min_history: int, discount: float, trend_alpha: float, damping: float,
                 drift_lag: int, min_level_sd: float, fallback_sd: float, n_samples: int, calibrate: bool,
                 prior_hindcasts: float, random_state: int = 0):
        self.window, self.min_history, self.discount, self.trend_alpha = window, min_history, discount, trend_alpha
        self.damping, self.drift_lag = damping, drift_lag
        self.calibrate, self.prior_hindcasts = calibrate, prior_hindcasts
        self.min_level_sd, self.fallback_sd = min_level_sd, fallback_sd
        self.n_samples, self.random_state = n_samples, random_state

    def fit(self, counts, volumes) -> ThemeForecaster:
        """Fit on documents per period `counts` and all documents per period `volumes` (oldest first).

        Sets `model_` (naive | level | trend), `point_` (local | last | mixed), `coef_` (log share at the last
        period, slope per period), `cov_` (their covariance), `dispersion_`, `level_sd_`, `hindcasts_`,
        `error_var_` and `dof_` (the calibrated log-share error at the hindcast horizon `error_lag_`) and
        `volume_` (the volume assumed ahead)."""
        y, v = np.asarray(counts, float), np.asarray(volumes, float)
        keep = v > 0
        y, v = y[keep][-self.window:], v[keep][-self.window:]
        self.volume_ = float(v[-min(4, len(v)):].mean()) if len(v) else 1.0
        self.mean_share_ = float((y.sum() + 0.5) / (v.sum() + 1.0))
        self.point_, self.hindcasts_, self.error_var_, self.error_lag_, self.dof_ = "local", 0, None, 1, None
        if len(v) < self.min_history:
            self.model_, self.dispersion_, self.level_sd_ = "naive", 1.0, self.fallback_sd
            self.coef_ = np.array([np.log(self.mean_share_), 0.0])
            self.cov_ = np.diag([1.0 / (y.sum() + 0.5), 0.0])
            return self
        t = np.arange(len(y), dtype=float) - (len(y) - 1)  # 0 at the last period: the intercept is the level now
        weights = self.discount ** -t  # a local level and trend: older periods count less
        raw = y
        y = _pad(y, v, weights)  # half a (weighted) document: an absent theme has a finite log
        x = np.column_stack([np.ones_like(t), t])
        offset = np.log(v)
        beta, cov = _glm(y, offset, x, weights)
        mu = np.exp(offset + x @ beta)
        pearson = (weights * (y - mu) ** 2 / mu).sum() / max(weights.sum() - 2, 1.0)  # weighted, like the fit
        self.dispersion_ = max(1.0, float(pearson))
        z = abs(beta[1]) / np.sqrt(self.dispersion_ * cov[1, 1])
        if z >= stats.norm.ppf(1 - self.trend_alpha / 2):
            self.model_, self.coef_, self.cov_ = "trend", beta, self.dispersion_ * cov
        else:
            level, level_cov = _glm(y, offset, x[:, :1], weights)
            self.model_, self.coef_ = "level", np.array([level[0], 0.0])
            self.cov_ = np.diag([self.dispersion_ * level_cov[0, 0], 0.0])
        self.last_ = float(np.log((raw[-1] + 0.5) / v[-1]))
        # drift: changes over `drift_lag` periods (a share that swings and returns does not drift) between periods
        # with MIN_DRIFT_COUNT documents or more (log shares of near-empty periods are counting noise), spread by
        # the median absolute deviation, minus the counting noise, per period
        log_share, noise, lag = np.log(y / v), self.dispersion_ / y, min(self.drift_lag, len(y) - 3)
        pairs = (raw[lag:] >= MIN_DRIFT_COUNT) & (raw[:-lag] >= MIN_DRIFT_COUNT) if lag >= 1 else np.array([])
        drift = 0.0
        if pairs.sum() >= 3:
            changes = (log_share[lag:] - log_share[:-lag])[pairs]
            spread = 1.4826 * np.median(np.abs(changes - np.median(changes)))
            drift = (spread ** 2 - np.median((noise[lag:] + noise[:-lag])[pairs])) / lag
        self.level_sd_ = float(np.sqrt(min(max(self.min_level_sd ** 2, drift), MAX_LEVEL_SD ** 2)))
        if self.calibrate:
            self._calibrate(raw, v)
        return self

    def _point(self, step: int, point: str | None = None) -> float:
        """The log share `step` periods ahead of the point forecast `point` (default: the chosen one)."""
        local = float(self.coef_[0] + self.coef_[1] * sum(self.damping ** i for i in range(1, step + 1)))
        return {"local": local, "last": self.last_, "mixed": (local + self.last_) / 2}[point or self.point_]

    def _calibrate(self, raw: np.ndarray, v: np.ndarray) -> None:
        """Rolling-origin hindcasts inside the window (each fitted only on the periods up to its origin): the
        point forecast with the least mean squared log error `error_lag_` periods ahead, and that error's
        variance (minus the outcomes' counting noise), pooled with the drift model's as `prior_hindcasts`
        hindcasts' worth; draws are then Student-t with hindcasts + prior_hindcasts degrees of freedom."""
        n = len(v)
        lag = min(self.drift_lag, n - MIN_HINDCAST_FIT - 2)  # at least 3 origins
        if lag < 1:
            return
        origins = range(MIN_HINDCAST_FIT - 1, n - lag)
        errors = {p: [] for p in POINTS}
        noise = []
        for o in origins:
            hind = self._refit(raw[: o + 1], v[: o + 1])
            truth = np.log((raw[o + lag] + 0.5) / v[o + lag])
            for p in errors:
                errors[p].append(truth - hind._point(lag, p))
            noise.append(self.dispersion_ / (raw[o + lag] + 0.5))
        mse = {p: float(np.mean(np.square(e))) for p, e in errors.items()}
        self.point_ = min(mse, key=mse.get)
        k, m = self.prior_hindcasts, len(origins)
        x = np.array([1.0, sum(self.damping ** i for i in range(1, lag + 1))])
        prior = float(x @ self.cov_ @ x) + lag * self.level_sd_ ** 2  # the drift model's variance at the lag
        measured = max(mse[self.point_] - float(np.mean(noise)), lag * self.min_level_sd ** 2)
        self.hindcasts_, self.error_lag_, self.dof_ = m, lag, m + k
        self.error_var_ = (m * measured + k * prior) / (m + k)

    def _refit(self, counts: np.ndarray, volumes: np.ndarray) -> ThemeForecaster:
        """The chosen model (level or trend) refitted on a prefix of the window, for a hindcast."""
        hind = object.__new__(ThemeForecaster)
        hind.damping, hind.point_ = self.damping, "local"
        t = np.arange(len(counts), dtype=float) - (len(counts) - 1)
        weights = self.discount ** -t
        y = _pad(counts, volumes, weights)
        if self.model_ == "trend":
            hind.coef_ = _glm(y, np.log(volumes), np.column_stack([np.ones_like(t), t]), weights)[0]
        else:
            hind.coef_ = np.array([np.log((weights * y).sum() / (weights * volumes).sum()), 0.0])
        hind.last_ = float(np.log((counts[-1] + 0.5) / volumes[-1]))
        return hind

    def _log_share(self, step: int, rng: np.random.Generator) -> np.ndarray:
        if self.error_var_ is not None:  # calibrated on the hindcasts up to their lag, beyond it the drift adds
            lag = self.error_lag_
            scale = np.sqrt(self.error_var_ * min(step, lag) / lag + max(step - lag, 0) * self.level_sd_ ** 2)
            return self._point(step) + scale * rng.standard_t(self.dof_, self.n_samples)
        ahead = float(sum(self.damping ** i for i in range(1, step + 1)))
        x = np.array([1.0, ahead])
        mean, var = float(x @ self.coef_), float(x @ self.cov_ @ x) + step * self.level_sd_ ** 2
        return rng.normal(mean, np.sqrt(var), self.n_samples)

    def sample(self, step: int) -> np.ndarray:
        """`n_samples` draws of the share `step` periods after the last one."""
        rng = np.random.default_rng(self.random_state + step)
        m = self.volume_ * np.exp(np.minimum(self._log_share(step, rng), 0.0))  # a share is at most 1
        if self.dispersion_ > 1.0:
            extra = self.dispersion_ - 1.0
            m = rng.gamma(m / extra, extra)  # gamma-Poisson: mean m, variance dispersion x m
        return rng.poisson(m) / self.volume_

    def predict(self, steps: int) -> pd.DataFrame:
        """Per step 1..steps: the mean share and the 10/25/50/75/90 % quantiles (the 80 % and 50 % intervals)."""
        rows = []
        for step in range(1, steps + 1):
            draws = self.sample(step)
            rows.append({"step": step, "mean": float(draws.mean()),
                         **{k: float(np.quantile(draws, q)) for k, q in QUANTILES.items()}})
        return pd.DataFrame(rows)

    def prob_at_least(self, threshold: float, step: int) -> float:
        """P(share `step` periods ahead >= threshold)."""
        return float((self.sample(step) >= threshold).mean())


def naive_forecast(shares: np.ndarray, step: int) -> tuple[float, float]:
    """The last share, with a normal interval from the spread of period-to-period changes (random walk)."""
    changes = np.diff(shares)
    sd = changes.std(ddof=1) if len(changes) > 1 else max(shares[-1], 1e-9)
    return float(shares[-1]), float(max(sd, 1e-9) * np.sqrt(step))


def holt_forecast(shares: np.ndarray, step: int) -> tuple[float, float]:
    """Holt's linear exponential smoothing (ETS(A,A,N)), alpha and beta by least squares of the one-step
    errors over a grid; normal interval with variance sigma² (1 + sum_j (alpha + beta j)²)."""
    if len(shares) < 3:
        return naive_forecast(shares, step)
    best = None
    for alpha in (0.1, 0.2, 0.3, 0.5, 0.7, 0.9):
        for beta in (0.0, 0.05, 0.1, 0.2, 0.3):
            level, trend, sse = shares[0], shares[1] - shares[0], 0.0
            for value in shares[1:]:
                error = value - (level + trend)
                sse += error * error
                new_level = level + trend + alpha * error
                trend, level = trend + alpha * beta * error, new_level
            if best is None or sse < best[0]:
                best = (sse, alpha, beta, level, trend)
    sse, alpha, beta, level, trend = best
    sigma2 = sse / max(len(shares) - 3, 1)
    var = sigma2 * (1 + sum((alpha + alpha * beta * j) ** 2 for j in range(1, step)))
    return float(level + step * trend), float(max(np.sqrt(var), 1e-9))


def crps_normal(mean, sd, y) -> np.ndarray:
    """CRPS of N(mean, sd²) at y (closed form, Gneiting & Raftery 2007)."""
    z = (np.asarray(y, float) - mean) / sd
    return sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def crps_samples(samples: np.ndarray, y: float) -> float:
    """CRPS of the empirical distribution of `samples` at y: E|X - y| - E|X - X'| / 2."""
    x = np.sort(np.asarray(samples, float))
    n = len(x)
    spread = 2.0 * np.sum((2 * np.arange(1, n + 1) - n - 1) * x) / n ** 2
    return float(np.abs(x - y).mean() - spread / 2)


def reliability(p: np.ndarray, event: np.ndarray, bins: int = 10) -> list[dict]:
    """Predicted probability deciles vs observed frequency: [{bin, n, mean_p, observed}]."""
    which = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    return [{"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "n": int((which == b).sum()),
             "mean_p": round(float(p[which == b].mean()), 3), "observed": round(float(event[which == b].mean()), 3)}
            for b in range(bins) if (which == b).any()]


class ForecastBacktest:
    """Forecasts made at successive cutoffs, scored once the outcomes are known.

    `add` forecasts every series of one cutoff `horizon` periods ahead (and `lasting_periods` ahead for
    the probability that the share is then at least `growth_factor` x its baseline share, the mean share
    of the first `baseline_periods` periods); `score` compares them with the shares that happened, the
    lasting-growth probability after `calibrator` (`nlp.calibration.calibrate_by_cutoff`: each forecast mapped
    by the outcomes of the forecasts whose lasting target was at or before its cutoff)."""

    def __init__(self, *, horizon: int, growth_factor: float, forecaster: dict, calibrator: dict):
        self.horizon, self.growth_factor, self.forecaster = horizon, growth_factor, forecaster
        self.calibrator, self.rows = calibrator, []

    def add(self, counts: pd.DataFrame, volumes: pd.Series, future: list, baseline_periods: int,
            lasting_periods: int, period: str | None = None) -> None:
        """`counts`: series x periods (consecutive, oldest first); `volumes`: documents per period;
        `future`: the labels of the periods after the last column, at least max(horizon, lasting_periods)."""
        v = volumes.reindex(counts.columns, fill_value=0).to_numpy(float)
        shown = v > 0
        for key, row in zip(counts.index, counts.to_numpy(float), strict=True):
            model = ThemeForecaster(**self.forecaster).fit(row, v)
            shares = row[shown] / v[shown]
            base_v = v[:baseline_periods].sum()
            baseline = row[:baseline_periods].sum() / base_v if base_v else np.nan
            self.rows.append({
                "series": key, "period": period, "made": counts.columns[-1], "target": future[self.horizon - 1],
                "lasting_target": future[lasting_periods - 1],
                "model": model.model_, "point": model.point_, "scale": model.mean_share_,
                "samples": model.sample(self.horizon),
                "naive": naive_forecast(shares, self.horizon), "ets": holt_forecast(shares, self.horizon),
                "threshold": self.growth_factor * baseline,
                "p_lasting": model.prob_at_least(self.growth_factor * baseline, lasting_periods)
                if baseline > 0 else np.nan})

    def score(self, outcomes: pd.DataFrame, period: str | None = None) -> dict:
        """Means over the forecasts whose target period is in `outcomes` (series x periods of shares); with
        `period`, only those made at that period length (an "auto" detection may change it between cutoffs)."""
        table = outcomes.stack()
        made = [r for r in self.rows if period is None or r["period"] == period]
        rows = [r for r in made if (r["series"], r["target"]) in table.index]
        if not rows:
            return {"horizon": self.horizon, "n_forecasts": 0}
        y = np.array([table[(r["series"], r["target"])] for r in rows]) / [r["scale"] for r in rows]
        draws = [r["samples"] / r["scale"] for r in rows]
        quantiles = np.array([np.quantile(d, [0.1, 0.25, 0.5, 0.75, 0.9]) for d in draws])
        metrics = {"horizon": self.horizon,
                   "coverage_50": float(((y >= quantiles[:, 1]) & (y <= quantiles[:, 3])).mean()),
                   "coverage_80": float(((y >= quantiles[:, 0]) & (y <= quantiles[:, 4])).mean()),
                   "crps": float(np.mean([crps_samples(d, o) for d, o in zip(draws, y, strict=True)])),
                   "rel_rmse": float(np.sqrt(np.mean((quantiles[:, 2] - y) ** 2))),  # the point: the median
                   "rel_rmse_mean": float(np.sqrt(np.mean((np.array([d.mean() for d in draws]) - y) ** 2)))}
        for name in ("naive", "ets"):
            mean, sd = (np.array([r[name][i] for r in rows]) / [r["scale"] for r in rows] for i in (0, 1))
            metrics[f"crps_{name}"] = float(crps_normal(mean, sd, y).mean())
            metrics[f"rel_rmse_{name}"] = float(np.sqrt(np.mean((mean - y) ** 2)))
        lasting = [r for r in made if (r["series"], r["lasting_target"]) in table.index
                   and not np.isnan(r["p_lasting"])]
        raw = np.array([r["p_lasting"] for r in lasting])
        event = np.array([table[(r["series"], r["lasting_target"])] >= r["threshold"] for r in lasting], float)
        if len(lasting):
            when = ([r["made"] for r in lasting], [r["lasting_target"] for r in lasting])
            p, used = calibrate_by_cutoff(raw, event, *when, **self.calibrator)
            metrics |= {"brier": float(np.mean((p - event) ** 2)), "brier_raw": float(np.mean((raw - event) ** 2)),
                        "brier_base_rate": float(np.mean((event.mean() - event) ** 2)),
                        "lasting_base_rate": float(event.mean()), "n_lasting": len(lasting),
                        "n_calibrated": int(used.sum()), "reliability": reliability(p, event),
                        "reliability_raw": reliability(raw, event),
                        "reliability_mapped": reliability(p[used], event[used]) if used.any() else []}
            for method in METHODS[:-1]:  # the other calibrations, for comparison
                other = calibrate_by_cutoff(raw, event, *when, **(self.calibrator | {"method": method}))[0]
                metrics[f"brier_{method}"] = float(np.mean((other - event) ** 2))
        else:
            metrics |= {"brier": None, "brier_base_rate": None}
        models, points = (pd.Series([r[k] for r in rows]).value_counts() for k in ("model", "point"))
        return metrics | {"n_forecasts": len(rows), "models": {k: int(n) for k, n in models.items()},
                          "points": {k: int(n) for k, n in points.items()}}

    def add_window(self, window: pd.DataFrame, period: str, baseline_periods: int) -> None:
        """Forecast every topic of a detection window (doc_id, topic_id, period: its start) at its last period."""
        self.add_series(*topic_series(window, period), period, baseline_periods)

    def add_series(self, counts: pd.DataFrame, volumes: pd.Series, period: str, baseline_periods: int) -> None:
        """Forecast every series of a detection window (`counts`: series x its consecutive periods, `volumes`: all
        documents per period) at its last period, the lasting growth one year ahead."""
        lasting = PERIODS_PER_YEAR[period]
        self.add(counts, volumes, following_periods(counts.columns[-1], max(self.horizon, lasting), period),
                 baseline_periods, lasting, period)


def following_periods(last: pd.Timestamp, n: int, period: str) -> list[pd.Timestamp]:
    """The starts of the `n` periods after the one starting at `last`."""
    current = pd.Timestamp(last).to_period(period_freq(period))
    return [(current + i).start_time for i in range(1, n + 1)]


def topic_series(docs: pd.DataFrame, period: str) -> tuple[pd.DataFrame, pd.Series]:
    """Documents per topic (rows) and period start (consecutive columns), and all documents per period,
    from one row per document with its topic_id and period (start)."""
    freq = period_freq(period)
    span = pd.period_range(docs["period"].min().to_period(freq), docs["period"].max().to_period(freq))
    counts = docs.groupby(["topic_id", "period"]).size().unstack("period", fill_value=0)
    counts = counts.reindex(columns=list(span.start_time), fill_value=0)
    return counts, counts.sum(axis=0)


def series_counts(series: pd.DataFrame, members: pd.DataFrame, corpora: pd.DataFrame, labels: pd.Series,
                  columns: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Documents of each series per label, and of its sub-corpus (the share's denominator) per label.

    `series`: its key columns and `corpus` (the sub-corpus its share is of); `members`: the key columns and doc_id of
    every document a series counts; `corpora`: corpus, doc_id of every document of each sub-corpus; `labels`: doc_id
    -> label (a period start; NaN: not counted); `columns`: the labels wanted, in order. Returns (counts, volumes),
    both indexed by the series' keys in the order of `series`, with `columns` as columns."""
    keys = [c for c in series.columns if c != "corpus"]
    index = pd.MultiIndex.from_frame(series[keys])

    def per_label(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
        frame = frame.assign(label=frame["doc_id"].map(labels)).dropna(subset=["label"])
        return frame.groupby([*by, "label"]).size().unstack("label", fill_value=0).reindex(columns=columns,
                                                                                          fill_value=0)

    counts = per_label(members, keys).reindex(index, fill_value=0)
    volumes = per_label(corpora, ["corpus"]).reindex(series["corpus"].to_numpy(), fill_value=0).set_axis(index)
    return counts, volumes
