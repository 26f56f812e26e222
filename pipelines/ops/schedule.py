"""Scheduled jobs: the nightly run, the weekly digest and the backup, each on a crontab line.

APScheduler fires each job on its `CronTrigger`; a job runs the `trendscout` command in a child process,
so every run gets a fresh Scrapy reactor, fresh memory and the CLI's exit codes. One worker thread: the
scheduler's jobs never overlap, and the store lock keeps out runs started elsewhere (exit 75 is logged
as a skipped job). A child runs in its own process group, so a timeout kills the crawler under it too.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from pipelines.errors import ConfigError
from pipelines.settings import ScheduleSettings

logger = logging.getLogger(__name__)

EXIT_LOCKED = 75
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
JOB_ARGS = {"nightly": ["nightly", "--no-digest"], "digest": ["digest"], "backup": ["backup", "create"]}


def crontab_weekdays(field: str) -> str:
    """Crontab weekday numbers (0 or 7 = Sunday) as names: APScheduler 3 counts 0 as Monday (its issue #286)."""
    if any(c.isalpha() for c in field):
        return field
    days = []
    for part in field.split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        lo, hi = (0, 6) if span == "*" else (int(first), int(last) if last else (6 if step else int(first)))
        days += [d % 7 for d in range(lo, hi + 1, int(step or 1))]
    return ",".join(WEEKDAYS[d] for d in dict.fromkeys(days))


def triggers(schedule: ScheduleSettings) -> dict[str, CronTrigger]:
    """Each enabled job's trigger; an empty crontab line disables its job."""
    out = {}
    for name in JOB_ARGS:
        line = getattr(schedule, name).strip()
        if not line:
            continue
        try:
            fields = line.split()
            if len(fields) == 5 and fields[4] != "*":
                fields[4] = crontab_weekdays(fields[4])
            out[name] = CronTrigger.from_crontab(" ".join(fields), timezone=schedule.timezone)
        except (ValueError, LookupError) as exc:
            raise ConfigError(f"[ops.schedule] {name} = {line!r} (timezone {schedule.timezone!r}) is not valid: "
                              f"{exc}; write 'minute hour day month weekday'") from None
    return out


def next_runs(schedule: ScheduleSettings, now: datetime) -> dict[str, datetime]:
    """When each enabled job fires next after `now` (an aware datetime)."""
    return {name: trigger.get_next_fire_time(None, now) for name, trigger in triggers(schedule).items()}


class JobRunner:
    """Run `trendscout [--config FILE] ARGS` in a child process group, with a timeout."""

    def __init__(self, config: Path | None, timeout_s: float, command: list[str] | None = None):
        self.base = (command or [sys.executable, "-m", "pipelines.cli"]) + (["--config", str(config)] if config else [])
        self.timeout_s = timeout_s
        self.child: subprocess.Popen | None = None

    def __call__(self, name: str, args: list[str]) -> int:
        started = time.monotonic()
        logger.info("job %s: start (%s)", name, " ".join(args))
        self.child = subprocess.Popen([*self.base, *args], start_new_session=True)
        try:
            code = self.child.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.child.pid, signal.SIGKILL)
            code = self.child.wait()
            logger.error("job %s: killed after %.0fs (job_timeout_s); the next run resumes its work", name,
                         self.timeout_s)
            return code
        finally:
            self.child = None
        took = time.monotonic() - started
        if code == EXIT_LOCKED:
            logger.warning("job %s: skipped, another run holds the store (exit 75) after %.0fs", name, took)
        elif code != 0:
            logger.error("job %s: exit %d after %.0fs; see 'trendscout status'", name, code, took)
        else:
            logger.info("job %s: done in %.0fs", name, took)
        return code

    def stop(self) -> None:
        """Send SIGTERM to the running job's process group, if any."""
        if self.child is not None:
            os.killpg(self.child.pid, signal.SIGTERM)


def build_scheduler(schedule: ScheduleSettings, runner: JobRunner,
                    scheduler_cls: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """A scheduler with one job per enabled crontab line, run one at a time by `runner`."""
    scheduler = scheduler_cls(executors={"default": ThreadPoolExecutor(1)}, timezone=schedule.timezone,
                              job_defaults={"coalesce": True, "max_instances": 1,
                                            "misfire_grace_time": schedule.misfire_grace_s})
    for name, trigger in triggers(schedule).items():
        scheduler.add_job(runner, trigger, args=[name, JOB_ARGS[name]], id=name, name=name)
    return scheduler


def run_schedule(schedule: ScheduleSettings, config: Path | None) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM; a running job is sent SIGTERM."""
    runner = JobRunner(config, schedule.job_timeout_s)
    scheduler = build_scheduler(schedule, runner)

    def stop(signum, _frame) -> None:
        logger.info("schedule: stopping on signal %d", signum)
        runner.stop()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for job in scheduler.get_jobs():
        logger.info("schedule: %s on '%s'", job.name, job.trigger)
    scheduler.start()
