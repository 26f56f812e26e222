from pathlib import Path

import pytest

from nlp.embed import HashingEmbedder
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import NlpSettings, Settings
from pipelines.steps.embed import embed
from pipelines.steps.enrich import enrich
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store

NUTS = Path(__file__).resolve().parents[1] / "fixtures" / "nuts" / "synthetic_nuts.geojson"
STORY = ("The Stuttgart hydrogen valley brings together carmakers, suppliers and research institutes to build "
         "fuel cell trucks, refuelling stations and electrolysers for heavy road transport across the region. ")


def doc(i, text, source="cordis", orgs=(), codes=None):
    return {"source": source, "kind": "news", "external_id": str(i), "title": f"Story {i}", "text": text,
            "published_on": f"2025-03-{1 + i:02d}", "organisations": list(orgs), "codes": codes or {}}


KIT = {"name": "KARLSRUHER INSTITUT FUER TECHNOLOGIE", "short_name": "KIT", "country": "DE", "city": "Karlsruhe",
       "nuts_code": "DE122", "lat": 49.0, "lon": 8.4, "role": "coordinator"}
UNIST = {"name": "UNIVERSITAET STUTTGART", "short_name": "USTUTT", "country": "DE", "city": "Stuttgart",
         "nuts_code": "DE111", "lat": 48.78, "lon": 9.18, "role": "participant"}


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        docs = [doc(0, STORY * 3, orgs=[KIT, UNIST], codes={"legal_basis": ["HORIZON.2.1"]}),
                doc(1, "Subscribe to our newsletter! " + STORY * 3, source="eccp"),  # a re-post elsewhere
                doc(2, "Researchers at UNIVERSITAET STUTTGART present a new opera festival programme for "
                       "the summer, with baroque singers and an orchestra from Vienna and Salzburg.", source="eccp")]
        docs += [doc(10 + i, f"Unrelated project {i} about marine biology and coral reef ecology number {i} "
                             f"with plankton sampling campaigns {i}", orgs=[KIT]) for i in range(12)]
        upsert_documents(s, docs, StepResult("ingest"))
        embed(s, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=HashingEmbedder(64))
        yield s


def run(store, **nlp):
    settings = Settings(nlp=NlpSettings(embedder="hashing-64", **nlp))
    return enrich(store, settings, Bars(enabled=False), embedder=HashingEmbedder(64))


def test_enrich_groups_reposts_under_the_earliest_copy(store):
    result = run(store)
    canonical = dict(store.con.execute("SELECT doc_id, canonical_id FROM doc_features").fetchall())
    assert canonical["eccp:1"] == "cordis:0" and canonical["cordis:0"] == "cordis:0"
    assert result.counts["enriched"] == 15 and result.counts["duplicates"] == 1
    assert store.scalar("SELECT n_docs FROM syndication_groups WHERE canonical_id = 'cordis:0'") == 2
    assert store.count("canonical_documents") == 14


def test_enrich_places_structured_and_text_regions(store):
    run(store)
    regions = store.df("SELECT doc_id, code, evidence, weight FROM doc_regions ORDER BY doc_id, weight DESC")
    first = regions[regions.doc_id == "cordis:0"]
    assert set(first["code"]) >= {"DE122", "DE111"} and set(first["evidence"]) == {"structured"}
    named = regions[regions.doc_id == "eccp:2"]
    assert "DE111" in set(named["code"]) and "organisation" in set(named["evidence"])


def test_enrich_labels_sectors_from_codes_and_is_incremental(store):
    run(store)
    sectors = store.df("SELECT sector, evidence FROM doc_sectors WHERE doc_id = 'cordis:0'")
    assert "codes" in set(sectors["evidence"]) and len(sectors) >= 1
    assert store.scalar("SELECT language FROM doc_features WHERE doc_id = 'cordis:0'") == "en"
    assert run(store).counts == {}
    upsert_documents(store, [doc(2, "A changed story about wind turbines in Aarhus, Denmark, and offshore "
                                    "energy islands.", source="eccp")], StepResult("ingest"))
    embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=HashingEmbedder(64))
    assert run(store).counts["enriched"] == 1


@pytest.mark.parametrize(("gisco_nuts", "expected"), [(str(NUTS), [("AT312", "coordinates")]),
                                                     ("", [("AT", "structured")])])  # only its country
def test_enrich_places_coordinates_without_nuts_code_in_the_configured_polygons(store, gisco_nuts, expected):
    partner = {"name": "Verein fuer Almwirtschaft", "country": "AT", "lat": 48.0, "lon": 11.0, "role": "partner"}
    upsert_documents(store, [doc(30, "An Interreg project on alpine pastures and cheese.", source="keep_eu",
                                 orgs=[partner])], StepResult("ingest"))
    embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=HashingEmbedder(64))
    run(store, gisco_nuts=gisco_nuts)
    regions = store.df("SELECT code, evidence FROM doc_regions WHERE doc_id = 'keep_eu:30'")
    assert list(regions.itertuples(index=False, name=None)) == expected


def test_enrich_detects_languages_missing_beside_given_ones(store):
    upsert_documents(store, [doc(20, "Ein Projekt zur Wasserstoffwirtschaft in Baden-Wuerttemberg und Bayern.",
                                 source="eccp") | {"language": "de"}], StepResult("ingest"))
    embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=HashingEmbedder(64))
    run(store)
    languages = dict(store.con.execute("SELECT doc_id, language FROM doc_features").fetchall())
    assert languages["eccp:20"] == "de" and languages["cordis:0"] == "en"
