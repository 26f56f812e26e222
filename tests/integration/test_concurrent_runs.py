"""One run at a time: two nightly runs started together, and a lock left by a run killed with SIGKILL."""

import json
import subprocess
import sys
import time

import pytest

from pipelines.store import Store
from tests.conftest import REPO
from tests.integration.test_resume import N_RECORDS, config_for, kill, serving_cordis, start, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cordis_gate(make_httpserver):
    with serving_cordis(make_httpserver) as site:
        yield site


def nightly_until_ingest(config) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "--config", str(config), "nightly", "--until",
                             "ingest"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_started_together_one_runs_and_the_other_exits_75_naming_it(cordis_gate, tmp_path):
    url, gate, _ = cordis_gate
    config = config_for(tmp_path, url)
    gate.close()  # the winner waits on its download while it holds the lock
    try:
        runs = [nightly_until_ingest(config), nightly_until_ingest(config)]
        deadline = time.monotonic() + 120
        while all(run.poll() is None for run in runs):
            assert time.monotonic() < deadline, "neither run ended"
            time.sleep(0.05)
        loser = next(run for run in runs if run.poll() is not None)
    finally:
        gate.open()
    winner = next(run for run in runs if run is not loser)
    (_, lost), (won, _) = loser.communicate(timeout=60), winner.communicate(timeout=300)
    assert (loser.returncode, winner.returncode) == (75, 0), lost
    holder = json.loads(lost.split(" holds ", 1)[1].split(": ", 1)[1])
    assert holder["pid"] == winner.pid and holder["command"] == "nightly" and f"run {holder['run_id']}" in won
    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        assert store.count("documents") == N_RECORDS and store.count("runs") == 1


def test_lock_of_a_run_killed_with_sigkill_is_taken_at_once(cordis_gate, tmp_path):
    url, gate, _ = cordis_gate
    config = config_for(tmp_path, url)
    gate.close()
    killed = start(config, tmp_path)
    wait_for(gate.requested.is_set, killed)
    kill(killed)
    gate.open()
    stale = json.loads((tmp_path / "data" / "trendscout.lock").read_text())
    assert stale["pid"] == killed.pid  # the file still names the dead holder; its OS lock died with it
    next_run = nightly_until_ingest(config)
    _, err = next_run.communicate(timeout=300)
    assert next_run.returncode == 0, err
    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        assert store.count("documents") == N_RECORDS
