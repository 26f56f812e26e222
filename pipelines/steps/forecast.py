"""Forecast step: the latest detection's theme series -> their share `horizon` periods ahead -> `theme_forecasts`.

The series (`forecast_series`): every scored topic, and the detection's term, region and sector cells
(`trend_cells`) that are flagged or rank within `[forecast] top_cells` of their scope — what `trends`, the digest
and the dashboard show. A series' share is of its sub-corpus: a topic's and a term's of all documents with a
topic, a topic x region (sector) cell's of the documents of that region (sector), as the detector tests them. Each
series is counted per period (canonical documents, the detection's period, the `[forecast] window` complete periods
up to its as-of date; a term: the documents holding it, read as the detector reads terms) and fitted with
`nlp.forecast.ThemeForecaster` against its sub-corpus per period. Stored per step ahead: the model, the mean share,
the 10/25/50/75/90 % quantiles, the series' share in the last complete period (`share_last`) and in the
detection's baseline window (`share_baseline`), the probability that its share one year ahead is at least
`growth_factor` x `share_baseline` (`p_lasting_raw`, from its own forecast), and that probability calibrated per
scope (`p_lasting`): `nlp.calibration.ProbabilityCalibrator` fitted on the earlier detections' stored forecasts of
that scope (same period length, one per series and last period) whose year-ahead period is complete by this
detection, against the shares the current data give that period; the raw probability while fewer than
`lasting_min_resolved` are resolved.
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd

from nlp.calibration import ProbabilityCalibrator
from nlp.forecast import PERIODS_PER_YEAR, ThemeForecaster, following_periods, series_counts
from nlp.term_trends import term_documents
from nlp.trends import complete_periods, period_freq, period_start, rolling_periods, rolling_start
from pipelines.runs import StepResult
from pipelines.settings import ForecastSettings
from pipelines.store import Store
from pipelines.views.detections import latest_detection
from pipelines.views.features import REGIONS_SQL, SECTORS_SQL
from pipelines.views.topic_model import one_partition

logger = logging.getLogger(__name__)

KEY = ["scope", "topic_id", "cell"]
SUB_CORPORA = {"region": (REGIONS_SQL, "nuts2"), "sector": (SECTORS_SQL, "sector")}


def forecast(store: Store, settings: ForecastSettings) -> StepResult:
    """Forecast every series of the latest detection (`forecast_series`) and write them under its detect_id."""
    result = StepResult("forecast")
    detect_id = latest_detection(store)
    if detect_id is None:
        result.skip("no_detection")
        return result
    as_of, period, params = store.df("SELECT as_of, period, params FROM detections WHERE detect_id = ?",
                                     [detect_id]).iloc[0]
    if period is None:  # a detection without scores: too little history
        result.skip("no_scores")
        return result
    as_of = pd.Timestamp(as_of)
    periods = complete_periods(as_of, settings.window, period)
    baseline = baseline_periods(as_of, period, json.loads(params or "{}"))
    series = forecast_series(store, detect_id, settings.top_cells)
    start = min([periods[0], *baseline[:1]])
    docs = documents(store, start, as_of + pd.Timedelta(days=1))
    if docs.empty or series.empty:
        result.skip("no_documents")
        return result
    counts, volumes, share_baseline = window_series(store, series, docs, periods, baseline, as_of, period)
    lasting = PERIODS_PER_YEAR[period]
    ahead = [p.date() for p in following_periods(periods[-1], settings.horizon, period)]
    rows = []
    for (scope, topic_id, cell), y, v, share in zip(counts.index, counts.to_numpy(float), volumes.to_numpy(float),
                                                    share_baseline, strict=True):
        model = ThemeForecaster(**settings.forecaster_options()).fit(y, v)
        p_lasting = model.prob_at_least(settings.growth_factor * share, lasting) if share > 0 else None
        rows.append(model.predict(settings.horizon).assign(
            detect_id=detect_id, scope=scope, topic_id=int(topic_id), cell=cell, period=ahead, model=model.model_,
            p_lasting_raw=p_lasting, share_baseline=share, share_last=y[-1] / v[-1] if v[-1] else None))
    frame = pd.concat(rows, ignore_index=True)
    resolved = resolved_lasting(store, detect_id, as_of, period, periods[-1], settings.growth_factor)
    frame["p_lasting"], calibrated = calibrated_lasting(frame, resolved, settings)
    frame = frame[["detect_id", *KEY, "step", "period", "model", "mean", "q10", "q25", "q50", "q75", "q90",
                   "p_lasting", "p_lasting_raw", "share_baseline", "share_last"]]
    with store.transaction() as con:
        con.execute("DELETE FROM theme_forecasts WHERE detect_id = ?", [detect_id])
        store.insert_frame("theme_forecasts", frame)
    firsts = frame[frame["step"] == 1]
    models = firsts["model"].value_counts()
    by_scope = firsts["scope"].value_counts()
    result.count(**{f"{s}s": int(by_scope.get(s, 0)) for s in ("topic", "term", "region", "sector")},
                 lasting_resolved=len(resolved), lasting_calibrated=calibrated,
                 **{f"model_{k}": int(n) for k, n in models.items()})
    return result


def window_series(store: Store, series: pd.DataFrame, docs: pd.DataFrame, periods: list, baseline: list,
                  as_of: pd.Timestamp, period: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Documents of each series and of its sub-corpus per period of `periods` (series x periods, in the order of
    `series`), and each series' share over the detection's `baseline` periods (NaN: no documents there)."""
    members, corpora = memberships(store, series, docs)
    in_window = period_start(docs["published_on"], period).where(lambda p: p.isin(periods))
    counts, volumes = series_counts(series, members, corpora, pd.Series(in_window.to_numpy(), docs["doc_id"]),
                                    periods)
    in_base = rolling_start(docs["published_on"], as_of, period).isin(baseline)
    base_n, base_v = series_counts(series, members, corpora, pd.Series(np.where(in_base, "base", None),
                                                                       docs["doc_id"]), ["base"])
    return counts, volumes, (base_n["base"] / base_v["base"].where(base_v["base"] > 0)).to_numpy()


def calibrated_lasting(frame: pd.DataFrame, resolved: pd.DataFrame, settings: ForecastSettings
                       ) -> tuple[pd.Series, int]:
    """The forecasts' raw lasting-growth probabilities mapped per scope by a calibrator fitted on that scope's
    resolved ones (raw where none is fitted), and how many series had a map."""
    p = frame["p_lasting_raw"].astype(float)
    calibrated = 0
    for scope, known in resolved.groupby("scope"):
        calibrator = ProbabilityCalibrator(**settings.calibrator_options()).fit(known["p"], known["event"])
        mapped = p.notna() & frame["scope"].eq(scope)
        p[mapped] = calibrator.predict(p[mapped])
        calibrated += int(calibrator.fitted_) * int((mapped & frame["step"].eq(1)).sum())
    return p, calibrated


def forecast_series(store: Store, detect_id: str, top_cells: int) -> pd.DataFrame:
    """scope, topic_id, cell, corpus of the series forecast for a detection: every scored topic; every term, region
    and sector cell that is flagged or within the `top_cells` best-ranked of its scope. `corpus` names the
    sub-corpus the series' share is of ('' all documents, 'region:<NUTS-2>', 'sector:<label>')."""
    return with_corpus(store.df(
        "SELECT 'topic' AS scope, topic_id, '' AS cell FROM trend_scores WHERE detect_id = ? UNION ALL "
        "SELECT scope, topic_id, cell FROM trend_cells WHERE detect_id = ? AND scope IN ('term', 'region', 'sector') "
        "AND (flagged OR rank <= ?) ORDER BY scope, topic_id, cell", [detect_id, detect_id, top_cells]))


def baseline_periods(as_of: pd.Timestamp, period: str, params: dict) -> list[pd.Timestamp]:
    """The starts of the detection's baseline periods (anchored at its as-of date, as the detector's); [] unknown."""
    b, r = int(params.get("baseline_periods") or 0), int(params.get("recent_periods") or 0)
    return rolling_periods(as_of, b + r, period)[:b] if b else []


def documents(store: Store, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """doc_id, topic_id, published_on of the canonical documents with a topic dated in [start, end), each in its
    topic of one partition of them all, as the detector counts them (`pipelines.views.topic_model.one_partition`)."""
    return one_partition(store, store.df(
        "SELECT a.doc_id, a.topic_id, d.published_on FROM topic_assignments a JOIN canonical_documents d "
        "USING (doc_id) WHERE d.published_on >= ? AND d.published_on < ?", [start.date(), end.date()]))


def memberships(store: Store, series: pd.DataFrame, docs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(members: scope, topic_id, cell, doc_id of the `docs` each of `series` counts; corpora: corpus, doc_id of
    every sub-corpus the series' shares are of). A topic counts its documents, a region or sector cell its topic's
    documents there, a term the documents holding it (whatever their topic)."""
    grouped = [docs[["doc_id", "topic_id"]].assign(scope="topic", cell="")]
    for scope, (sql, column) in SUB_CORPORA.items():
        if series["scope"].eq(scope).any():
            cells = store.df(f"SELECT DISTINCT doc_id, {column} AS cell FROM ({sql})")
            grouped.append(docs[["doc_id", "topic_id"]].merge(cells, on="doc_id").assign(scope=scope))
    groups = pd.concat(grouped, ignore_index=True)
    members = groups.merge(series[KEY], on=KEY)[[*KEY, "doc_id"]]
    sub = groups[groups["scope"] != "topic"]
    corpora = pd.concat([docs[["doc_id"]].assign(corpus=""),
                         sub.assign(corpus=sub["scope"] + ":" + sub["cell"])[["doc_id", "corpus"]].drop_duplicates()])
    terms = series.loc[series["scope"] == "term", ["topic_id", "cell"]]
    if len(terms):
        names = terms["cell"].unique()
        rows, cols = term_documents(store.texts(docs["doc_id"].tolist()), list(names)).nonzero()
        holding = pd.DataFrame({"cell": names[cols], "doc_id": docs["doc_id"].to_numpy()[rows]})
        members = pd.concat([members, terms.merge(holding, on="cell").assign(scope="term")[[*KEY, "doc_id"]]],
                            ignore_index=True)
    return members, corpora


def resolved_lasting(store: Store, detect_id: str, as_of: pd.Timestamp, period: str, last: pd.Timestamp,
                     growth_factor: float) -> pd.DataFrame:
    """The earlier detections' raw lasting-growth probabilities whose year-ahead period is complete by `last`,
    with their outcome (scope, p, event: the series' share of that period, in the current data and topic
    assignments, reached `growth_factor` x the share_baseline stored with the forecast). One forecast per series
    and last complete period (the newest detection's): nightly detections between two period ends forecast the same
    periods; a term is one series whichever topic it was linked to."""
    earlier = store.df(
        "SELECT f.scope, f.topic_id, f.cell, f.period, f.p_lasting_raw AS p, f.share_baseline FROM theme_forecasts f "
        "JOIN detections d USING (detect_id) WHERE f.step = 1 AND f.p_lasting_raw IS NOT NULL "
        "AND f.share_baseline > 0 AND d.period = ? AND d.as_of < ? AND d.detect_id <> ? "
        "QUALIFY row_number() OVER (PARTITION BY f.scope, f.cell, CASE WHEN f.scope = 'term' THEN -1 "
        "ELSE f.topic_id END, f.period ORDER BY d.created_at DESC) = 1",
        [period, as_of.date(), detect_id])
    none = pd.DataFrame({"scope": [], "p": [], "event": []})
    if earlier.empty:
        return none
    freq = period_freq(period)
    lasting = PERIODS_PER_YEAR[period]
    earlier["target"] = [(pd.Timestamp(p).to_period(freq) + lasting - 1).start_time for p in earlier["period"]]
    earlier = earlier[earlier["target"] <= last].reset_index(drop=True)
    if earlier.empty:
        return none
    docs = documents(store, earlier["target"].min(), (last.to_period(freq) + 1).start_time)
    series = with_corpus(earlier)
    members, corpora = memberships(store, series, docs)
    targets = sorted(earlier["target"].unique())
    counts, volumes = series_counts(series, members, corpora,
                                    pd.Series(period_start(docs["published_on"], period).to_numpy(), docs["doc_id"]),
                                    targets)
    shares = (counts / volumes.where(volumes > 0)).fillna(0.0).stack()
    share = [shares.get((s, t, c, p), 0.0) for s, t, c, p in zip(*(earlier[k] for k in [*KEY, "target"]),
                                                                  strict=True)]
    event = (pd.Series(share, index=earlier.index) >= growth_factor * earlier["share_baseline"]).astype(float)
    return pd.DataFrame({"scope": earlier["scope"], "p": earlier["p"], "event": event})


def with_corpus(rows: pd.DataFrame) -> pd.DataFrame:
    """The distinct series (scope, topic_id, cell) of `rows` with the sub-corpus their share is of (`corpus`)."""
    series = rows[KEY].drop_duplicates().reset_index(drop=True)
    sub = series["scope"].isin(list(SUB_CORPORA))
    return series.assign(corpus=np.where(sub, series["scope"] + ":" + series["cell"], ""))
