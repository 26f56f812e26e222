"""Emerging or burst: each flag's verdict (`nlp.bursts.verdict`) from the documents of its detection's recent
window, shared by the detect step and the backtest."""

from __future__ import annotations

import pandas as pd

from nlp.backtest import term_pattern
from nlp.bursts import verdict
from pipelines.settings import TrendSettings
from pipelines.store import Store
from pipelines.views.features import ORGANISATIONS_SQL


def burst_thresholds(trends: TrendSettings) -> dict[str, float]:
    """The `[trends] burst_*` settings as the keyword arguments of `nlp.bursts.verdict`."""
    return {"max_group_share": trends.burst_max_group_share, "min_group_lift": trends.burst_min_group_lift,
            "max_period_share": trends.burst_max_period_share,
            "max_template_share": trends.burst_max_template_share}


def recent_documents(store: Store, detector) -> pd.DataFrame:
    """The documents of the detection's recent window (`detector.window_`): doc_id, topic_id, t (title and
    text), period, group (the corpus's call / topic code or venue where given, else the source) and org (one
    row per organisation)."""
    window = detector.window_.loc[detector.window_["recent"], ["doc_id", "topic_id", "period"]]
    with store.registered("_window", window):
        docs = store.df("SELECT w.doc_id, w.topic_id, w.period, coalesce(d.title, '') || '. ' || "
                        "coalesce(d.text, '') AS t, coalesce(json_extract_string(d.codes, '$.group'), d.source) "
                        "AS \"group\" FROM _window w JOIN documents d USING (doc_id)")
    orgs = store.df(f"SELECT DISTINCT doc_id, org FROM ({ORGANISATIONS_SQL})")
    return docs.merge(orgs, on="doc_id", how="left")


def flag_documents(recent: pd.DataFrame, scope: str, topic_id: int, cell: str) -> pd.Series:
    """The doc_ids of a flag among the recent documents: a topic's, or for a term flag those containing it."""
    texts = recent.drop_duplicates("doc_id")
    if scope == "term":
        return texts.loc[texts["t"].str.contains(term_pattern(cell)), "doc_id"]
    return texts.loc[texts["topic_id"] == topic_id, "doc_id"]


def flag_verdict(recent: pd.DataFrame, doc_ids: pd.Series, thresholds: dict[str, float]) -> tuple[str, str]:
    """("emerging" | "burst", reason) of the flag whose recent documents are `doc_ids`."""
    return verdict(recent[recent["doc_id"].isin(doc_ids)].rename(columns={"t": "text"}), recent, **thresholds)
