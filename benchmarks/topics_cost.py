"""Time and peak memory: a base fit on 20k and 50k documents, and one nightly run for 1,000 new ones.

Each measurement runs in a fresh process, so peak RSS is its own and numba compiles as in production.
50k documents are CORDIS repeated, with a little noise on the repeated vectors (no exact duplicates).
Nightly = assign the new documents, fit the recent-window model that looks for births, rebuild counts.

    .venv/bin/python benchmarks/topics_cost.py             # all of it
    .venv/bin/python benchmarks/topics_cost.py fit 20000   # one measurement
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from topics_data import OUT, embeddings, load_corpus, peak_rss_mb, static_embedder

NEW_DOCS = 1000


def corpus_of(n: int):
    corpus = load_corpus()
    vectors = embeddings(corpus)
    repeats = -(-n // len(corpus))
    frame = corpus.loc[np.tile(np.arange(len(corpus)), repeats)[:n]].reset_index(drop=True)
    noise = np.random.default_rng(0).normal(0, 0.02, (n, vectors.shape[1])).astype(np.float32)
    noise[: len(corpus)] = 0
    big = np.tile(vectors, (repeats, 1))[:n] + noise
    return frame, big / np.linalg.norm(big, axis=1, keepdims=True)


def measure_fit(n: int) -> None:
    from pipelines.settings import TopicSettings

    frame, vectors = corpus_of(n)
    start = time.perf_counter()
    from nlp.topics import build_topic_model, fit_topics, topic_table

    imported = time.perf_counter()
    model = build_topic_model(**TopicSettings().model_options(), embedder=static_embedder())
    labels = fit_topics(model, (frame["title"] + ". " + frame["text"]).tolist(), vectors)
    table = topic_table(model, labels, vectors)
    done = time.perf_counter()
    print(f"fit {n:>6} docs: {done - imported:5.0f}s (+{imported - start:.0f}s import), {len(table) - 1} topics, "
          f"{(labels == -1).mean():.0%} outliers, peak RSS {peak_rss_mb():,.0f} MB")


def prepare_nightly() -> None:
    """A store with all but the newest NEW_DOCS documents, fitted; then the new ones added, unassigned."""
    from topics_store import add_documents, bench_settings, open_fresh

    from pipelines.logs import Bars
    from pipelines.steps.topics import topics_step

    corpus = load_corpus()
    vectors = embeddings(corpus)
    corpus["doc_id"] = "cordis:" + corpus["doc_id"].astype(str)
    settings = bench_settings("nightly")
    store = open_fresh(settings.store_path)
    old = len(corpus) - NEW_DOCS
    add_documents(store, corpus.iloc[:old], vectors[:old])
    topics_step(store, settings, Bars(enabled=False), force_fit=True)
    add_documents(store, corpus.iloc[old:], vectors[old:])
    store.close()


def measure_nightly() -> None:
    from topics_store import bench_settings

    from pipelines.logs import Bars
    from pipelines.runs import StepResult
    from pipelines.steps.topics import assign_pending, find_births
    from pipelines.store import Store

    settings = bench_settings("nightly")
    result, times = StepResult("topics"), {}
    with Store.open(settings.store_path) as store:
        for name, step in [("assign", lambda: assign_pending(store, settings, Bars(enabled=False), result)),
                           ("births", lambda: find_births(store, settings, result))]:
            start = time.perf_counter()
            step()
            times[name] = time.perf_counter() - start
    print(f"nightly {NEW_DOCS} new docs: {sum(times.values()):.1f}s (" +
          ", ".join(f"{k} {v:.1f}s" for k, v in times.items()) +
          f"), {dict(result.counts)}, peak RSS {peak_rss_mb():,.0f} MB")


def main() -> None:
    own = [sys.executable, __file__]
    for n in (20_000, 50_000):
        subprocess.run([*own, "fit", str(n)], check=True)
    subprocess.run([*own, "prepare"], check=True)
    subprocess.run([*own, "nightly"], check=True)
    print(f"(stores and models under {OUT})")


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["fit", n]:
            measure_fit(int(n))
        case ["prepare"]:
            prepare_nightly()
        case ["nightly"]:
            measure_nightly()
        case _:
            main()
