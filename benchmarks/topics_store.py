"""A DuckDB store for the topic benchmarks, filled with CORDIS documents and their cached embeddings.

The pipeline's embedder factory is replaced by the model the stored vectors come from (for candidate
words): the distilled model2vec model by default; nothing else in the pipeline changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from topics_data import OUT, static_embedder

import nlp.embed
from pipelines.settings import NlpSettings, Settings, TopicSettings
from pipelines.store import Store

EMBEDDER = "m2v-minilm"


def bench_settings(name: str, words=None, embedder: str = EMBEDDER, **topics) -> Settings:
    """Settings for a benchmark store under OUT/name; `words` embeds candidate words (default model2vec)."""
    nlp.embed.build_embedder = lambda **_: words or static_embedder()
    return Settings(data_dir=OUT / name, models_dir=OUT / name / "models", nlp=NlpSettings(embedder=embedder),
                    topics=TopicSettings(**topics))


def open_fresh(path: Path) -> Store:
    for stale in (path, path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    return Store.open(path)


def add_documents(store: Store, frame: pd.DataFrame, vectors: np.ndarray, embedder: str = EMBEDDER) -> None:
    """Insert documents (doc_id, date, title, text) with their vectors, as ingest and embed would."""
    now = datetime.now(UTC)
    docs = pd.DataFrame({"doc_id": frame["doc_id"], "source": "cordis", "kind": "project",
                         "external_id": frame["doc_id"], "title": frame["title"], "text": frame["text"],
                         "published_on": frame["date"].dt.date, "content_hash": frame["doc_id"], "codes": "{}",
                         "first_seen_at": now, "ingested_at": now})
    with store.transaction():
        store.insert_frame("documents", docs)
        store.insert_frame("embeddings", pa.table({
            "model": [embedder] * len(frame), "input_hash": frame["doc_id"].tolist(),
            "vector": pa.array(list(vectors), type=pa.list_(pa.float32())),
            "created_at": pa.array([now] * len(frame), type=pa.timestamp("us", tz="UTC"))}))
        store.insert_frame("doc_embeddings", pd.DataFrame({"doc_id": frame["doc_id"], "model": embedder,
                                                           "input_hash": frame["doc_id"]}))
