"""Topic models: BERTopic composed from explicit parts, fitted on precomputed embeddings only.

Terms come from c-TF-IDF, optionally re-ranked by KeyBERTInspired, then diversified by maximal marginal
relevance; both embed candidate words with the configured embedder (see `nlp.topic_embedder`). Documents are
assigned to topics by cosine similarity to topic centroids, which is what BERTopic's `transform` does
for a safetensors-loaded model, so stable topics born between refits can be assigned too.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from nlp.labels import generic_words, unique_labels

OUTLIER = -1
# a word to the topic vectorizer and the term counter (`nlp.term_trends`): an ASCII letter, then letters, digits, -
TOKEN_WORD = r"[a-zA-Z][a-zA-Z0-9\-]+"
TOKEN_PATTERN = rf"(?u)\b{TOKEN_WORD}\b"
REPRESENTATIONS = ("ctfidf", "mmr", "keybert_mmr")


def build_vectorizer(min_df: int = 2, extra_stop_words: list[str] = (), vocabulary: list[str] | None = None
                     ) -> CountVectorizer:
    """Words and two-word phrases in at least `min_df` topics; with a `vocabulary` (noun phrases of up to three
    words, `nlp.phrases`), only those."""
    stop_words = sorted(ENGLISH_STOP_WORDS | set(extra_stop_words)) if extra_stop_words else "english"
    if vocabulary:
        return CountVectorizer(stop_words=stop_words, ngram_range=(1, 3), vocabulary=vocabulary,
                               token_pattern=TOKEN_PATTERN)
    return CountVectorizer(stop_words=stop_words, ngram_range=(1, 2), min_df=min_df, token_pattern=TOKEN_PATTERN)


def build_topic_model(*, min_topic_size: int, min_samples: int | None, seed: int, reducer, clusterer,
                      n_clusters: int, n_components: int, n_neighbors: int, top_n_words: int, representation: str,
                      mmr_diversity: float, min_topics_sqrt: float, fallback_topics_sqrt: float,
                      max_outlier_share: float, min_df: int = 2, embedder=None):
    """BERTopic from explicit parts: names ('umap'/'pca', 'hdbscan'/'kmeans'/'auto') or estimator objects.

    'auto' is HDBSCAN with a k-means fallback for corpora where it degenerates (`nlp.clustering`), below
    `min_topics_sqrt` x sqrt(documents) topics or above `max_outlier_share` outliers (then k-means with
    `fallback_topics_sqrt` x sqrt(documents) clusters).

    The settings' arguments are required (their defaults live in trendscout's `[topics]` settings).

    `embedder` (anything with `encode(texts)`) embeds candidate words for the 'mmr' and 'keybert_mmr'
    representations; without one the terms are plain c-TF-IDF.
    """
    from bertopic import BERTopic

    if representation not in REPRESENTATIONS:
        raise ValueError(f"representation must be one of {REPRESENTATIONS}, not {representation!r}")
    if reducer == "umap":
        from umap import UMAP

        reducer = UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=0.0, metric="cosine",
                       random_state=seed, transform_seed=seed, n_jobs=1, low_memory=True)
    elif reducer == "pca":
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=n_components, random_state=seed)
    if clusterer == "hdbscan":
        from hdbscan import HDBSCAN

        clusterer = HDBSCAN(min_cluster_size=min_topic_size, min_samples=min_samples, metric="euclidean",
                            cluster_selection_method="eom", prediction_data=True)
    elif clusterer == "auto":
        from nlp.clustering import SizedClusterer

        clusterer = SizedClusterer(min_cluster_size=min_topic_size, min_samples=min_samples,
                                   min_topics_sqrt=min_topics_sqrt, fallback_topics_sqrt=fallback_topics_sqrt,
                                   max_outlier_share=max_outlier_share, seed=seed)
    elif clusterer == "kmeans":
        from sklearn.cluster import KMeans

        clusterer = KMeans(n_clusters=n_clusters, random_state=seed, n_init=4)
    backend, parts = None, None
    if embedder is not None and representation != "ctfidf":
        from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance

        from nlp.topic_embedder import EmbedderBackend

        backend = EmbedderBackend(embedder)
        parts = [MaximalMarginalRelevance(diversity=mmr_diversity, top_n_words=top_n_words)]
        if representation == "keybert_mmr":
            parts.insert(0, KeyBERTInspired(top_n_words=2 * top_n_words, random_state=seed))
    return BERTopic(embedding_model=backend, umap_model=reducer, hdbscan_model=clusterer,
                    vectorizer_model=build_vectorizer(min_df), representation_model=parts,
                    top_n_words=top_n_words, min_topic_size=min_topic_size, calculate_probabilities=False)


class TooLittleData(ValueError):
    """The documents are too few for a topic model (one cluster: c-TF-IDF has a single row)."""


def fit_topics(model, docs: list[str], embeddings: np.ndarray) -> np.ndarray:
    """Fit on precomputed embeddings; return the local topic of each document (-1: outlier).

    The fit runs on one BLAS/OpenMP thread and one numba thread (restored afterwards), so its floating
    point reductions happen in the same order whatever the machine's core count (see models/README.md).
    Raises TooLittleData when BERTopic fails on a handful of documents: with one cluster its c-TF-IDF
    vectorizer (min_df over topics) has one row ("max_df corresponds to < documents than min_df"), or
    scipy's idf diagonal gets a scalar (a TypeError).
    """
    if len(docs) != len(embeddings):
        raise ValueError(f"{len(docs)} documents but {len(embeddings)} embeddings")
    try:
        with pinned_threads():
            topics, _ = model.fit_transform(docs, embeddings=embeddings)
    except (ValueError, TypeError) as error:
        raise TooLittleData(f"topic model on {len(docs)} documents failed ({type(error).__name__}: {error})") from error
    if model.embedding_model is not None:
        model.embedding_model.cache_.clear()
    return np.asarray(topics, dtype=int)


@contextmanager
def pinned_threads():
    """One thread for BLAS, OpenMP (threadpoolctl) and numba while fitting."""
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(before)


def topic_table(model, topics: np.ndarray, embeddings: np.ndarray, taken: set[str] | frozenset = frozenset()
                ) -> pd.DataFrame:
    """One row per topic of a fitted model: local id, size, terms, label and unit centroid.

    Labels are unique among the topics and differ from those in `taken` (other live topics' labels).
    """
    rows = []
    for local in sorted(set(topics.tolist())):
        members = embeddings[topics == local]
        rows.append({"local_topic": local, "size": int(len(members)),
                     "terms": [w for w, _ in (model.get_topic(local) or []) if w],
                     "centroid": unit(members.mean(axis=0))})
    table = pd.DataFrame(rows)
    if table.empty:
        return table.assign(label=[])
    real = table["local_topic"] != OUTLIER
    order = table[real].sort_values(["size", "local_topic"], ascending=[False, True]).index
    table["label"] = "outliers"
    table.loc[order, "label"] = unique_labels(table.loc[order, "terms"].tolist(), taken=taken)
    return table


def single_words(docs: list[str], min_df: int) -> list[str]:
    """The words (no stop words) in at least `min_df` of `docs`: added to a noun-phrase vocabulary, they keep
    the topics' adjectives ("clinical", "photonic") and nouns outside any noun chunk."""
    try:
        vectorizer = CountVectorizer(stop_words="english", min_df=min_df, token_pattern=TOKEN_PATTERN).fit(docs)
    except ValueError:  # no word that common
        return []
    return vectorizer.get_feature_names_out().tolist()


def in_topics(vocabulary: list[str], docs: list[str], topics: np.ndarray, min_topics: int) -> list[str]:
    """The terms of `vocabulary` found in the documents of at least `min_topics` topics (the outliers one of
    them): the `min_df` of the c-TF-IDF vectorizer, whose documents are the topics, for a fixed vocabulary."""
    if not vocabulary:
        return []
    matrix = build_vectorizer(vocabulary=vocabulary).transform(docs)
    labels, inverse = np.unique(np.asarray(topics), return_inverse=True)
    membership = sparse.csr_matrix((np.ones(len(docs)), (inverse, np.arange(len(docs)))),
                                   shape=(len(labels), len(docs)))
    spread = np.asarray(((membership @ matrix) > 0).sum(axis=0)).ravel()
    return [term for term, n in zip(vocabulary, spread, strict=True) if n >= min_topics]


def drop_generic_terms(model, docs: list[str], topics: np.ndarray, *, min_df: float, max_lift: float,
                       vocabulary: list[str] | None = None) -> list[str]:
    """Recompute the topics' terms without the corpus-generic words (`nlp.labels.generic_words`); return them.

    With a `vocabulary` (the documents' noun phrases, `nlp.phrases`) the terms are those phrases but the ones
    led by a generic word ("novel approach", "research activities"); a generic word inside a phrase stays
    ("climate change"). When no term would be left (a few topics that share only generic words), the terms
    stay as they were.
    """
    generic = generic_words(docs, topics, min_df=min_df, max_lift=max_lift, token_pattern=TOKEN_PATTERN)
    if not generic and not vocabulary:
        return []
    original = model.vectorizer_model
    update = {"top_n_words": model.top_n_words, "representation_model": model.representation_model}
    if vocabulary:
        dropped = set(generic)
        vocabulary = [p for p in vocabulary if p.split()[0] not in dropped]
        vectorizer = build_vectorizer(vocabulary=in_topics(vocabulary, docs, topics, original.min_df))
    else:
        vectorizer = build_vectorizer(original.min_df, generic)
    try:
        model.update_topics(docs, vectorizer_model=vectorizer, **update)
    except ValueError:  # sklearn: no term left after pruning
        model.update_topics(docs, vectorizer_model=original, **update)
        generic = []
    if model.embedding_model is not None:
        model.embedding_model.cache_.clear()
    return generic


def per_topic_sample(topics: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of at most `n` documents, as evenly spread over the topics (outliers included) as their sizes
    allow, in document order: a small topic gives all its documents, a large one a seeded random part."""
    topics = np.asarray(topics)
    if len(topics) <= n:
        return np.arange(len(topics))
    rng = np.random.default_rng(seed)
    members = [rng.permutation(np.flatnonzero(topics == t)) for t in np.unique(topics)]
    quota, left = 0, n
    sizes = sorted(len(m) for m in members)
    for i, size in enumerate(sizes):  # the largest quota q with sum(min(size, q)) <= n
        share = left // (len(sizes) - i)
        if size > share:
            quota = share
            break
        left -= size
    else:
        quota = sizes[-1]
    return np.sort(np.concatenate([m[:quota] for m in members]))


def unit(vector: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vector)
    return (vector / norm if norm else vector).astype(np.float32)


def nearest_topics(embeddings: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index of the most similar unit centroid for each document, and that cosine similarity."""
    if len(embeddings) == 0 or len(centroids) == 0:
        return np.full(len(embeddings), -1), np.zeros(len(embeddings))
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    sims = (embeddings / np.where(norms == 0, 1, norms)) @ centroids.T
    best = sims.argmax(axis=1)
    return best, sims[np.arange(len(best)), best].astype(float)


def nearest_assignments(vectors: np.ndarray, stable_ids: np.ndarray, centroids: np.ndarray, assign_similarity: float,
                        reduce_similarity: float) -> tuple[np.ndarray, ...]:
    """(topic, nearest, similarity, reduced) by nearest unit centroid: the topic an outlier below
    `assign_similarity`, the reduced topic one below `reduce_similarity`."""
    return placed(*nearest_topics(vectors, centroids), stable_ids, assign_similarity, reduce_similarity)


def placed(best: np.ndarray, sims: np.ndarray, stable_ids: np.ndarray, assign_similarity: float,
           reduce_similarity: float) -> tuple[np.ndarray, ...]:
    """`nearest_assignments` from the nearest centroids' rows and similarities (`nearest_topics`)."""
    nearest = stable_ids[best] if len(stable_ids) else np.full(len(best), OUTLIER)
    assigned = np.where(sims >= assign_similarity, nearest, OUTLIER)
    reduced = np.where(sims >= reduce_similarity, nearest, OUTLIER)
    return assigned, nearest, sims, reduced


def save_model(model, path: Path) -> None:
    """Save with safetensors and the c-TF-IDF; never the embedding model (embeddings come precomputed)."""
    path.mkdir(parents=True, exist_ok=True)
    model.save(str(path), serialization="safetensors", save_ctfidf=True, save_embedding_model=False)


def load_model(path: Path):
    from bertopic import BERTopic

    return BERTopic.load(str(path))
