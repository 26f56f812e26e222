"""`trendscout crawl` drives the news spider from our settings; ingest puts its items in the store once."""

import json

import pytest

from pipelines.store import Store
from tests.conftest import run_cli, write_config
from tests.crawlers.conftest import bare_site, fixture_bytes  # noqa: F401 (bare_site is a fixture)

pytestmark = pytest.mark.integration

HYDROGEN = "hydrogen-valleys-clusters-join-forces_en"


@pytest.fixture
def news_site(bare_site):  # noqa: F811
    site = bare_site
    site.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    base = site.url_for("").rstrip("/")
    site.expect_request("/feeds/grow.xml").respond_with_data(
        fixture_bytes("cluster_news/feed-grow.xml").replace(b"{base}", base.encode()),
        content_type="application/rss+xml")
    site.expect_request(f"/news/{HYDROGEN}").respond_with_data(  # the feed's other entries answer 500
        fixture_bytes("cluster_news/article-hydrogen.html").replace(b"{base}", base.encode()), content_type="text/html")
    site.expect_request("/feeds/down.xml").respond_with_data("boom", status=500)
    return site


def test_crawl_cli_then_ingest_is_idempotent_and_records_errors(news_site, tmp_path):
    config = write_config(tmp_path, sources={"cluster_news": {"enabled": True, "urls": [
        news_site.url_for("/feeds/grow.xml"), news_site.url_for("/feeds/down.xml")]}},
        crawl={"download_delay": 0, "autothrottle": False, "timeout_s": 5})
    for _ in range(2):
        run_cli("--config", config, "crawl", "--source", "cluster_news")
        run_cli("--config", config, "ingest")
    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        docs = store.df("SELECT * FROM documents ORDER BY doc_id")
        steps = store.df("SELECT counts, errors FROM run_steps WHERE step = 'crawl' ORDER BY started_at")
        publishers = store.df("SELECT name, role FROM document_organisations")
    assert len(docs) == 1 and docs["url"].iloc[0].endswith(HYDROGEN)
    assert set(docs["kind"]) == {"news"} and docs["published_on"].notna().all() and docs["title"].str.len().min() > 5
    assert "publisher" in set(publishers["role"])
    first, second = (json.loads(c) for c in steps["counts"])
    assert first["items_cluster_news"] == len(docs) and second.get("items_cluster_news", 0) == 0
    assert any("http_500" in e for e in json.loads(steps["errors"].iloc[0]))
