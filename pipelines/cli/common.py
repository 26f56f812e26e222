"""Shared helpers of the CLI modules: settings, store and progress from the Typer context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from pipelines.errors import TrendscoutError
from pipelines.logs import Bars
from pipelines.settings import Settings
from pipelines.store import Store


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn a TrendscoutError into one line on stderr and its exit code."""
    try:
        yield
    except TrendscoutError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def settings_of(ctx: typer.Context) -> Settings:
    return ctx.obj["settings"]


def bars_of(ctx: typer.Context) -> Bars:
    return Bars(enabled=False) if ctx.obj["quiet"] else Bars()


def open_store(ctx: typer.Context) -> Store:
    return Store.open(settings_of(ctx).store_path)
