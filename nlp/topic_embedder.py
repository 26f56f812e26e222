"""An adapter giving BERTopic's representation models (KeyBERTInspired, MMR) our embedder for words.

Documents always arrive with precomputed embeddings; only candidate words (and MMR's joined word
lists) are embedded here, and each distinct string is embedded once per fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from bertopic.backend import BaseEmbedder


class EmbedderBackend(BaseEmbedder):
    """BERTopic's `embed` interface over anything with `encode(texts) -> ndarray`."""

    def __init__(self, embedder):
        super().__init__()
        self.embedder = embedder
        self.cache_: dict[str, np.ndarray] = {}

    def embed(self, documents: Sequence[str], verbose: bool = False) -> np.ndarray:
        missing = [text for text in dict.fromkeys(documents) if text not in self.cache_]
        if missing:
            self.cache_.update(zip(missing, np.asarray(self.embedder.encode(missing)), strict=True))
        return np.stack([self.cache_[text] for text in documents])
