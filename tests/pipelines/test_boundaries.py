from pathlib import Path

import pytest

from pipelines.errors import ConfigError
from pipelines.settings import NlpSettings, load_settings
from pipelines.steps import boundaries as loader
from tests.conftest import write_config

NUTS = Path(__file__).resolve().parents[1] / "fixtures" / "nuts" / "synthetic_nuts.geojson"


@pytest.fixture(autouse=True)
def fresh_parse_cache():
    loader._parse.cache_clear()
    yield
    loader._parse.cache_clear()


def test_load_boundaries_is_none_when_not_configured(tmp_path):
    assert loader.load_boundaries(NlpSettings(), tmp_path) is None


@pytest.mark.parametrize("as_url", [str, lambda p: p.as_uri()], ids=["path", "file-url"])
def test_load_boundaries_reads_a_local_file_in_place(tmp_path, as_url):
    found = loader.load_boundaries(NlpSettings(gisco_nuts=as_url(NUTS)), tmp_path)
    assert found.locate(48.0, 11.0)["code"] == "AT312" and not (tmp_path / "cache").exists()


def test_settings_resolve_a_relative_boundaries_path_against_the_settings_file(tmp_path):
    (tmp_path / "nuts.geojson").write_bytes(NUTS.read_bytes())
    settings = load_settings(write_config(tmp_path, nlp={"gisco_nuts": "nuts.geojson"}))
    assert settings.nlp.gisco_nuts == (tmp_path / "nuts.geojson").resolve().as_uri()
    assert len(loader.load_boundaries(settings.nlp, settings.data_dir)) == 10


def test_load_boundaries_downloads_a_url_once_then_reads_the_cache(httpserver, tmp_path):
    httpserver.expect_request("/nuts/NUTS_RG_01M_2021_4326.geojson").respond_with_data(
        NUTS.read_bytes(), content_type="application/geo+json")
    nlp = NlpSettings(gisco_nuts=httpserver.url_for("/nuts/NUTS_RG_01M_2021_4326.geojson"))
    first = loader.load_boundaries(nlp, tmp_path)
    loader._parse.cache_clear()  # as a new process would: the file, not the parsed object, must be reused
    second = loader.load_boundaries(nlp, tmp_path)
    assert len(httpserver.log) == 1
    assert first.locate(48.8, 9.2)["code"] == second.locate(48.8, 9.2)["code"] == "DE111"
    cached = list((tmp_path / "cache" / "nuts").iterdir())
    assert [p.name.endswith("-NUTS_RG_01M_2021_4326.geojson") for p in cached] == [True]
    assert loader.load_boundaries(nlp, tmp_path) is second  # parsed once per process


@pytest.mark.parametrize(("path", "body", "status"), [("/missing.geojson", "not here", 404),
                                                     ("/broken.geojson", "{}", 200)])
def test_load_boundaries_reports_unusable_sources(httpserver, tmp_path, path, body, status):
    httpserver.expect_request(path).respond_with_data(body, status=status)
    with pytest.raises(ConfigError, match=r"gisco_nuts|GeoJSON"):
        loader.load_boundaries(NlpSettings(gisco_nuts=httpserver.url_for(path)), tmp_path)
    assert not list((tmp_path / "cache" / "nuts").iterdir())  # nothing half-written or unusable is kept


def test_load_boundaries_reports_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        loader.load_boundaries(NlpSettings(gisco_nuts=str(tmp_path / "absent.geojson")), tmp_path)
