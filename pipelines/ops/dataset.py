"""The store as a partitioned Parquet dataset, and the import of results computed on it elsewhere.

Layout (Hive partitions, readable by DuckDB, pyarrow, pandas, Dask and Spark):
    documents/source=<source>/year=<year>/part=<n>/data_0.parquet   at most `partition_rows` rows each
    embeddings/data_0.parquet                                       doc_id, model, input_hash, vector
Results of a backfill are files of doc_id, content_hash, input_hash and vector; they are imported only
for documents whose content hash is still the one exported (a document changed meanwhile is embedded again).
"""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pipelines.store import Store

logger = logging.getLogger(__name__)

DOC_COLUMNS = "doc_id, kind, title, text, published_on, language, content_hash"


def sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_dataset(store: Store, out_dir: Path, *, model: str, pending_only: bool = False,
                   partition_rows: int = 5000) -> dict[str, int]:
    """Write documents (all, or only those without a vector for `model`) and, for all, their vectors.

    The dataset is written beside `out_dir` and renamed into place, so `out_dir` is whole or absent.
    """
    partial = out_dir.with_name(f"{out_dir.name}.part")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    pending = ("AND NOT EXISTS (SELECT 1 FROM doc_embeddings e WHERE e.doc_id = d.doc_id AND e.model = ?)"
               if pending_only else "")
    query = (f"SELECT {DOC_COLUMNS}, source, year(published_on) AS year, (row_number() OVER (PARTITION BY "
             f"source, year(published_on) ORDER BY doc_id) - 1) // {int(partition_rows)} AS part "
             f"FROM documents d WHERE published_on IS NOT NULL {pending} ORDER BY doc_id")
    n_docs = store.count(f"({query})", params=[model] if pending_only else None)
    counts = {"documents": n_docs, "embeddings": 0}
    if n_docs:
        store.con.execute(f"COPY ({query}) TO {sql_path(partial / 'documents')} (FORMAT parquet, "
                          "PARTITION_BY (source, year, part), COMPRESSION zstd)", [model] if pending_only else [])
    if not pending_only:
        vectors = ("SELECT d.doc_id, d.model, d.input_hash, e.vector FROM doc_embeddings d JOIN embeddings e "
                   "USING (model, input_hash) WHERE d.model = ? ORDER BY d.doc_id")
        counts["embeddings"] = store.count(f"({vectors})", params=[model])
        (partial / "embeddings").mkdir()
        store.con.execute(f"COPY ({vectors}) TO {sql_path(partial / 'embeddings' / 'data_0.parquet')} "
                          "(FORMAT parquet, COMPRESSION zstd)", [model])
    shutil.rmtree(out_dir, ignore_errors=True)
    partial.rename(out_dir)
    logger.info("dataset: %d documents, %d vectors (%s) in %s", counts["documents"], counts["embeddings"],
                model, out_dir)
    return counts


def document_files(dataset_dir: Path) -> list[Path]:
    """The dataset's document files, one task each."""
    return sorted(f for f in (dataset_dir / "documents").glob("**/*.parquet") if f.is_file())


def import_results(store: Store, results_dir: Path, model: str) -> dict[str, int]:
    """Add computed vectors and their documents' links to the store in one transaction; return the counts."""
    files = sorted(f for f in results_dir.glob("**/*.parquet") if f.is_file())
    if not files:
        return {}
    paths = ", ".join(sql_path(f) for f in files)
    source = f"read_parquet([{paths}], hive_partitioning = false)"
    counts = {}
    with store.transaction() as con:
        con.execute(f"CREATE TEMP TABLE _results AS SELECT r.* FROM {source} r JOIN documents d "
                    "ON d.doc_id = r.doc_id AND d.content_hash = r.content_hash")
        counts["stale"] = store.count(source) - store.count("_results")  # changed since the export: redone later
        before = store.count("embeddings", "model = ?", [model])
        con.execute("INSERT INTO embeddings (model, input_hash, vector, created_at) SELECT ?, input_hash, "
                    "any_value(vector), ? FROM _results r WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
                    "WHERE e.model = ? AND e.input_hash = r.input_hash) GROUP BY input_hash",
                    [model, datetime.now(UTC), model])
        counts["embedded"] = store.count("embeddings", "model = ?", [model]) - before
        before = store.count("doc_embeddings", "model = ?", [model])
        con.execute("INSERT INTO doc_embeddings (doc_id, model, input_hash) SELECT doc_id, ?, any_value(input_hash) "
                    "FROM _results r WHERE NOT EXISTS (SELECT 1 FROM doc_embeddings e "
                    "WHERE e.doc_id = r.doc_id AND e.model = ?) GROUP BY doc_id", [model, model])
        counts["linked"] = store.count("doc_embeddings", "model = ?", [model]) - before
        con.execute("DROP TABLE _results")
    return counts
