"""Backfill throughput: the single-machine embed step against `backfill` on a LocalCluster of 1 and 2 workers.

Each configuration embeds the same N real CORDIS projects into a fresh store. Compute throughput counts the
Dask tasks only (workers load the model inside them); the total adds cluster start, export and import.

    .venv/bin/python benchmarks/distributed_backfill.py --n 1000 --embedder all-MiniLM-L6-v2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PROJECTS = REPO.parent / "shared" / "data" / "cordis-horizon-europe" / "projects.parquet"

from pipelines.logs import Bars  # noqa: E402
from pipelines.ops.cluster import dask_client  # noqa: E402
from pipelines.ops.distributed import backfill  # noqa: E402
from pipelines.runs import StepResult  # noqa: E402
from pipelines.settings import DaskSettings, load_settings  # noqa: E402
from pipelines.steps.embed import embed  # noqa: E402
from pipelines.steps.ingest import upsert_documents  # noqa: E402
from pipelines.store import Store  # noqa: E402


def fresh_settings(root: Path, records: list[dict], embedder: str):
    root.mkdir(parents=True)
    config = root / "trendscout.toml"
    config.write_text(f'data_dir = "{root / "data"}"\n[nlp]\nembedder = "{embedder}"\nmax_seq_length = 128\n'
                      "torch_threads = 2\n")
    settings = load_settings(config)
    with Store.open(settings.store_path) as store:
        upsert_documents(store, records, StepResult("ingest"))
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--embedder", default="all-MiniLM-L6-v2")
    parser.add_argument("--partition-rows", type=int, default=100)
    args = parser.parse_args()
    frame = pd.read_parquet(PROJECTS, columns=["id", "title", "text", "ec_signature_date"]).head(args.n)
    records = [{"source": "cordis", "kind": "project", "external_id": str(r.id), "title": r.title, "text": r.text,
                "published_on": r.ec_signature_date} for r in frame.itertuples()]
    with tempfile.TemporaryDirectory() as tmp:
        settings = fresh_settings(Path(tmp) / "single", records, args.embedder)
        started = time.monotonic()
        with Store.open(settings.store_path) as store:
            embed(store, settings.nlp, Bars(enabled=False))
        took = time.monotonic() - started
        print(f"single machine (embed step, 2 torch threads): {args.n / took:6.1f} docs/s, total {took:5.1f}s")
        for workers in (1, 2):
            settings = fresh_settings(Path(tmp) / f"dask{workers}", records, args.embedder)
            started = time.monotonic()
            with dask_client(DaskSettings(workers=workers)) as client:
                _, computed, _ = backfill(settings, client, args.partition_rows)
            took = time.monotonic() - started
            print(f"dask, {workers} worker(s) x 1 thread: {computed.counts['docs_per_s']:6.1f} docs/s compute, "
                  f"total {took:5.1f}s ({computed.counts['files']} files)")


if __name__ == "__main__":
    main()
