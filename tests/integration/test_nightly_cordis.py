"""The nightly job end to end on real CORDIS records served from a loopback HTTP server."""

import json

import pytest

from pipelines.store import Store
from tests.conftest import cordis_xml_records, make_zip, run_cli, write_config

pytestmark = pytest.mark.integration

N_RECORDS = 300
BROKEN = [("broken.xml", b"<project><id>1</id><objective>cut off"),
          ("no-objective.xml", b"<project><id>2</id><title>t</title><ecSignatureDate>2024-01-01</ecSignatureDate>"
                               b"</project>")]


@pytest.fixture
def cordis_site(httpserver, shared_cordis):
    """robots.txt disallowing /data/ (as CORDIS does), the zip under /data/, an HTML page posing as a zip."""
    records = cordis_xml_records(N_RECORDS)
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /data/\n")
    httpserver.expect_request("/data/cordis-HORIZONprojects-xml.zip").respond_with_data(
        make_zip(records + BROKEN), content_type="application/zip", headers={"ETag": '"he-1"'})
    httpserver.expect_request("/data/cordis-euratom-projects-xml.zip").respond_with_data(
        "<!DOCTYPE html><html><body>CORDIS</body></html>", content_type="text/html")
    return httpserver, records


def test_nightly_end_to_end_then_idempotent(cordis_site, tmp_path):
    server, records = cordis_site
    config = write_config(
        tmp_path,
        sources={"cordis": {"enabled": True, "robots_exempt": ["/data/"],
                            "urls": [server.url_for("/data/cordis-HORIZONprojects-xml.zip"),
                                     server.url_for("/data/cordis-euratom-projects-xml.zip")]}},
        crawl={"download_delay": 0, "autothrottle": False},
        nlp={"embedder": "all-MiniLM-L6-v2", "max_seq_length": 128},
        topics={"min_topic_size": 8},
        trends={"recent_days": 61, "baseline_days": 122},  # the 300 projects span January to July 2022
    )
    first = run_cli("--config", config, "nightly", "--digest")
    assert "embed: ok" in first.stdout

    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        ids = set(store.df("SELECT external_id FROM documents")["external_id"])
        assert len(ids) == N_RECORDS == store.count("documents")  # every valid record once, the bad ones not
        assert store.count("doc_embeddings", "model = 'all-MiniLM-L6-v2'") == N_RECORDS
        assert store.scalar("SELECT min(len(vector)) FROM embeddings") == 384
        assert store.count("topic_assignments") == N_RECORDS
        ranks = store.df("SELECT rank FROM trend_scores ORDER BY rank")["rank"].tolist()
        assert ranks and ranks == list(range(1, len(ranks) + 1))
        crawl_step = store.df("SELECT skipped, errors FROM run_steps WHERE step = 'crawl'").iloc[0]
        assert json.loads(crawl_step["skipped"]) == {"cordis/malformed_xml": 1, "cordis/no_objective": 1}
        assert any("not_an_archive_html" in e for e in json.loads(crawl_step["errors"]))
        titles = set(store.df("SELECT title FROM documents")["title"])

    digests = list((tmp_path / "reports").glob("*/digest.*"))
    assert sorted(p.suffix for p in digests) == [".html", ".json", ".md"]
    digest = json.loads(next(p for p in digests if p.suffix == ".json").read_text())
    cards = digest["themes"] + digest["watch_list"]  # flags that passed, else the watch list
    shown = [d["title"] for theme in cards for d in theme["documents"]]
    assert shown and set(shown) <= titles
    assert all(d["url"].startswith("https://cordis.europa.eu/project/id/") for t in cards for d in t["documents"])
    assert sum(s["n"] for s in digest["health"]["documents_by_source"]) == N_RECORDS

    second = run_cli("--config", config, "nightly")
    status = json.loads(run_cli("--config", config, "status", "--json").stdout)
    assert status["documents"] == N_RECORDS and status["documents_by_source"] == {"cordis": N_RECORDS}
    assert status["embeddings"] == N_RECORDS and status["topics"] >= 1
    steps = {s["step"]: s for s in status["last_run"]["steps"]}
    assert steps["ingest"]["counts"].get("new", 0) == 0 and "embedded" not in steps["embed"]["counts"]
    assert steps["crawl"]["counts"].get("unchanged_cordis") == 1  # same ETag/content: not parsed again
    assert "nothing to do" in second.stdout
