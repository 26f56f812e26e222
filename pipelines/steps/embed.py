"""Embed step: documents without a vector for the configured model -> `embeddings`.

Vectors are keyed by (model, hash of the embedded text), so an unchanged text is never embedded
twice, also when another source carries the same text.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

from nlp.embed import Embedder, embedding_input, input_hash, load_embedder
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import NlpSettings
from pipelines.store import Store

logger = logging.getLogger(__name__)

WRITE_BATCH = 512  # documents per transaction


def build_embedder(nlp: NlpSettings) -> Embedder:
    """The configured embedder, loaded once per process (embed, enrich and tag share it)."""
    return _embedder(nlp.embedder, nlp.batch_size, nlp.max_seq_length, nlp.device, nlp.torch_threads)


@lru_cache(maxsize=2)
def _embedder(model: str, batch_size: int, max_seq_length: int, device: str, torch_threads: int) -> Embedder:
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    return load_embedder(model, batch_size=batch_size, max_seq_length=max_seq_length, device=device)


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
    embedder = embedder or build_embedder(nlp)
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
