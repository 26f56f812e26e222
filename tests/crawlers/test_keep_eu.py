import json

import pytest

from crawlers.spiders.keep_eu import project_item
from tests.crawlers.conftest import fixture_bytes, run_crawl


def record(keep_id: int) -> dict:
    return json.loads(fixture_bytes(f"keep_eu/project-{keep_id}.json"))


def test_keep_eu_project_item_maps_partners_with_roles_and_coordinates():
    item = project_item(record(30012), base="https://keep.eu", source="keep_eu")
    assert (item.external_id, item.kind, item.published_on) == ("30012", "project", "2024-03-01")
    assert item.url == "https://keep.eu/projects/30012/cross-border-hydrogen-valleys/"
    assert item.title == "Cross-border hydrogen valleys"
    assert "electrolyser test infrastructure" in item.text and "300 technicians" in item.text
    lead, partner = item.organisations
    assert (lead.name, lead.role, lead.city, lead.country, lead.org_id) == (
        "Bavaria Innovative Ltd", "lead", "Nürnberg", "DE", "999123456")
    assert (lead.lat, lead.lon) == (49.4521, 11.0767)
    assert (partner.name, partner.role, partner.lat, partner.lon) == (
        "Business Upper Austria", "partner", 48.3069, 14.2858)
    assert item.places == ["Linz", "Nürnberg"]
    assert item.codes == {"keep_theme": ["Renewable energy", "SME and entrepreneurship"],
                          "programme": ["Interreg Central Europe 2021-2027"]}


def test_keep_eu_project_item_accepts_string_themes_and_missing_coordinates():
    item = project_item(record(30011), base="https://keep.eu", source="keep_eu")
    assert item.codes["keep_theme"] == ["Waste and resource efficiency"]
    assert [(o.city, o.lat) for o in item.organisations] == [("Gent", 51.0543), ("Haaksbergen", None)]


def serve_keep_eu(site) -> None:
    """Two index pages and five project records (three good, one malformed JSON, one HTML) on `site`."""
    for page in (1, 2):
        site.expect_request("/api/search/projects/", method="POST", query_string=f"page={page}").respond_with_data(
            fixture_bytes(f"keep_eu/search-page-{page}.json"), content_type="application/json")
    for keep_id in (30012, 30011, 30010):
        site.expect_request(f"/api/project/{keep_id}/").respond_with_data(
            fixture_bytes(f"keep_eu/project-{keep_id}.json"), content_type="application/json")
    site.expect_request("/api/project/30009/").respond_with_data('{"id": 30009, "acronym": ',
                                                                 content_type="application/json")
    site.expect_request("/api/project/30008/").respond_with_data(
        "<!DOCTYPE html><html><body>Maintenance</body></html>", content_type="text/html")


@pytest.mark.integration
def test_keep_eu_crawl_walks_index_counts_bad_records_and_stops_at_known_ids(site, tmp_path):
    serve_keep_eu(site)
    base = site.url_for("").rstrip("/")

    first = run_crawl("keep_eu", tmp_path, [base], args={"since": "2026-01-01"})
    assert sorted(i["external_id"] for i in first.items) == ["30010", "30011", "30012"]
    h2 = next(i for i in first.items if i["external_id"] == "30012")
    assert h2["organisations"][0]["role"] == "lead" and h2["organisations"][1]["lat"] == 48.3069
    assert h2["url"] == f"{base}/projects/30012/cross-border-hydrogen-valleys/"
    assert first.stat("trendscout/errors/malformed_json/keep_eu") == 1
    assert first.stat("trendscout/errors/html_instead_of_json/keep_eu") == 1
    assert first.state == {"max_id": 30012, "retry_ids": [30008, 30009]}

    second = run_crawl("keep_eu", tmp_path, [base], run_id="run2")
    assert second.items == []
    assert second.stat("downloader/request_method_count/POST") == 1  # page 1 holds only known ids
    assert second.state["retry_ids"] == [30008, 30009]  # still broken: tried again next time
