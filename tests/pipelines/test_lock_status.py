"""What `trendscout status` shows of runs whose process was killed while holding the lock, or whose step failed."""

import pytest

from pipelines.runs import RunRecorder, StepResult
from pipelines.settings import Settings
from pipelines.store import Store
from pipelines.views.status import collect_status, render_status


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        yield s


def test_status_shows_a_failed_step_with_its_error(store):
    run = RunRecorder(store, "nightly", "20261127T030000Z")
    run.record(StepResult("crawl"))
    failed = StepResult("embed", status="failed")
    failed.error("OSError: model files missing")
    run.record(failed)
    assert run.finish() == 3
    text = render_status(collect_status(store, Settings()))
    assert "run 20261127T030000Z nightly: failed (exit 3)" in text
    assert "embed" in text and "OSError: model files missing" in text


def test_status_lists_a_killed_run_as_unfinished(store):
    RunRecorder(store, "nightly", "20261127T030000Z").record(StepResult("crawl"))  # killed before finish()
    info = collect_status(store, Settings())
    assert info["last_run"]["status"] == "running" and info["last_run"]["exit_code"] is None
    assert "run 20261127T030000Z nightly: running (exit None)" in render_status(info)
