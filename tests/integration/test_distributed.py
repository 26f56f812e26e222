"""Backfills on a Dask LocalCluster (2 worker processes, 1 thread each) give the single-machine embed step's vectors."""

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

from pipelines.logs import Bars
from pipelines.ops.cluster import dask_client
from pipelines.ops.dataset import document_files, export_dataset, import_results
from pipelines.ops.distributed import backfill, process_file
from pipelines.runs import StepResult
from pipelines.settings import DaskSettings, load_settings
from pipelines.steps.embed import embed
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from tests.conftest import SHARED_DATA, write_config

pytestmark = pytest.mark.integration
PROJECTS = SHARED_DATA / "cordis-horizon-europe" / "projects.parquet"


@pytest.fixture(scope="module")
def projects():
    if not PROJECTS.exists():
        pytest.skip(f"shared CORDIS projects not found at {PROJECTS}")
    frame = pd.read_parquet(PROJECTS, columns=["id", "title", "text", "ec_signature_date"]).head(400)
    return [{"source": ("cordis", "news")[i % 2], "kind": "project", "external_id": str(r.id), "title": r.title,
             "text": r.text, "published_on": r.ec_signature_date} for i, r in enumerate(frame.itertuples())]


@pytest.fixture(scope="module")
def client():
    with dask_client(DaskSettings(workers=2)) as client:
        yield client


def settings_with(tmp_path, records, **nlp):
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = load_settings(write_config(tmp_path, nlp=nlp))
    with Store.open(settings.store_path) as store:
        upsert_documents(store, records, StepResult("ingest"))
    return settings


def vectors(settings) -> tuple[list[str], np.ndarray, pd.DataFrame]:
    with Store.open(settings.store_path, read_only=True) as store:
        ids, matrix = store.vectors(settings.nlp.embedder)
        return ids, matrix, store.df("SELECT * FROM doc_embeddings ORDER BY doc_id")


@pytest.mark.parametrize(("n_docs", "nlp", "atol"), [(400, {"embedder": "hashing"}, 0),
                                                     (50, {"embedder": "all-MiniLM-L6-v2", "max_seq_length": 128},
                                                      1e-5)], ids=["hashing", "minilm"])
def test_backfill_on_two_workers_gives_the_single_machine_vectors(projects, client, tmp_path, n_docs, nlp, atol):
    single = settings_with(tmp_path / "single", projects[:n_docs], **nlp)
    with Store.open(single.store_path) as store:
        embed(store, single.nlp, Bars(enabled=False))
    distributed = settings_with(tmp_path / "distributed", projects[:n_docs], **nlp)
    exported, computed, imported = backfill(distributed, client)
    assert computed.counts["workers"] == 2 and computed.counts["files"] > 2  # source x year partitions
    assert exported.counts["documents"] == imported.counts["linked"] == n_docs
    (ids, expected, links), (got_ids, got, got_links) = vectors(single), vectors(distributed)
    assert got_ids == ids and got_links.equals(links)
    np.testing.assert_allclose(got, expected, atol=atol, rtol=0)
    again = backfill(distributed, client)
    assert again[0].counts == {} and again[2].counts == {}  # nothing left to embed
    with Store.open(distributed.store_path, read_only=True) as store:
        steps = store.df("SELECT s.step, s.status FROM run_steps s JOIN runs r USING (run_id) "
                         "WHERE r.command = 'backfill'")
    assert steps["status"].eq("ok").all() and set(steps["step"]) == {"export", "compute", "import"}


def test_export_is_partitioned_by_source_and_year_and_readable_as_a_dataset(projects, tmp_path):
    settings = settings_with(tmp_path, projects[:100], embedder="hashing")
    with Store.open(settings.store_path) as store:
        embed(store, settings.nlp, Bars(enabled=False))
        counts = export_dataset(store, tmp_path / "dataset", model="hashing", partition_rows=10)
        years = store.df("SELECT DISTINCT source, year(published_on) AS y FROM documents")
    assert counts == {"documents": 100, "embeddings": 100}
    docs = ds.dataset(tmp_path / "dataset" / "documents", partitioning="hive").to_table().to_pandas()
    assert len(docs) == 100 and set(zip(docs["source"], docs["year"], strict=True)) == set(map(tuple, years.values))
    assert all(f.parent.parent.name.startswith("year=") for f in document_files(tmp_path / "dataset"))
    assert len(document_files(tmp_path / "dataset")) >= 10  # no file over partition_rows
    vecs = pd.read_parquet(tmp_path / "dataset" / "embeddings")
    assert len(vecs) == 100 and len(vecs["vector"].iloc[0]) == 256


def test_import_skips_documents_changed_since_the_export(projects, tmp_path):
    settings = settings_with(tmp_path, projects[:20], embedder="hashing")
    with Store.open(settings.store_path) as store:
        export_dataset(store, tmp_path / "dataset", model="hashing", pending_only=True)
        for i, src in enumerate(document_files(tmp_path / "dataset")):
            process_file(str(src), str(tmp_path / "results" / f"{i}.parquet"), settings.nlp.model_dump_json())
        upsert_documents(store, [projects[0] | {"text": "rewritten after the export"}], StepResult("ingest"))
        counts = import_results(store, tmp_path / "results", "hashing")
        assert counts == {"stale": 1, "embedded": 19, "linked": 19}
        assert embed(store, settings.nlp, Bars(enabled=False)).counts == {"embedded": 1}  # the nightly redoes it
