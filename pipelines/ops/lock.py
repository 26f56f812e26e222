"""One run at a time: an advisory lock file beside the store.

The lock is an OS-level `flock`, so it disappears with the process that held it: a run killed with
SIGKILL leaves a stale file whose lock any new run can take at once. The file tells who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from pipelines.errors import StoreLocked


class StoreLock:
    """`with StoreLock(data_dir, run_id):` holds the lock or raises StoreLocked naming the holder."""

    def __init__(self, data_dir: Path, run_id: str, command: str = "nightly"):
        self.path = data_dir / "trendscout.lock"
        self.run_id, self.command = run_id, command
        self.handle = None

    def __enter__(self) -> StoreLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            handle.close()
            raise StoreLocked(f"another run holds {self.path}: {holder}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "run_id": self.run_id, "command": self.command,
                                 "since": datetime.now(UTC).isoformat(timespec="seconds")}))
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.seek(0)
            self.handle.truncate()
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _holder(handle, wait_s: float = 1.0) -> str:
    """Who holds the lock, as written in the file; the holder writes it just after taking the lock."""
    deadline = time.monotonic() + wait_s
    while True:
        handle.seek(0)
        text = handle.read().strip()
        if text or time.monotonic() >= deadline:
            return text or "unknown"
        time.sleep(0.02)
