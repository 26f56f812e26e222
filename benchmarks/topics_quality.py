"""Topic quality on CORDIS Horizon Europe: NPMI coherence and diversity, ours vs plain BERTopic defaults.

All models see the same cached embeddings (model2vec distilled from all-MiniLM-L6-v2, see topics_data).
Our variants share a UMAP projection per n_neighbors (same seed), so the HDBSCAN settings and the
representations are compared on equal terms. NPMI: top 10 terms, document co-occurrence over the corpus.

    .venv/bin/python benchmarks/topics_quality.py
"""

from __future__ import annotations

import time

import numpy as np
from topics_data import FixedProjection, embeddings, load_corpus, peak_rss_mb, static_embedder

from nlp.coherence import CoherenceScorer, topic_diversity
from nlp.topics import OUTLIER, build_topic_model, fit_topics
from pipelines.settings import TopicSettings

VARIANTS = [  # (name, build_topic_model keyword arguments; n_neighbors picks the shared UMAP projection)
    ("ours nn=15 mcs=15 c-TF-IDF", {"min_topic_size": 15, "representation": "ctfidf"}),
    ("ours nn=15 mcs=15 MMR", {"min_topic_size": 15, "representation": "mmr"}),
    ("ours nn=15 mcs=15 KeyBERT+MMR", {"min_topic_size": 15}),
    ("ours nn=15 mcs=15 ms=5 KeyBERT+MMR", {"min_topic_size": 15, "min_samples": 5}),
    ("ours nn=15 mcs=30 c-TF-IDF", {"min_topic_size": 30, "representation": "ctfidf"}),
    ("ours nn=15 mcs=30 MMR", {"min_topic_size": 30, "representation": "mmr"}),
    ("ours nn=15 mcs=30 KeyBERT+MMR", {"min_topic_size": 30}),
    ("ours nn=30 mcs=15 MMR", {"min_topic_size": 15, "representation": "mmr", "n_neighbors": 30}),
    ("ours nn=30 mcs=30 MMR", {"min_topic_size": 30, "representation": "mmr", "n_neighbors": 30}),
]


def scores(model, labels: np.ndarray, scorer: CoherenceScorer) -> dict:
    terms = [[w for w, _ in model.get_topic(t)] for t in sorted(set(labels.tolist())) if t != OUTLIER]
    return {"n_topics": len(terms), "npmi": float(np.nanmean(scorer.npmi(terms))),
            "diversity": topic_diversity(terms), "outliers": float((labels == OUTLIER).mean())}


def main() -> None:
    corpus = load_corpus()
    docs, vectors = (corpus["title"] + ". " + corpus["text"]).tolist(), embeddings(corpus)
    scorer = CoherenceScorer().fit(docs)
    rows = []
    from bertopic import BERTopic

    start = time.perf_counter()
    plain = BERTopic()
    labels = np.asarray(plain.fit_transform(docs, embeddings=vectors)[0])
    rows.append(("plain BERTopic defaults", scores(plain, labels, scorer), time.perf_counter() - start))

    from umap import UMAP

    projections = {}
    for n_neighbors in sorted({params.get("n_neighbors", 15) for _, params in VARIANTS}):
        start = time.perf_counter()
        projections[n_neighbors] = UMAP(n_components=5, n_neighbors=n_neighbors, min_dist=0.0, metric="cosine",
                                        random_state=42, low_memory=True).fit_transform(vectors)
        print(f"shared UMAP projection, n_neighbors={n_neighbors}: {time.perf_counter() - start:.0f}s")
    word_embedder = static_embedder()
    for name, params in VARIANTS:
        start = time.perf_counter()
        reducer = FixedProjection(projections[params.pop("n_neighbors", 15)])
        model = build_topic_model(**TopicSettings().model_options(reducer=reducer, **params), embedder=word_embedder)
        labels = fit_topics(model, docs, vectors)
        rows.append((name, scores(model, labels, scorer), time.perf_counter() - start))
    print(f"{'model':36} {'topics':>6} {'NPMI':>7} {'diversity':>9} {'outliers':>8} {'time s':>7}")
    for name, s, seconds in rows:
        print(f"{name:36} {s['n_topics']:>6} {s['npmi']:>7.3f} {s['diversity']:>9.3f} {s['outliers']:>8.1%} "
              f"{seconds:>7.0f}")
    print(f"n_docs={len(docs)}  peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
