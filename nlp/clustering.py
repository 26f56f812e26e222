"""A clusterer for every corpus size: HDBSCAN, and k-means on the same projection when HDBSCAN degenerates.

HDBSCAN's excess-of-mass selection can keep a couple of huge clusters and call most of a small corpus
noise (3,000 CORDIS projects: 2 topics). A fit is degenerate when more than `max_outlier_share` of the
documents are outliers or when it has fewer than `min_topics_sqrt` × √(documents) topics (at 1.0: 32 for
1,000 documents, 55 for 3,000, 139 for 19,000). The fallback is seeded k-means on the same projection
with ⌈`fallback_topics_sqrt` × √(documents)⌉ clusters (at 0.5: 16, 28, 70), a smooth function of the
corpus size (not HDBSCAN's count, which jumps between refits of nearly the same documents), which leaves
no outliers (the pipeline's assign similarity then keeps every document). The two numbers differ: a strict
test keeps HDBSCAN's jumping counts out of mid-size corpora, and fewer, larger k-means topics keep their
terms coherent (models/README.md).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin


class SizedClusterer(ClusterMixin, BaseEstimator):
    """HDBSCAN with a k-means fallback; `labels_` (-1: outlier) and `method_` ('hdbscan' or 'kmeans')."""

    def __init__(self, *, min_cluster_size: int, min_samples: int | None, min_topics_sqrt: float,
                 fallback_topics_sqrt: float, max_outlier_share: float, seed: int):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.min_topics_sqrt = min_topics_sqrt
        self.fallback_topics_sqrt = fallback_topics_sqrt
        self.max_outlier_share = max_outlier_share
        self.seed = seed

    def fit(self, X, y=None) -> SizedClusterer:
        from hdbscan import HDBSCAN
        from sklearn.cluster import KMeans

        X = np.asarray(X)
        labels = HDBSCAN(min_cluster_size=self.min_cluster_size, min_samples=self.min_samples, metric="euclidean",
                         cluster_selection_method="eom").fit(X).labels_
        n_topics = int(labels.max()) + 1
        self.hdbscan_topics_, self.hdbscan_outlier_share_ = n_topics, float((labels == -1).mean())
        if degenerate(labels, self.min_topics_sqrt, self.max_outlier_share):
            k = min(len(X), max(2, wanted_topics(len(X), self.fallback_topics_sqrt)))
            labels = KMeans(n_clusters=k, random_state=self.seed, n_init=4).fit(X).labels_
            self.method_ = "kmeans"
        else:
            self.method_ = "hdbscan"
        self.labels_ = np.asarray(labels, dtype=int)
        return self


def wanted_topics(n_docs: int, topics_sqrt: float) -> int:
    return int(np.ceil(topics_sqrt * np.sqrt(n_docs)))


def degenerate(labels: np.ndarray, min_topics_sqrt: float, max_outlier_share: float) -> bool:
    """Too many outliers, or fewer topics than the corpus size calls for."""
    n_topics = int(labels.max()) + 1 if len(labels) else 0
    outliers = float((labels == -1).mean()) if len(labels) else 0.0
    return outliers > max_outlier_share or n_topics < wanted_topics(len(labels), min_topics_sqrt)
