"""Backtest: replay the nightly job at past cutoffs and score its flags, and the baselines', against a truth file.

No look-ahead: a scratch in-memory store receives, cutoff by cutoff, only the documents dated on or
before that cutoff (with their organisations and cached embeddings, which are per document). At each
cutoff the topic model is refitted on that store with the configured topic settings (or, with
`refit_every` > 1, refitted every k cutoffs and only assigned in between, as the nightly job does),
then the detector runs at the cutoff, and each baseline (`nlp.baselines`) flags as many items as the
detector did on the same topics and terms. A cutoff with too little data for a topic model or a
detection is reported and skipped. Every flag is recorded with its cutoff in `backtest_flags` of the
real store; the scorer (`nlp.backtest`) judges each against the truth file and against the year after.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from nlp.backtest import (
    Confirmer,
    Evidence,
    closest_cells,
    explain_misses,
    read_truth,
    repeated,
    score_flags,
    theme_fractions,
)
from nlp.baselines import top_k, topic_share_growth, topics_over_time_growth
from nlp.forecast import ForecastBacktest, topic_series
from nlp.term_trends import TermIndex
from nlp.trends import TooLittleHistory, data_start, period_start
from pipelines.errors import TrendscoutError
from pipelines.logs import Bars
from pipelines.settings import Settings
from pipelines.steps.detect import emergent_terms, score_cells, term_min_docs
from pipelines.steps.topics import topics_step
from pipelines.store import Store
from pipelines.views.bursts import FlagDocuments, FlagJudge, baseline_documents, recent_documents

logger = logging.getLogger(__name__)

STEPS = {"week": "W-SUN", "month": "ME", "quarter": "QE", "year": "YE"}
METHODS = ("detector", "topic_share", "topics_over_time", "term_share", "esc")


def cutoffs(first, last, step: str) -> list[pd.Timestamp]:
    """Period ends from the end of `first`'s period to `last`, inclusive."""
    if step not in STEPS:
        raise TrendscoutError(f"--step must be one of {', '.join(STEPS)}, not {step!r}")
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq=STEPS[step]))


def _copy_until(scratch: Store, model: str, after, until) -> None:
    """Copy documents dated in (after, until] and everything keyed on them from the attached source store.

    Dates come from the temp table `_dates` (the source's, or a permutation of them for the control).
    """
    con = scratch.con
    with scratch.transaction():
        con.execute("CREATE OR REPLACE TEMP TABLE _new AS SELECT doc_id, published_on FROM _dates "
                    "WHERE published_on > ? AND published_on <= ?", [after, until])
        con.execute("INSERT INTO documents SELECT d.* REPLACE (n.published_on AS published_on) "
                    "FROM src.documents d JOIN _new n USING (doc_id)")
        con.execute("INSERT INTO document_organisations SELECT o.* FROM src.document_organisations o JOIN _new "
                    "USING (doc_id)")
        con.execute("INSERT INTO doc_embeddings SELECT e.* FROM src.doc_embeddings e JOIN _new USING (doc_id) "
                    "WHERE e.model = ?", [model])
        con.execute("INSERT INTO embeddings SELECT DISTINCT v.* FROM src.embeddings v JOIN src.doc_embeddings e "
                    "ON e.model = v.model AND e.input_hash = v.input_hash JOIN _new USING (doc_id) WHERE v.model = ? "
                    "AND NOT EXISTS (SELECT 1 FROM embeddings k WHERE k.model = v.model AND k.input_hash = "
                    "v.input_hash)", [model])
        for table in ("doc_regions", "doc_sectors"):
            con.execute(f"INSERT INTO {table} SELECT t.* FROM src.{table} t JOIN _new USING (doc_id)")


def _replay_dates(scratch: Store, shuffle_seed: int | None) -> pd.DataFrame:
    """doc_id, published_on, t (title and text) of the source; with a seed, the dates permuted over documents."""
    frame = scratch.df("SELECT doc_id, published_on, coalesce(title, '') || '. ' || coalesce(text, '') AS t "
                       "FROM src.documents WHERE published_on IS NOT NULL ORDER BY doc_id")
    if shuffle_seed is not None:
        frame["published_on"] = np.random.default_rng(shuffle_seed).permutation(frame["published_on"].to_numpy())
    with scratch.registered("_frame", frame[["doc_id", "published_on"]]):
        scratch.con.execute("CREATE OR REPLACE TEMP TABLE _dates AS SELECT * FROM _frame")
    return frame


def shown_terms(cells: pd.DataFrame, top: int) -> list[str]:
    """The term cells the forecast step forecasts: flagged or within the `top` best-ranked terms."""
    terms = cells[cells["scope"] == "term"]
    return terms.loc[terms["flagged"].astype(bool) | (terms["rank"] <= top), "cell"].tolist()


def _term_index(corpus: pd.DataFrame, trends) -> TermIndex | None:
    """Every document's terms, vectorized once for all cutoffs (each cutoff keeps terms by its own documents)."""
    if not (trends.term_cells or trends.terms):
        return None
    return TermIndex(corpus.set_index("doc_id")["t"], term_min_docs(trends))


def _flag_rows(topics: pd.DataFrame, flags: pd.DataFrame, method: str, cutoff, documents: FlagDocuments, truth,
               judge: FlagJudge | None = None) -> list[dict]:
    """Describe each flag: its label and top terms from `topics` (a term flag: the term), the share of its recent
    `documents` matching each theme (a topic's documents; for a term, the documents containing it) and, with
    `judge`, whether it is emerging, a burst or writing style."""
    if flags.empty:
        return []
    rows = []
    for row in flags.itertuples():
        scope = getattr(row, "scope", "topic")
        key = (scope, row.topic_id, row.cell)
        if scope == "term":
            terms, label = [row.cell], row.cell
        else:
            terms = json.loads(topics["terms"].get(row.topic_id, "[]") or "[]")
            label = topics["label"].get(row.topic_id)
        verdict, reason = judge(*key, terms) if judge else (None, None)
        q_value = getattr(row, "q_value", None)
        rows.append({"method": method, "cutoff": cutoff.date(), "scope": scope,
                     "cell": row.cell if scope == "term" else "", "topic_id": int(row.topic_id),
                     "rank": int(row.rank), "score": float(row.score), "growth": float(getattr(row, "growth", np.nan)),
                     "q_value": None if q_value is None or pd.isna(q_value) else float(q_value),
                     "n_recent": int(row.n_recent), "label": label, "terms": terms,
                     "theme_fractions": theme_fractions(documents.docs.loc[documents.mask(*key), "t"].tolist(), truth),
                     "verdict": verdict, "verdict_reason": reason})
    return rows


def baseline_flags(cells: pd.DataFrame, detector, esc: pd.DataFrame | None, k: int,
                   min_docs: int) -> dict[str, pd.DataFrame]:
    """Each baseline's top `k` (the detector's budget) on the same topics and terms, in the detector's window."""
    counts = detector.window_.groupby(["topic_id", "period"]).size().rename("n_docs").reset_index()
    recent, baseline = detector.recent_periods_, detector.baseline_periods_
    out = {}
    for name, ranking in (("topic_share", topic_share_growth), ("topics_over_time", topics_over_time_growth)):
        frame = ranking(counts, recent, baseline).assign(scope="topic", cell="")
        out[name] = top_k(frame.assign(score=frame["growth"]), "score", k, min_docs)
    terms = cells[cells["scope"] == "term"].drop(columns=["score", "q_value", "rank"])
    out["term_share"] = top_k(terms.assign(score=terms["growth"]), "score", k, min_docs)
    if esc is not None:
        esc = esc.rename(columns={"term": "cell", "n_active": "n_recent"}).assign(scope="term", score=esc["esc"])
        out["esc"] = top_k(esc, "score", k, 0)
    return out


class StageClock:
    """CPU seconds of this process spent in each stage of a replay, summed over its cutoffs."""

    def __init__(self):
        self.seconds: Counter = Counter()

    @contextmanager
    def __call__(self, stage: str):
        started = time.process_time()
        try:
            yield
        finally:
            self.seconds[stage] += time.process_time() - started

    def rounded(self) -> dict[str, float]:
        return {stage: round(s, 1) for stage, s in self.seconds.items()}


def run_backtest(settings: Settings, truth_path: Path, *, start=None, end=None, step: str = "month",
                 refit_every: int = 1, tolerance_days: int | None = None, shuffle_seed: int | None = None,
                 bars: Bars | None = None) -> dict:
    """Replay detection at every cutoff, score the detector and the baselines, store the flags; return the metrics.

    Args:
        tolerance_days: how early before a theme's expected_from a flag still counts as a hit
            (default: `[backtest] early_tolerance_days`).
        shuffle_seed: permute the documents' dates with this seed first (the shuffled-dates control).
    """
    bars = bars or Bars(enabled=False)
    tolerance_days = settings.backtest.early_tolerance_days if tolerance_days is None else tolerance_days
    truth = read_truth(truth_path)
    trends, model = settings.trends, settings.nlp.embedder
    with Store.open(settings.store_path) as store:  # migrates the file before it is attached read-only
        dates = store.df("SELECT published_on FROM documents WHERE published_on IS NOT NULL")["published_on"]
    if dates.empty:
        raise TrendscoutError(f"no documents in {settings.store_path}; ingest a corpus first (or pass --corpus)")
    last = dates.max()
    # the default first cutoff has whole windows: the start of the documents up to any cutoff is no later
    warm_up = data_start(dates) + pd.Timedelta(days=trends.baseline_days + trends.recent_days)
    points = cutoffs(start or warm_up, end or last, step)
    backtest_id = "bt-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    rows: list[dict] = []
    skipped: list[dict] = []
    closest: list[dict] = []  # per cutoff and theme, the cell naming it that came closest to a flag
    shortened: list[dict] = []  # cutoffs whose baseline the corpus start shortened (only with an early --from)
    carried = 0  # flagged terms another flag's rise explains (`nlp.term_trends.carried`), over all cutoffs
    forecasts, term_forecasts = (ForecastBacktest(
        horizon=settings.forecast.horizon, growth_factor=settings.forecast.growth_factor,
        forecaster=settings.forecast.forecaster_options(), calibrator=settings.forecast.calibrator_options())
        for _ in range(2))
    started, clock = time.monotonic(), StageClock()
    with tempfile.TemporaryDirectory(prefix="trendscout-backtest-") as tmp, Store.open(":memory:") as scratch:
        scratch.con.execute(f"ATTACH '{settings.store_path}' AS src (READ_ONLY)")
        corpus = _replay_dates(scratch, shuffle_seed)
        with clock("term index"):
            index = _term_index(corpus, trends)
        bt_settings = settings.model_copy(update={"models_dir": Path(tmp)})
        previous, refit_due = pd.Timestamp("1000-01-01"), True
        for i, cutoff in enumerate(bars.track(points, description="backtest")):
            with clock("copy"):
                _copy_until(scratch, model, previous.date(), cutoff.date())
            previous = cutoff
            try:
                with clock("topics"):
                    topics_step(scratch, bt_settings, Bars(enabled=False),
                                force_fit=refit_due or i % refit_every == 0, coherence=False)
                with clock("detect"):
                    detector, cells, docs, counts = score_cells(scratch, trends, as_of=cutoff, index=index)
                    esc = emergent_terms(trends, detector, counts) if trends.terms and not cells.empty else None
            except TooLittleHistory as error:  # a cutoff before the corpus covers recent + min_baseline_days
                skipped.append({"cutoff": str(cutoff.date()), "reason": str(error)})
                continue
            except ValueError as error:  # a topic model or vectorizer on a handful of documents
                skipped.append({"cutoff": str(cutoff.date()), "reason": f"too little data: {error}"})
                logger.warning("backtest %s: too little data (%s); next cutoff", cutoff.date(), error)
                refit_due = True
                continue
            refit_due = False
            if cells.empty:
                skipped.append({"cutoff": str(cutoff.date()), "reason": "too little data: no topic counts"})
                continue
            logger.info("backtest %s: %d docs, %d detector flags", cutoff.date(), len(docs),
                        int((cells["flagged"] & cells["scope"].isin(["topic", "term"])).sum()))
            carried += int((cells["failed"] == "carried").sum())
            if detector.history_.shortened:  # as the product does: flagged, and reported apart
                shortened.append({"cutoff": str(cutoff.date()), "baseline_days": detector.history_.baseline_days})
            with clock("forecasts"):  # calendar periods: each bin anchored at the cutoff falls in its own
                calendar = detector.window_.assign(period=period_start(detector.window_["period"], detector.period_))
                forecasts.add_window(calendar, detector.period_, len(detector.baseline_periods_))
                shown = shown_terms(cells, settings.forecast.top_cells)
                if index is not None and shown:  # the term rows the forecast step would forecast
                    counts, volumes = topic_series(calendar, detector.period_)
                    term_forecasts.add_series(index.per_period(calendar["doc_id"], calendar["period"], shown,
                                                               counts.columns), volumes, detector.period_,
                                              len(detector.baseline_periods_))
            with clock("verdicts"):
                recent = recent_documents(scratch, detector)
                flagged = cells[cells["scope"].isin(["topic", "term"]) & cells["flagged"]]
                topics = scratch.df("SELECT topic_id, label, terms FROM topics").set_index("topic_id")
                closest += closest_cells(cells, topics, truth, cutoff, tolerance_days=tolerance_days)
                if flagged.empty:  # nothing to judge, and the baselines' budget is 0
                    continue
                judge = FlagJudge(recent, trends, baseline_documents(scratch, detector))
                detected = _flag_rows(topics, flagged, "detector", cutoff, judge.documents, truth, judge)
            k = sum(r["verdict"] == "emerging" for r in detected)  # the flags the digest presents as emerging
            rows += detected
            with clock("baselines"):
                for method, flags in baseline_flags(cells, detector, esc, k, trends.min_docs).items():
                    rows += _flag_rows(topics, flags, method, cutoff, judge.documents, truth)
    flags = pd.DataFrame(rows, columns=["method", "cutoff", "scope", "cell", "topic_id", "rank", "score", "growth",
                                        "q_value", "n_recent", "label", "terms", "theme_fractions", "verdict",
                                        "verdict_reason"])
    with clock("confirm"):
        confirmer = Confirmer(corpus["t"], corpus["published_on"])
        flags["confirmed"] = pd.Series([confirmer.confirmed(f.cutoff, f.scope, f.cell, f.terms)
                                        for f in flags.itertuples()], index=flags.index, dtype=object)
    scored = {m: flags[flags["method"] == m] for m in METHODS if m != "esc" or trends.terms}
    all_flags = scored["detector"]
    scored["detector"] = all_flags[all_flags["verdict"] == "emerging"]
    looks = settings.backtest.consecutive_looks
    scored |= {"detector_repeated": repeated(scored["detector"], points, looks), "detector_all": all_flags,
               "detector_bursts": all_flags[all_flags["verdict"] == "burst"],
               "detector_style": all_flags[all_flags["verdict"] == "style"]}
    metrics = {m: score_flags(f, truth, points, tolerance_days=tolerance_days) for m, f in scored.items()}
    metrics["detector"]["missed"] = explain_misses(metrics["detector"]["themes"], all_flags, closest, truth,
                                                   tolerance_days=tolerance_days)
    with clock("evidence"):  # how early the data let the theme's own words show it, in the detector's windows
        evidence = Evidence(corpus["t"], corpus["published_on"], recent_days=trends.recent_days,
                            baseline_days=trends.baseline_days, min_docs=trends.min_docs,
                            min_growth=trends.min_growth, alpha=trends.fdr).per_theme(truth, points, tolerance_days)
    for theme in metrics["detector"]["themes"]:
        theme.update(evidence.get(theme["theme"], {}))
    delays = [e["evidence_delay_days"] for e in evidence.values() if e["evidence_delay_days"] is not None]
    metrics["detector"]["median_evidence_delay_days"] = float(np.median(delays)) if delays else None
    detector_cutoffs = scored["detector"]["cutoff"].nunique()
    if forecasts.rows:  # outcomes: the topics' shares of the complete periods up to the last cutoff, as then assigned
        outcome = docs.assign(period=period_start(docs["published_on"], detector.period_))
        last = period_start(pd.Series(detector.recent_periods_[-1:]), detector.period_).iloc[0]
        counts, volumes = topic_series(outcome[outcome["period"] <= last], detector.period_)
        metrics["detector"]["forecast"] = forecasts.score(counts / volumes.clip(lower=1), detector.period_)
        if term_forecasts.rows:  # the terms' shares of the same periods (documents holding them / all)
            terms = index.per_period(outcome["doc_id"], outcome["period"],
                                     [r["series"] for r in term_forecasts.rows], counts.columns)
            metrics["detector"]["forecast_terms"] = term_forecasts.score(terms / volumes.clip(lower=1),
                                                                         detector.period_)
    params = {"from": str(points[0].date()) if points else None, "to": str(points[-1].date()) if points else None,
              "step": step, "refit_every": refit_every, "early_tolerance_days": tolerance_days,
              "shuffle_seed": shuffle_seed, "consecutive_looks": looks, "trends": trends.model_dump(),
              "topics": settings.topics.model_dump(), "embedder": model,
              "seconds": round(time.monotonic() - started, 1), "stage_cpu_seconds": clock.rounded()}
    with Store.open(settings.store_path) as store, store.transaction():
        store.con.execute("INSERT INTO backtests VALUES (?, ?, ?, ?, ?)", [
            backtest_id, datetime.now(UTC), str(truth_path), json.dumps(params), json.dumps(metrics)])
        stored = flags.assign(backtest_id=backtest_id, terms=flags["terms"].map(json.dumps),
                              theme_fractions=flags["theme_fractions"].map(json.dumps))
        store.insert_frame("backtest_flags", stored)
    detector = metrics.pop("detector")
    return {"backtest_id": backtest_id, **detector, "cutoffs_with_flags": detector_cutoffs,
            "share_of_cutoffs_flagged": detector_cutoffs / max(len(points) - len(skipped), 1),
            "skipped_cutoffs": skipped, "shortened_baseline_cutoffs": shortened, "carried_terms": carried,
            "baselines": metrics,
            "params": params}
