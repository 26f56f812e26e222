"""Centroid matching between topic models: centred cosine, one-to-one (Hungarian) above a threshold.

A refit's full identity matching (documents, terms, centroids; lineage events) is `nlp.identity`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def centered(centroids: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """Unit centroids after removing the corpus mean direction.

    Some embedders (static ones especially) put every document in a narrow cone (mean pairwise cosine
    0.67 for model2vec on CORDIS), where all topic centroids look alike; centring makes a cosine
    threshold mean the same thing across embedders.
    """
    if mean is None or len(centroids) == 0:
        return centroids
    shifted = centroids - mean
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return shifted / np.where(norms == 0, 1, norms)


def match_topics(previous: np.ndarray, current: np.ndarray, threshold: float = 0.75,
                 mean: np.ndarray | None = None) -> dict[int, tuple[int, float]]:
    """Match rows of `current` centroids to rows of `previous` one-to-one; {current: (previous, sim)}.

    Pairs below `threshold` cosine similarity (of centroids centred on `mean`) stay unmatched.
    """
    if len(previous) == 0 or len(current) == 0:
        return {}
    sims = centered(current, mean) @ centered(previous, mean).T
    rows, cols = linear_sum_assignment(-sims)
    return {int(r): (int(c), float(sims[r, c])) for r, c in zip(rows, cols, strict=True)
            if sims[r, c] >= threshold}
