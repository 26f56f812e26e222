"""`trendscout crawl` + `ingest` for the keep.eu, EPO OPS and PatentsView spiders against loopback fakes.

The fakes are the routes of the spiders' own tests (tests/crawlers/test_<source>.py); credentials are fake values.
"""

import json

import pytest

from pipelines.store import Store
from tests.conftest import run_cli, write_config
from tests.crawlers.conftest import bare_site, site  # noqa: F401 (fixtures)
from tests.crawlers.test_epo_ops import ENV as OPS_ENV
from tests.crawlers.test_epo_ops import serve_ops
from tests.crawlers.test_keep_eu import serve_keep_eu
from tests.crawlers.test_patentsview import KEY as PATENTSVIEW_KEY
from tests.crawlers.test_patentsview import fake_patent_search

pytestmark = pytest.mark.integration


def serve_patentsview(site):  # noqa: F811
    site.expect_request("/api/v1/patent/").respond_with_handler(fake_patent_search)


# source -> (route set-up, URL path, spider options, environment, expected: one document's fields)
CASES = {
    "keep_eu": (serve_keep_eu, "", {}, {}, {
        "ids": ["30010", "30011", "30012"], "id": "30012", "kind": "project", "published_on": "2024-03-01",
        "url": "/projects/30012/cross-border-hydrogen-valleys/", "title": "Cross-border hydrogen valleys",
        "text": "electrolyser test infrastructure", "organisation": ("Bavaria Innovative Ltd", "lead", "DE"),
        "codes": {"keep_theme": ["Renewable energy", "SME and entrepreneurship"]}}),
    "epo_ops": (serve_ops, "/3.2", {"cpc": "H01M", "since": "2026-01-01", "until": "2026-01-01", "slice_days": 1},
                OPS_ENV, {
        "ids": ["43088294"], "id": "43088294", "kind": "patent", "published_on": "2011-12-28",
        "url": "", "title": "", "text": "An apparatus enabling", "organisation": ("9SOLUTIONS OY", "applicant", "FI"),
        "codes": {"cpc": ["H04W84/20", "H04W88/04"]}}),
    "patentsview": (serve_patentsview, "/api/v1/patent/", {"since": "2026-01-01", "size": 2},
                    {"PATENTSVIEW_API_KEY": PATENTSVIEW_KEY}, {
        "ids": ["12000001", "12000002", "12000003"], "id": "12000001", "kind": "patent", "published_on": "2026-01-06",
        "url": "https://patents.google.com/patent/US12000001", "title": "Solid-state lithium battery",
        "text": "sulfide glass-ceramic", "organisation": ("Volta Cells GmbH", "applicant", "DE"),
        "codes": {"cpc": ["H01M10/0562", "H01M10/052"]}}),
}
NO_SECRETS = {"EPO_OPS_KEY": "", "EPO_OPS_SECRET": "", "PATENTSVIEW_API_KEY": ""}


@pytest.mark.parametrize("name", sorted(CASES))
def test_crawl_cli_ingests_source_once(site, tmp_path, name):  # noqa: F811
    serve, path, options, env, expected = CASES[name]
    serve(site)
    url = site.url_for(path) if path else site.url_for("").rstrip("/")
    config = write_config(tmp_path, sources={name: {"enabled": True, "urls": [url], "options": options}},
                          crawl={"download_delay": 0, "autothrottle": False, "timeout_s": 5,
                                 "requests_per_minute": {name: 0}})
    exit_codes = []
    for _ in range(2):  # keep.eu's broken records fail again on the second run, which then delivers nothing
        exit_codes.append(run_cli("--config", config, "crawl", "--source", name, env={**NO_SECRETS, **env},
                                  check=False).returncode)
        run_cli("--config", config, "ingest")
    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        docs = store.df("SELECT * FROM documents ORDER BY external_id").set_index("external_id")
        orgs = store.df("SELECT name, role, country FROM document_organisations WHERE doc_id = ?",
                        [docs.loc[expected["id"], "doc_id"]])
        steps = store.df("SELECT counts FROM run_steps WHERE step = 'crawl' ORDER BY started_at")
    assert list(docs.index) == expected["ids"] and set(docs["source"]) == {name}
    doc = docs.loc[expected["id"]]
    assert doc["kind"] == expected["kind"] and str(doc["published_on"])[:10] == expected["published_on"]
    assert expected["url"] in doc["url"] and doc["title"].startswith(expected["title"]) and doc["title"]
    assert expected["text"] in doc["text"]
    assert expected["organisation"] in set(orgs.itertuples(index=False, name=None))
    assert {k: json.loads(doc["codes"]).get(k) for k in expected["codes"]} == expected["codes"]
    first, second = (json.loads(c) for c in steps["counts"])
    assert exit_codes[0] == 0
    assert first[f"items_{name}"] == len(expected["ids"]) and second.get(f"items_{name}", 0) == 0
