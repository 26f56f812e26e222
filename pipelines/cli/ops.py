"""Operations commands: `schedule`, `backup create|list|restore`, `retention`, `export-parquet`, `backfill`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from pipelines.cli.common import open_store, reported_errors, settings_of
from pipelines.errors import TrendscoutError
from pipelines.settings import ops_settings

backup_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Back up the store to Parquet files and restore it.")


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)
    app.command("retention")(retention)
    app.command("export-parquet")(export_parquet)
    app.command("backfill")(backfill)
    app.add_typer(backup_app, name="backup")


def _config_path(ctx: typer.Context) -> Path | None:
    config = ctx.find_root().params.get("config")
    return Path(config).resolve() if config and Path(config).is_file() else None


def schedule(ctx: typer.Context,
             dry_run: bool = typer.Option(False, "--dry-run", help="Print each job's next run and exit.")) -> None:
    """Run the nightly job, the weekly digest and the backup on their crontab lines, until stopped.

    Example: trendscout schedule --dry-run   (the lines are [ops.schedule] nightly, digest, backup)
    """
    from pipelines.ops.schedule import next_runs, run_schedule

    with reported_errors():
        cfg = ops_settings(settings_of(ctx)).schedule
        for name, when in next_runs(cfg, datetime.now(UTC)).items():
            typer.echo(f"{name:<8} {getattr(cfg, name):<16} next {when.isoformat()}")
        if not dry_run:
            run_schedule(cfg, _config_path(ctx))


@backup_app.command("create")
def backup_create(ctx: typer.Context) -> None:
    """Export the whole store to a new folder of Parquet files under [ops] backup_dir."""
    from pipelines.ops.backup import backup_store

    with reported_errors():
        typer.echo(str(backup_store(settings_of(ctx))))


@backup_app.command("list")
def backup_list(ctx: typer.Context) -> None:
    """List complete backups, oldest first, with their document counts."""
    import json

    from pipelines.ops.backup import MANIFEST, list_backups

    for path in list_backups(ops_settings(settings_of(ctx)).backup_dir):
        tables = json.loads((path / MANIFEST).read_text(encoding="utf-8"))["tables"]
        typer.echo(f"{path}  documents={tables.get('documents', 0):,}  embeddings={tables.get('embeddings', 0):,}")


@backup_app.command("restore")
def backup_restore(ctx: typer.Context, path: Path = typer.Argument(..., help="A backup folder."),
                   yes: bool = typer.Option(False, "--yes", help="Replace the store without asking.")) -> None:
    """Replace the store with a backup; the current store file is kept beside it.

    Example: trendscout backup restore data/backups/20261127T050000Z --yes
    """
    from pipelines.ops.backup import restore_store

    with reported_errors():
        settings = settings_of(ctx)
        if not yes and not typer.confirm(f"replace {settings.store_path} with {path}?"):
            raise TrendscoutError("restore cancelled")
        previous = restore_store(settings, path)
    typer.echo(f"restored {settings.store_path} from {path}" + (f"; the previous store is {previous}" if previous
                                                                  else ""))


def retention(ctx: typer.Context) -> None:
    """Delete ingested raw files, old models and old backups as [ops.retention] says (nightly does it too)."""
    from pipelines.ops.lock import StoreLock
    from pipelines.ops.retention import retention as apply_retention

    with reported_errors():
        settings = settings_of(ctx)
        with StoreLock(settings.data_dir, "retention", "retention"), open_store(ctx) as store:
            result = apply_retention(store, settings)
    typer.echo(result.summary())


def export_parquet(ctx: typer.Context,
                   out: Path = typer.Option(None, help="Dataset folder (default: [ops] dataset_dir)."),
                   pending: bool = typer.Option(False, help="Only documents without a vector for the embedder.")
                   ) -> None:
    """Export documents (partitioned by source and year) and their vectors as a Parquet dataset."""
    from pipelines.ops.dataset import export_dataset
    from pipelines.ops.lock import StoreLock
    from pipelines.store import Store

    with reported_errors():
        settings = settings_of(ctx)
        ops = ops_settings(settings)
        with StoreLock(settings.data_dir, "export", "export-parquet"), \
                Store.open(settings.store_path, read_only=True) as store:
            counts = export_dataset(store, out or ops.dataset_dir, model=settings.nlp.embedder,
                                    pending_only=pending, partition_rows=ops.dask.partition_rows)
    typer.echo(f"{counts['documents']:,} documents, {counts['embeddings']:,} vectors in {out or ops.dataset_dir}")


def backfill(ctx: typer.Context,
             workers: int = typer.Option(None, help="LocalCluster worker processes (default: [ops.dask] workers)."),
             scheduler: str = typer.Option(None, help="A running Dask scheduler, e.g. tcp://10.0.0.5:8786."),
             partition_rows: int = typer.Option(None, help="Documents per task (default: [ops.dask] partition_rows)."),
             steps: str = typer.Option("embed", help="Comma-separated steps to run on the workers: embed, enrich.")
             ) -> None:
    """Embed (and enrich) every document lacking it on Dask workers, then import the results (for large backfills).

    Example: trendscout backfill --workers 2 --steps embed,enrich
    """
    from pipelines.ops.cluster import dask_client
    from pipelines.ops.distributed import backfill as run_backfill
    from pipelines.ops.distributed import backfill_steps

    with reported_errors():
        settings = settings_of(ctx)
        cfg = ops_settings(settings).dask
        cfg = cfg.model_copy(update={"scheduler": scheduler}) if scheduler else cfg
        chosen = backfill_steps(steps)
        with dask_client(cfg, workers) as client:
            results = run_backfill(settings, client, partition_rows, chosen)
    for result in results:
        typer.echo(result.summary())
    raise typer.Exit(3 if any(r.status == "failed" for r in results) else 0)
