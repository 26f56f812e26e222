"""Run a spider in a subprocess against a loopback server and read back its raw items and stats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

# Fast, deterministic crawls: no throttling, one quick retry, short timeouts, no cookies (which would
# make tldextract look for the public suffix list on the network).
TEST_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "DOWNLOAD_TIMEOUT": "2",
    "RETRY_TIMES": "1",
    "COOKIES_ENABLED": "False",
    "TRENDSCOUT_RETRY_AFTER_MAX": "2",
    "TRENDSCOUT_REQUESTS_PER_MINUTE": '{"patentsview": 0}',  # the API limit is tested on its own
    "LOG_LEVEL": "INFO",
}
SECRET_VARS = ("EPO_OPS_KEY", "EPO_OPS_SECRET", "PATENTSVIEW_API_KEY")


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@dataclass
class Crawl:
    """What one `scrapy crawl` left behind."""

    items: list[dict]
    stats: dict
    log: str
    state: dict
    peak_rss_mb: float | None = None  # the crawl process's peak resident memory, when measured

    def stat(self, key: str) -> int:
        return self.stats.get(key, 0)


# Runs a command and writes the peak RSS (kB) of its process tree: what the crawl itself used, nothing else.
_MEASURE = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[2:]).returncode; "
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
            "sys.exit(code)")


def run_crawl(name: str, workdir: Path, urls: list[str], *, args: dict | None = None, settings: dict | None = None,
              env: dict | None = None, run_id: str = "run1", timeout: float = 60, measure: bool = False) -> Crawl:
    """Run `scrapy crawl NAME` in a fresh process (the reactor starts once per process).

    `measure` runs it under a small parent that reports the crawl process's peak RSS (`Crawl.peak_rss_mb`).
    """
    stats_file = workdir / f"stats-{run_id}.json"
    all_settings = {**TEST_SETTINGS, "TRENDSCOUT_RAW_DIR": workdir / "raw", "HTTPCACHE_DIR": workdir / "httpcache",
                    "TRENDSCOUT_STATE_DIR": workdir / "state", "TRENDSCOUT_RUN_ID": run_id,
                    "TRENDSCOUT_STATS_FILE": stats_file, **(settings or {})}
    command = [sys.executable, "-m", "scrapy", "crawl", name, "-a", f"urls={json.dumps(urls)}"]
    for key, value in (args or {}).items():
        command += ["-a", f"{key}={value}"]
    for key, value in all_settings.items():
        command += ["-s", f"{key}={value}"]
    rss_file = workdir / f"rss-{run_id}.txt"
    if measure:
        command = [sys.executable, "-c", _MEASURE, str(rss_file), *command]
    # Loopback only: no proxies from the environment, no real API keys.
    clean = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k not in SECRET_VARS}
    proc = subprocess.run(command, cwd=REPO, env={**clean, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0 or not stats_file.exists():
        raise AssertionError(f"scrapy crawl {name} exited {proc.returncode}\n{proc.stderr[-6000:]}")
    raw = Path(all_settings["TRENDSCOUT_RAW_DIR"]) / name / f"{run_id}.jsonl"
    # split on \n only: texts may hold U+2028, which splitlines() would also split on
    items = [json.loads(line) for line in raw.read_text(encoding="utf-8").split("\n") if line] if raw.exists() else []
    state_file = workdir / "state" / f"{name}.json"
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.exists() else {}
    peak = int(rss_file.read_text()) / 1024 if measure else None
    return Crawl(items, json.loads(stats_file.read_text(encoding="utf-8")), proc.stderr, state, peak)


@pytest.fixture
def bare_site():
    """A threaded loopback HTTP server (a slow handler must not stall the others) with no routes."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def site(bare_site):
    """`bare_site` with a robots.txt that allows everything."""
    bare_site.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n", content_type="text/plain")
    return bare_site
