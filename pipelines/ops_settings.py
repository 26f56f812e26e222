"""Operations settings: when jobs run, what is kept how long, where backups and datasets go, Dask sizing.

They live under `[ops]` in trendscout.toml (`TRENDSCOUT_OPS__SCHEDULE__NIGHTLY="30 2 * * *"`).
Relative paths are relative to the data directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:  # pipelines.settings imports OpsSettings from here
    from pipelines.settings import Settings


class ScheduleSettings(BaseModel):
    nightly: str = "0 3 * * *"  # crontab: minute hour day month weekday
    digest: str = "0 7 * * 1"  # weekly digest, after the Monday nightly run
    backup: str = "0 5 * * *"  # "" disables a job
    timezone: str = "UTC"
    misfire_grace_s: int = 3600  # a job missed by less than this (machine asleep, busy) still runs
    job_timeout_s: int = 6 * 3600  # a job running longer is killed and logged as failed


class RetentionSettings(BaseModel):
    raw_days: int = 30  # raw feed files are deleted this many days after they were ingested; 0 = keep
    part_days: int = 2  # `.part` files of killed crawls older than this are deleted
    keep_models: int = 3  # old topic model folders kept besides the current and the ones still referenced
    model_days: int = 90  # ... and older than this are deleted; 0 = keep every model
    keep_backups: int = 7  # newest backups kept in `backup_dir`; 0 = keep every backup


class DaskSettings(BaseModel):
    scheduler: str = ""  # tcp://host:8786 of a running cluster; "" = a LocalCluster on this machine
    workers: int = 2  # LocalCluster worker processes, one thread each
    partition_rows: int = 1000  # documents per dataset file and task: a few tasks per worker balance the load


class OpsSettings(BaseModel):
    schedule: ScheduleSettings = ScheduleSettings()
    retention: RetentionSettings = RetentionSettings()
    dask: DaskSettings = DaskSettings()
    backup_dir: Path = Path("backups")
    dataset_dir: Path = Path("dataset")


def ops_settings(settings: Settings) -> OpsSettings:
    """The `[ops]` settings, with backup and dataset directories made absolute under `data_dir`."""
    ops = settings.ops
    return ops.model_copy(update={"backup_dir": settings.data_dir / ops.backup_dir,
                                  "dataset_dir": settings.data_dir / ops.dataset_dir})
