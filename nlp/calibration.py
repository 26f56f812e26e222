"""Calibration of forecast probabilities across themes, fitted only on forecasts whose outcome is known.

A theme's lasting-growth probability comes from its own series; whether such probabilities come true is
only seen across themes and after a year. `ProbabilityCalibrator` maps a raw probability to the observed
frequency of the event among resolved forecasts (isotonic: a monotone step function; logistic: Platt
scaling on the logit), and returns the raw probability while fewer than `min_resolved` forecasts are
resolved. `calibrate_by_cutoff` applies it without look-ahead: a forecast made at cutoff c is mapped by a
calibrator fitted on the forecasts whose outcome was known at c.
"""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

METHODS = ("isotonic", "logistic", "none")
EPS = 1e-3  # logits of probabilities clipped to [EPS, 1 - EPS]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), EPS, 1 - EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)


class ProbabilityCalibrator:
    """Raw probability -> observed frequency; `fit(p, event)` on resolved forecasts, then `predict(p)`."""

    def __init__(self, *, method: str, min_resolved: int):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        self.method, self.min_resolved = method, min_resolved

    def fit(self, p, event) -> ProbabilityCalibrator:
        """Sets `n_resolved_` and `fitted_` (False: too few resolved forecasts, or both outcomes not seen)."""
        p, event = np.asarray(p, float), np.asarray(event, float)
        self.n_resolved_ = len(p)
        self.fitted_ = (self.method != "none" and len(p) >= self.min_resolved and 0 < event.sum() < len(event))
        if not self.fitted_:
            return self
        if self.method == "isotonic":
            self.map_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, event)
        else:
            self.map_ = LogisticRegression(C=1e6).fit(_logit(p), event.astype(int))
        return self

    def predict(self, p) -> np.ndarray:
        """Calibrated probabilities (the raw ones when not fitted)."""
        p = np.asarray(p, float)
        if not self.fitted_:
            return p
        if self.method == "isotonic":
            return self.map_.predict(p)
        return self.map_.predict_proba(_logit(p))[:, 1]


def calibrate_by_cutoff(p, event, made, resolved, *, method: str, min_resolved: int) -> tuple[np.ndarray, np.ndarray]:
    """Each forecast's probability mapped by a calibrator fitted on the forecasts resolved by the time it was made.

    `p`, `event`: raw probabilities and outcomes (0/1); `made`: when each forecast was made; `resolved`: when its
    outcome became known (comparable with `made`). Forecast i uses only the forecasts j with resolved[j] <= made[i].
    Returns the calibrated probabilities and whether a fitted map was used for each."""
    p, event = np.asarray(p, float), np.asarray(event, float)
    made, resolved = np.asarray(made), np.asarray(resolved)
    out, used = p.copy(), np.zeros(len(p), bool)
    for cutoff in np.unique(made):
        known = resolved <= cutoff
        calibrator = ProbabilityCalibrator(method=method, min_resolved=min_resolved).fit(p[known], event[known])
        now = made == cutoff
        out[now], used[now] = calibrator.predict(p[now]), calibrator.fitted_
    return out, used
