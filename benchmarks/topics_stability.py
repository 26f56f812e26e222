"""Identity stability on CORDIS Horizon Europe: refit on data up to month M, then up to M+1.

Compared on the documents both fits saw: the share whose topic is unchanged, and the share of the
second fit's topics that continue a topic of the first. Rows:
- plain BERTopic defaults, topic numbers as BERTopic gives them (renumbered by size on every fit);
- our model (fixed seed), its local topic numbers, i.e. without the identity layer;
- our pipeline's stable ids (`topics_step` with forced refits, matching and lineage).
A topic "continues" for the number-based rows when its number's topic in the first fit is its
one-to-one centroid match (Hungarian, centred cosine >= match_threshold).

    .venv/bin/python benchmarks/topics_stability.py [--month 2025-09]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from topics_data import OUT, embeddings, load_corpus, peak_rss_mb
from topics_store import add_documents, bench_settings, open_fresh

from nlp.lineage import match_topics
from nlp.topics import OUTLIER, unit
from pipelines.logs import Bars
from pipelines.steps.topics import topics_step


def same_share(first: pd.Series, second: pd.Series) -> tuple[float, float]:
    """Share of documents with an unchanged topic: over all of them, and over those never an outlier."""
    both = (first != OUTLIER) & (second != OUTLIER)
    return float((first == second).mean()), float((first[both] == second[both]).mean())


def numbers_continue(first: pd.Series, second: pd.Series, vectors: pd.DataFrame, threshold: float) -> float:
    """Share of the second fit's topics whose number means the same topic (centroid match) in the first."""
    mean = vectors.to_numpy().mean(axis=0)

    def centroids(labels):
        topics = sorted(t for t in labels.unique() if t != OUTLIER)
        return topics, np.stack([unit(vectors[labels.reindex(vectors.index) == t].to_numpy().mean(axis=0))
                                 for t in topics])

    ids1, c1 = centroids(first)
    ids2, c2 = centroids(second)
    matches = match_topics(c1, c2, threshold, mean=mean)
    return sum(ids1[j] == ids2[i] for i, (j, _) in matches.items()) / len(ids2)


def plain_fit(docs: list[str], vectors: np.ndarray) -> np.ndarray:
    from bertopic import BERTopic

    return np.asarray(BERTopic().fit_transform(docs, embeddings=vectors)[0])


def main(month: str) -> None:
    corpus = load_corpus()
    vectors = embeddings(corpus)
    corpus["doc_id"] = "cordis:" + corpus["doc_id"].astype(str)
    m_end = pd.Timestamp(month) + pd.offsets.MonthBegin(1)
    first = corpus["date"] < m_end
    second = corpus["date"] < m_end + pd.offsets.MonthBegin(1)
    settings = bench_settings("stability")
    store = open_fresh(settings.store_path)
    bars, stable, local, seconds = Bars(enabled=False), [], [], []
    for mask in (first, second):
        new = mask & ~corpus["doc_id"].isin(store.df("SELECT doc_id FROM documents")["doc_id"])
        add_documents(store, corpus[new], vectors[new.to_numpy()])
        start = time.perf_counter()
        topics_step(store, settings, bars, force_fit=True)
        seconds.append(time.perf_counter() - start)
        frame = store.df("SELECT a.doc_id, a.topic_id, m.local_topic FROM topic_assignments a LEFT JOIN model_topics m "
                         "ON m.model_version = a.model_version AND m.topic_id = a.topic_id").set_index("doc_id")
        stable.append(frame["topic_id"])
        local.append(frame["local_topic"].fillna(OUTLIER).astype(int))
    events = store.df("SELECT event, count(*) AS n FROM topic_lineage WHERE to_version = (SELECT version FROM "
                      "topic_models WHERE is_current) GROUP BY event ORDER BY event")
    shared = corpus.loc[first, "doc_id"]
    vec = pd.DataFrame(vectors[first.to_numpy()], index=shared.to_numpy())
    plain = [pd.Series(plain_fit((corpus.loc[m, "title"] + ". " + corpus.loc[m, "text"]).tolist(),
                                 vectors[m.to_numpy()]), index=corpus.loc[m, "doc_id"].to_numpy())
             for m in (first, second)]
    threshold = settings.topics.match_threshold
    n_continue = int(events.set_index("event")["n"].get("continue", 0))
    n_topics = int(stable[1][stable[1] != OUTLIER].nunique())
    rows = [("plain BERTopic defaults (numbers)", plain, numbers_continue(plain[0][shared], plain[1][shared], vec,
                                                                           threshold)),
            ("ours, local numbers (fixed seed)", local, numbers_continue(local[0][shared], local[1][shared], vec,
                                                                         threshold)),
            ("ours, stable ids (pipeline)", stable, n_continue / n_topics)]
    print(f"M = {month}: {first.sum()} documents up to M, {second.sum()} up to M+1 (model2vec embeddings)")
    print(f"{'':36} {'docs same topic':>15} {'(non-outliers)':>14} {'topics continued':>16}")
    for name, (a, b), cont in rows:
        all_docs, assigned = same_share(a[shared], b[shared])
        print(f"{name:36} {all_docs:>15.1%} {assigned:>14.1%} {cont:>16.1%}")
    print("refit M+1 lineage events:", dict(zip(events["event"], events["n"], strict=True)))
    print(f"pipeline refits: {seconds[0]:.0f}s, {seconds[1]:.0f}s; peak RSS {peak_rss_mb():.0f} MB; store {OUT}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--month", default="2025-09")
    main(parser.parse_args().month)
