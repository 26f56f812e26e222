"""cluster_news against a loopback site: good feeds, cross-posts, quirks and faults in one crawl."""

import time

import pytest
from werkzeug import Response

from tests.crawlers.conftest import fixture_bytes, run_crawl

pytestmark = pytest.mark.integration


def page(name: str, base: str) -> bytes:
    return fixture_bytes(f"cluster_news/{name}").replace(b"{base}", base.encode())


def slow(_request):
    time.sleep(1.5)
    return Response("too late", status=200)


@pytest.fixture
def news_site(site):
    server = site
    base = server.url_for("").rstrip("/")
    html = "text/html; charset=utf-8"
    routes = {
        "/feeds/grow.xml": (page("feed-grow.xml", base), "application/rss+xml"),
        "/feeds/rtd.atom": (page("feed-rtd.atom", base), "application/atom+xml"),
        "/feeds/empty.xml": (page("feed-empty.xml", base), "application/rss+xml"),
        "/feeds/malformed.xml": (page("feed-malformed.xml", base), "application/rss+xml"),
        "/feeds/error-page.xml": (page("error-page.html", base), "text/html"),
        "/feeds/huge.xml": (b"<?xml version='1.0'?><rss>" + b" " * 300_000 + b"</rss>", "application/rss+xml"),
        "/eismea/news_en": (page("listing-eismea.html", base), html),
        "/news/hydrogen-valleys-clusters-join-forces_en": (page("article-hydrogen.html", base), html),
        "/news/textile-recycling-demonstrator_en": (page("article-textile.html", base), html),
        "/news/boilerplate-only_en": (page("article-boilerplate.html", base), html),
        "/mirror/hydrogen-valleys-republished": (page("article-republished.html", base), html),
        "/news/filiere-bois-latin1": (page("article-latin1.html", base), "text/html"),  # no charset given
        "/news/eic-accelerator-results_en": (page("article-eic.html", base), html),
    }
    # The textile article first asks the crawler to come back later.
    server.expect_oneshot_request("/news/textile-recycling-demonstrator_en").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"})
    for path, (body, content_type) in routes.items():
        server.expect_request(path).respond_with_data(body, content_type=content_type)
    server.expect_request("/feeds/down.xml").respond_with_data("boom", status=500)
    server.expect_request("/feeds/slow.xml").respond_with_handler(slow)
    server.expect_request("/feeds/loop.xml").respond_with_data("", status=302, headers={"Location": "/feeds/loop2.xml"})
    server.expect_request("/feeds/loop2.xml").respond_with_data("", status=302, headers={"Location": "/feeds/loop.xml"})
    return server


FEEDS = ["/feeds/grow.xml", "/feeds/rtd.atom", "/eismea/news_en", "/feeds/empty.xml", "/feeds/malformed.xml",
         "/feeds/error-page.xml", "/feeds/huge.xml", "/feeds/down.xml", "/feeds/slow.xml", "/feeds/loop.xml"]
SETTINGS = {"DOWNLOAD_TIMEOUT": "1", "DOWNLOAD_MAXSIZE": "100000", "REDIRECT_MAX_TIMES": "3"}


def test_cluster_news_crawl_extracts_articles_counts_faults_and_adds_nothing_on_rerun(news_site, tmp_path):
    urls = [news_site.url_for(path) for path in FEEDS]
    base = news_site.url_for("").rstrip("/")
    first = run_crawl("cluster_news", tmp_path, urls, args={"since": "2026-01-01"}, settings=SETTINGS)

    by_url = {item["meta"]["canonical_url"]: item for item in first.items}
    assert sorted(by_url) == [f"{base}/news/eic-accelerator-results_en", f"{base}/news/filiere-bois-latin1",
                              f"{base}/news/hydrogen-valleys-clusters-join-forces_en",
                              f"{base}/news/textile-recycling-demonstrator_en"]
    hydrogen = by_url[f"{base}/news/hydrogen-valleys-clusters-join-forces_en"]
    assert hydrogen["source"] == "cluster_news" and hydrogen["kind"] == "news"
    assert hydrogen["external_id"] == hydrogen["meta"]["canonical_url"]
    assert hydrogen["url"] == f"{base}/news/hydrogen-valleys-clusters-join-forces_en"  # placeholder host rewritten
    assert hydrogen["title"] == "Hydrogen valleys: clusters join forces across borders"
    assert "cross-border hydrogen valley" in hydrogen["text"] and "Cookies policy" not in hydrogen["text"]
    assert hydrogen["published_on"] == "2026-02-03" and hydrogen["language"] == "en"
    assert hydrogen["organisations"][0]["name"] == "Internal Market, Industry, Entrepreneurship and SMEs"
    assert hydrogen["organisations"][0]["role"] == "publisher"
    assert hydrogen["codes"] == {"tags": ["Clusters", "Energy"]}
    assert hydrogen["meta"]["author"].startswith("Directorate-General")
    latin1 = by_url[f"{base}/news/filiere-bois-latin1"]
    assert "Région Grand Est" in latin1["title"] and "Épinal" in latin1["text"] and latin1["language"] == "fr"
    assert by_url[f"{base}/news/eic-accelerator-results_en"]["published_on"] == "2026-02-12"

    assert first.stat("trendscout/items/cluster_news") == 4
    assert first.stat("trendscout/skipped/before_since/cluster_news") == 1
    # same link with a tracking query, and a republished copy whose rel=canonical names the original
    assert first.stat("trendscout/skipped/already_seen/cluster_news") == 2
    assert first.stat("trendscout/dropped/short_text/cluster_news") == 1  # boilerplate-only page
    assert first.stat("trendscout/dropped/no_link/cluster_news") == 1  # the entry recovered from the broken feed
    for reason in ("empty_feed", "malformed_xml", "html_instead_of_xml", "too_large", "http_500", "timeout",
                   "redirect_loop"):
        assert first.stat(f"trendscout/errors/{reason}/cluster_news") == 1, reason
    assert first.stat("trendscout/retry_after/waits") == 1  # the 429 was waited out and retried

    second = run_crawl("cluster_news", tmp_path, urls, args={"since": "2026-01-01"}, settings=SETTINGS, run_id="run2")
    assert second.items == []
    assert second.stat("trendscout/skipped/already_seen/cluster_news") == 7  # every listed entry
