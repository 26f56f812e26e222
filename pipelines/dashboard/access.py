"""Store access from the server: a short read-only connection per request, writes retried.

DuckDB lets one process write a file, and while it does no other process can open it, even read-only.
So the server never holds a connection between requests (the nightly job can take the store whenever it
starts), and while the nightly job runs, pages answer "busy" and feedback writes retry, then fail clearly.
One lock serialises the server's own connections: DuckDB refuses a read-only and a read-write connection
to one file inside one process at the same time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pipelines.errors import TrendscoutError
from pipelines.store import Store

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StoreBusy(TrendscoutError):
    """The store cannot be opened now (another process writes it) or does not exist yet."""

    exit_code = 75


class StoreAccess:
    def __init__(self, path: Path, retries: int = 3, wait_s: float = 1.0):
        self.path, self.retries, self.wait_s = path, retries, wait_s
        self._lock = threading.Lock()

    @contextmanager
    def read(self) -> Iterator[Store]:
        """A read-only store for the length of one request."""
        with self._lock:
            try:
                store = Store.open(self.path, read_only=True)
            except TrendscoutError as exc:
                raise StoreBusy(f"the store cannot be read now ({exc}); if the nightly job is running, "
                                "reload when it has finished") from exc
            try:
                yield store
            finally:
                store.close()

    def write(self, work: Callable[[Store], T]) -> T:
        """Run `work` on a writable store, retrying while another process holds it."""
        for attempt in range(1, self.retries + 1):
            with self._lock:
                try:
                    store = Store.open(self.path)
                except TrendscoutError as exc:
                    logger.warning("dashboard: store busy (attempt %d of %d): %s", attempt, self.retries, exc)
                else:
                    with store:
                        return work(store)
            time.sleep(self.wait_s)
        raise StoreBusy("another process (the nightly job?) is writing the store; nothing was saved — "
                        "submit again when it has finished")
