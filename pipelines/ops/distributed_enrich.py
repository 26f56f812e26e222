"""Enrichment of large backfills on Dask: per-document parts on the workers, global parts on the client.

The embedded documents without features are exported as a Parquet dataset (with their organisations as
JSON). One task per file computes `pipelines.steps.enrich.document_parts` (language, MinHash signature, region
tags) with the region tagger, and so the place registry, broadcast to every worker. The client then runs
the enrich step's global part over the same batches in the same order (`combine_batch`: near-duplicate
groups against all signatures, sectors fitted and predicted on the stored vectors) and writes
doc_features, doc_regions and doc_sectors in one transaction: the rows a single-machine `enrich` writes.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nlp.regions import RegionTagger
from pipelines.ops.cluster import compute
from pipelines.ops.dataset import sql_path
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.steps.enrich import (
    ORG_COLUMNS,
    batches,
    build_tagger,
    combine_batch,
    count_frames,
    document_parts,
    fit_sector_classifier,
    index_terms,
    pending,
    seen_signatures,
    write_frames,
)
from pipelines.store import Store

logger = logging.getLogger(__name__)

_ORGS = ("(SELECT to_json(list({" + ", ".join(f"'{c}': o.{c}" for c in ORG_COLUMNS) + "} ORDER BY o.position)) "
         "FROM document_organisations o WHERE o.doc_id = d.doc_id)")


def export_pending(store: Store, out_dir: Path, model: str, partition_rows: int) -> int:
    """Write the documents `enrich` would do (embedded, no features) partitioned by source and year; their count."""
    query = (f"SELECT d.doc_id, d.title, d.text, d.language, {_ORGS} AS organisations, d.source, "
             "coalesce(year(d.published_on), 0) AS year, (row_number() OVER (PARTITION BY d.source, "
             f"year(d.published_on) ORDER BY d.doc_id) - 1) // {int(partition_rows)} AS part FROM documents d "
             "WHERE NOT EXISTS (SELECT 1 FROM doc_features f WHERE f.doc_id = d.doc_id) AND EXISTS "
             "(SELECT 1 FROM doc_embeddings e WHERE e.doc_id = d.doc_id AND e.model = ?) ORDER BY d.doc_id")
    n_docs = store.count(f"({query})", params=[model])
    shutil.rmtree(out_dir, ignore_errors=True)
    if n_docs:
        out_dir.mkdir(parents=True)
        store.con.execute(f"COPY ({query}) TO {sql_path(out_dir / 'documents')} (FORMAT parquet, "
                          "PARTITION_BY (source, year, part), COMPRESSION zstd)", [model])
    return n_docs


def tag_file(src: str, dst: str, tagger: RegionTagger) -> dict[str, int]:
    """Worker task: the per-document parts of one dataset file -> doc_id, language, signature, tags (JSON)."""
    out_path = Path(dst)
    if out_path.exists():  # done by an earlier attempt of this task
        return {"files_reused": 1}
    table = pq.read_table(src, columns=["doc_id", "title", "text", "language", "organisations"])
    batch = pd.DataFrame({name: table[name].to_pylist() for name in ("doc_id", "title", "text", "language")})
    orgs = {doc_id: json.loads(found) for doc_id, found in zip(batch["doc_id"], table["organisations"].to_pylist(),
                                                                 strict=True) if found}
    parts = document_parts(batch, orgs, tagger)
    result = pa.table({"doc_id": pa.array(parts["doc_id"].tolist(), pa.string()),
                       "language": pa.array(parts["language"], pa.string(), from_pandas=True),  # NaN: none
                       "signature": pa.array([np.asarray(s, np.uint64) for s in parts["signature"]],
                                             pa.list_(pa.uint64())),
                       "tags": pa.array([json.dumps(t) for t in parts["tags"]], pa.string())})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".part")
    pq.write_table(result, partial, compression="zstd")
    partial.rename(out_path)
    return {"documents": len(parts)}


def read_parts(results_dir: Path) -> pd.DataFrame:
    """The workers' results as `document_parts` returns them."""
    files = sorted(f for f in results_dir.glob("**/*.parquet") if f.is_file())
    table = pa.concat_tables([pq.read_table(f) for f in files]) if files else None
    if table is None:
        return pd.DataFrame(columns=["doc_id", "language", "signature", "tags"])
    return pd.DataFrame({"doc_id": table["doc_id"].to_pylist(), "language": table["language"].to_pylist(),
                         "signature": [np.asarray(s, np.uint64) for s in table["signature"].to_pylist()],
                         "tags": [json.loads(t) for t in table["tags"].to_pylist()]})


def enrich_on_cluster(store: Store, settings: Settings, client, work: Path, partition_rows: int) -> StepResult:
    """Enrich the embedded documents without features on `client`'s workers; one transaction imports all rows."""
    from nlp.embed import build_embedder

    result = StepResult("enrich")
    result.count(indexed=index_terms(store))  # the search index needs no workers
    n_docs = export_pending(store, work / "dataset", settings.nlp.embedder, partition_rows)
    if not n_docs:
        return result
    tagger = client.scatter(build_tagger(store, settings), broadcast=True, hash=False)
    try:
        computed = compute(client, work / "dataset", work / "results", tag_file, tagger)
    except Exception as exc:  # a lost worker or a bad file: record it, import nothing
        logger.exception("backfill: enrich on the cluster failed")
        result.status = "failed"
        result.error(f"{type(exc).__name__}: {exc}")
        return result
    result.count(**{k: v for k, v in computed.counts.items() if k != "documents"})
    parts = read_parts(work / "results")
    todo = pending(store, settings.nlp.embedder)
    todo = todo[todo["doc_id"].isin(set(parts["doc_id"]))]
    sectors = fit_sector_classifier(store, settings.nlp.embedder, build_embedder(**settings.nlp.embedder_options()))
    seen, frames = seen_signatures(store), []
    for batch in batches(todo):
        features, regions, doc_sectors = combine_batch(store, batch, parts, settings, sectors, seen)
        seen = pd.concat([seen, features[["doc_id", "signature", "canonical_id"]]], ignore_index=True)
        frames.append((features, regions, doc_sectors))
    with store.transaction():
        for features, regions, doc_sectors in frames:
            write_frames(store, features, regions, doc_sectors)
            count_frames(result, features)
    shutil.rmtree(work)
    return result
