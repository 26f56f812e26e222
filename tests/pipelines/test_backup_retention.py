import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from pipelines.ops.backup import MANIFEST
from pipelines.ops.retention import retention
from pipelines.settings import load_settings
from pipelines.store import Store
from tests.conftest import write_config

NOW = datetime(2026, 11, 27, 3, 0)


def age(path, days: float) -> None:
    stamp = (NOW - timedelta(days=days)).replace(tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))


@pytest.fixture
def settings(tmp_path):
    return load_settings(write_config(tmp_path))  # defaults: raw 30 days, part 2, 3 spare models of 90 days, 7 backups


def test_raw_files_go_30_days_after_ingest_and_never_before_ingest(settings):
    raw = settings.raw_dir / "cordis"
    raw.mkdir(parents=True)
    for name in ("old", "recent", "pending"):
        (raw / f"{name}.jsonl").write_text("{}\n")
        age(raw / f"{name}.jsonl", 400)
    with Store.open(settings.store_path) as store:
        for name, days in (("old", 31), ("recent", 29)):
            store.con.execute("INSERT INTO raw_files (path, source, ingested_at) VALUES (?, 'cordis', ?)",
                              [str(raw / f"{name}.jsonl"), NOW - timedelta(days=days)])
        result = retention(store, settings, now=NOW)
        assert sorted(p.name for p in raw.iterdir()) == ["pending.jsonl", "recent.jsonl"]
        assert result.counts["removed_raw"] == 1
        assert store.df("SELECT path, kind FROM removed_files").values.tolist() == [[str(raw / "old.jsonl"), "raw"]]
        assert retention(store, settings, now=NOW).counts == {}  # nothing left to do


def test_part_files_of_killed_crawls_go_after_two_days(settings):
    raw = settings.raw_dir / "cordis"
    raw.mkdir(parents=True)
    for name, days in (("killed", 3), ("running", 0.1)):
        (raw / f"{name}.jsonl.part").write_text("{}\n")
        age(raw / f"{name}.jsonl.part", days)
    with Store.open(settings.store_path) as store:
        assert retention(store, settings, now=NOW).counts["removed_part"] == 1
    assert [p.name for p in raw.iterdir()] == ["running.jsonl.part"]


def test_old_models_go_unless_current_referenced_or_among_the_three_newest_spares(settings):
    topics_dir = settings.models_dir / "topics"
    versions = [f"topics-{i}" for i in range(7)]  # 0 oldest; 6 current; 5 referenced by an assignment
    with Store.open(settings.store_path) as store:
        for i, version in enumerate(versions):
            (topics_dir / version).mkdir(parents=True)
            store.con.execute("INSERT INTO topic_models (version, created_at, path, is_current) VALUES (?, ?, ?, ?)",
                              [version, NOW - timedelta(days=200 - i), str(topics_dir / version), i == 6])
        store.con.execute("INSERT INTO topic_assignments VALUES ('d:1', 3, 'topics-5', 0.9, ?)", [NOW])
        (topics_dir / "topics-killed").mkdir()  # saved by a fit killed before it registered the model
        age(topics_dir / "topics-killed", 3)
        result = retention(store, settings, now=NOW)
    assert sorted(p.name for p in topics_dir.iterdir()) == versions[2:]
    assert result.counts["removed_model"] == 3


def test_only_the_seven_newest_backups_are_kept(settings):
    backups = settings.data_dir / "backups"
    names = [f"2026110{d}T050000Z" for d in range(1, 10)]
    for name in names:
        (backups / name).mkdir(parents=True)
        (backups / name / MANIFEST).write_text(json.dumps({"tables": {}}))
    (backups / "20261110T050000Z.part").mkdir()  # being written: not a backup yet
    with Store.open(settings.store_path) as store:
        assert retention(store, settings, now=NOW).counts["removed_backup"] == 2
    assert sorted(p.name for p in backups.iterdir()) == names[2:] + ["20261110T050000Z.part"]
