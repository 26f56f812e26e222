"""Forecast step: the latest detection's topics -> their share `horizon` periods ahead -> `theme_forecasts`.

Each topic's documents per period (canonical documents with a topic, the detection's period, the
`[forecast] window` complete periods up to its as-of date) are fitted with `nlp.forecast.ThemeForecaster`
against all documents with a topic per period; stored per step ahead: the model, the mean share, the
10/25/50/75/90 % quantiles and the probability that the share one year ahead is at least
`growth_factor` x the topic's baseline share of the detection (`p_lasting_raw`, from the topic's own
forecast), and that probability calibrated across topics (`p_lasting`): `nlp.calibration.ProbabilityCalibrator`
fitted on the earlier detections' stored forecasts (same period length, one per topic and last period) whose year-ahead
period is complete by this detection, against the shares the current topic assignments give that period; the
raw probability while fewer than `lasting_min_resolved` are resolved.
"""

from __future__ import annotations

import logging

import pandas as pd

from nlp.calibration import ProbabilityCalibrator
from nlp.forecast import PERIODS_PER_YEAR, ThemeForecaster, following_periods, topic_series
from nlp.trends import complete_periods, period_freq, period_start
from pipelines.runs import StepResult
from pipelines.settings import ForecastSettings
from pipelines.store import Store
from pipelines.views.detections import latest_detection

logger = logging.getLogger(__name__)


def forecast(store: Store, settings: ForecastSettings) -> StepResult:
    """Forecast every topic of the latest detection and write them under its detect_id."""
    result = StepResult("forecast")
    detect_id = latest_detection(store)
    if detect_id is None:
        result.skip("no_detection")
        return result
    as_of, period = store.df("SELECT as_of, period FROM detections WHERE detect_id = ?", [detect_id]).iloc[0]
    if period is None:  # a detection without scores: too little history
        result.skip("no_scores")
        return result
    periods = complete_periods(pd.Timestamp(as_of), settings.window, period)
    docs = store.df("SELECT a.topic_id, d.published_on FROM topic_assignments a JOIN canonical_documents d "
                    "USING (doc_id) WHERE d.published_on >= ? AND d.published_on <= ?", [periods[0].date(), as_of])
    docs = docs.assign(period=period_start(docs["published_on"], period))
    docs = docs[docs["period"].isin(periods)]
    if docs.empty:
        result.skip("no_documents")
        return result
    counts, volumes = topic_series(docs, period)
    counts, volumes = (counts.reindex(columns=periods, fill_value=0), volumes.reindex(periods, fill_value=0))
    baseline = store.df("SELECT topic_id, share_baseline FROM trend_scores WHERE detect_id = ?",
                        [detect_id]).set_index("topic_id")["share_baseline"]
    counts = counts[counts.index.isin(baseline.index)]  # the scored topics (not the outlier pool)
    lasting = PERIODS_PER_YEAR[period]
    ahead = following_periods(periods[-1], settings.horizon, period)
    rows = []
    for topic_id, row in counts.iterrows():
        model = ThemeForecaster(**settings.forecaster_options()).fit(row.to_numpy(float), volumes.to_numpy(float))
        share = baseline[topic_id]
        p_lasting = model.prob_at_least(settings.growth_factor * share, lasting) if share > 0 else None
        fan = model.predict(settings.horizon).assign(detect_id=detect_id, topic_id=int(topic_id), model=model.model_,
                                                     p_lasting_raw=p_lasting)
        rows.append(fan.assign(period=[p.date() for p in ahead]))
    frame = pd.concat(rows, ignore_index=True)
    resolved = resolved_lasting(store, detect_id, pd.Timestamp(as_of), period, periods[-1], settings.growth_factor)
    calibrator = ProbabilityCalibrator(**settings.calibrator_options()).fit(resolved["p"], resolved["event"])
    frame["p_lasting"] = frame["p_lasting_raw"].astype(float)
    known = frame["p_lasting"].notna()
    frame.loc[known, "p_lasting"] = calibrator.predict(frame.loc[known, "p_lasting"])
    frame = frame[["detect_id", "topic_id", "step", "period", "model", "mean", "q10", "q25", "q50", "q75", "q90",
                   "p_lasting", "p_lasting_raw"]]
    with store.transaction() as con:
        con.execute("DELETE FROM theme_forecasts WHERE detect_id = ?", [detect_id])
        store.insert_frame("theme_forecasts", frame)
    models = frame.drop_duplicates("topic_id")["model"].value_counts()
    result.count(topics=int(counts.shape[0]), lasting_resolved=len(resolved),
                 lasting_calibrated=int(calibrator.fitted_),
                 **{f"model_{k}": int(n) for k, n in models.items()})
    return result


def resolved_lasting(store: Store, detect_id: str, as_of: pd.Timestamp, period: str, last: pd.Timestamp,
                     growth_factor: float) -> pd.DataFrame:
    """The earlier detections' raw lasting-growth probabilities whose year-ahead period is complete by `last`,
    with their outcome (p, event: the topic's share of that period, in the current topic assignments, reached
    `growth_factor` x the detection's baseline share). One forecast per topic and last complete period (the newest
    detection's): nightly detections between two period ends forecast the same periods."""
    earlier = store.df(
        "SELECT f.topic_id, f.period, f.p_lasting_raw AS p, s.share_baseline FROM theme_forecasts f "
        "JOIN detections d USING (detect_id) JOIN trend_scores s USING (detect_id, topic_id) "
        "WHERE f.step = 1 AND f.p_lasting_raw IS NOT NULL AND d.period = ? AND d.as_of < ? AND d.detect_id <> ? "
        "QUALIFY row_number() OVER (PARTITION BY f.topic_id, f.period ORDER BY d.created_at DESC) = 1",
        [period, as_of.date(), detect_id])
    if earlier.empty:
        return pd.DataFrame({"p": [], "event": []})
    freq = period_freq(period)
    lasting = PERIODS_PER_YEAR[period]
    earlier["target"] = [(pd.Timestamp(p).to_period(freq) + lasting - 1).start_time for p in earlier["period"]]
    earlier = earlier[earlier["target"] <= last]
    if earlier.empty:
        return pd.DataFrame({"p": [], "event": []})
    docs = store.df("SELECT a.topic_id, d.published_on FROM topic_assignments a JOIN canonical_documents d "
                    "USING (doc_id) WHERE d.published_on >= ? AND d.published_on < ?",
                    [earlier["target"].min().date(), (last.to_period(freq) + 1).start_time.date()])
    docs = docs.assign(target=period_start(docs["published_on"], period))
    shares = docs.groupby(["topic_id", "target"]).size() / docs.groupby("target").size()
    share = [shares.get((t, p), 0.0) for t, p in zip(earlier["topic_id"], earlier["target"], strict=True)]
    event = (pd.Series(share, index=earlier.index) >= growth_factor * earlier["share_baseline"]).astype(float)
    return pd.DataFrame({"p": earlier["p"], "event": event})
