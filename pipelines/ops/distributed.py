"""Large backfills on Dask distributed: embed (and enrich) a Parquet dataset of the store on many workers.

`backfill` exports the documents that lack a vector (`pipelines.ops.dataset`), runs one task per dataset file
on a Dask cluster (a LocalCluster of worker processes, or a running scheduler whose workers see the same
dataset directory), and imports the vectors back. Tasks compute exactly what the embed step computes (same
input text, hash and embedder), so the store ends as a single-machine run would leave it. With the enrich
step, `pipelines.ops.distributed_enrich` then does the same for the enrich step's per-document parts.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.errors import ConfigError
from pipelines.ops.cluster import compute
from pipelines.ops.dataset import export_dataset, import_results
from pipelines.ops.distributed_enrich import enrich_on_cluster
from pipelines.ops.lock import StoreLock
from pipelines.runs import RunRecorder, StepResult, new_run_id
from pipelines.settings import NlpSettings, Settings, ops_settings
from pipelines.store import Store

logger = logging.getLogger(__name__)

STEPS = ("embed", "enrich")


@lru_cache(maxsize=2)
def _embedder(nlp_json: str):
    from nlp.embed import build_embedder

    return build_embedder(**NlpSettings.model_validate_json(nlp_json).embedder_options())


def process_file(src: str, dst: str, nlp_json: str) -> dict[str, int]:
    """Worker task: embed one dataset file; write doc_id, content_hash, input_hash and vector to `dst`."""
    from nlp.embed import embedding_input, input_hash

    out_path = Path(dst)
    if out_path.exists():  # done by an earlier attempt of this backfill
        return {"files_reused": 1}
    docs = pq.read_table(src, columns=["doc_id", "content_hash", "title", "text"]).to_pandas()
    nlp = NlpSettings.model_validate_json(nlp_json)
    inputs = [embedding_input(t, x, nlp.embed_chars) for t, x in zip(docs["title"], docs["text"], strict=True)]
    hashes = [input_hash(i) for i in inputs]
    unique = dict(zip(hashes, inputs, strict=True))
    vectors = _embedder(nlp_json).encode(list(unique.values())) if unique else []
    by_hash = dict(zip(unique, vectors, strict=True))
    table = pa.table({"doc_id": pa.array(docs["doc_id"]), "content_hash": pa.array(docs["content_hash"]),
                      "input_hash": pa.array(hashes),
                      "vector": pa.array([by_hash[h] for h in hashes], type=pa.list_(pa.float32()))})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".part")
    pq.write_table(table, partial, compression="zstd")
    partial.rename(out_path)
    return {"documents": len(docs), "embedded": len(unique)}


def backfill_steps(text: str) -> list[str]:
    """Parse "embed,enrich" into steps, in the order they run."""
    steps = {s.strip() for s in text.split(",") if s.strip()}
    if not steps or steps - set(STEPS):
        raise ConfigError(f"unknown backfill steps {text!r}; use one or more of {', '.join(STEPS)}")
    return [s for s in STEPS if s in steps]


def backfill(settings: Settings, client, partition_rows: int | None = None,
             steps: Sequence[str] = ("embed",)) -> list[StepResult]:
    """Run the `steps` (embed, enrich) of the documents that need them on `client`'s workers; one run.

    The store lock is held throughout, so a nightly run started meanwhile exits 75 and runs next time.
    Enrich is skipped when embedding failed.
    """
    steps = backfill_steps(",".join(steps))
    ops, run_id = ops_settings(settings), new_run_id()
    work = settings.data_dir / "backfill"
    rows = partition_rows or ops.dask.partition_rows
    with StoreLock(settings.data_dir, run_id, "backfill"), Store.open(settings.store_path) as store:
        run = RunRecorder(store, "backfill", run_id)
        shutil.rmtree(work, ignore_errors=True)  # a killed backfill's files; we hold the lock
        if "embed" in steps:
            _embed(run, store, settings, client, work, rows)
        if "enrich" in steps:
            failed = any(r.status == "failed" for r in run.results)
            run.record(StepResult("enrich", status="skipped") if failed
                       else enrich_on_cluster(store, settings, client, work / "enrich", rows))
        run.finish()
    return run.results


def _embed(run: RunRecorder, store: Store, settings: Settings, client, work: Path, partition_rows: int) -> None:
    """Export the documents without a vector, embed them on the workers, import the vectors: three steps."""
    model = settings.nlp.embedder
    # one thread per task: a worker process is already one of the machine's cores
    nlp = settings.nlp.model_copy(update={"torch_threads": 1})
    exported = StepResult("export")
    exported.count(**export_dataset(store, work / "dataset", model=model, pending_only=True,
                                    partition_rows=partition_rows))
    run.record(exported)
    try:
        computed = compute(client, work / "dataset", work / "results", process_file, nlp.model_dump_json())
    except Exception as exc:  # a lost worker or a bad file: record it, import nothing
        logger.exception("backfill: compute failed")
        computed = StepResult("compute", status="failed")
        computed.error(f"{type(exc).__name__}: {exc}")
    run.record(computed)
    imported = StepResult("import", status="skipped" if computed.status == "failed" else "ok")
    if imported.status == "ok":
        imported.count(**import_results(store, work / "results", model))
        shutil.rmtree(work / "dataset")
        shutil.rmtree(work / "results", ignore_errors=True)
    run.record(imported)
