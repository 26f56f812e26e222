import json
import shutil

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from nlp.embed import HashingEmbedder
from pipelines.cli import main
from pipelines.cli import ops as cli_ops
from pipelines.errors import StoreLocked, TrendscoutError
from pipelines.logs import Bars
from pipelines.ops.backup import MANIFEST, backup_store, list_backups, restore_store
from pipelines.ops.lock import StoreLock
from pipelines.runs import RunRecorder, StepResult
from pipelines.settings import load_settings
from pipelines.steps.embed import embed
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from tests.conftest import write_config


def doc(i: int) -> dict:
    return {"source": "news", "kind": "news", "external_id": str(i), "title": f"Hydrogen valley {i}",
            "text": f"Electrolysers, 'quoted' text and a comma, {i}", "published_on": "2026-03-01",
            "codes": {"sector": ["energy"]}, "organisations": [{"name": "Org", "nuts_code": "BE21"}]}


@pytest.fixture
def settings(tmp_path):
    settings = load_settings(write_config(tmp_path, nlp={"embedder": "hashing"}))
    with Store.open(settings.store_path) as store:
        upsert_documents(store, [doc(i) for i in range(20)], StepResult("ingest"))
        embed(store, settings.nlp, Bars(enabled=False), embedder=HashingEmbedder(64))
        RunRecorder(store, "nightly", "20261127T030000Z").finish()
    return settings


def snapshot(settings) -> dict:
    with Store.open(settings.store_path, read_only=True) as store:
        ids, vectors = store.vectors("hashing")
        return {"documents": store.df("SELECT * FROM documents ORDER BY doc_id"), "ids": ids, "vectors": vectors,
                "runs": store.df("SELECT * FROM runs"), "orgs": store.df("SELECT * FROM document_organisations")}


def test_backup_then_restore_gives_back_every_row(settings):
    before = snapshot(settings)
    backup = backup_store(settings)
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["tables"]["documents"] == 20 and manifest["tables"]["embeddings"] == 20
    assert (backup / "documents.parquet").exists() and list_backups(backup.parent) == [backup]
    with Store.open(settings.store_path) as store:  # damage after the backup
        store.con.execute("DELETE FROM embeddings")
        store.con.execute("UPDATE documents SET title = 'lost'")
    previous = restore_store(settings, backup)
    after = snapshot(settings)
    assert before["documents"].equals(after["documents"]) and before["orgs"].equals(after["orgs"])
    assert after["ids"] == before["ids"] and np.array_equal(after["vectors"], before["vectors"])
    assert before["runs"].equals(after["runs"])
    with Store.open(previous, read_only=True) as old:  # the store that was replaced is kept
        assert old.count("embeddings") == 0


def test_restore_rejects_an_unfinished_backup_and_leaves_the_store(settings):
    backup = backup_store(settings)
    partial = backup.with_name(backup.name + ".part")
    shutil.copytree(backup, partial)
    (partial / MANIFEST).unlink()
    with pytest.raises(TrendscoutError, match="not a complete backup"):
        restore_store(settings, partial)
    assert list_backups(backup.parent) == [backup]


def test_restore_stops_when_row_counts_differ_from_the_manifest(settings):
    backup = backup_store(settings)
    manifest = json.loads((backup / MANIFEST).read_text())
    manifest["tables"]["documents"] = 21
    (backup / MANIFEST).write_text(json.dumps(manifest))
    with Store.open(settings.store_path) as store:
        store.con.execute("DELETE FROM documents WHERE doc_id = 'news:0'")
    with pytest.raises(TrendscoutError, match="row counts differ"):
        restore_store(settings, backup)
    assert snapshot(settings)["documents"].shape[0] == 19  # untouched
    assert not list(settings.data_dir.glob("*.restoring"))


def test_backup_refuses_while_a_run_holds_the_store(settings):
    with StoreLock(settings.data_dir, "20261127T030000Z"), pytest.raises(StoreLocked, match="20261127T030000Z"):
        backup_store(settings)


def ops_app() -> typer.Typer:
    """The main CLI's options with the operations commands, as `cli_ops.register(app)` adds them."""
    app = typer.Typer()
    app.callback()(main)
    cli_ops.register(app)
    return app


def test_backup_create_list_restore_and_retention_commands(settings, tmp_path):
    config, runner, app = str(tmp_path / "trendscout.toml"), CliRunner(), ops_app()
    created = runner.invoke(app, ["--config", config, "backup", "create"])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["--config", config, "backup", "list"])
    assert created.stdout.strip() in listed.stdout and "documents=20" in listed.stdout
    restored = runner.invoke(app, ["--config", config, "backup", "restore", created.stdout.strip(), "--yes"])
    assert restored.exit_code == 0 and "previous store" in restored.stdout
    kept = runner.invoke(app, ["--config", config, "retention"])
    assert kept.exit_code == 0 and "retention: ok" in kept.stdout
