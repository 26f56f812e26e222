"""Backups: the whole store as Parquet files (DuckDB `EXPORT DATABASE`), restored with `IMPORT DATABASE`.

A backup is a folder `<backup_dir>/<UTC stamp>/` with DuckDB's schema.sql and load.sql, one Parquet file
per table and a manifest.json of row counts. It is written as `<stamp>.part` and renamed when complete,
so a folder without `.part` is a whole backup. Both directions hold the store lock: no run writes meanwhile.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import duckdb

from pipelines.errors import TrendscoutError
from pipelines.ops.lock import StoreLock
from pipelines.runs import new_run_id
from pipelines.settings import Settings, ops_settings
from pipelines.store import Store

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per base table of the main schema."""
    names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                       "'main' AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()]
    return {name: con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] for name in names}


def list_backups(backup_dir: Path) -> list[Path]:
    """Complete backups (folders with a manifest), oldest first."""
    return sorted(p.parent for p in backup_dir.glob(f"*/{MANIFEST}") if not p.parent.name.endswith(".part"))


def backup_store(settings: Settings) -> Path:
    """Export the store to a new backup folder and return it."""
    stamp = new_run_id()
    target = ops_settings(settings).backup_dir / stamp
    partial = target.with_name(f"{stamp}.part")
    target.parent.mkdir(parents=True, exist_ok=True)
    with StoreLock(settings.data_dir, stamp, "backup"), Store.open(settings.store_path, read_only=True) as store:
        shutil.rmtree(partial, ignore_errors=True)
        store.con.execute(f"EXPORT DATABASE {_sql_path(partial)} (FORMAT parquet, COMPRESSION zstd)")
        manifest = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), "store": str(store.path),
                    "trendscout": metadata.version("trendscout"), "duckdb": duckdb.__version__,
                    "migrations": sorted(r[0] for r in store.con.execute(
                        "SELECT version FROM schema_migrations").fetchall()),
                    "tables": table_counts(store.con)}
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    partial.rename(target)
    logger.info("backup: %s (%d tables, %d documents)", target, len(manifest["tables"]),
                manifest["tables"].get("documents", 0))
    return target


def restore_store(settings: Settings, backup: Path) -> Path | None:
    """Replace the store with `backup`; return where the previous store file was moved (None if none).

    The backup is imported into a new file and its row counts checked against the manifest before the
    swap, so a failed restore leaves the store as it was. Migrations newer than the backup are applied.
    """
    manifest_path = backup / MANIFEST
    if not manifest_path.is_file():
        raise TrendscoutError(f"{backup} is not a complete backup (no {MANIFEST}); see 'trendscout backup list'")
    expected = json.loads(manifest_path.read_text(encoding="utf-8"))["tables"]
    store_path = settings.store_path
    fresh = store_path.with_name(f"{store_path.name}.restoring")
    stamp = new_run_id()
    with StoreLock(settings.data_dir, stamp, "restore"):
        for leftover in (fresh, fresh.with_name(f"{fresh.name}.wal")):
            leftover.unlink(missing_ok=True)
        con = duckdb.connect(str(fresh))
        try:
            con.execute(f"IMPORT DATABASE {_sql_path(backup)}")
            found = table_counts(con)
        finally:
            con.close()
        wrong = {t: (n, found.get(t)) for t, n in expected.items() if found.get(t) != n}
        if wrong:
            fresh.unlink()
            raise TrendscoutError(f"restore from {backup} stopped: row counts differ (expected, found): {wrong}")
        previous = None
        if store_path.exists():
            previous = store_path.with_name(f"{store_path.name}.before-restore-{stamp}")
            store_path.rename(previous)
            wal = store_path.with_name(f"{store_path.name}.wal")
            if wal.exists():
                wal.rename(previous.with_name(f"{previous.name}.wal"))
        fresh.rename(store_path)
        Store.open(store_path).close()  # apply migrations newer than the backup
    logger.info("restore: %s from %s (previous store kept as %s)", store_path, backup, previous)
    return previous
