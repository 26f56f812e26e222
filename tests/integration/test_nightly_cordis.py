"""The nightly job end to end on real CORDIS records served from a loopback HTTP server."""

import json
import re

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
    )
    first = run_cli("--config", config, "nightly", "--digest")
    assert "embed: ok" in first.stdout
    # the default windows (182 recent + at least 91 baseline days) on projects signed 2021-11 .. 2022-07 (and one
    # stray from 2021-07): too little history, and the digest says so rather than showing nothing
    digests = {p.suffix: p for p in (tmp_path / "reports").glob("*/digest.*")}
    assert sorted(digests) == [".html", ".json", ".md"]
    note = json.loads(digests[".json"].read_text())["history"]["note"]
    assert re.fullmatch(r"too little history: the corpus spans \d+ days \(from 2021-11-\d\d\), the windows need 273 "
                        r"\(182 recent \+ 91 baseline\)", note)
    assert f"No detection this week: {note}" in digests[".html"].read_text()

    fitted = {"TRENDSCOUT_TRENDS__RECENT_DAYS": "61", "TRENDSCOUT_TRENDS__BASELINE_DAYS": "122"}  # the fixture's span
    run_cli("--config", config, "detect", env=fitted)
    run_cli("--config", config, "digest", env=fitted)
    digests = {p.suffix: p for p in sorted((tmp_path / "reports").glob("*/digest.*"))}  # the newest week's
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

    digest = json.loads(digests[".json"].read_text())
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
