"""Logging and progress: one rich Console shared by log lines and progress bars."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
console = Console(stderr=True)


def configure_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    """Log to stderr: INFO by default, DEBUG with --verbose, WARNING with --quiet."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_path=False, rich_tracebacks=True)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    quiet_below = logging.DEBUG if verbose else logging.ERROR  # third-party banners and warnings: --verbose only
    if not verbose:  # transformers configures its own logger on import: its "LOAD REPORT" and bars stay off
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    logging.captureWarnings(True)
    for noisy in ("py.warnings", "numba", "sentence_transformers", "transformers", "urllib3",
                  "httpx", "huggingface_hub", "filelock", "tldextract"):
        logging.getLogger(noisy).setLevel(quiet_below)
    logging.getLogger("pipelines.store").setLevel(logging.DEBUG if verbose else logging.WARNING)  # migrations
    logging.getLogger("scrapy").setLevel(max(level, logging.INFO))
    logging.getLogger("BERTopic").setLevel(logging.ERROR)  # it warns about saving without an embedder


class Bars:
    """Progress bars on the shared console; silent when quiet or when stderr is not a terminal."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = console.is_terminal if enabled is None else enabled

    def track(self, items: Iterable[T], *, total: int | None = None, description: str = "",
              weight: Callable[[T], int] = lambda _: 1) -> Iterator[T]:
        """Yield `items`, advancing the bar by `weight(item)` (e.g. the size of a batch)."""
        if not self.enabled:
            yield from items
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(description, total=total)
            for item in items:
                yield item
                progress.advance(task, weight(item))
