"""Kill `trendscout nightly` with SIGKILL inside each step; the next runs end where an uninterrupted run ends.

Each run goes through `LAUNCH`, which only makes batches small (so a step has several transactions) and,
when KILL_AT names a point, prints KILLPOINT there and waits to be killed: the test then sends SIGKILL to
the whole process group (the crawler child too), as the OOM killer or a power cut would.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from werkzeug import Response

from pipelines.store import Store
from tests.conftest import CORDIS_TARBALL, REPO, cordis_xml_records, make_zip, run_cli, write_config

pytestmark = pytest.mark.integration

N_RECORDS = 300
LAUNCH = """
import os, sys, time
import nlp.embed, nlp.topics, pipelines.steps.embed, pipelines.steps.enrich, pipelines.steps.ingest
from pipelines.cli import app

pipelines.steps.ingest.BATCH = pipelines.steps.embed.WRITE_BATCH = pipelines.steps.enrich.BATCH = 100
calls = {}

def pause_at(owner, name, point, nth=1, after=False):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        calls[point] = calls.get(point, 0) + 1
        if after:
            out = original(*args, **kwargs)
        if calls[point] == nth and os.environ.get("KILL_AT") == point:
            print("KILLPOINT", point, flush=True)
            time.sleep(600)
        return out if after else original(*args, **kwargs)
    setattr(owner, name, wrapper)

pause_at(pipelines.steps.ingest, "upsert_documents", "ingest", after=True)       # one batch of three committed
pause_at(nlp.embed.HashingEmbedder, "encode", "embed", nth=2)               # one batch of three committed
pause_at(pipelines.steps.enrich, "enrich_batch", "enrich", nth=2, after=True)     # one batch of three committed
pause_at(nlp.topics, "fit_topics", "topics-fit")                            # fitting, nothing written yet
sys.argv = ["trendscout", *sys.argv[1:]]
app()
"""


class Gate:
    """Makes the zip request wait, while `closed`, until the test has killed the crawler."""

    def __init__(self, body: bytes):
        self.body, self.closed = body, False
        self.requested, self.release = threading.Event(), threading.Event()

    def close(self) -> None:
        self.closed = True
        self.requested.clear()
        self.release.clear()

    def open(self) -> None:
        self.closed = False
        self.release.set()

    def __call__(self, request):
        if self.closed:
            self.requested.set()
            self.release.wait(30)
        return Response(self.body, content_type="application/zip", headers={"ETag": '"he-1"'})


@contextmanager
def serving_cordis(server):
    """robots.txt and a zip of real CORDIS records behind a Gate on the loopback server: (url, gate, records)."""
    if not CORDIS_TARBALL.exists():
        pytest.skip(f"shared CORDIS corpus not found at {CORDIS_TARBALL}")
    records = cordis_xml_records(N_RECORDS)
    gate = Gate(make_zip(records))
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /data/\n")
    server.expect_request("/data/he.zip").respond_with_handler(gate)
    try:
        yield server.url_for("/data/he.zip"), gate, records
    finally:
        gate.open()
        server.clear()


@pytest.fixture(scope="module")
def cordis_gate(make_httpserver):
    with serving_cordis(make_httpserver) as site:
        yield site


def config_for(tmp_path, url):
    return write_config(
        tmp_path, sources={"cordis": {"enabled": True, "robots_exempt": ["/data/"], "urls": [url]}},
        crawl={"download_delay": 0, "autothrottle": False, "http_cache": False},
        nlp={"embedder": "hashing"},
        topics={"reducer": "pca", "clusterer": "kmeans", "n_clusters": 8, "representation": "ctfidf"})


def start(config, workdir, kill_at="", env=None):
    """Start `trendscout nightly` in its own process group; stdout and stderr go to files in `workdir`."""
    out, err = open(workdir / "stdout", "w"), open(workdir / "stderr", "w")
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "--config", str(config), "nightly"], cwd=REPO,
                            env={**os.environ, **(env or {}), "KILL_AT": kill_at}, stdout=out, stderr=err,
                            start_new_session=True)
    out.close(), err.close()
    proc.log = workdir / "stderr"
    return proc


def wait_for(predicate, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before its kill point:\n" + \
            proc.log.read_text()[-3000:]
        assert time.monotonic() < deadline, "kill point not reached in time"
        time.sleep(0.01)


def kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_to_end(config, workdir, env=None):
    proc = start(config, workdir, env=env)
    assert proc.wait(timeout=300) == 0, proc.log.read_text()[-3000:]
    return (workdir / "stdout").read_text(), (workdir / "stderr").read_text()


def killed_run_steps(store_path) -> list[str]:
    """Steps recorded by the newest run, which was killed (still 'running')."""
    with Store.open(store_path, read_only=True) as store:
        run = store.df("SELECT run_id, status FROM runs ORDER BY started_at DESC LIMIT 1").iloc[0]
        assert run["status"] == "running"
        return store.df("SELECT step FROM run_steps WHERE run_id = ? ORDER BY started_at", [run["run_id"]])["step"]\
            .tolist()


def canonical(store_path) -> dict[str, pd.DataFrame]:
    """The store's contents without run ids, model versions, timestamps and file names, in a fixed order."""
    queries = {
        "documents": "SELECT * EXCLUDE (raw_file, first_seen_at, ingested_at) FROM documents ORDER BY doc_id",
        "organisations": "SELECT * FROM document_organisations ORDER BY doc_id, position",
        "embeddings": "SELECT d.doc_id, d.model, d.input_hash, e.vector FROM doc_embeddings d JOIN embeddings e "
                      "USING (model, input_hash) ORDER BY d.doc_id",
        "features": "SELECT * EXCLUDE (enriched_at) FROM doc_features ORDER BY doc_id",
        "regions": "SELECT * FROM doc_regions ORDER BY ALL",
        "sectors": "SELECT * FROM doc_sectors ORDER BY ALL",
        "search_index": "SELECT * FROM doc_terms ORDER BY doc_id, term",
        "topics": "SELECT topic_id, label, terms, size, born_on, status, centroid FROM topics ORDER BY topic_id",
        "assignments": "SELECT doc_id, topic_id, probability FROM topic_assignments ORDER BY doc_id",
        "similarities": "SELECT * EXCLUDE (model_version) FROM topic_similarities ORDER BY doc_id",
        "lineage": "SELECT event, topic_id, related_topic_ids, occurred_on, similarity FROM topic_lineage "
                   "ORDER BY topic_id, event",
        "trend_scores": "SELECT * EXCLUDE (detect_id) FROM trend_scores WHERE detect_id = (SELECT detect_id FROM "
                        "detections ORDER BY created_at DESC LIMIT 1) ORDER BY topic_id",
        "trend_cells": "SELECT * EXCLUDE (detect_id) FROM trend_cells WHERE detect_id = (SELECT detect_id FROM "
                       "detections ORDER BY created_at DESC LIMIT 1) ORDER BY topic_id, scope, cell",
        "models": "SELECT kind, n_docs, window_start, window_end, is_current FROM topic_models ORDER BY ALL",
    }
    with Store.open(store_path, read_only=True) as store:
        return {name: store.df(sql) for name, sql in queries.items()}


def assert_same_store(expected: dict, actual: dict) -> None:
    for name, frame in expected.items():
        other = actual[name]
        assert len(frame) == len(other), f"{name}: {len(frame)} rows uninterrupted, {len(other)} after kills"
        for column in frame.columns:
            a, b = frame[column].tolist(), other[column].tolist()
            if column in ("vector", "centroid"):
                np.testing.assert_allclose(np.stack(a), np.stack(b), rtol=1e-5, err_msg=f"{name}.{column}")
            elif frame[column].dtype.kind == "f":
                np.testing.assert_allclose(frame[column], other[column], rtol=1e-6, err_msg=f"{name}.{column}")
            else:
                assert list(map(plain, a)) == list(map(plain, b)), f"{name}.{column} differs after the killed runs"


def plain(value):
    return value.tolist() if isinstance(value, np.ndarray) else value


@pytest.fixture(scope="module")
def uninterrupted(cordis_gate, tmp_path_factory):
    """One nightly run never killed, with an API-key-like secret in its environment; its store and logs."""
    url, _, records = cordis_gate
    workdir = tmp_path_factory.mktemp("uninterrupted")
    secret = f"ts-{uuid.uuid4().hex}"
    stdout, stderr = run_to_end(config_for(workdir, url), workdir, env={"TRENDSCOUT_MAIL__PASSWORD": secret,
                                                                               "EPO_OPS_SECRET": secret})
    return canonical(workdir / "data" / "trendscout.duckdb"), stdout, stderr, secret


def test_nightly_logs_one_line_per_step_start_and_end_without_text_or_secrets(uninterrupted):
    store, stdout, logs, secret = uninterrupted
    for step in ("crawl", "ingest", "embed", "enrich", "topics", "detect"):
        assert sum(f"{step}: start" in line for line in logs.splitlines()) == 1, step
        assert sum(f" {step}: ok, " in line for line in logs.splitlines()) == 1, step
    assert f"ingest: ok, {N_RECORDS} new" in logs
    logs += stdout
    assert secret not in logs
    leaked = [t for t in store["documents"]["title"] if len(t) > 25 and t in logs]
    leaked += [x[:80] for x in store["documents"]["text"] if x[:80] in logs]
    assert not leaked, f"document text in the logs: {leaked[:3]}"


def test_nightly_killed_in_each_step_resumes_to_the_uninterrupted_store(uninterrupted, cordis_gate, tmp_path):
    url, gate, _ = cordis_gate
    expected = uninterrupted[0]
    config, store_path = config_for(tmp_path, url), tmp_path / "data" / "trendscout.duckdb"
    raw = tmp_path / "data" / "raw" / "cordis"

    gate.close()  # 1. crawl: killed while the zip is downloading
    proc = start(config, tmp_path)
    wait_for(gate.requested.is_set, proc)
    kill(proc)
    gate.open()
    assert killed_run_steps(store_path) == [] and not list(raw.glob("*.jsonl"))

    proc = start(config, tmp_path)  # 2. crawl: killed while items are written
    wait_for(lambda: any(raw.glob("*.part")), proc)
    kill(proc)
    assert killed_run_steps(store_path) == [] and not list(raw.glob("*.jsonl"))

    steps = ["crawl", "ingest", "embed", "enrich"]
    for n_done, point in enumerate(["ingest", "embed", "enrich", "topics-fit"], start=1):  # 3. one step each
        proc = start(config, tmp_path, kill_at=point)
        wait_for(lambda: "KILLPOINT" in (tmp_path / "stdout").read_text(), proc)
        kill(proc)
        assert killed_run_steps(store_path) == steps[:n_done], point

    run_to_end(config, tmp_path)
    assert_same_store(expected, canonical(store_path))
    status = json.loads(run_cli("--config", config, "status", "--json").stdout)
    assert status["last_run"]["status"] == "ok" and status["last_run"]["exit_code"] == 0
    assert [r["status"] for r in status["runs"][1:]] == ["interrupted"] * 4  # marked by the next run
