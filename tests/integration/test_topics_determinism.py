"""The same documents and settings give the same topics in fresh processes with different thread counts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, needs_shared

PROJECTS = SHARED_DATA / "cordis-horizon-europe" / "projects.parquet"
pytestmark = [pytest.mark.integration, needs_shared(PROJECTS)]

FIT = f"""
import json
import numba
import pandas as pd
from nlp.embed import HashingEmbedder
from nlp.topics import build_topic_model, fit_topics
from pipelines.settings import TopicSettings

frame = pd.read_parquet({str(PROJECTS)!r}, columns=["title", "text", "ec_signature_date"])
frame = frame.sort_values(["ec_signature_date", "title"]).tail(500)
docs = (frame["title"] + ". " + frame["text"]).tolist()
model = build_topic_model(**TopicSettings().model_options(representation="ctfidf"))
labels = fit_topics(model, docs, HashingEmbedder(256).encode(docs))
print(json.dumps({{"cpu": numba.config.CPU_NAME, "threads": numba.config.NUMBA_NUM_THREADS,
                  "labels": labels.tolist()}}))
"""


def start_fit(threads: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CPU_NAME"} | {
        "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    return subprocess.Popen([sys.executable, "-c", FIT], env=env, cwd=Path(__file__).resolve().parents[2],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_two_fresh_processes_with_different_thread_counts_fit_the_same_topics():
    one, two = (result(p) for p in [start_fit(1), start_fit(2)])
    assert (one["threads"], two["threads"]) == (1, 2) and one["cpu"] == two["cpu"] == "generic"
    assert len(set(one["labels"])) > 2
    assert one["labels"] == two["labels"]
