"""Dashboard search on real CORDIS projects: the regular-expression scan against the inverted index (issue 16).

    python -m benchmarks.search_index [--limit N]

Loads Horizon Europe projects (../shared/data/cordis-horizon-europe/projects.parquet) into an in-memory store,
times each query with the scan (no index rows), builds the index (enrich's `index_terms`) and times it again.
Prints the median of five runs per query and whether both found the same number of documents.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import duckdb

from pipelines.dashboard.queries import search_documents
from pipelines.runs import StepResult
from pipelines.steps.enrich import index_terms
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from pipelines.views.themes import DocFilter

PROJECTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cordis-horizon-europe" / "projects.parquet"
QUERIES = ["hydrogen", "hydrogen storage", '"fuel cell"', "quantum computing", "soil health microbiome",
           '"machine learning" cancer']


def timed(store: Store, query: str) -> tuple[float, int]:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        found = search_documents(store, query, DocFilter(), 20)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), found["total"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=5000)
    args = parser.parse_args()
    rows = duckdb.sql(f"SELECT id, title, text, date FROM '{PROJECTS}' WHERE date <= '2025-11-30' "
                      f"ORDER BY id LIMIT {args.limit}").fetchall()
    with Store.open(":memory:") as store:
        upsert_documents(store, [{"source": "cordis", "kind": "project", "external_id": str(i), "title": title,
                                  "text": text or title, "published_on": str(day)[:10]}
                                 for i, title, text, day in rows], StepResult("ingest"))
        n_docs = store.count("documents")
        before = {q: timed(store, q) for q in QUERIES}
        start = time.perf_counter()
        index_terms(store)
        build = time.perf_counter() - start
        after = {q: timed(store, q) for q in QUERIES}
        print(f"{n_docs} projects; index: {store.count('doc_terms')} rows built in {build:.2f} s")
        print("| query | scan ms | index ms | found (scan / index) |\n|---|---|---|---|")
        for q in QUERIES:
            print(f"| {q} | {1000 * before[q][0]:.0f} | {1000 * after[q][0]:.0f} | {before[q][1]} / {after[q][1]} |")


if __name__ == "__main__":
    main()
