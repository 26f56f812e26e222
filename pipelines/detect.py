"""Detect step: topic x period counts from the store -> RisingThemeDetector -> `trend_scores`.

The as-of date is the newest document date; the period that contains it is partial (unless it ends
that day) and is never compared as if complete.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pandas as pd

from nlp.trends import RisingThemeDetector, period_start
from pipelines.runs import StepResult
from pipelines.settings import TrendSettings
from pipelines.store import Store

logger = logging.getLogger(__name__)


def topic_counts(store: Store, period: str = "month") -> pd.DataFrame:
    """Documents per stable topic and period: columns topic_id, period, n_docs."""
    unit = "month" if period == "month" else "week"
    return store.df(f"SELECT a.topic_id, date_trunc('{unit}', d.published_on) AS period, count(*) AS n_docs "
                    "FROM topic_assignments a JOIN documents d USING (doc_id) "
                    "WHERE d.published_on IS NOT NULL GROUP BY ALL ORDER BY period, topic_id")


def share_series(counts: pd.DataFrame) -> dict[int, list[tuple[str, float, int]]]:
    """Per topic: (period, share of all documents, count) for every period, oldest first."""
    totals = counts.groupby("period")["n_docs"].sum()
    wide = counts.pivot_table(index="period", columns="topic_id", values="n_docs", fill_value=0)
    wide = wide.reindex(totals.index, fill_value=0)
    return {int(t): [(p.strftime("%Y-%m-%d"), float(n / totals[p]), int(n)) for p, n in wide[t].items()]
            for t in wide.columns}


def detect(store: Store, trends: TrendSettings, run_id: str) -> StepResult:
    """Score every topic and write the ranked scores with their evidence under `run_id`."""
    result = StepResult("detect")
    counts = topic_counts(store, trends.period)
    if counts.empty:
        result.skip("no_topic_counts")
        return result
    as_of = pd.Timestamp(store.scalar("SELECT max(d.published_on) FROM documents d JOIN topic_assignments "
                                      "USING (doc_id)"))
    detector = RisingThemeDetector(recent_periods=trends.recent_periods,
                                   baseline_periods=trends.baseline_periods, min_docs=trends.min_docs,
                                   min_growth=trends.min_growth, fdr=trends.fdr)
    counts["period"] = period_start(counts["period"], trends.period)
    scores = detector.fit(counts, as_of=as_of, period=trends.period).transform(counts)
    topics = store.df("SELECT topic_id, label, terms FROM topics").set_index("topic_id")
    series = share_series(counts)
    recent = [p.strftime("%Y-%m-%d") for p in detector.recent_periods_]
    scores["evidence"] = [json.dumps({
        "label": topics["label"].get(t, f"topic {t}"),
        "terms": json.loads(topics["terms"].get(t, "[]") or "[]"),
        "series": series.get(int(t), []),
        "recent_periods": recent,
    }) for t in scores["topic_id"]]
    scores.insert(0, "detect_id", run_id)
    with store.transaction() as con:
        con.execute("DELETE FROM trend_scores WHERE detect_id = ?", [run_id])
        con.execute("DELETE FROM detections WHERE detect_id = ?", [run_id])
        con.execute("INSERT INTO detections VALUES (?, ?, ?, ?, ?, ?)", [
            run_id, run_id, as_of.date(), trends.period, datetime.now(UTC), json.dumps(trends.model_dump())])
        store.insert_frame("trend_scores", scores)
    result.count(topics=len(scores), flagged=int(scores["flagged"].sum()))
    return result


def latest_detection(store: Store) -> str | None:
    return store.scalar("SELECT detect_id FROM detections ORDER BY created_at DESC LIMIT 1")
