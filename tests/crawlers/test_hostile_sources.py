"""Hostile sources: local files, credentials sent elsewhere, archive bombs, poisoned dates, callback errors."""

import io
import json
import tarfile
import zipfile
from datetime import date, timedelta

import pytest
from pytest_httpserver import HTTPServer
from scrapy.http import Request, Response, XmlResponse
from scrapy.utils.test import get_crawler

from crawlers.cordis_tables import read_table
from crawlers.items import DocumentItem
from crawlers.middlewares import CallbackErrorsMiddleware, CredentialsMiddleware, RefusedUrl, UrlSchemeMiddleware
from crawlers.pipelines import PlausibleDatesPipeline
from crawlers.spiders.cluster_news import ClusterNewsSpider
from crawlers.spiders.cordis import CordisSpider
from crawlers.spiders.keep_eu import KeepEuSpider, _location
from crawlers.spiders.patentsview import PatentsviewSpider
from tests.conftest import make_zip
from tests.crawlers.conftest import FIXTURES, fixture_bytes, run_crawl

RECORDS = [(p.name, p.read_bytes()) for p in sorted((FIXTURES / "cordis").glob("*.xml"))]


def make_spider(cls, urls, tmp_path, **settings):
    crawler = get_crawler(cls, {"TRENDSCOUT_STATE_DIR": str(tmp_path), **settings})
    crawler.spider = cls.from_crawler(crawler, urls=json.dumps(urls))
    return crawler.spider


def stat(spider, key):
    return spider.crawler.stats.get_value(f"trendscout/{key}/{spider.name}", 0)


def rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS 2.0 feed of (title, link, RFC 822 date) entries."""
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><pubDate>{d}</pubDate></item>"
                      for t, link, d in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{entries}</channel></rss>'.encode()


def article(title: str, topic: str) -> bytes:
    """A news page with enough main text for trafilatura."""
    paragraphs = "".join(
        f"<p>{topic} paragraph {i}: regional clusters in {topic} report new partnerships, pilot lines and "
        f"training programmes for small firms across several European regions this season.</p>" for i in range(4))
    return (f'<!DOCTYPE html><html lang="en"><head><title>{title}</title></head><body><main><article>'
            f"<h1>{title}</h1>{paragraphs}</article></main></body></html>").encode()


# --- local files and other schemes ---------------------------------------------------------------------
def test_scheme_middleware_allows_http_and_configured_files_only(tmp_path):
    mirror = tmp_path / "he.zip"
    mirror.write_bytes(make_zip(RECORDS))
    spider = make_spider(CordisSpider, [mirror.as_uri()], tmp_path)
    middleware = UrlSchemeMiddleware.from_crawler(spider.crawler)
    assert middleware.process_request(Request(mirror.as_uri())) is None
    assert middleware.process_request(Request("https://cordis.test/data/x.zip")) is None
    refused = [Request("file:///etc/passwd"), Request("data:text/html,<p>injected</p>"),
               Request(mirror.as_uri(), meta={"redirect_urls": ["https://evil.test/"]})]  # only when configured
    for request in refused:
        with pytest.raises(RefusedUrl):
            middleware.process_request(request)
    assert stat(spider, "dropped/unsafe_scheme") == 3


def test_scheme_middleware_refuses_a_configured_device_or_oversized_file(tmp_path):
    big = tmp_path / "big.zip"
    big.write_bytes(b"x" * 2000)
    spider = make_spider(CordisSpider, ["file:///dev/zero", big.as_uri()], tmp_path)
    middleware = UrlSchemeMiddleware.from_crawler(spider.crawler)
    with pytest.raises(RefusedUrl, match="local_file_not_regular"):
        middleware.process_request(Request("file:///dev/zero"))  # the file handler ignores DOWNLOAD_MAXSIZE
    with pytest.raises(RefusedUrl, match="local_file_too_large"):
        middleware.process_request(Request(big.as_uri(), meta={"download_maxsize": 1000}))


def test_a_plain_path_argument_becomes_a_configured_file_url(tmp_path):
    spider = make_spider(CordisSpider, [str(tmp_path / "he.zip")], tmp_path)
    assert spider.start_urls == [(tmp_path / "he.zip").as_uri()]


def test_a_feed_body_that_names_a_local_file_is_not_opened(tmp_path):
    local = tmp_path / "feed.xml"
    local.write_bytes(rss(("Local", "https://x.test/local", "Mon, 02 Feb 2026 10:00:00 +0000")))
    spider = make_spider(ClusterNewsSpider, ["https://feeds.test/rss"], tmp_path)
    assert list(spider.parse_feed(XmlResponse("https://feeds.test/rss", body=str(local).encode()))) == []
    assert stat(spider, "errors/malformed_xml") == 1


@pytest.mark.integration
def test_a_file_link_in_a_feed_is_skipped_and_counted(site, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_bytes(article("Local secret SECRET-MARKER", "secret"))
    day = "Mon, 02 Feb 2026 10:00:00 +0000"
    site.expect_request("/rss").respond_with_data(rss(
        ("Secret", secret.as_uri(), day), ("Data", "data:text/html,<p>injected</p>", day),
        ("Hydrogen", site.url_for("/news/hydrogen"), day)), content_type="application/rss+xml")
    site.expect_request("/news/hydrogen").respond_with_data(article("Hydrogen valleys", "hydrogen"),
                                                            content_type="text/html")
    crawl = run_crawl("cluster_news", tmp_path, [site.url_for("/rss")])
    assert [i["title"] for i in crawl.items] == ["Hydrogen valleys"]
    assert crawl.stat("trendscout/dropped/unsafe_scheme/cluster_news") == 2
    assert not any(k.startswith("trendscout/errors/") for k in crawl.stats)
    assert "SECRET-MARKER" not in json.dumps(crawl.items)


# --- credentials --------------------------------------------------------------------------------------
def test_credentials_go_to_the_configured_origin_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PATENTSVIEW_API_KEY", "pv-key")
    spider = make_spider(PatentsviewSpider, ["http://127.0.0.1:8001/api/v1/patent/"], tmp_path)
    middleware = CredentialsMiddleware.from_crawler(spider.crawler)
    request = Request("http://127.0.0.1:8001/api/v1/patent/?q=1")
    middleware.process_request(request)
    assert request.headers["X-Api-Key"] == b"pv-key"
    for url in ("http://127.0.0.1:8002/api/v1/patent/", "http://localhost:8001/x", "https://127.0.0.1:8001/x"):
        moved = request.replace(url=url)  # a redirect copies every header
        middleware.process_request(moved)
        assert b"X-Api-Key" not in moved.headers, url
    assert stat(spider, "auth/withheld_other_origin") == 3


@pytest.fixture
def other_host():
    """A second loopback server (another port: another origin) that records what it received."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    yield server
    server.clear()
    server.stop()


def headers_seen(server: HTTPServer, path_start: str) -> list[dict]:
    return [dict(request.headers) for request, _ in server.log if request.path.startswith(path_start)]


@pytest.mark.integration
def test_patentsview_key_does_not_follow_a_redirect_to_another_host(site, other_host, tmp_path):
    site.expect_request("/api/v1/patent/").respond_with_data(
        "", status=302, headers={"Location": other_host.url_for("/api/v1/patent/")})
    other_host.expect_request("/api/v1/patent/").respond_with_json({"error": False, "count": 0, "patents": []})
    crawl = run_crawl("patentsview", tmp_path, [site.url_for("/api/v1/patent/")], args={"since": "2026-01-01"},
                      env={"PATENTSVIEW_API_KEY": "pv-secret-key"})
    assert headers_seen(site, "/api/v1/patent/")[0].get("X-Api-Key") == "pv-secret-key"
    (elsewhere,) = headers_seen(other_host, "/api/v1/patent/")
    assert "X-Api-Key" not in elsewhere and "pv-secret-key" not in json.dumps(elsewhere)
    assert crawl.stat("trendscout/auth/withheld_other_origin/patentsview") >= 1


@pytest.mark.integration
def test_epo_ops_token_does_not_follow_a_redirect_to_another_host(site, other_host, tmp_path):
    site.expect_request("/3.2/auth/accesstoken", method="POST").respond_with_json({"access_token": "tok-secret"})
    site.expect_request("/3.2/rest-services/published-data/search").respond_with_data(
        "", status=302, headers={"Location": other_host.url_for("/3.2/rest-services/published-data/search")})
    other_host.expect_request("/3.2/rest-services/published-data/search").respond_with_data(
        "<fault/>", status=404)
    run_crawl("epo_ops", tmp_path, [site.url_for("/3.2")], args={"cpc": "Y02E", "since": "2026-01-01",
                                                                 "until": "2026-01-01"},
              env={"EPO_OPS_KEY": "k", "EPO_OPS_SECRET": "s"})
    assert headers_seen(site, "/3.2/auth")[0]["Authorization"].startswith("Basic ")
    assert headers_seen(site, "/3.2/rest-services")[0]["Authorization"] == "Bearer tok-secret"
    elsewhere = headers_seen(other_host, "/3.2/rest-services")
    assert elsewhere and all("Authorization" not in h for h in elsewhere)


# --- archives -----------------------------------------------------------------------------------------
def bulk(spider, body: bytes) -> list:
    return list(spider.parse_bulk(Response("https://cordis.test/data/he.zip", body=body), previous={}))


def test_bulk_skips_an_oversized_member_and_keeps_the_others(tmp_path):
    spider = make_spider(CordisSpider, ["https://cordis.test/data/he.zip"], tmp_path,
                         TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE='{".xml": 100000, ".csv": 300000}')
    items = bulk(spider, make_zip([*RECORDS, ("huge.xml", b" " * 200_000)]))
    assert sorted(i.external_id for i in items) == ["101082059", "101172946"]
    assert stat(spider, "dropped/member_too_large") == 1 and spider.new_state  # the file counts as parsed
    assert spider.member_maxsize("data/project.CSV") == 300_000 and spider.member_maxsize("x.txt") == 300_000


def tar_xz(records: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        for name, data in records:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_small_tar_xz_expanding_to_a_64mb_record_is_skipped_by_default(tmp_path):
    archive = tar_xz([*RECORDS, ("bomb.xml", b" " * 64_000_000)])
    assert len(archive) < 100_000
    from crawlers import settings as project

    spider = make_spider(CordisSpider, ["https://cordis.test/data/he.zip"], tmp_path,
                         TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE=project.TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE)  # the default
    assert len(bulk(spider, archive)) == 2 and stat(spider, "dropped/member_too_large") == 1


def test_bulk_stops_a_tar_xz_that_expands_past_the_total_cap(tmp_path):
    archive = tar_xz([*RECORDS, ("padding.xml", b" " * 64_000_000)])
    assert len(archive) < 100_000  # 64 MB of record files in a small download
    spider = make_spider(CordisSpider, ["https://cordis.test/data/he.zip"], tmp_path,
                         TRENDSCOUT_ARCHIVE_TOTAL_MAXSIZE=1_000_000)
    items = bulk(spider, archive)
    assert len(items) == 2 and stat(spider, "errors/archive_too_large") == 1
    assert not spider.new_state  # not remembered: tried again once the limit is raised


def zip_with_huge_member(path, records, size: int) -> None:
    """A zip holding `records` and one `size`-byte member, streamed (compresses about 1000:1)."""
    chunk = b" " * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xml/huge-record.xml", "w", force_zip64=True) as handle:
            for _ in range(size // len(chunk)):
                handle.write(chunk)
        for name, data in records:
            archive.writestr(f"xml/{name}", data)


@pytest.mark.integration
def test_a_zip_with_a_1gb_member_is_crawled_in_bounded_memory_and_its_real_project_ingested(site, tmp_path):
    from pipelines.store import Store
    from tests.conftest import run_cli, write_config

    archive = tmp_path / "he.zip"
    zip_with_huge_member(archive, RECORDS[:1], 1 << 30)
    assert archive.stat().st_size < 5 * (1 << 20)
    site.expect_request("/data/he.zip").respond_with_data(archive.read_bytes(), content_type="application/zip")
    crawl = run_crawl("cordis", tmp_path, [site.url_for("/data/he.zip")], measure=True, timeout=300,
                      settings={"TRENDSCOUT_RAW_DIR": tmp_path / "data" / "raw"})
    assert [i["external_id"] for i in crawl.items] == ["101082059"]
    assert crawl.stat("trendscout/dropped/member_too_large/cordis") == 1
    assert crawl.peak_rss_mb < 500, crawl.peak_rss_mb
    run_cli("--config", write_config(tmp_path), "ingest")
    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        assert store.df("SELECT doc_id FROM documents")["doc_id"].tolist() == ["cordis:101082059"]


# --- dates --------------------------------------------------------------------------------------------
def item(kind="news", published="2026-02-03", updated=None) -> DocumentItem:
    return DocumentItem(source="cluster_news", kind=kind, external_id="x", url="https://x.test/a", title="T",
                        text="text", published_on=published, updated_on=updated)


@pytest.mark.parametrize("kind, published, reason", [
    ("news", "2099-01-01", "date_in_future"), ("news", "0001-01-01", "date_too_early"),
    ("patent", "9999-12-31", "date_in_future"), ("news", "2026-13-45", "unreadable_date"),
])
def test_implausible_dates_drop_the_item_and_are_counted(kind, published, reason):
    from scrapy.exceptions import DropItem

    crawler = get_crawler(ClusterNewsSpider)
    pipeline = PlausibleDatesPipeline.from_crawler(crawler)
    with pytest.raises(DropItem):
        pipeline.process_item(item(kind, published))
    assert crawler.stats.get_value(f"trendscout/dropped/{reason}/cluster_news") == 1


def test_planned_project_dates_are_kept_and_updated_on_never_passes_today():
    crawler = get_crawler(ClusterNewsSpider)
    pipeline = PlausibleDatesPipeline.from_crawler(crawler)
    planned = (date.today() + timedelta(days=3 * 365)).isoformat()
    kept = pipeline.process_item(item("project", planned, updated="2099-05-01"))
    assert kept.published_on == planned and kept.updated_on <= date.today().isoformat()
    assert crawler.stats.get_value("trendscout/clamped/updated_on_future/cluster_news") == 1


@pytest.mark.integration
def test_an_article_after_a_2099_dated_one_is_still_ingested(site, tmp_path):
    from pipelines.store import Store
    from tests.conftest import run_cli, write_config

    today = date.today()
    rfc = "{:%a, %d %b %Y} 10:00:00 +0000".format
    entries = [("Future", site.url_for("/news/future"), "Fri, 02 Jan 2099 10:00:00 +0000"),
               ("Hydrogen", site.url_for("/news/hydrogen"), rfc(today - timedelta(days=2)))]
    site.expect_oneshot_request("/rss").respond_with_data(rss(*entries), content_type="application/rss+xml")
    later = ("Textiles", site.url_for("/news/textiles"), rfc(today - timedelta(days=1)))
    site.expect_request("/rss").respond_with_data(rss(*entries, later), content_type="application/rss+xml")
    for path, title in (("/news/future", "Future"), ("/news/hydrogen", "Hydrogen"), ("/news/textiles", "Textiles")):
        site.expect_request(path).respond_with_data(article(title, title.lower()), content_type="text/html")
    config = write_config(tmp_path, sources={"cluster_news": {"enabled": True, "urls": [site.url_for("/rss")]}},
                          crawl={"download_delay": 0, "autothrottle": False, "timeout_s": 5})
    for _ in range(2):
        run_cli("--config", config, "crawl", "--source", "cluster_news")
        run_cli("--config", config, "ingest")
    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        titles = store.df("SELECT title FROM documents ORDER BY title")["title"].tolist()
        skipped = store.df("SELECT skipped FROM run_steps WHERE step = 'crawl' ORDER BY started_at")["skipped"]
    assert titles == ["Hydrogen", "Textiles"]
    assert json.loads(skipped.iloc[0]).get("cluster_news/date_in_future") == 1


# --- exceptions in callbacks --------------------------------------------------------------------------
def test_a_callback_exception_is_counted_and_keep_eu_retries_the_lost_record(tmp_path):
    spider = make_spider(KeepEuSpider, ["https://keep.test"], tmp_path)
    middleware = CallbackErrorsMiddleware.from_crawler(spider.crawler)
    request = Request("https://keep.test/api/project/7/", cb_kwargs={"base": "https://keep.test", "keep_id": 7})
    assert middleware.process_spider_exception(Response(request.url, request=request), KeyError("id"), spider) == []
    assert stat(spider, "errors/exception_KeyError") == 1 and spider.failed_ids == {7}


@pytest.mark.parametrize("value", [{"lat": "n/a", "lng": "1"}, {"lat": [1], "lng": 2}, {"lat": 91, "lng": 0}])
def test_keep_eu_bad_coordinates_are_ignored(value):
    assert _location(value) == (None, None)


@pytest.mark.parametrize("name, data", [
    ("project.json", b"[1, 2, 3]"), ("project.json", b'{"rows": ["a"]}'),
    ("project.csv", b'id;objective\n1;"' + b"x" * 200_000 + b'"\n'),  # over the csv module's field limit
])
def test_unreadable_cordis_tables_raise_value_error(name, data):
    with pytest.raises(ValueError):
        read_table(name, data)


def test_cordis_counts_a_table_of_scalars_as_a_bad_table(tmp_path):
    spider = make_spider(CordisSpider, ["https://cordis.test/data/he-json.zip"], tmp_path)
    assert bulk(spider, make_zip([("project.json", b"[1, 2]")])) == []
    assert stat(spider, "errors/bad_table") == 1


@pytest.mark.integration
def test_keep_eu_record_that_breaks_the_parser_is_counted_and_retried(site, tmp_path):
    records = {30012: json.loads(fixture_bytes("keep_eu/project-30012.json")),
               30011: {**json.loads(fixture_bytes("keep_eu/project-30011.json")), "translations": ["broken"]}}
    site.expect_request("/api/search/projects/", method="POST").respond_with_json(
        {"count": 2, "total_pages": 1, "results": [{"id": 30012}, {"id": 30011}]})
    for keep_id, record in records.items():
        site.expect_request(f"/api/project/{keep_id}/").respond_with_json(record)
    crawl = run_crawl("keep_eu", tmp_path, [site.url_for("").rstrip("/")])
    assert [i["external_id"] for i in crawl.items] == ["30012"]
    assert crawl.stat("trendscout/errors/exception_AttributeError/keep_eu") == 1
    assert crawl.state["retry_ids"] == [30011]  # the watermark passes it, the retry list keeps it


def test_the_crawl_watermark_never_passes_today():
    from pipelines.runs import StepResult
    from pipelines.steps.crawl import _watermark
    from pipelines.steps.ingest import upsert_documents
    from pipelines.store import Store

    with Store.open(":memory:") as store:
        assert _watermark(store, "cluster_news") is None  # nothing crawled yet: no watermark at all
        upsert_documents(store, [item().to_dict()], StepResult("ingest"))
        store.con.execute("UPDATE documents SET updated_on = '2099-01-01'")  # a store filled before dates were checked
        assert _watermark(store, "cluster_news") == date.today().isoformat()


def test_a_deliberate_close_spider_is_not_swallowed(tmp_path):
    from scrapy.exceptions import CloseSpider

    spider = make_spider(KeepEuSpider, ["https://keep.test"], tmp_path)
    middleware = CallbackErrorsMiddleware.from_crawler(spider.crawler)
    response = Response("https://keep.test/x", request=Request("https://keep.test/x"))
    assert middleware.process_spider_exception(response, CloseSpider("quota"), spider) is None
    assert not spider.crawler.stats.get_value("trendscout/errors/exception_CloseSpider/keep_eu")


@pytest.mark.parametrize("spider, limit_mb", [("patentsview", 50), ("keep_eu", 50), ("epo_ops", 50),
                                               ("cluster_sites", 50), ("cluster_news", 10), ("cordis", 512)])
def test_download_size_limits_per_kind_of_source(spider, limit_mb):
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    SpiderLoader.from_settings(settings).load(spider).update_settings(settings)
    assert settings.getint("DOWNLOAD_MAXSIZE") == limit_mb * 1024 * 1024
    assert "crawlers.middlewares.CredentialsMiddleware" in settings.getdict("DOWNLOADER_MIDDLEWARES")
