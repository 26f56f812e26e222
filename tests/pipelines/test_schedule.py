import logging
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from typer.testing import CliRunner

from pipelines.errors import ConfigError
from pipelines.ops.schedule import JOB_ARGS, JobRunner, build_scheduler, crontab_weekdays, next_runs
from pipelines.settings import ScheduleSettings
from tests.conftest import write_config
from tests.pipelines.test_backup import ops_app

BRUSSELS = ZoneInfo("Europe/Brussels")


def test_next_runs_follow_the_crontab_lines_in_their_timezone():
    schedule = ScheduleSettings(nightly="30 2 * * *", digest="0 7 * * 1", backup="", timezone="Europe/Brussels")
    runs = next_runs(schedule, datetime(2026, 11, 27, 3, 0, tzinfo=UTC))  # a Friday, 04:00 in Brussels
    # crontab's weekday 1 is Monday 30 November (APScheduler 3 on its own would say Tuesday)
    assert runs == {"nightly": datetime(2026, 11, 28, 2, 30, tzinfo=BRUSSELS),
                    "digest": datetime(2026, 11, 30, 7, 0, tzinfo=BRUSSELS)}  # no backup: its line is empty


@pytest.mark.parametrize(("field", "names"), [("1", "mon"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"),
                                             ("0,6", "sun,sat"), ("*/3", "sun,wed,sat"), ("5-7", "fri,sat,sun"),
                                             ("mon-fri", "mon-fri")])
def test_crontab_weekday_numbers_become_names(field, names):
    assert crontab_weekdays(field) == names


@pytest.mark.parametrize("change", [{"nightly": "61 3 * * *"}, {"digest": "every monday"},
                                    {"timezone": "Europe/Atlantis"}])
def test_a_bad_crontab_line_or_timezone_is_a_config_error(change):
    with pytest.raises(ConfigError, match=r"\[ops.schedule\]"):
        next_runs(ScheduleSettings(**change), datetime.now(UTC))


class RecordingRunner:
    """Stands in for JobRunner: notes when each job ran; each job takes a while."""

    def __init__(self):
        self.spans: dict[str, tuple[float, float]] = {}
        self.done = threading.Event()

    def __call__(self, name, args):
        start = time.monotonic()
        time.sleep(0.3)
        self.spans[name] = (start, time.monotonic(), args)
        if len(self.spans) == 2:
            self.done.set()
        return 0


def test_scheduler_runs_due_jobs_one_at_a_time_with_their_commands():
    runner = RecordingRunner()
    scheduler = build_scheduler(ScheduleSettings(backup=""), runner, scheduler_cls=BackgroundScheduler)
    assert sorted(job.id for job in scheduler.get_jobs()) == ["digest", "nightly"]
    scheduler.start(paused=True)
    try:
        for job in scheduler.get_jobs():
            job.modify(next_run_time=datetime.now(UTC))  # both due at once
        scheduler.resume()
        assert runner.done.wait(10)
    finally:
        scheduler.shutdown()
    (a_start, a_end, _), (b_start, b_end, _) = sorted(v[:2] + (None,) for v in runner.spans.values())
    assert a_end <= b_start  # never overlapping
    assert runner.spans["nightly"][2] == JOB_ARGS["nightly"] and runner.spans["digest"][2] == ["digest"]


def exit_with(code: int) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.exit({code})"]


@pytest.mark.parametrize(("code", "level", "words"), [(0, logging.INFO, "done"),
                                                      (75, logging.WARNING, "another run holds the store"),
                                                      (3, logging.ERROR, "exit 3")])
def test_job_runner_returns_and_logs_the_exit_code(caplog, code, level, words):
    caplog.set_level(logging.INFO, logger="pipelines.ops.schedule")
    assert JobRunner(None, timeout_s=30, command=exit_with(code))("nightly", []) == code
    assert any(r.levelno == level and words in r.getMessage() for r in caplog.records)


def test_job_runner_passes_the_config_file():
    runner = JobRunner(Path("/etc/trendscout.toml"), timeout_s=30, command=["trendscout"])
    assert runner.base == ["trendscout", "--config", "/etc/trendscout.toml"]


def test_job_runner_kills_the_whole_process_group_on_timeout(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = ("import subprocess, sys, time\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
              "time.sleep(60)\n")
    started = time.monotonic()
    code = JobRunner(None, timeout_s=2, command=[sys.executable, "-c", script])("nightly", [])
    assert code == -9 and time.monotonic() - started < 20
    status = Path(f"/proc/{pid_file.read_text()}/status")
    time.sleep(0.2)
    assert not status.exists() or "\nState:\tZ" in status.read_text()  # gone, or a zombie awaiting its reaper


def test_schedule_dry_run_prints_each_job_and_its_next_run(tmp_path):
    app = ops_app()
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path)), "schedule", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["nightly", "digest", "backup"]
    assert "0 3 * * *" in lines[0] and "next 20" in lines[0]
