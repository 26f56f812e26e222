"""Shared inputs of the topic benchmarks: the CORDIS Horizon Europe corpus and cached embeddings.

Embeddings are computed once per embedder for the whole corpus and cached under benchmarks/out/
(git-ignored) as `cordis-<embedder>-<projects>.npy`, rows in `load_corpus()` order; any subset (a size
prefix, a date range) is read from that cache by doc_id. `m2v` is a model2vec static model distilled
offline from the packaged all-MiniLM-L6-v2 (fast), `minilm` is the packaged all-MiniLM-L6-v2 itself
(max_seq_length 128, about 40 minutes for the corpus on 2 cores).
Run `python benchmarks/topics_data.py m2v|minilm` to build a cache ahead of the benchmarks.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nlp.embed import embedding_input, resolve_model_path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cordis-horizon-europe" / "projects.parquet"
OUT = Path(__file__).resolve().parent / "out"


def load_corpus() -> pd.DataFrame:
    """CORDIS projects ordered by signature date: doc_id, date, title, text, input (what is embedded)."""
    frame = pd.read_parquet(CORPUS, columns=["id", "title", "text", "ec_signature_date"])
    frame = frame.rename(columns={"id": "doc_id", "ec_signature_date": "date"})
    frame["date"] = pd.to_datetime(frame["date"])
    frame = frame.dropna(subset=["date"]).sort_values(["date", "doc_id"]).reset_index(drop=True)
    frame["input"] = [embedding_input(t, x, 2000) for t, x in zip(frame["title"], frame["text"], strict=True)]
    return frame


def distilled_model_path() -> Path:
    path = OUT / "m2v-minilm"
    if not path.exists():
        from model2vec.distill import distill

        distill(model_name=str(resolve_model_path("all-MiniLM-L6-v2")), pca_dims=256).save_pretrained(str(path))
    return path


def embeddings(frame: pd.DataFrame, name: str = "m2v") -> np.ndarray:
    """Unit-norm float32 embeddings of `frame`'s projects (any rows of `load_corpus()`, found by doc_id).

    They come from the embedder's whole-corpus cache, which is built on first use.
    """
    corpus = load_corpus()
    cache = OUT / f"cordis-{name}-{len(corpus)}.npy"
    if cache.exists():
        vectors = np.load(cache, mmap_mode="r")
    else:
        vectors = embed(corpus["input"].tolist(), name)
        OUT.mkdir(exist_ok=True)
        np.save(cache, vectors)
    if len(vectors) != len(corpus):
        raise ValueError(f"{cache} has {len(vectors)} rows for {len(corpus)} projects")
    rows = pd.Index(corpus["doc_id"]).get_indexer(frame["doc_id"])
    if (rows < 0).any():
        raise KeyError(f"{int((rows < 0).sum())} documents are not in the corpus")
    return np.asarray(vectors[rows])


def embed(texts: list[str], name: str) -> np.ndarray:
    start = time.perf_counter()
    if name == "m2v":
        vectors = static_embedder().encode(texts)
    else:
        from nlp.embed import load_embedder

        vectors = load_embedder("all-MiniLM-L6-v2", max_seq_length=128).encode(texts)
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    print(f"embedded {len(texts)} docs with {name} in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    return vectors


def static_embedder():
    """The distilled model2vec model: `encode(texts)` for the representation models' candidate words."""
    from model2vec import StaticModel

    return StaticModel.from_pretrained(str(distilled_model_path()))


class FixedProjection:
    """A reducer that returns a projection computed once, so variants differ only downstream of UMAP."""

    def __init__(self, projection: np.ndarray):
        self.projection = projection

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return self.projection


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    embeddings(load_corpus(), sys.argv[1] if len(sys.argv) > 1 else "m2v")
