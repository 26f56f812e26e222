"""Emerging, burst or style: each flag's verdict (`nlp.bursts`) from its marker and the documents of its
detection's recent window, shared by the detect step and the backtest."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from nlp.bursts import (
    MODIFIED,
    BurstRules,
    abbreviated,
    one_per_document,
    style_reason,
    tagged_words,
    topic_concentration,
)
from nlp.labels import generic_words
from nlp.phrases import PhraseExtractor
from nlp.term_trends import ChanceLine
from nlp.textsearch import TextSearch
from nlp.topics import TOKEN_PATTERN
from pipelines.settings import TrendSettings
from pipelines.store import Store
from pipelines.views.features import ORGANISATIONS_SQL


def burst_thresholds(trends: TrendSettings) -> dict[str, float]:
    """The `[trends] burst_*` settings (and the detector's support and growth) as the keyword arguments of
    `nlp.bursts.BurstRules`."""
    return {"max_group_share": trends.burst_max_group_share, "min_group_lift": trends.burst_min_group_lift,
            "max_period_share": trends.burst_max_period_share,
            "max_template_share": trends.burst_max_template_share, "max_mix_share": trends.burst_max_mix_share,
            "batch_days": trends.burst_batch_days, "max_batch_share": trends.burst_max_batch_share,
            "batch_p": trends.burst_batch_p, "min_docs": trends.min_docs, "min_growth": trends.min_growth}


def _window_documents(store: Store, window: pd.DataFrame) -> pd.DataFrame:
    """doc_id, topic_id, period, day (the date), t (title and text) and group (the corpus's call / topic code or
    venue where given, else the source) of the window's documents."""
    with store.registered("_window", window[["doc_id", "topic_id", "period"]]):
        return store.df("SELECT w.doc_id, w.topic_id, w.period, d.published_on AS day, "
                        "coalesce(d.title, '') || '. ' || coalesce(d.text, '') AS t, "
                        "coalesce(json_extract_string(d.codes, '$.group'), d.source) AS \"group\" "
                        "FROM _window w JOIN documents d USING (doc_id)")


def recent_documents(store: Store, detector) -> pd.DataFrame:
    """The documents of the detection's recent window (`detector.window_`): doc_id, topic_id, t, period, day,
    group (`_window_documents`) and org (one row per organisation)."""
    docs = _window_documents(store, detector.window_.loc[detector.window_["recent"]])
    orgs = store.df(f"SELECT DISTINCT doc_id, org FROM ({ORGANISATIONS_SQL})")
    return docs.merge(orgs, on="doc_id", how="left")


def baseline_documents(store: Store, detector) -> pd.DataFrame:
    """The documents of the detection's baseline window: doc_id, topic_id, t, period, day, group."""
    return _window_documents(store, detector.window_.loc[~detector.window_["recent"]])


class FlagDocuments:
    """The documents of a window (the recent or the baseline one), one row each (`docs`); called with a flag's
    (scope, topic_id, cell), the doc_ids of its documents among them: a topic's or, for a term flag, those
    containing the term (`nlp.textsearch`)."""

    def __init__(self, window: pd.DataFrame):
        self.docs = one_per_document(window).reset_index(drop=True)
        self.search = TextSearch(self.docs["t"])

    def mask(self, scope: str, topic_id: int, cell: str) -> np.ndarray:
        """Which of `docs` are the flag's."""
        return self.search.holding(cell) if scope == "term" else (self.docs["topic_id"] == topic_id).to_numpy()

    def __call__(self, scope: str, topic_id: int, cell: str) -> pd.Series:
        return self.docs.loc[self.mask(scope, topic_id, cell), "doc_id"]


class StyleJudge:
    """Tells a flag whose marker names no thing (`nlp.bursts.style_reason`) from a theme, with the words' parts
    of speech in the flag's recent documents, the words generic to all topics of the recent documents and how
    the recent documents holding each marker term spread over the topics."""

    def __init__(self, recent: FlagDocuments, trends: TrendSettings):
        texts = recent.docs
        self.generic = set(generic_words(texts["t"].tolist(), texts["topic_id"].to_numpy(), min_df=trends.style_min_df,
                                         max_lift=trends.style_max_lift, token_pattern=TOKEN_PATTERN))
        self.extractor = PhraseExtractor(model=trends.style_model, batch_size=64, max_words=3)
        self.n_terms = trends.style_terms
        self.texts = texts["t"].tolist()
        self.search, self.topics = recent.search, texts["topic_id"].to_numpy()
        self.min_docs, self.min_specificity = trends.min_docs, trends.min_term_specificity
        self.concentration_p = trends.style_concentration_p

    @cached_property
    def chance(self) -> ChanceLine:
        """The chance line of the recent documents' topics, drawn when a marker first needs it."""
        return ChanceLine(self.topics, len(self.topics), self.concentration_p)

    def concentrated(self, term: str) -> bool:
        """Whether the recent documents holding `term` gather in a few topics: at least `min_docs` of them,
        specificity (`nlp.bursts.topic_concentration`) >= `min_term_specificity` (the detector's own line between
        scattered and topic-specific) and above what random sets of as many documents exceed with probability
        `style_concentration_p` (`nlp.term_trends.ChanceLine`)."""
        has = self.search.holding(term)
        if has.sum() < self.min_docs:
            return False
        specificity, n = topic_concentration(self.topics[has], self.topics)
        return specificity >= self.min_specificity and specificity > self.chance([n])[0]

    def reason(self, marker: list[str], own: np.ndarray) -> str | None:
        """Why the marker (a term, or a topic's terms: the first `style_terms`) is style; None: a theme. Its
        words are tagged where they occur in the flag's documents (`own`, a mask over the recent documents), else
        in the other recent documents: a term's words need not be adjacent in the text ("aligns eu" is counted
        from "aligns with EU"); each document is tagged once. A term that `min_docs` of the flag's documents
        abbreviate names a thing (`nlp.bursts.abbreviated`)."""
        marker = [t for t in marker if t][: self.n_terms]
        texts = [t for t, mine in zip(self.texts, own, strict=True) if mine]
        tags = self.extractor.word_tags(tagged_words(marker),
                                        [*texts, *(t for t, mine in zip(self.texts, own, strict=True) if not mine)])
        concentrated = {t for t in marker if any(tags.get(w) in MODIFIED for w in t.split()) and self.concentrated(t)}
        return style_reason(marker, tags, self.generic, concentrated, abbreviated(marker, texts, self.min_docs))


class FlagJudge:
    """Each flag of a detection judged emerging, burst or style (`nlp.bursts`) from its marker and its documents in
    the detection's recent window and, for the group mix, its baseline window (None: not checked)."""

    def __init__(self, recent: pd.DataFrame, trends: TrendSettings, baseline: pd.DataFrame | None = None):
        self.recent, self.baseline = recent, baseline
        self.documents = FlagDocuments(recent)  # a flag's doc_ids among the recent documents
        self._base_documents = None if baseline is None else FlagDocuments(baseline)
        self.bursts = BurstRules(recent, **burst_thresholds(trends), base_docs=baseline)
        self.style = StyleJudge(self.documents, trends) if trends.style else None

    def __call__(self, scope: str, topic_id: int, cell: str, marker: list[str]) -> tuple[str, str]:
        """("emerging" | "burst" | "style", reason) of the flag (`scope` topic or term, its topic, a term flag's
        term as `cell`) whose marker is `marker` (a term flag's term, a topic flag's terms)."""
        own = self.documents.mask(scope, topic_id, cell)
        flag_docs = self.recent[self.recent["doc_id"].isin(self.documents.docs.loc[own, "doc_id"])]\
            .rename(columns={"t": "text"})
        if self.style is not None:
            reason = self.style.reason(list(marker), own)
            if reason:
                return "style", reason
        flag_base = None if self.baseline is None else self.baseline[self.baseline["doc_id"].isin(
            self._base_documents(scope, topic_id, cell))]
        return self.bursts(flag_docs, list(marker), flag_base)
