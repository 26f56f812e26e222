"""Topic models: BERTopic composed from explicit parts, fitted on precomputed embeddings only.

Also the pieces that give topics a stable identity across refits: centroids and a one-to-one
matching of new topics to earlier ones by centroid similarity (Hungarian assignment).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.feature_extraction.text import CountVectorizer

OUTLIER = -1


def build_topic_model(*, min_topic_size: int = 15, seed: int = 42, reducer="umap", clusterer="hdbscan",
                      n_clusters: int = 50, n_components: int = 5, n_neighbors: int = 15,
                      top_n_words: int = 10, min_df: int = 2, **_ignored):
    """BERTopic from explicit parts: names ('umap'/'pca', 'hdbscan'/'kmeans') or estimator objects."""
    from bertopic import BERTopic

    if reducer == "umap":
        from umap import UMAP

        reducer = UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=0.0, metric="cosine",
                       random_state=seed, low_memory=True)
    elif reducer == "pca":
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=n_components, random_state=seed)
    if clusterer == "hdbscan":
        from hdbscan import HDBSCAN

        clusterer = HDBSCAN(min_cluster_size=min_topic_size, metric="euclidean",
                            cluster_selection_method="eom", prediction_data=True)
    elif clusterer == "kmeans":
        from sklearn.cluster import KMeans

        clusterer = KMeans(n_clusters=n_clusters, random_state=seed, n_init=4)
    vectorizer = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=min_df,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z0-9\-]+\b")
    return BERTopic(umap_model=reducer, hdbscan_model=clusterer, vectorizer_model=vectorizer,
                    top_n_words=top_n_words, min_topic_size=min_topic_size, calculate_probabilities=False)


def fit_topics(model, docs: list[str], embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit on precomputed embeddings; return (topic per doc, probability per doc)."""
    if len(docs) != len(embeddings):
        raise ValueError(f"{len(docs)} documents but {len(embeddings)} embeddings")
    topics, probs = model.fit_transform(docs, embeddings=embeddings)
    probs = np.ones(len(topics)) if probs is None else np.asarray(probs, dtype=float)
    return np.asarray(topics, dtype=int), probs.reshape(len(topics), -1).max(axis=1)


def short_label(terms: list[str], n: int = 3) -> str:
    """A short human-readable label from the top terms, skipping terms contained in earlier ones."""
    picked: list[str] = []
    for term in terms:
        if not any(term in p or p in term for p in picked):
            picked.append(term)
        if len(picked) == n:
            break
    return " · ".join(picked)


def topic_table(model, topics: np.ndarray, embeddings: np.ndarray) -> pd.DataFrame:
    """One row per topic of a fitted model: local id, size, terms, label and unit centroid."""
    rows = []
    for local in sorted(set(topics.tolist())):
        members = embeddings[topics == local]
        words = [w for w, _ in (model.get_topic(local) or []) if w]
        rows.append({"local_topic": local, "size": int(len(members)), "terms": words,
                     "label": "outliers" if local == OUTLIER else short_label(words),
                     "centroid": unit(members.mean(axis=0))})
    return pd.DataFrame(rows)


def unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return (vector / norm if norm else vector).astype(np.float32)


def match_topics(previous: np.ndarray, current: np.ndarray, threshold: float = 0.75
                 ) -> dict[int, tuple[int, float]]:
    """Match rows of `current` centroids to rows of `previous` one-to-one; {current: (previous, sim)}.

    Pairs below `threshold` cosine similarity stay unmatched (a birth, or a death on the other side).
    """
    if len(previous) == 0 or len(current) == 0:
        return {}
    sims = current @ previous.T
    rows, cols = linear_sum_assignment(-sims)
    return {int(r): (int(c), float(sims[r, c])) for r, c in zip(rows, cols, strict=True)
            if sims[r, c] >= threshold}


def save_model(model, path: Path) -> None:
    """Save with safetensors and the c-TF-IDF; never the embedding model (embeddings come precomputed)."""
    path.mkdir(parents=True, exist_ok=True)
    model.save(str(path), serialization="safetensors", save_ctfidf=True, save_embedding_model=False)


def load_model(path: Path):
    from bertopic import BERTopic

    return BERTopic.load(str(path))


def assign_topics(model, docs: list[str], embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assign new documents to a fitted model's topics from their precomputed embeddings."""
    if len(docs) == 0:
        return np.zeros(0, dtype=int), np.zeros(0)
    topics, probs = model.transform(docs, embeddings=embeddings)
    probs = np.ones(len(topics)) if probs is None else np.asarray(probs, dtype=float)
    return np.asarray(topics, dtype=int), probs.reshape(len(topics), -1).max(axis=1)
