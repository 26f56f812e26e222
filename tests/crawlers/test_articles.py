
import pytest
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, XmlResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler

from crawlers.articles import ArticleHints, canonical_url, extract_article, fix_placeholder_host, without_tracking
from crawlers.base import failure_reason
from crawlers.feeds import strip_leading_junk
from crawlers.ops import OpsTrafficMiddleware
from crawlers.spiders.cluster_news import ClusterNewsSpider
from crawlers.spiders.epo_ops import EpoOpsSpider
from tests.crawlers.conftest import fixture_bytes

BASE = "https://single-market-economy.ec.europa.eu"


@pytest.mark.parametrize("url, expected", [
    ("http://default/news/a_en", f"{BASE}/news/a_en"),
    ("/news/b_en?x=1", f"{BASE}/news/b_en?x=1"),
    ("https://eismea.ec.europa.eu/news/c_en", "https://eismea.ec.europa.eu/news/c_en"),
])
def test_fix_placeholder_host_moves_links_to_the_feed_host(url, expected):
    assert fix_placeholder_host(url, f"{BASE}/node/2/rss_en") == expected


@pytest.mark.parametrize("url, expected", [
    ("HTTPS://Example.EU:443/news/a?utm_source=rss#top", "https://example.eu/news/a"),
    ("http://127.0.0.1:8080/news/a", "http://127.0.0.1:8080/news/a"),
])
def test_canonical_url_keeps_scheme_host_and_path(url, expected):
    assert canonical_url(url) == expected


def article(name: str, url: str = f"{BASE}/news/a_en") -> HtmlResponse:
    body = fixture_bytes(f"cluster_news/{name}").replace(b"{base}", BASE.encode())
    return HtmlResponse(url=url, body=body, headers={"Content-Type": "text/html"})


def test_extract_article_reads_main_text_metadata_and_canonical():
    item = extract_article(article("article-hydrogen.html", f"{BASE}/news/h2?utm=1"), ArticleHints("feed"),
                           source="cluster_news", kind="news")
    assert item.external_id == f"{BASE}/news/hydrogen-valleys-clusters-join-forces_en"
    assert (item.title, item.published_on, item.language) == (
        "Hydrogen valleys: clusters join forces across borders", "2026-02-03", "en")
    assert "electrolyser test beds" in item.text and "Legal notice" not in item.text


def test_extract_article_finds_no_body_text_on_a_boilerplate_only_page():
    item = extract_article(article("article-boilerplate.html"), ArticleHints("feed"), source="s", kind="news")
    assert item is None or len(item.text.strip()) < 40  # under TRENDSCOUT_MIN_TEXT_CHARS: the pipeline drops it


def test_extract_article_returns_none_for_an_empty_page():
    assert extract_article(HtmlResponse(url=f"{BASE}/x", body=b"<html><body></body></html>"), ArticleHints("f"),
                           source="s", kind="news") is None


def test_strip_leading_junk_drops_theme_debug_comments():
    assert strip_leading_junk(fixture_bytes("cluster_news/feed-grow.xml")).startswith(b"<?xml")


def test_cluster_news_parse_feed_rewrites_hosts_and_skips_entries_before_since(tmp_path):
    crawler = get_crawler(ClusterNewsSpider, {"TRENDSCOUT_STATE_DIR": str(tmp_path)})
    spider = ClusterNewsSpider.from_crawler(crawler, since="2026-01-01")
    feed = XmlResponse(url=f"{BASE}/node/2/rss_en", body=fixture_bytes("cluster_news/feed-grow.xml"))
    requests = list(spider.parse_feed(feed))
    assert [r.url for r in requests] == [f"{BASE}/news/hydrogen-valleys-clusters-join-forces_en",
                                         f"{BASE}/news/textile-recycling-demonstrator_en",
                                         f"{BASE}/news/boilerplate-only_en"]
    assert requests[0].cb_kwargs["hints"].published_on == "2026-02-03"
    assert crawler.stats.get_value("trendscout/skipped/before_since/cluster_news") == 1


REQUEST = Request("https://ops.test/x")


@pytest.mark.parametrize("exc, reason", [
    (HttpError(Response("https://x.test", status=503, request=REQUEST), "bad"), "http_503"),
    (DownloadTimeoutError("slow"), "timeout"), (DownloadCancelledError("too big"), "too_large"),
    (IgnoreRequest("max redirections reached"), "redirect_loop"),
    (IgnoreRequest("Forbidden by robots.txt"), "robots_forbidden"), (ValueError("x"), "valueerror"),
])
def test_failure_reason_names_each_fault(exc, reason):
    assert failure_reason(exc) == reason


@pytest.fixture
def ops_middleware():
    crawler = get_crawler(EpoOpsSpider)
    crawler.spider = EpoOpsSpider.from_crawler(crawler)
    return OpsTrafficMiddleware.from_crawler(crawler), crawler


def ops_response(lights: str, **headers) -> Response:
    request = Request("https://ops.test/search", meta={"ops_service": "search"})
    return Response(request.url, headers={"X-Throttling-Control": lights, **headers}, request=request)


def test_ops_middleware_spaces_requests_slower_on_yellow(ops_middleware):
    middleware, _ = ops_middleware
    response = ops_response("busy (retrieval=green:200, search=yellow:30)")
    assert middleware.process_response(response.request, response) is response
    assert middleware.interval == {"retrieval": 0.3, "search": 4.0}


def test_ops_middleware_pauses_a_black_service_and_retries(ops_middleware):
    middleware, crawler = ops_middleware
    response = ops_response("overloaded (search=black:0)", **{"Retry-After": "2000"})
    retry = middleware.process_response(response.request, response)
    assert isinstance(retry, Request) and retry.meta["ops_black_retries"] == 1
    assert crawler.stats.get_value("trendscout/throttled/black/epo_ops") == 1
    assert middleware.next_at["search"] > 0


def test_ops_token_is_attached_by_the_credentials_middleware_for_the_ops_origin_only(ops_middleware):
    from crawlers.middlewares import CredentialsMiddleware

    _, crawler = ops_middleware
    crawler.spider.access_token = "tok-9"
    credentials = CredentialsMiddleware.from_crawler(crawler)
    request = Request("https://ops.epo.org/3.2/rest-services/search", meta={"ops_service": "search"})
    credentials.process_request(request)
    assert request.headers["Authorization"] == b"Bearer tok-9" and request.meta["ops_token"] == "tok-9"
    moved = request.replace(url="https://elsewhere.test/3.2/rest-services/search")  # headers copied, as on redirect
    credentials.process_request(moved)
    assert b"Authorization" not in moved.headers
    assert crawler.stats.get_value("trendscout/auth/withheld_other_origin/epo_ops") == 1


@pytest.mark.parametrize("url, expected", [
    ("https://ec.europa.eu/news/a_en?utm_source=rtd-rss&utm_medium=feed", "https://ec.europa.eu/news/a_en"),
    ("https://site.test/article?id=7&fbclid=x", "https://site.test/article?id=7"),
    ("https://site.test/a", "https://site.test/a"),
])
def test_without_tracking_keeps_meaningful_query_parameters_only(url, expected):
    assert without_tracking(url) == expected


def test_second_listing_adds_its_tags_to_the_article_already_requested(tmp_path):
    from scrapy.utils.test import get_crawler

    from crawlers.spiders.cluster_news import ClusterNewsSpider

    spider = ClusterNewsSpider.from_crawler(get_crawler(ClusterNewsSpider, {"TRENDSCOUT_STATE_DIR": str(tmp_path)}))
    first = ArticleHints(source_url="https://a.test/rss", tags=["Energy"])
    assert spider.is_new("https://x.test/a", "2026-02-03", "2026-02-03", first)
    assert not spider.is_new("https://x.test/a", "2026-02-03", "2026-02-03",
                             ArticleHints(source_url="https://b.test/rss", tags=["Clusters"]))
    assert first.tags == ["Clusters", "Energy"]
