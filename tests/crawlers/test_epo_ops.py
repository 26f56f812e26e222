import json
import re

import pytest
from werkzeug import Response

from crawlers.epo_xml import OpsXmlError, ipc_code, parse_documents, parse_search, patent_item, split_epodoc_name
from crawlers.ops import ops_retry_after, parse_throttling
from tests.crawlers.conftest import fixture_bytes, run_crawl

SEARCH = fixture_bytes("epo_ops/search-ti-battery-range1-5.xml")
BIBLIO = fixture_bytes("epo_ops/biblio-EP2400812A1.xml")
ABSTRACT = fixture_bytes("epo_ops/abstract-EP2400812A1.xml")
BIBLIO_WITHOUT_ABSTRACT = re.sub(rb"<abstract .*?</abstract>", b"", BIBLIO, flags=re.S)


def test_parse_search_reads_capped_total_and_docdb_references():
    page = parse_search(SEARCH)
    assert page.total == 10000
    assert page.refs[0] == ("HR.P20251003.T1", "77199274") and len(page.refs) == 5


def test_parse_documents_reads_biblio_fields_despite_stylesheet_and_namespaces():
    (doc,) = parse_documents(BIBLIO)
    assert (doc.number, doc.family_id, doc.published_on, doc.filed_on) == (
        "EP.2400812.A1", "43088294", "2011-12-28", "2010-06-24")
    assert doc.cpc == ["H04W84/20", "H04W88/04"] and doc.ipc == ["H04W 84/20"]
    assert doc.applicants == [("9SOLUTIONS OY", "FI")]
    assert doc.titles["en"] == "BLUETOOTH NETWORKING" and doc.abstracts["en"].startswith("An apparatus enabling")


def test_patent_item_counts_the_family_once_and_keeps_the_publication():
    item = patent_item(parse_documents(BIBLIO)[0], source="epo_ops")
    assert (item.external_id, item.kind, item.language, item.title) == (
        "43088294", "patent", "en", "BLUETOOTH NETWORKING")
    assert item.meta["publication_number"] == "EP.2400812.A1" and item.meta["family_id"] == "43088294"
    assert item.organisations[0].name == "9SOLUTIONS OY" and item.organisations[0].country == "FI"


@pytest.mark.parametrize("raw, expected", [
    ("9SOLUTIONS OY [FI]", ("9SOLUTIONS OY", "FI")), (" NIEMI JAAKKO [FI]\n", ("NIEMI JAAKKO", "FI")),
    ("9SOLUTIONS OY, ", ("9SOLUTIONS OY", None)),
])
def test_split_epodoc_name_reads_country_in_brackets(raw, expected):
    assert split_epodoc_name(raw) == expected


def test_ipc_code_normalises_fixed_width_text():
    assert ipc_code("H04W  84/    20            A I   ") == "H04W 84/20"


@pytest.mark.parametrize("body, reason", [(b"<html><body>Error</body></html>", "html_instead_of_xml"),
                                          (b"<ops:world-patent-data><unclosed>", "malformed_xml")])
def test_parse_search_rejects_non_xml(body, reason):
    with pytest.raises(OpsXmlError, match=reason):
        parse_search(body)


def test_parse_throttling_reads_colour_and_allowance_per_service():
    header = "busy (images=green:200, inpadoc=yellow:45, other=green:1000, retrieval=red:50, search=black:0)"
    assert parse_throttling(header) == {"images": ("green", 200), "inpadoc": ("yellow", 45), "other": ("green", 1000),
                                        "retrieval": ("red", 50), "search": ("black", 0)}


@pytest.mark.parametrize("value, seconds", [(b"30", 30.0), (b"60000", 60.0), (None, None)])
def test_ops_retry_after_reads_large_values_as_milliseconds(value, seconds):
    assert ops_retry_after(value) == seconds


KEY, SECRET = "test-consumer-key", "test-consumer-secret-123"
ENV = {"EPO_OPS_KEY": KEY, "EPO_OPS_SECRET": SECRET}
LIGHTS = {"X-Throttling-Control": "idle (images=green:200, inpadoc=green:60, other=green:1000, "
                                  "retrieval=green:6000, search=green:6000)"}


class FakeOps:
    """Token endpoint that hands out tok-1 (already expired) then tok-2; search and biblio by CQL."""

    def __init__(self):
        self.tokens = iter(["tok-1", "tok-2", "tok-3", "tok-4"])
        self.biblio_calls = 0

    def token(self, request):
        import base64
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode():
            return Response("unauthorised", status=401)
        return Response(json.dumps({"access_token": next(self.tokens), "expires_in": "1199"}),
                        content_type="application/json")

    def expired(self, request):
        return request.headers.get("Authorization") == "Bearer tok-1"

    def search(self, request):
        if self.expired(request):
            return Response("<fault><message>invalid_access_token</message></fault>", status=400)
        if "cpc=H01M" in request.args["q"]:  # a small result list with other families
            body = SEARCH.replace(b'total-result-count="10000"', b'total-result-count="5"')
            return Response(body.replace(b'family-id="', b'family-id="1'), headers=LIGHTS, content_type="text/xml")
        return Response(SEARCH, headers=LIGHTS, content_type="text/xml")

    def biblio(self, request):
        if self.expired(request):
            return Response("expired", status=400)
        self.biblio_calls += 1
        return Response(BIBLIO_WITHOUT_ABSTRACT if self.biblio_calls == 1 else BIBLIO, headers=LIGHTS,
                        content_type="text/xml")


def serve_ops(site) -> FakeOps:
    """Route OPS's token, search, biblio and abstract services on the loopback `site` to a FakeOps."""
    ops = FakeOps()
    site.expect_request("/3.2/auth/accesstoken", method="POST").respond_with_handler(ops.token)
    site.expect_request("/3.2/rest-services/published-data/search").respond_with_handler(ops.search)
    site.expect_request("/3.2/rest-services/published-data/publication/docdb/biblio",
                        method="POST").respond_with_handler(ops.biblio)
    site.expect_request("/3.2/rest-services/published-data/publication/docdb/EP.2400812.A1/abstract"
                        ).respond_with_data(ABSTRACT, content_type="text/xml", headers=LIGHTS)
    return ops


@pytest.mark.integration
def test_epo_ops_crawl_refreshes_token_halves_capped_slices_and_counts_families_once(site, tmp_path):
    serve_ops(site)
    args = {"cpc": "Y02E,H01M", "since": "2026-01-01", "until": "2026-01-04", "slice_days": 4}
    urls = [site.url_for("/3.2")]

    first = run_crawl("epo_ops", tmp_path, urls, args=args, env=ENV)
    (item,) = first.items
    assert (item["external_id"], item["source"], item["kind"], item["published_on"]) == (
        "43088294", "epo_ops", "patent", "2011-12-28")
    assert item["text"].startswith("An apparatus enabling")  # from the per-number abstract request
    assert item["codes"] == {"cpc": ["H04W84/20", "H04W88/04"], "ipc": ["H04W 84/20"]}
    assert item["organisations"] == [{"name": "9SOLUTIONS OY", "role": "applicant", "org_id": None, "short_name": None,
                                      "country": "FI", "city": None, "nuts_code": None, "lat": None, "lon": None}]
    assert first.stat("trendscout/slices/halved/epo_ops") == 3  # 4 days -> 2 x 2 days -> 4 x 1 day
    assert first.stat("trendscout/truncated/result_cap/epo_ops") == 4  # single days still over the cap
    assert first.stat("trendscout/skipped/family_seen/epo_ops") == 16  # 3 later days x 5, and the H01M biblio
    assert first.stat("trendscout/auth/token_refreshed/epo_ops") >= 1
    assert first.state["families"] == ["43088294"] and first.state["bytes_used"] > 0
    leaked = [s for s in (KEY, SECRET, "tok-2") if s in first.log + json.dumps(first.items) + json.dumps(first.stats)
              + json.dumps(first.state)]
    cached = [p for p in (tmp_path / "httpcache").rglob("*") if p.is_file() and b"tok-" in p.read_bytes()]
    assert leaked == [] and cached == []

    second = run_crawl("epo_ops", tmp_path, urls, args=args, env=ENV, run_id="run2")
    assert second.items == []


@pytest.mark.integration
def test_epo_ops_crawl_stops_on_quota_rejection_and_without_credentials(site, tmp_path):
    site.expect_request("/3.2/auth/accesstoken", method="POST").respond_with_json({"access_token": "tok"})
    site.expect_request("/3.2/rest-services/published-data/search").respond_with_data(
        "<fault>quota</fault>", status=403, headers={"X-Rejection-Reason": "RegisteredQuotaPerWeek"})
    args = {"cpc": "Y02E", "since": "2026-01-01", "until": "2026-01-02"}
    rejected = run_crawl("epo_ops", tmp_path, [site.url_for("/3.2")], args=args, env=ENV)
    assert rejected.items == [] and rejected.stats["finish_reason"].startswith("OPS rejected")
    assert rejected.stat("trendscout/errors/quota_RegisteredQuotaPerWeek/epo_ops") == 1

    no_keys = run_crawl("epo_ops", tmp_path, [site.url_for("/3.2")], args=args, run_id="run2")
    assert no_keys.stat("trendscout/errors/missing_credentials/epo_ops") == 1
    assert no_keys.stat("downloader/request_count") == 0
