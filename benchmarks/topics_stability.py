"""Identity stability on CORDIS Horizon Europe, as the pipeline runs it: one fit, then monthly refits.

The store starts with the projects signed from `--start` to `--first` (inclusive months) and is fitted
(`topics_step`, forced); then each following month's projects arrive and the model is refitted. Per
refit: the share of documents in a non-outlier topic before and after that keep their stable id, the
documents kept in place by the sticky rule, which matching rule decided each continuation, and the
lineage events. `--twice` runs the whole sequence a second time, in another fresh process (both at
once) and another store, and compares the ids after every fit.

    .venv/bin/python benchmarks/topics_stability.py --embedder minilm --twice [--topics min_topics_sqrt=1.0]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
from topics_data import embeddings, load_corpus
from topics_store import add_documents, bench_settings, open_fresh

from nlp.topics import OUTLIER
from pipelines.logs import Bars
from pipelines.steps.topics import topics_step


def run(corpus: pd.DataFrame, vectors, months: list[pd.Period], name: str, embedder: str, topics: dict
        ) -> list[pd.Series]:
    words = None
    if embedder == "minilm":
        from nlp.embed import load_embedder

        words = load_embedder("all-MiniLM-L6-v2", max_seq_length=128)
    settings = bench_settings(name, words=words, embedder=embedder, **topics)
    store = open_fresh(settings.store_path)
    ids = []
    for k, month in enumerate(months):
        new = (corpus["month"] <= month) & ~corpus["doc_id"].isin(store.df("SELECT doc_id FROM documents")["doc_id"])
        add_documents(store, corpus[new], vectors[new.to_numpy()], embedder)
        start = time.perf_counter()
        topics_step(store, settings, Bars(enabled=False), force_fit=True)
        ids.append(store.df("SELECT doc_id, topic_id FROM topic_assignments").set_index("doc_id")["topic_id"])
        info = store.df("SELECT version, metrics FROM topic_models WHERE is_current").iloc[0]
        metrics = json.loads(info["metrics"])
        line = (f"[{name}] {'fit' if k == 0 else 'refit'} up to {month}: {new.sum():>5} new, {len(ids[-1]):>5} docs, "
                f"{metrics['n_topics']} topics ({metrics['clusterer']}), {metrics['outlier_share']:.1%} outliers, "
                f"NPMI {metrics['npmi']:.3f}, diversity {metrics['diversity']:.3f}, {time.perf_counter() - start:.0f}s")
        if k:
            before, after = ids[-2], ids[-1].reindex(ids[-2].index)
            both = (before != OUTLIER) & (after != OUTLIER)
            line += (f"\n    kept id: {(before[both] == after[both]).mean():.1%} of {both.sum()} docs; sticky "
                     f"{metrics['sticky_docs']}; rules {metrics['match_rules']}; events {metrics['events']}")
        print(line, flush=True)
    labels = store.df("SELECT topic_id, label, size FROM topics WHERE status = 'active' AND topic_id >= 0 "
                      "ORDER BY size DESC")
    print(f"[{name}] live topics:", len(labels), "| duplicate labels:", int(labels["label"].duplicated().sum()))
    print(f"[{name}] largest:", "; ".join(labels["label"].head(20)), flush=True)
    store.close()
    return ids


def kept_share(ids: list[pd.Series]) -> list[float]:
    out = []
    for before, after in zip(ids, ids[1:], strict=False):
        after = after.reindex(before.index)
        both = (before != OUTLIER) & (after != OUTLIER)
        out.append(float((before[both] == after[both]).mean()))
    return out


def main(embedder: str, start: str, first: str, refits: int, twice: bool, topics: dict) -> None:
    corpus = load_corpus()
    corpus = corpus[corpus["date"] >= start]
    corpus = corpus[corpus["date"] < pd.Period(first, "M").to_timestamp() + pd.DateOffset(months=refits + 1)]
    corpus = corpus.reset_index(drop=True)
    vectors = embeddings(corpus, embedder)
    corpus["doc_id"] = "cordis:" + corpus["doc_id"].astype(str)
    corpus["month"] = corpus["date"].dt.to_period("M")
    months = [pd.Period(first, "M") + k for k in range(refits + 1)]
    print(f"{len(corpus)} projects {start} .. {months[-1]}, {embedder} embeddings")
    print("topic settings changed:", topics or "none")
    name = "stability" + "".join(f"-{k}-{v}" for k, v in topics.items())
    names = [name, name + "-again"] if twice else [name]
    with ProcessPoolExecutor(len(names), mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(pool.map(run, *zip(*[(corpus, vectors, months, n, embedder, topics) for n in names], strict=True)))
    shares = kept_share(runs[0])
    print(f"kept ids per refit: {', '.join(f'{s:.1%}' for s in shares)}; mean {sum(shares) / len(shares):.1%}")
    if twice:
        same = all(a.sort_index().equals(b.sort_index()) for a, b in zip(*runs, strict=True))
        print(f"second run (another process), same ids after every fit: {same}")
    print(f"peak RSS of a run {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", default="minilm", help="minilm (all-MiniLM-L6-v2) or m2v")
    parser.add_argument("--start", default="2024-07-01")
    parser.add_argument("--first", default="2025-06", help="last month of the first fit")
    parser.add_argument("--refits", type=int, default=3)
    parser.add_argument("--twice", action="store_true")
    parser.add_argument("--topics", nargs="*", default=[], help="[topics] settings, KEY=VALUE")
    args = parser.parse_args()
    main(args.embedder, args.start, args.first, args.refits, args.twice,
         dict(item.split("=", 1) for item in args.topics))
