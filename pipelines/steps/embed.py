"""Embed step: documents without a vector for the configured model -> `embeddings`.

Vectors are keyed by (model, hash of the embedded text), so an unchanged text is never embedded
twice, also when another source carries the same text.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from nlp.embed import Embedder, build_embedder, embedding_input, input_hash
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import NlpSettings
from pipelines.store import Store

logger = logging.getLogger(__name__)

WRITE_BATCH = 512  # documents per transaction


def pending_embeddings(store: Store, model: str) -> pd.DataFrame:
    return store.df("SELECT doc_id, title, text FROM documents d WHERE NOT EXISTS (SELECT 1 FROM "
                    "doc_embeddings e WHERE e.doc_id = d.doc_id AND e.model = ?) ORDER BY doc_id", [model])


def embed(store: Store, nlp: NlpSettings, bars: Bars, embedder: Embedder | None = None) -> StepResult:
    """Embed what lacks a vector for `nlp.embedder`, longest texts together, in batched transactions."""
    result = StepResult("embed")
    model = nlp.embedder
    todo = pending_embeddings(store, model)
    if todo.empty:
        return result
    todo["input"] = [embedding_input(t, x, nlp.embed_chars) for t, x in zip(todo["title"], todo["text"],
                                                                             strict=True)]
    todo["input_hash"] = todo["input"].map(input_hash)
    known = set(store.df("SELECT input_hash FROM embeddings WHERE model = ?", [model])["input_hash"])
    fresh = todo[~todo["input_hash"].isin(known)].drop_duplicates("input_hash")
    # Sorting by length puts similar lengths in one batch: less padding, the model's full speed.
    fresh = fresh.iloc[np.argsort(fresh["input"].str.len().to_numpy(), kind="stable")]
    result.count(reused=len(todo) - len(fresh))
    embedder = embedder or build_embedder(**nlp.embedder_options())
    chunks = [fresh.iloc[i:i + WRITE_BATCH] for i in range(0, len(fresh), WRITE_BATCH)]
    for chunk in bars.track(chunks, total=len(fresh), description=f"embed ({model})", weight=len):
        vectors = embedder.encode(chunk["input"].tolist())
        table = pa.table({
            "model": pa.array([model] * len(chunk)),
            "input_hash": pa.array(chunk["input_hash"].tolist()),
            "vector": pa.array(list(vectors), type=pa.list_(pa.float32())),
            "created_at": pa.array([datetime.now(UTC)] * len(chunk), type=pa.timestamp("us", tz="UTC")),
        })
        links = todo[todo["input_hash"].isin(chunk["input_hash"])][["doc_id", "input_hash"]].assign(model=model)
        with store.transaction():
            store.insert_frame("embeddings", table)
            store.insert_frame("doc_embeddings", links)
        result.count(embedded=len(chunk))
    # documents whose text was embedded before (another doc, an earlier run) only need the link
    reused = todo[todo["input_hash"].isin(known)][["doc_id", "input_hash"]].assign(model=model)
    with store.transaction():
        store.insert_frame("doc_embeddings", reused)
    return result
