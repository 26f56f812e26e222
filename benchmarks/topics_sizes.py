"""Topics at every corpus size: the first 1k, 3k, 10k and all ~19k CORDIS Horizon Europe projects.

Default settings (UMAP + HDBSCAN with the k-means fallback, MMR terms without the corpus-generic words),
on cached embeddings (`topics_data`, model2vec by default; `minilm` is the full all-MiniLM-L6-v2, which
then also embeds the candidate words). Per size and settings variant: topics, outlier share, which
clusterer decided (and what HDBSCAN found), NPMI and diversity of the top 10 terms before and after the
generic words are removed, seconds, and the generic words found. The variants of one size share its UMAP
projection (same seed, so the same projection each would fit): the first variant's time includes UMAP.
`--labels N` prints the N-document model's topics (largest first, first variant).

    .venv/bin/python benchmarks/topics_sizes.py [--embedder m2v|minilm|hashing] [--sizes 1000 3000]
        [--variants default min_topics_sqrt=1.0 "min_topics_sqrt=1.0,max_outlier_share=0.2"] [--labels 3000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from topics_data import FixedProjection, embeddings, load_corpus, static_embedder

from nlp.coherence import CoherenceScorer, topic_diversity
from nlp.topics import OUTLIER, build_topic_model, drop_generic_terms, fit_topics, topic_table
from pipelines.settings import TopicSettings


def quality(model, labels: np.ndarray, scorer: CoherenceScorer) -> tuple[float, float]:
    terms = [[w for w, _ in model.get_topic(t)] for t in sorted(set(labels.tolist())) if t != OUTLIER]
    return float(np.nanmean(scorer.npmi(terms))), topic_diversity(terms)


def parse_variant(text: str) -> dict:
    return {} if text == "default" else dict(item.split("=", 1) for item in text.split(","))


def main(embedder: str, sizes: list[int] | None, variants: list[str], show: int | None) -> None:
    corpus = load_corpus()
    if embedder == "hashing":
        from nlp.embed import HashingEmbedder

        vectors, words = np.asarray(HashingEmbedder(256).encode(corpus["input"].tolist()), np.float32), None
    elif embedder == "minilm":
        from nlp.embed import load_embedder

        vectors, words = embeddings(corpus, embedder), load_embedder("all-MiniLM-L6-v2", max_seq_length=128)
    else:
        vectors, words = embeddings(corpus, embedder), static_embedder()
    print(f"{embedder} embeddings of {len(corpus)} projects")
    print(f"{'docs':>6} {'variant':>28} {'topics':>6} {'outliers':>8} {'clusterer':>9} {'NPMI before':>11} "
          f"{'after':>6} {'div before':>10} {'after':>6} {'time s':>6}  generic words")
    for n in sorted({min(n, len(corpus)) for n in sizes or [1000, 3000, 10_000, len(corpus)]}):
        docs = (corpus["title"] + ". " + corpus["text"]).tolist()[:n]
        scorer = CoherenceScorer().fit(docs)
        projection = None
        for variant in variants:
            cfg = TopicSettings(**parse_variant(variant))
            start = time.perf_counter()
            options = cfg.model_options() | ({} if projection is None else {"reducer": FixedProjection(projection)})
            model = build_topic_model(**options, embedder=words)
            labels = fit_topics(model, docs, vectors[:n])
            if projection is None:
                projection = model.umap_model.transform(vectors[:n])  # UMAP returns its fitted layout for its input
            before = quality(model, labels, scorer)
            old = topic_table(model, labels, vectors[:n])
            generic = drop_generic_terms(model, docs, labels, min_df=cfg.generic_min_df,
                                         max_lift=cfg.generic_max_lift)
            after = quality(model, labels, scorer)
            seconds = time.perf_counter() - start
            clusterer = model.hdbscan_model
            print(f"{n:>6} {variant:>28} {labels.max() + 1:>6} {(labels == OUTLIER).mean():>8.1%} "
                  f"{clusterer.method_:>9} {before[0]:>11.3f} {after[0]:>6.3f} {before[1]:>10.3f} {after[1]:>6.3f} "
                  f"{seconds:>6.0f}  {len(generic)}: {', '.join(generic[:25])}", flush=True)
            print(f"{'':>35} (HDBSCAN: {clusterer.hdbscan_topics_} topics, "
                  f"{clusterer.hdbscan_outlier_share_:.1%} outliers)", flush=True)
            if n == show and variant == variants[0]:
                new = topic_table(model, labels, vectors[:n])
                new = new[new["local_topic"] != OUTLIER].sort_values("size", ascending=False)
                print("size | label before | label after | top terms after")
                for row in new.itertuples():
                    print(f"{row.size} | {old.set_index('local_topic').loc[row.local_topic, 'label']} | {row.label} | "
                          f"{', '.join(row.terms[:8])}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="m2v", help="m2v, minilm (all-MiniLM-L6-v2) or hashing")
    parser.add_argument("--sizes", type=int, nargs="+", help="first N projects by date (default 1k 3k 10k all)")
    parser.add_argument("--variants", nargs="+", default=["default"],
                        help="[topics] settings per variant, KEY=VALUE[,KEY=VALUE]; 'default': none changed")
    parser.add_argument("--labels", type=int, default=3000)
    args = parser.parse_args()
    main(args.embedder, args.sizes, args.variants, args.labels)
