"""Backtest: replay the nightly job at past cutoffs and score its flags against a truth file.

No look-ahead: a scratch in-memory store receives, cutoff by cutoff, only the documents dated on or
before that cutoff (with their organisations and cached embeddings, which are per document). At each
cutoff the topic model is refitted on that store with the configured topic settings (or, with
`refit_every` > 1, refitted every k cutoffs and only assigned in between, as the nightly job does),
then the detector and the naive raw-growth baseline run at the cutoff on the same topics. Every flag
is recorded with its cutoff in `backtest_flags` of the real store.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from nlp.backtest import raw_growth_flags, read_truth, score_flags, theme_fractions
from nlp.forecast import ForecastBacktest, topic_series
from nlp.trends import period_start
from pipelines.errors import TrendscoutError
from pipelines.logs import Bars
from pipelines.settings import Settings
from pipelines.steps.detect import score_cells
from pipelines.steps.topics import topics_step
from pipelines.store import Store

logger = logging.getLogger(__name__)

STEPS = {"week": "W-SUN", "month": "ME", "quarter": "QE", "year": "YE"}
METHODS = ("detector", "baseline")


def cutoffs(first, last, step: str) -> list[pd.Timestamp]:
    """Period ends from the end of `first`'s period to `last`, inclusive."""
    if step not in STEPS:
        raise TrendscoutError(f"--step must be one of {', '.join(STEPS)}, not {step!r}")
    return list(pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq=STEPS[step]))


def _copy_until(scratch: Store, model: str, after, until) -> None:
    """Copy documents dated in (after, until] and everything keyed on them from the attached source store."""
    window = "d.published_on > ? AND d.published_on <= ?"
    args = [after, until]
    con = scratch.con
    with scratch.transaction():
        con.execute(f"CREATE OR REPLACE TEMP TABLE _new AS SELECT d.doc_id FROM src.documents d WHERE {window}", args)
        con.execute("INSERT INTO documents SELECT * FROM src.documents JOIN _new USING (doc_id)")
        con.execute("INSERT INTO document_organisations SELECT * FROM src.document_organisations JOIN _new "
                    "USING (doc_id)")
        con.execute("INSERT INTO doc_embeddings SELECT e.* FROM src.doc_embeddings e JOIN _new USING (doc_id) "
                    "WHERE e.model = ?", [model])
        con.execute("INSERT INTO embeddings SELECT DISTINCT v.* FROM src.embeddings v JOIN src.doc_embeddings e "
                    "ON e.model = v.model AND e.input_hash = v.input_hash JOIN _new USING (doc_id) WHERE v.model = ? "
                    "AND NOT EXISTS (SELECT 1 FROM embeddings k WHERE k.model = v.model AND k.input_hash = "
                    "v.input_hash)", [model])
        for table in ("doc_regions", "doc_sectors"):
            con.execute(f"INSERT INTO {table} SELECT * FROM src.{table} JOIN _new USING (doc_id)")


def _warm_up(first, period: str, n: int) -> pd.Timestamp:
    """The first date with `n` whole periods of history before it: the default first cutoff."""
    months = {"month": 1, "quarter": 3, "year": 12}
    offset = pd.DateOffset(weeks=n) if period == "week" else pd.DateOffset(months=n * months[period])
    return pd.Timestamp(first) + offset


def _flag_rows(scratch: Store, flags: pd.DataFrame, method: str, cutoff, detector, truth) -> list[dict]:
    """Describe each flag: its top terms (a term flag: the term) and the share of its recent documents
    matching each theme (a topic's documents; for a term, the documents containing it)."""
    if flags.empty:
        return []
    topics = scratch.df("SELECT topic_id, label, terms FROM topics").set_index("topic_id")
    docs = scratch.df("SELECT a.doc_id, a.topic_id, coalesce(d.title, '') || '. ' || coalesce(d.text, '') AS t "
                      "FROM topic_assignments a JOIN documents d USING (doc_id) WHERE d.published_on <= ?", [cutoff])
    docs = docs[docs["doc_id"].isin(detector.window_.loc[detector.window_["recent"], "doc_id"])]
    rows = []
    for row in flags.itertuples():
        scope = getattr(row, "scope", "topic")
        if scope == "term":
            texts = docs.loc[docs["t"].str.contains(term_pattern(row.cell)), "t"].tolist()
            terms, label = [row.cell], row.cell
        else:
            texts = docs.loc[docs["topic_id"] == row.topic_id, "t"].tolist()
            terms = json.loads(topics["terms"].get(row.topic_id, "[]") or "[]")
            label = topics["label"].get(row.topic_id)
        rows.append({"method": method, "cutoff": cutoff.date(), "scope": scope,
                     "cell": row.cell if scope == "term" else "", "topic_id": int(row.topic_id),
                     "rank": int(row.rank), "score": float(getattr(row, "score", row.growth)),
                     "growth": float(row.growth), "q_value": getattr(row, "q_value", None),
                     "n_recent": int(row.n_recent), "label": label, "terms": terms,
                     "theme_fractions": theme_fractions(texts, truth)})
    return rows


def term_pattern(term: str) -> re.Pattern:
    """A term cell's words on word boundaries, any non-word characters between them, case-insensitive."""
    return re.compile(r"\b" + r"\W+".join(re.escape(word) for word in term.split()) + r"\b", re.IGNORECASE)


def run_backtest(settings: Settings, truth_path: Path, *, start=None, end=None, step: str = "month",
                 refit_every: int = 1, bars: Bars | None = None) -> dict:
    """Replay detection at every cutoff, score detector and baseline, store the flags; return the metrics."""
    bars = bars or Bars(enabled=False)
    truth = read_truth(truth_path)
    trends, model = settings.trends.model_copy(update={"terms": False}), settings.nlp.embedder  # no ESc: not scored
    with Store.open(settings.store_path) as store:  # migrates the file before it is attached read-only
        first, last = store.df("SELECT min(published_on) AS a, max(published_on) AS b FROM documents").iloc[0]
    if pd.isna(first):
        raise TrendscoutError(f"no documents in {settings.store_path}; ingest a corpus first (or pass --corpus)")
    warm_up_period = "month" if trends.period == "auto" else trends.period
    points = cutoffs(start or _warm_up(first, warm_up_period, trends.baseline_periods + trends.recent_periods),
                     end or last, step)
    backtest_id = "bt-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    rows: list[dict] = []
    forecasts = ForecastBacktest(horizon=settings.forecast.horizon, growth_factor=settings.forecast.growth_factor,
                                 forecaster=settings.forecast.forecaster_options())
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="trendscout-backtest-") as tmp, Store.open(":memory:") as scratch:
        scratch.con.execute(f"ATTACH '{settings.store_path}' AS src (READ_ONLY)")
        bt_settings = settings.model_copy(update={"models_dir": Path(tmp)})
        previous = pd.Timestamp("1000-01-01")
        for i, cutoff in enumerate(bars.track(points, description="backtest")):
            _copy_until(scratch, model, previous.date(), cutoff.date())
            previous = cutoff
            topics_step(scratch, bt_settings, Bars(enabled=False), force_fit=i % refit_every == 0)
            detector, cells, docs, _ = score_cells(scratch, trends, as_of=cutoff)
            if cells.empty:
                continue
            detector_flags = cells[cells["scope"].isin(["topic", "term"]) & cells["flagged"]]
            forecasts.add_window(detector.window_, detector.period_, len(detector.baseline_periods_))
            counts = detector.window_.groupby(["topic_id", "period"]).size().rename("n_docs").reset_index()
            baseline = raw_growth_flags(counts, detector.recent_periods_, detector.baseline_periods_,
                                        trends.min_docs, trends.min_growth)
            for method, flags in (("detector", detector_flags), ("baseline", baseline[baseline["flagged"]])):
                rows += _flag_rows(scratch, flags, method, cutoff, detector, truth)
            logger.info("backtest %s: %d docs, %d detector / %d baseline flags", cutoff.date(), len(docs),
                        len(detector_flags), int(baseline["flagged"].sum()))
    flags = pd.DataFrame(rows, columns=["method", "cutoff", "scope", "cell", "topic_id", "rank", "score", "growth",
                                        "q_value", "n_recent", "label", "terms", "theme_fractions"])
    metrics = {m: score_flags(flags[flags["method"] == m], truth, points) for m in METHODS}
    if forecasts.rows:  # outcomes: the topics' shares of the complete periods up to the last cutoff, as then assigned
        outcome = docs.assign(period=period_start(docs["published_on"], detector.period_))
        counts, volumes = topic_series(outcome[outcome["period"] <= detector.recent_periods_[-1]], detector.period_)
        metrics["detector"]["forecast"] = forecasts.score(counts / volumes.clip(lower=1), detector.period_)
    params = {"from": str(points[0].date()) if points else None, "to": str(points[-1].date()) if points else None,
              "step": step, "refit_every": refit_every, "trends": trends.model_dump(),
              "topics": settings.topics.model_dump(), "embedder": model,
              "seconds": round(time.monotonic() - started, 1)}
    with Store.open(settings.store_path) as store, store.transaction():
        store.con.execute("INSERT INTO backtests VALUES (?, ?, ?, ?, ?)", [
            backtest_id, datetime.now(UTC), str(truth_path), json.dumps(params), json.dumps(metrics)])
        stored = flags.assign(backtest_id=backtest_id, terms=flags["terms"].map(json.dumps),
                              theme_fractions=flags["theme_fractions"].map(json.dumps))
        store.insert_frame("backtest_flags", stored)
    return {"backtest_id": backtest_id, **metrics["detector"], "baseline": metrics["baseline"], "params": params}
