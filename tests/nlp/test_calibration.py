import numpy as np
import pytest

from nlp.calibration import ProbabilityCalibrator, calibrate_by_cutoff


def overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities whose events happen at a shrunk frequency: logit(true) = 0.5 logit(raw) - 0.5."""
    rng = np.random.default_rng(seed)
    raw = rng.beta(1.2, 3.0, n)
    logit = np.log(raw / (1 - raw))
    true = 1 / (1 + np.exp(-(0.5 * logit - 0.5)))
    return raw, (rng.random(n) < true).astype(float)


def brier(p, event) -> float:
    return float(np.mean((p - event) ** 2))


@pytest.mark.parametrize("method", ["isotonic", "logistic"])
def test_calibrated_probabilities_of_overconfident_forecasts_have_a_lower_brier_out_of_sample(method):
    p, event = overconfident(4000, seed=1)
    q, outcome = overconfident(4000, seed=2)
    calibrator = ProbabilityCalibrator(method=method, min_resolved=200).fit(p, event)
    assert calibrator.fitted_
    assert brier(calibrator.predict(q), outcome) < brier(q, outcome) - 0.005
    high = q > 0.4  # the over-confident end comes down to the observed frequency
    assert abs(calibrator.predict(q)[high].mean() - outcome[high].mean()) < 0.05 < q[high].mean() - outcome[high].mean()


def test_too_few_resolved_forecasts_or_none_leave_the_raw_probability():
    p, event = overconfident(150, seed=3)
    assert not ProbabilityCalibrator(method="isotonic", min_resolved=200).fit(p, event).fitted_
    assert np.array_equal(ProbabilityCalibrator(method="logistic", min_resolved=200).fit(p, event).predict(p), p)
    assert np.array_equal(ProbabilityCalibrator(method="none", min_resolved=1).fit(p, event).predict(p), p)
    with pytest.raises(ValueError, match="method"):
        ProbabilityCalibrator(method="beta", min_resolved=1)


def test_the_map_at_a_cutoff_uses_only_outcomes_known_by_then():
    """12 cutoffs of 300 forecasts each, resolved 4 cutoffs later: changing any outcome resolved after cutoff c
    changes nothing calibrated at c; the first 4 cutoffs (nothing resolved) keep the raw probability."""
    p, event = overconfident(3600, seed=4)
    made = np.repeat(np.arange(12), 300)
    resolved = made + 4
    calibrated, used = calibrate_by_cutoff(p, event, made, resolved, method="isotonic", min_resolved=200)
    assert not used[made < 4].any() and used[made >= 4].all()
    assert np.array_equal(calibrated[made < 4], p[made < 4])
    for c in (4, 7, 10):
        flipped = np.where(resolved > c, 1 - event, event)
        again = calibrate_by_cutoff(p, flipped, made, resolved, method="isotonic", min_resolved=200)[0]
        assert np.array_equal(again[made == c], calibrated[made == c])
        assert not np.array_equal(again[made == c + 1], calibrated[made == c + 1])  # c+1 sees the flipped outcomes
    later = made >= 4
    assert brier(calibrated[later], event[later]) < brier(p[later], event[later])
