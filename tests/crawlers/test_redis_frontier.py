"""A scrapy-redis frontier: the `crawl.redis_frontier` setting, and two crawler processes sharing one queue."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections import Counter

import pytest

from pipelines.settings import CrawlSettings, Settings
from pipelines.steps.crawl import scrapy_settings
from tests.crawlers.conftest import run_crawl
from tests.crawlers.test_keep_eu import serve_keep_eu


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway redis-server on a free loopback port (skipped when Redis is not installed)."""
    redis = pytest.importorskip("redis")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(50):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield url
    client.close()
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.parametrize("enabled", [True, False])
def test_scrapy_settings_switch_the_frontier_to_scrapy_redis(enabled):
    settings = Settings(crawl=CrawlSettings(redis_frontier=enabled, redis_url="redis://queue:6379/1"))
    mapped = scrapy_settings(settings, "20260817T0300Z")
    frontier = {"SCHEDULER": "scrapy_redis.scheduler.Scheduler",
                "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter", "REDIS_URL": "redis://queue:6379/1",
                "SCHEDULER_PERSIST": True}
    assert {k: mapped[k] for k in frontier if k in mapped} == (frontier if enabled else {})


@pytest.mark.integration
def test_two_crawler_processes_share_one_redis_queue(site, tmp_path, redis_url):
    import redis

    serve_keep_eu(site)
    site.expect_request("/empty/api/search/projects/", method="POST").respond_with_json(
        {"count": 0, "total_pages": 1, "results": []})
    frontier = {"SCHEDULER": "scrapy_redis.scheduler.Scheduler",
                "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter", "REDIS_URL": redis_url,
                "SCHEDULER_PERSIST": "True", "CONCURRENT_REQUESTS": "1"}
    queue = redis.Redis.from_url(redis_url)

    # Machine A walks the index, queues the project records, and stops early (after its first item).
    first = run_crawl("keep_eu", tmp_path / "a", [site.url_for("").rstrip("/")],
                      settings={**frontier, "CLOSESPIDER_ITEMCOUNT": "1"})
    left = queue.zcard("keep_eu:requests")
    # Machine B has nothing of its own to crawl: it finishes the records A left in the shared queue.
    second = run_crawl("keep_eu", tmp_path / "b", [site.url_for("/empty")], settings=frontier)

    fetched = Counter(r.path for r, _ in site.log if r.path.startswith("/api/project/"))
    ids_a, ids_b = {i["external_id"] for i in first.items}, {i["external_id"] for i in second.items}
    assert ids_a and ids_b and not ids_a & ids_b and left > 0
    assert ids_a | ids_b == {"30010", "30011", "30012"}
    assert set(fetched.values()) == {1}  # every project record fetched once, by one machine or the other
    assert first.stat("scheduler/enqueued/redis") > 0 and second.stat("scheduler/dequeued/redis") >= left
    assert queue.zcard("keep_eu:requests") == 0
