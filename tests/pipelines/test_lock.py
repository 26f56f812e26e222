import json
import os
import subprocess
import sys
import time

import pytest

from pipelines.errors import StoreLocked
from pipelines.ops.lock import StoreLock


def test_second_lock_fails_and_names_the_holder(tmp_path):
    with StoreLock(tmp_path, "run-a"):
        with pytest.raises(StoreLocked, match="run-a") as info:
            with StoreLock(tmp_path, "run-b"):
                pass
        assert info.value.exit_code == 75
    with StoreLock(tmp_path, "run-c"):
        pass


def test_lock_of_a_killed_process_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from pipelines.ops.lock import StoreLock\n"
        f"l = StoreLock(Path({str(tmp_path)!r}), 'killed').__enter__(); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(StoreLocked):
        StoreLock(tmp_path, "x").__enter__()
    holder.kill()
    holder.wait()
    time.sleep(0.1)
    with StoreLock(tmp_path, "after"):
        assert "after" in (tmp_path / "trendscout.lock").read_text()


def test_lock_file_names_pid_run_and_command_and_is_emptied_on_release(tmp_path):
    with StoreLock(tmp_path, "run-a", "backup"):
        holder = json.loads((tmp_path / "trendscout.lock").read_text())
        assert holder["pid"] == os.getpid() and holder["run_id"] == "run-a" and holder["command"] == "backup"
    assert (tmp_path / "trendscout.lock").read_text() == ""


def test_lock_is_released_when_the_run_raises(tmp_path):
    with pytest.raises(RuntimeError), StoreLock(tmp_path, "run-a"):
        raise RuntimeError("step blew up")
    with StoreLock(tmp_path, "run-b"):
        pass
