import io
import tarfile
from pathlib import Path

import pytest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.base import parse_url_list
from crawlers.bulk import sniff
from crawlers.spiders.cordis import CordisSpider
from tests.conftest import make_zip

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cordis"
RECORDS = [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*.xml"))]


@pytest.fixture
def spider(tmp_path):
    crawler = get_crawler(CordisSpider, {"TRENDSCOUT_STATE_DIR": str(tmp_path)})
    return CordisSpider.from_crawler(crawler, urls='["https://cordis.test/data/he.zip"]')


def run(spider, body: bytes, previous=None, headers=None):
    response = Response("https://cordis.test/data/he.zip", body=body, headers=headers or {})
    return list(spider.parse_bulk(response, previous=previous or {}))


def stat(spider, key):
    return spider.crawler.stats.get_value(f"trendscout/{key}/cordis", 0)


def test_cordis_spider_yields_one_item_per_record_and_skips_bad_ones(spider):
    bad = [("broken.xml", b"<project><id>1</id><objective>x"), ("empty.xml", RECORDS[0][1].replace(
        b"<objective>", b"<objectiveX>").replace(b"</objective>", b"</objectiveX>"))]
    items = run(spider, make_zip(RECORDS + bad + [("readme.txt", b"not a record")]))
    assert sorted(i.external_id for i in items) == ["101082059", "101172946"]
    assert stat(spider, "dropped/malformed_xml") == 1 and stat(spider, "dropped/no_objective") == 1
    assert "https://cordis.test/data/he.zip" in spider.new_state


def test_cordis_spider_reads_a_tar_xz_mirror(spider):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        for name, data in RECORDS:
            info = tarfile.TarInfo(f"data/254/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert len(run(spider, buffer.getvalue())) == 2


def test_cordis_spider_counts_an_html_error_page_served_as_the_zip(spider):
    assert run(spider, b"<!DOCTYPE html><html><body>Sorry, maintenance</body></html>") == []
    assert stat(spider, "errors/not_an_archive_html") == 1 and not spider.new_state


def test_cordis_spider_keeps_no_state_for_a_truncated_zip(spider):
    body = make_zip([(f"{i}-{n}", d) for i in range(20) for n, d in RECORDS])
    items = run(spider, body[: len(body) // 2])
    assert stat(spider, "errors/bad_archive") == 1
    assert not spider.new_state  # tried again next time
    assert len(items) < 40


def test_cordis_spider_skips_content_it_already_parsed(spider):
    body = make_zip(RECORDS)
    first = run(spider, body, headers={"ETag": '"v1"'})
    state = spider.new_state["https://cordis.test/data/he.zip"]
    assert len(first) == 2 and state["etag"] == '"v1"'
    assert run(spider, body, previous=state) == []
    assert stat(spider, "unchanged/same_content") == 1


def test_cordis_spider_persists_state_and_sends_conditional_headers(spider, tmp_path):
    run(spider, make_zip(RECORDS), headers={"ETag": '"v1"', "Last-Modified": "Mon, 01 Sep 2025 00:00:00 GMT"})
    spider.closed("finished")
    again = CordisSpider.from_crawler(get_crawler(CordisSpider, {"TRENDSCOUT_STATE_DIR": str(tmp_path)}),
                                      urls='["https://cordis.test/data/he.zip"]')
    import asyncio

    async def first_request():
        async for request in again.start():
            return request

    request = asyncio.run(first_request())
    assert request.headers.get("If-None-Match") == b'"v1"'
    assert request.headers.get("If-Modified-Since") == b"Mon, 01 Sep 2025 00:00:00 GMT"


@pytest.mark.parametrize("value, expected", [
    ('["https://a.test/x", "file:///m/b.zip"]', ["https://a.test/x", "file:///m/b.zip"]),
    ("https://a.test/x, https://b.test/y", ["https://a.test/x", "https://b.test/y"]),
    (["https://a.test/x"], ["https://a.test/x"]), (None, []), ('["/mirror/he.zip"]', ["file:///mirror/he.zip"]),
])
def test_parse_url_list_accepts_argument_forms(value, expected):
    assert parse_url_list(value) == expected


@pytest.mark.parametrize("body, kind", [
    (make_zip(RECORDS), "zip"), (b"<?xml version='1.0'?><project/>", "xml"),
    (b"<!doctype html><html></html>", "html"), (b"\x00\x01garbage", "unknown"),
])
def test_sniff_names_the_container(body, kind):
    assert sniff(body) == kind
