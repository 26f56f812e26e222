import json

import pytest
from scrapy.settings import Settings
from werkzeug import Response

from crawlers.spiders.patentsview import PatentsviewSpider, patent_item
from tests.crawlers.conftest import fixture_bytes, run_crawl

RECORDS = [r for page in (1, 2) for r in json.loads(fixture_bytes(f"patentsview/page-{page}.json"))["patents"]]
KEY = "pv-test-key-0123"


def test_patentsview_patent_item_maps_assignees_and_cpc():
    item = patent_item(RECORDS[0], source="patentsview")
    assert (item.external_id, item.kind, item.published_on, item.language) == ("12000001", "patent", "2026-01-06", "en")
    assert item.url == "https://patents.google.com/patent/US12000001"
    assert item.title.startswith("Solid-state lithium battery") and "sulfide glass-ceramic" in item.text
    assert [(o.name, o.role, o.country, o.city) for o in item.organisations] == [
        ("Volta Cells GmbH", "applicant", "DE", "Ulm")]
    assert item.codes == {"cpc": ["H01M10/0562", "H01M10/052"]}
    assert item.meta["filed_on"] == "2023-04-11" and item.meta["inventor_countries"] == ["AT", "DE"]


@pytest.mark.parametrize("overrides, delay", [
    ({"DOWNLOAD_DELAY": 0}, 60 / 45),  # a run-wide delay cannot break the API's rate limit
    ({"DOWNLOAD_DELAY": 5}, 5),
    ({"DOWNLOAD_DELAY": 0, "TRENDSCOUT_REQUESTS_PER_MINUTE": {"patentsview": 0}}, 0),
])
def test_patentsview_download_delay_respects_45_requests_per_minute(overrides, delay):
    settings = Settings()
    settings.setdict(overrides, priority="cmdline")
    PatentsviewSpider.update_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") == pytest.approx(delay)


def fake_patent_search(request):
    """Filter by `_gte patent_date`, sort by id, page with `o.size` and `o.after`, like PatentSearch."""
    if request.headers.get("X-Api-Key") != KEY:
        return Response('{"error": true, "reason": "forbidden"}', status=403)
    since = json.loads(request.args["q"])["_gte"]["patent_date"]
    options = json.loads(request.args["o"])
    rows = sorted((r for r in RECORDS if r["patent_date"] >= since), key=lambda r: r["patent_id"])
    rows = [r for r in rows if r["patent_id"] > options.get("after", "")][: options["size"]]
    return Response(json.dumps({"error": False, "count": len(rows), "total_hits": 3, "patents": rows}),
                    content_type="application/json")


@pytest.mark.integration
def test_patentsview_crawl_pages_with_cursor_waits_on_429_and_counts_error_payloads(site, tmp_path):
    site.expect_oneshot_request("/api/v1/patent/").respond_with_data("slow down", status=429,
                                                                      headers={"Retry-After": "1"})
    site.expect_request("/api/v1/patent/").respond_with_handler(fake_patent_search)
    site.expect_request("/api/v1/broken/").respond_with_data(fixture_bytes("patentsview/error.json"),
                                                             content_type="application/json")
    site.expect_request("/api/v1/html/").respond_with_data("<!DOCTYPE html><html><body>Bad gateway</body></html>",
                                                           content_type="text/html")
    urls = [site.url_for(p) for p in ("/api/v1/patent/", "/api/v1/broken/", "/api/v1/html/")]
    env = {"PATENTSVIEW_API_KEY": KEY}
    args = {"since": "2026-01-01", "size": 2}

    first = run_crawl("patentsview", tmp_path, urls, args=args, env=env)
    assert [i["external_id"] for i in first.items] == ["12000001", "12000002", "12000003"]
    assert first.stat("trendscout/retry_after/waits") == 1
    assert first.stat("trendscout/errors/api_error/patentsview") == 1
    assert first.stat("trendscout/errors/html_instead_of_json/patentsview") == 1
    assert first.state == {"max_date": "2026-01-13", "ids_at_max_date": ["12000003"]}
    assert KEY not in first.log + json.dumps(first.stats) + json.dumps(first.items)

    second = run_crawl("patentsview", tmp_path, urls[:1], args=args, env=env, run_id="run2")
    assert second.items == [] and second.stat("trendscout/skipped/already_seen/patentsview") == 1
