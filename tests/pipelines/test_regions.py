"""The regional brief, a theme's geography and `trendscout regions` on the digest tests' store plus a few projects."""

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.runs import StepResult
from pipelines.settings import GeographySettings, Settings
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from pipelines.views.regions import consortia, list_regions, region_brief, theme_geography
from tests.conftest import THIS_WEEK, write_config
from tests.pipelines.test_digest_sections import build_store

OPTIONS = GeographySettings()


def add_geography(store: Store) -> Store:
    """Lyon also works on batteries (so hydrogen and batteries are related), and one hydrogen consortium joins
    Darmstadt and Lyon with a US partner."""
    lyon = {"name": "Lyon Hydrogène SA", "nuts_code": "FRK26", "country": "FR"}
    docs = [{"source": "cordis", "kind": "project", "external_id": f"lyon-battery-{i}", "title": f"Lyon cells {i}",
             "text": "solid electrolyte battery cells", "url": f"https://example.test/lyon/{i}",
             "published_on": "2026-10-15", "organisations": [lyon], "_topic": 4} for i in range(6)]
    docs.append({"source": "cordis", "kind": "project", "external_id": "joint-h2", "title": "Rhine-Rhône hydrogen",
                 "text": "hydrogen electrolyser valley", "url": "https://example.test/joint",
                 "published_on": "2026-11-15", "_topic": 1,
                 "organisations": [{"name": "H2 Darmstadt GmbH", "nuts_code": "DE711", "country": "DE"}, lyon,
                                   {"name": "Boston Electrolysis Inc", "country": "US"}]})
    upsert_documents(store, docs, StepResult("ingest"))
    for d in docs:
        store.con.execute("INSERT INTO topic_assignments VALUES (?, ?, 'v1', 0.9, now())",
                          [f"cordis:{d['external_id']}", d["_topic"]])
    return store


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        yield add_geography(build_store(s))


def test_region_brief_has_specialisations_adjacent_possible_partners_and_non_eu(store):
    brief = region_brief(store, "de71", OPTIONS)
    assert brief["region"] == "DE71" and brief["name"] == "Region DE71"
    assert [s["topic_id"] for s in brief["specialisations"]] == [1]
    assert brief["specialisations"][0]["rca"] > 1 and brief["specialisations"][0]["organisations"][0] == \
        "H2 Darmstadt GmbH"
    # batteries: rising in Europe, no RCA in DE71, related to hydrogen through Lyon
    adjacent = brief["adjacent_possible"][0]
    assert (adjacent["topic_id"], adjacent["rising"], adjacent["relatedness_density"]) == (4, True, 100.0)
    assert adjacent["via"]["topic_id"] == 1
    partners = {c["partner_region"]: c for c in brief["cross_border"]}
    assert set(partners) == {"FRK2", "ES21"}
    assert partners["FRK2"]["existing_collaboration"] and partners["FRK2"]["shared_projects"] == 1
    assert not partners["ES21"]["existing_collaboration"] and partners["ES21"]["partner_country"] == "ES"
    assert partners["FRK2"]["organisations"][0] == "H2 Darmstadt GmbH"
    hydrogen = next(i for i in brief["international"] if i["topic_id"] == 1)
    assert hydrogen["top_countries"] == [{"country": "US", "n": 1}] and 0 < hydrogen["non_eu_share"] < 0.1


def test_unknown_or_malformed_region_has_no_brief(store):
    assert region_brief(store, "PL91", OPTIONS) is None and region_brief(store, "nonsense", OPTIONS) is None


def test_a_nuts3_code_gets_a_brief_at_nuts3(store):
    brief = region_brief(store, "FRK26", OPTIONS)
    assert brief["region"] == "FRK26" and {s["topic_id"] for s in brief["specialisations"]} == {1, 4}
    assert {c["partner_region"] for c in brief["cross_border"]} >= {"DE711", "ES213"}


def test_theme_geography_ranks_pairs_and_marks_the_shared_consortium(store):
    geo = theme_geography(store, 1, OPTIONS)
    assert {s["region"] for s in geo["specialised"]} == {"DE71", "FRK2", "ES21"}
    pairs = {(p["region"], p["partner_region"]): p["existing_collaboration"] for p in geo["cross_border"]}
    assert pairs == {("DE71", "ES21"): False, ("DE71", "FRK2"): True, ("ES21", "FRK2"): False}
    assert geo["international"]["top_organisations"][0]["name"] == "Boston Electrolysis Inc"


def test_list_regions_counts_documents(store):
    listing = {r["region"]: r for r in list_regions(store)}
    assert listing["FRK2"]["n_docs"] == listing["FRK2"]["weighted_docs"] + 0.5  # the joint project is split


def test_cli_regions_lists_and_shows_one_region_as_json(tmp_path):
    config = write_config(tmp_path)
    settings = Settings(data_dir=tmp_path / "data")
    with Store.open(settings.store_path) as s:
        add_geography(build_store(s))
    runner = CliRunner()
    listing = runner.invoke(app, ["--config", str(config), "regions"])
    assert listing.exit_code == 0, listing.output
    assert listing.output.split("\n")[0].split()[0] in {"DE71", "ITI1"}
    result = runner.invoke(app, ["--config", str(config), "regions", "DE71", "--json"])
    assert result.exit_code == 0, result.output
    brief = json.loads(result.stdout)
    assert {"region", "name", "specialisations", "adjacent_possible", "cross_border", "international"} <= set(brief)
    assert {"topic_id", "label", "rca"} <= set(brief["specialisations"][0])
    assert {"topic_id", "label", "relatedness_density", "rising"} <= set(brief["adjacent_possible"][0])
    assert {"topic_id", "partner_region", "partner_country", "organisations", "existing_collaboration"} <= \
        set(brief["cross_border"][0])
    assert {"topic_id", "non_eu_share", "top_countries"} <= set(brief["international"][0])
    text = runner.invoke(app, ["--config", str(config), "regions", "DE71"])
    assert "Adjacent possible" in text.output and "solid-state batteries" in text.output
    recent = json.loads(runner.invoke(app, ["--config", str(config), "regions", "DE71", "--from", "2026-09-01",
                                            "--json"]).stdout)
    assert recent["from"] == "2026-09-01" and 0 < recent["documents"] < brief["documents"]
    bad = runner.invoke(app, ["--config", str(config), "regions", "DE71", "--from", "last year"])
    assert bad.exit_code == 1 and "--from/--to" in bad.output
    missing = runner.invoke(app, ["--config", str(config), "regions", "PL91"])
    assert missing.exit_code == 1 and "PL91" in missing.output


def test_dashboard_region_pages_and_theme_geography(tmp_path):
    from starlette.testclient import TestClient

    from pipelines.dashboard.app import create_app

    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    with Store.open(settings.store_path) as s:
        add_geography(build_store(s))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert 'href="/regions/FRK2"' in client.get("/regions").text
        page = client.get("/regions/de71")
        assert page.status_code == 200 and "Adjacent possible" in page.text and "solid-state batteries" in page.text
        assert "yes, 1 shared project" in page.text and "not yet" in page.text
        theme = client.get("/themes/1").text
        assert 'id="collaboration-areas"' in theme and "Boston Electrolysis Inc" in theme
        assert client.get("/regions/PL91").status_code == 404 and client.get("/regions/x%3Cy").status_code == 400


def test_digest_section_has_followed_briefs_and_collaboration_areas(store, tmp_path):
    from pipelines.steps.digest import build_digest, render_digest

    settings = Settings(reports_dir=tmp_path, dashboard={"regions": ["DE71", "PL91"]},
                        geography={"non_eu_min_count": 1})  # one US partner since 2025-11-20, none before
    d = build_digest(store, settings, THIS_WEEK)
    assert [b["region"] for b in d["geography"]["briefs"]] == ["DE71"]  # PL91 has no documents
    areas = {x["topic_id"]: x["pairs"] for x in d["geography"]["collaboration"]}
    assert set(areas) == {1, 4}
    assert [(p["region"], p["partner_region"]) for p in areas[1] if p["existing_collaboration"]] == [("DE71", "FRK2")]
    assert [(i["topic_id"], i["share_before"], i["top_countries"]) for i in d["geography"]["non_eu_rising"]] == \
        [(1, 0.0, [{"country": "US", "n": 1}])]
    files = render_digest(d)
    assert 'id="brief-DE71"' in files["digest.html"] and "## Where to act" in files["digest.md"]


def test_interreg_partners_placed_by_coordinates_count_as_a_shared_consortium(store):
    """keep.eu partners carry coordinates, not NUTS codes: enrichment's placement joins the regions."""
    interreg = {"source": "keep_eu", "kind": "project", "external_id": "rhine", "title": "Upper Rhine hydrogen",
                "text": "hydrogen", "published_on": "2026-05-01", "url": "https://example.test/keep",
                "organisations": [{"name": "Ville de Bilbao", "country": "ES", "lat": 43.26, "lon": -2.93},
                                  {"name": "Lund kommun", "country": "SE", "lat": 55.7, "lon": 13.19}]}
    upsert_documents(store, [interreg], StepResult("ingest"))
    store.con.execute("INSERT INTO doc_regions VALUES ('keep_eu:rhine', 'ES213', 3, NULL, 'coordinates', 0.5), "
                      "('keep_eu:rhine', 'SE224', 3, NULL, 'coordinates', 0.5)")
    assert consortia(store).to_dict() == {("DE71", "FRK2"): 1, ("ES21", "SE22"): 1}


def test_digest_geography_reads_the_consortia_once_for_all_followed_regions(store, monkeypatch):
    from pipelines.views import regions

    options = Settings().geography
    alone = [regions.region_brief(store, code, options) for code in ("DE71", "FRK2", "ES21")]
    calls = []
    monkeypatch.setattr(regions, "consortia", lambda *args: calls.append(args) or consortia(*args))
    section = regions.digest_geography(store, ["DE71", "FRK2", "ES21"], [1, 4], options)
    assert len(calls) == 1 and section["briefs"] == alone
