"""The current topic model as the store holds it: its registry row, its active topics, and the partition of the
documents its centroids make — the topics the detector and the forecast count documents in."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nlp.topics import OUTLIER, nearest_assignments
from pipelines.store import Store


def current_model(store: Store) -> dict | None:
    """The current base model's row of `topic_models`, or None before the first fit."""
    rows = store.df("SELECT * FROM topic_models WHERE is_current ORDER BY created_at DESC LIMIT 1")
    return None if rows.empty else rows.iloc[0].to_dict()


def active_topics(store: Store) -> pd.DataFrame:
    """The active stable topics (not the outlier topic): topic_id, centroid, terms (JSON), born_on, label."""
    return store.df("SELECT topic_id, centroid, terms, born_on, label FROM topics WHERE status = 'active' "
                    "AND topic_id <> ? ORDER BY topic_id", [OUTLIER])


def centroid_matrix(topics: pd.DataFrame) -> np.ndarray:
    """The topics' centroids as rows of a float32 matrix."""
    return np.stack(topics["centroid"].map(np.asarray)).astype(np.float32) if len(topics) else np.zeros((0, 0))


def thresholds(metrics: dict) -> tuple[float, float]:
    """A model's (assign, reduce) similarities: below the first a document is an outlier, below the second it is
    not reduced to its nearest topic either."""
    return metrics["assign_similarity"], metrics["reduce_similarity"]


def one_partition(store: Store, docs: pd.DataFrame) -> pd.DataFrame:
    """`docs` (doc_id, topic_id, ...) with each document's topic in one partition of them all: its nearest active
    topic of the current model, an outlier below the model's assign similarity (as nightly assignment places new
    documents).

    The stored assignments keep a document in its topic across refits (`nlp.identity.sticky_topics`) and a fit's
    own documents in its clusters, so a topic's older documents can sit elsewhere; counted, that made topics grow
    under shuffled dates (benchmarks/RESULTS.md). Documents without a vector of the model's embedder keep their
    stored topic."""
    model, topics = current_model(store), active_topics(store)
    if model is None or topics.empty or docs.empty:
        return docs
    ids, vectors = store.vectors(model["embedder"], doc_ids=docs["doc_id"].tolist())
    if not ids:
        return docs
    assigned = nearest_assignments(vectors, topics["topic_id"].to_numpy(), centroid_matrix(topics),
                                   *thresholds(json.loads(model["metrics"])))[0]
    topic = pd.Series(assigned, index=ids).reindex(docs["doc_id"].to_numpy())
    return docs.assign(topic_id=topic.fillna(docs.set_index("doc_id")["topic_id"]).astype(int).to_numpy())
