"""Dask plumbing shared by the backfills: a client of the configured cluster, one task per dataset file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.ops.dataset import document_files
from pipelines.runs import StepResult
from pipelines.settings import DaskSettings


@contextmanager
def dask_client(cfg: DaskSettings, workers: int | None = None) -> Iterator:
    """A Client of the configured scheduler, or of a LocalCluster with `workers` single-threaded processes."""
    from distributed import Client, LocalCluster

    if cfg.scheduler:
        with Client(cfg.scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers or cfg.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        yield client


def compute(client, dataset_dir: Path, results_dir: Path, task: Callable[..., dict[str, int]], *args) -> StepResult:
    """Run `task(src, dst, *args)` once per dataset file on the cluster; `dst` mirrors `src` under `results_dir`."""
    from distributed import as_completed

    result = StepResult("compute")
    files = document_files(dataset_dir)
    root = dataset_dir / "documents"
    futures = [client.submit(task, str(f), str(results_dir / f.relative_to(root)), *args,
                             key=f"{task.__name__}-{i}-{f.relative_to(root)}", pure=False)
               for i, f in enumerate(files)]
    started = time.monotonic()
    for future in as_completed(futures):
        result.count(files=1, **future.result())
    took = time.monotonic() - started
    result.count(workers=len(client.scheduler_info()["workers"]),
                 docs_per_s=round(result.counts["documents"] / took) if took else 0)
    return result
