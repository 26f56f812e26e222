import pickle
from pathlib import Path

import pandas as pd
import pytest

from nlp.boundaries import NutsBoundaries
from nlp.places import PlaceRegistry
from nlp.regions import RegionTagger

SYNTHETIC = Path(__file__).resolve().parents[1] / "fixtures" / "nuts" / "synthetic_nuts.geojson"
ORGS = pd.DataFrame([("TECHNISCHE UNIVERSITEIT EINDHOVEN", "TU/e", "NL", "EINDHOVEN", "NL414", 51.45, 5.49),
                     ("STADTWERKE STUTTGART GMBH", None, "DE", "STUTTGART", "DE111", 48.78, 9.18)],
                    columns=["name", "short_name", "country", "city", "nuts_code", "lat", "lon"])
NO_CITIES = pd.DataFrame(columns=["name", "country", "lat", "lon", "population", "is_alternate"])


@pytest.fixture(scope="module")
def boundaries():
    return NutsBoundaries.from_geojson(SYNTHETIC)


@pytest.mark.parametrize(("lat", "lon", "code", "parents"), [
    (48.8, 9.2, "DE111", ["DE11", "DE1", "DE"]),
    (48.2, 9.7, "DE11", ["DE1", "DE"]),  # inside DE11 but no level-3 square
    (48.0, 11.0, "AT312", ["AT31", "AT3", "AT"]),
    (40.4, -3.7, None, None),  # Madrid: outside every synthetic polygon
    (35.7, 139.7, None, None),  # Tokyo
])
def test_boundaries_locate_returns_the_deepest_region_and_its_parents(boundaries, lat, lon, code, parents):
    found = boundaries.locate(lat, lon)
    assert (found and found["code"], found and found["parents"]) == (code, parents)
    if found:
        assert found["level"] == len(code) - 2 and found["name"].startswith("Synthetic")


@pytest.mark.parametrize(("lat", "lon", "country", "code"), [
    (48.2, 10.0, "AT", "AT31"), (48.2, 10.0, "DE", "DE11"), (48.2, 10.0, None, "DE11"),  # lon 10: the DE/AT edge
    (48.8, 9.2, "AT", None),  # inside DE only: an Austrian organisation there is a data error
])
def test_boundaries_locate_keeps_to_the_given_country(boundaries, lat, lon, country, code):
    found = boundaries.locate(lat, lon, country)
    assert (found and found["code"]) == code


def test_boundaries_read_bytes_like_a_path_and_survive_pickling(boundaries):
    copy = pickle.loads(pickle.dumps(NutsBoundaries.from_geojson(SYNTHETIC.read_bytes())))
    assert len(copy) == len(boundaries) == 10 and copy.locate(48.8, 9.2)["code"] == "DE111"


@pytest.mark.parametrize("data", [b'{"type": "FeatureCollection", "features": []}',
                                  b'{"features": [{"properties": {"NAME_LATN": "x"}, "geometry": null}]}'])
def test_boundaries_reject_files_without_nuts_features(data):
    with pytest.raises(ValueError):
        NutsBoundaries.from_geojson(data)


@pytest.mark.parametrize(("with_boundaries", "lat", "lon", "code"), [
    (True, 48.0, 11.0, "AT312"),  # the polygon, though no registry organisation is near
    (False, 48.0, 11.0, None),
    (True, 51.46, 5.48, "NL414"),  # outside the polygons: the nearest registry organisations
    (True, 35.7, 139.7, None),
])
def test_registry_locate_uses_polygons_first_then_nearest_organisations(boundaries, with_boundaries, lat, lon, code):
    registry = PlaceRegistry.from_frames(ORGS, cities=NO_CITIES, boundaries=boundaries if with_boundaries else None)
    found = registry.locate(lat, lon)
    assert (found and found["code"]) == code
    assert found is None or found["evidence"] == "coordinates"


def test_tagger_places_an_organisation_without_nuts_code_by_its_polygon(boundaries):
    tagger = RegionTagger(PlaceRegistry.from_frames(ORGS, cities=NO_CITIES, boundaries=boundaries))
    partner = {"name": "Verein fuer Almwirtschaft", "country": "AT", "lat": 48.0, "lon": 11.0, "role": "partner"}
    [tags] = tagger.tag(["A cross-border project."], [[partner]])
    assert [(t["code"], t["evidence"], t["name"]) for t in tags] == [("AT312", "coordinates", "Synthetic A312")]
