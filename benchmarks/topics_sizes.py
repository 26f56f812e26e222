"""Topics at every corpus size: the first 1k, 3k, 10k and all ~19k CORDIS Horizon Europe projects.

Default settings (UMAP + HDBSCAN with the k-means fallback, MMR terms without the corpus-generic words),
on cached embeddings (`topics_data`, model2vec by default). Per size: topics, outlier share, which
clusterer decided, NPMI and diversity of the top 10 terms before and after the generic words are removed,
and the generic words found. `--labels N` prints the N-document model's topics (largest first).

    .venv/bin/python benchmarks/topics_sizes.py [--embedder m2v|hashing] [--sizes 1000 3000] [--labels 3000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from topics_data import embeddings, load_corpus, static_embedder

from nlp.coherence import CoherenceScorer, topic_diversity
from nlp.topics import OUTLIER, build_topic_model, drop_generic_terms, fit_topics, topic_table
from pipelines.settings import TopicSettings


def quality(model, labels: np.ndarray, scorer: CoherenceScorer) -> tuple[float, float]:
    terms = [[w for w, _ in model.get_topic(t)] for t in sorted(set(labels.tolist())) if t != OUTLIER]
    return float(np.nanmean(scorer.npmi(terms))), topic_diversity(terms)


def main(embedder: str, sizes: list[int], show: int | None) -> None:
    corpus = load_corpus()
    if embedder == "hashing":
        from nlp.embed import HashingEmbedder

        vectors, words = np.asarray(HashingEmbedder(256).encode(corpus["input"].tolist()), np.float32), None
    else:
        vectors, words = embeddings(corpus, embedder), static_embedder()
    cfg = TopicSettings()
    print(f"{'docs':>6} {'topics':>6} {'outliers':>8} {'clusterer':>9} {'NPMI before':>11} {'after':>6} "
          f"{'div before':>10} {'after':>6} {'time s':>6}  generic words")
    for n in sizes:
        docs = (corpus["title"] + ". " + corpus["text"]).tolist()[:n]
        scorer = CoherenceScorer().fit(docs)
        start = time.perf_counter()
        model = build_topic_model(**cfg.model_options(), embedder=words)
        labels = fit_topics(model, docs, vectors[:n])
        before = quality(model, labels, scorer)
        old = topic_table(model, labels, vectors[:n])
        generic = drop_generic_terms(model, docs, labels, min_df=cfg.generic_min_df, max_lift=cfg.generic_max_lift)
        after = quality(model, labels, scorer)
        seconds = time.perf_counter() - start
        clusterer = model.hdbscan_model
        print(f"{n:>6} {labels.max() + 1:>6} {(labels == OUTLIER).mean():>8.1%} {clusterer.method_:>9} "
              f"{before[0]:>11.3f} {after[0]:>6.3f} {before[1]:>10.3f} {after[1]:>6.3f} {seconds:>6.0f}  "
              f"{len(generic)}: {', '.join(generic[:25])}", flush=True)
        print(f"       (HDBSCAN: {clusterer.hdbscan_topics_} topics, {clusterer.hdbscan_outlier_share_:.1%} outliers)")
        if n == show:
            new = topic_table(model, labels, vectors[:n])
            new = new[new["local_topic"] != OUTLIER].sort_values("size", ascending=False)
            print("size | label before | label after | top terms after")
            for row in new.itertuples():
                print(f"{row.size} | {old.set_index('local_topic').loc[row.local_topic, 'label']} | {row.label} | "
                      f"{', '.join(row.terms[:8])}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="m2v")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10_000, 19_189])
    parser.add_argument("--labels", type=int, default=3000)
    args = parser.parse_args()
    main(args.embedder, args.sizes, args.labels)
