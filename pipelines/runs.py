"""Run records: each run's steps with counts, skipped items by reason, errors and timings."""

from __future__ import annotations

import json
import logging
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata

from pipelines.store import Store

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_STEP_FAILED = 3


def new_run_id(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class StepResult:
    """What one step did: counts, skipped items by reason, errors; `failed` when the step died."""

    step: str
    counts: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | failed | skipped
    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    duration_s: float = 0.0

    def count(self, **counts: int) -> None:
        self.counts.update({k: v for k, v in counts.items() if v})

    def skip(self, reason: str, n: int = 1) -> None:
        if n:
            self.skipped[reason] += n

    def error(self, message: str) -> None:
        self.errors.append(message)

    def summary(self) -> str:
        parts = [f"{v:,} {k}" for k, v in self.counts.items()]
        parts += [f"{sum(self.skipped.values()):,} skipped"] if self.skipped else []
        parts += [f"{len(self.errors)} errors"] if self.errors else []
        return f"{self.step}: {self.status}, {', '.join(parts) or 'nothing to do'} in {self.duration_s:.1f}s"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("trendscout", "scrapy", "duckdb", "bertopic", "sentence-transformers", "torch"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


class RunRecorder:
    """Write a run and its steps to the `runs` and `run_steps` tables as they happen."""

    def __init__(self, store: Store, command: str, run_id: str | None = None):
        self.store, self.command = store, command
        self.run_id = run_id or new_run_id()
        self.results: list[StepResult] = []
        with store.transaction() as con:  # callers hold the store lock: a run still 'running' was killed
            con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            con.execute("DELETE FROM runs WHERE run_id = ?", [self.run_id])
            con.execute("INSERT INTO runs (run_id, command, started_at, status, versions) "
                        "VALUES (?, ?, ?, 'running', ?)",
                        [self.run_id, command, datetime.now(UTC), json.dumps(versions())])

    def record(self, result: StepResult) -> StepResult:
        result.duration_s = round(time.monotonic() - result.started, 3)
        self.results.append(result)
        log = logger.warning if result.status == "failed" else logger.info
        log("%s", result.summary())
        with self.store.transaction() as con:
            con.execute("DELETE FROM run_steps WHERE run_id = ? AND step = ?", [self.run_id, result.step])
            con.execute("INSERT INTO run_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                self.run_id, result.step, result.started_at, datetime.now(UTC), result.status,
                result.duration_s, json.dumps(dict(result.counts)), json.dumps(dict(result.skipped)),
                json.dumps(result.errors[:200])])
        return result

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)

    def finish(self) -> int:
        code = EXIT_OK if self.ok else EXIT_STEP_FAILED
        with self.store.transaction() as con:
            con.execute("UPDATE runs SET finished_at = ?, status = ?, exit_code = ? WHERE run_id = ?",
                        [datetime.now(UTC), "ok" if self.ok else "failed", code, self.run_id])
        return code
