"""The embedded store: one DuckDB file, its schema migrated by code, small typed helpers around SQL."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.errors import StoreLocked, TrendscoutError
from pipelines.schema import MIGRATIONS

logger = logging.getLogger(__name__)


def _holder(path: Path, message: str) -> str:
    """Who holds the store: the run lock beside it, else the process DuckDB names."""
    try:
        text = (path.parent / "trendscout.lock").read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    pid = re.search(r"PID (\d+)", message)
    return text or (f"process {pid.group(1)}" if pid else "another process")


class Store:
    """A DuckDB connection with the trendscout schema; use as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None):
        self.con = con
        self.path = path

    @classmethod
    def open(cls, path: Path | str, *, read_only: bool = False) -> Store:
        """Open (and create or migrate) the store at `path`; ':memory:' works for tests."""
        path = Path(path) if str(path) != ":memory:" else None
        if path is not None:
            if read_only and not path.exists():
                raise TrendscoutError(f"no store at {path}; run 'trendscout nightly' first")
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():  # another process has it open: every command answers 75
                raise StoreLocked(f"another process holds the store {path} ({_holder(path, str(exc))}); "
                                  "try again when it has finished") from None
            raise TrendscoutError(f"cannot open the store {path}: {exc}") from exc
        store = cls(con, path)
        if not read_only:
            store.migrate()
        return store

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # schema ------------------------------------------------------------------------------
    def migrate(self) -> None:
        self.con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                         " applied_at TIMESTAMP DEFAULT current_timestamp)")
        done = {row[0] for row in self.con.execute("SELECT version FROM schema_migrations").fetchall()}
        for version, sql in sorted(MIGRATIONS.items()):
            if version in done:
                continue
            with self.transaction():
                self.con.execute(sql)
                self.con.execute("INSERT INTO schema_migrations (version) VALUES (?)", [version])
            logger.info("store: applied migration %d", version)

    # transactions and queries --------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self.con.execute(sql, params or []).fetchall()  # fetch all: DuckDB 2 wants results finished
        return rows[0][0] if rows else None

    def count(self, table: str, where: str = "", params: list[Any] | None = None) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table} {'WHERE ' + where if where else ''}", params))

    @contextmanager
    def registered(self, name: str, frame: pd.DataFrame | pa.Table) -> Iterator[str]:
        """Make `frame` queryable as the view `name` for the duration of the block."""
        self.con.register(name, frame)
        try:
            yield name
        finally:
            self.con.unregister(name)

    def insert_frame(self, table: str, frame: pd.DataFrame | pa.Table) -> None:
        """Insert the columns of `frame` (by name) into `table`."""
        if len(frame) == 0:
            return
        cols = ", ".join(frame.column_names if isinstance(frame, pa.Table) else frame.columns)
        with self.registered("_frame", frame):
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _frame")

    def delete_keys(self, table: str, column: str, keys: list[str]) -> None:
        if keys:
            with self.registered("_keys", pd.DataFrame({"k": keys})):
                self.con.execute(f"DELETE FROM {table} WHERE {column} IN (SELECT k FROM _keys)")

    def texts(self, doc_ids: list[str]) -> list[str]:
        """Title and text of each document, in the order of `doc_ids` (what topic models and terms read)."""
        with self.registered("_ids", pd.DataFrame({"doc_id": list(doc_ids)})):
            frame = self.df("SELECT doc_id, coalesce(title, '') || '. ' || coalesce(text, '') AS t "
                            "FROM documents JOIN _ids USING (doc_id)").set_index("doc_id")
        return frame.loc[list(doc_ids), "t"].tolist()

    # vectors -------------------------------------------------------------------------------
    def vectors(self, model: str, doc_ids: list[str] | None = None,
                where: str = "", params: list[Any] | None = None) -> tuple[list[str], np.ndarray]:
        """Return (doc_ids, float32 matrix) of the documents' vectors for `model`, ordered by doc_id."""
        sql = ("SELECT d.doc_id, e.vector FROM doc_embeddings d JOIN embeddings e "
               "ON e.model = d.model AND e.input_hash = d.input_hash "
               "JOIN documents doc ON doc.doc_id = d.doc_id WHERE d.model = ?")
        args: list[Any] = [model]
        if doc_ids is not None:
            sql += " AND d.doc_id IN (SELECT k FROM _ids)"
        if where:
            sql += f" AND ({where})"
            args += params or []
        with self.registered("_ids", pd.DataFrame({"k": doc_ids if doc_ids is not None else []})):
            table = self.con.sql(sql + " ORDER BY d.doc_id", params=args).to_arrow_table()
        ids = table.column("doc_id").to_pylist()
        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return ids, flat.astype(np.float32, copy=False).reshape(len(ids), -1)
