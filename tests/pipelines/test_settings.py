import inspect
import tomllib
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from nlp.calibration import ProbabilityCalibrator
from nlp.embed import build_embedder
from nlp.emergence import EmergenceDetector
from nlp.forecast import ThemeForecaster
from nlp.phrases import PhraseExtractor
from nlp.terms import EmergentTermScorer
from nlp.topics import build_topic_model
from pipelines.errors import ConfigError
from pipelines.settings import ForecastSettings, NlpSettings, Settings, TopicSettings, TrendSettings, load_settings


def test_load_settings_resolves_paths_against_the_file(tmp_path):
    config = tmp_path / "conf" / "t.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "d"\n[sources.cordis]\nurls = ["mirror/he.zip", "https://x.test/a.zip"]\n')
    settings = load_settings(config)
    assert settings.data_dir == (tmp_path / "conf" / "d").resolve()
    assert settings.store_path == settings.data_dir / "trendscout.duckdb"
    assert settings.sources["cordis"].urls == [(tmp_path / "conf" / "mirror" / "he.zip").resolve().as_uri(),
                                               "https://x.test/a.zip"]


def test_environment_overrides_the_toml_file(tmp_path, monkeypatch):
    config = tmp_path / "t.toml"
    config.write_text('[nlp]\nembedder = "all-MiniLM-L6-v2"\nbatch_size = 8\n[sources.cordis]\nenabled = true\n')
    monkeypatch.setenv("TRENDSCOUT_NLP__EMBEDDER", "hashing")
    monkeypatch.setenv("TRENDSCOUT_SOURCES__CORDIS__URLS", '["file:///m/he.zip"]')
    settings = load_settings(config)
    assert settings.nlp.embedder == "hashing" and settings.nlp.batch_size == 8
    assert settings.sources["cordis"].enabled and settings.sources["cordis"].urls == ["file:///m/he.zip"]


@pytest.mark.parametrize("text", ["data_dir = ", "unknown_key = 1", "[nlp]\nbatch_size = 'many'"])
def test_load_settings_rejects_bad_files_with_config_error(tmp_path, text):
    config = tmp_path / "t.toml"
    config.write_text(text)
    with pytest.raises(ConfigError):
        load_settings(config)


def test_forecasting_more_term_cells_than_a_detection_keeps_is_an_error(tmp_path):
    config = tmp_path / "t.toml"
    config.write_text("[forecast]\ntop_cells = 30\n")
    with pytest.raises(ConfigError, match=r"top_cells \(30\) is more than \[trends\] top_n \(20\)"):
        load_settings(config)
    config.write_text("[forecast]\ntop_cells = 30\n[trends]\ntop_n = 30\n")
    assert load_settings(config).forecast.top_cells == 30


def test_load_settings_rejects_a_missing_named_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_checked_in_defaults_load():
    settings = load_settings(Path(__file__).resolve().parents[2] / "trendscout.toml")
    assert settings.sources["cordis"].robots_exempt == ["/data/"]
    assert settings.nlp.embedder == "all-MiniLM-L6-v2"


def sections(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every settings table of `model`, dotted (`ops.schedule`; `sources.x` for the tables keyed by name)."""
    out = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += [prefix + name, *sections(annotation, f"{prefix}{name}.")]
        elif typing.get_origin(annotation) is dict and issubclass(typing.get_args(annotation)[1], BaseModel):
            out.append(f"{prefix}{name}.x")
    return out


@pytest.mark.parametrize("section", sections(Settings))
def test_an_unknown_key_in_any_table_is_an_error(tmp_path, section):
    config = tmp_path / "t.toml"
    config.write_text(f"[{section}]\nno_such_key = 1\n")
    with pytest.raises(ConfigError, match="no_such_key"):
        load_settings(config)


def test_the_checked_in_settings_file_has_only_known_keys():
    assert load_settings(Path(__file__).resolve().parents[2] / "trendscout.toml").trends.period == "auto"


def keywords(function) -> set[str]:
    return {name for name, p in inspect.signature(function).parameters.items() if p.kind is p.KEYWORD_ONLY}


def test_settings_pass_exactly_the_arguments_of_the_nlp_classes():
    """The settings hold every default the nlp classes use; each class gets all of its arguments by name."""
    assert set(TrendSettings().detector_options()) == keywords(EmergenceDetector)
    assert set(TrendSettings().scorer_options()) == {"base_periods", "active_periods", "min_records"}
    assert keywords(EmergentTermScorer) >= set(TrendSettings().scorer_options())
    assert set(TopicSettings().model_options()) == keywords(build_topic_model) - {"min_df", "embedder"}
    assert set(NlpSettings().embedder_options()) == set(inspect.signature(build_embedder).parameters)
    assert set(NlpSettings().phrase_options()) == keywords(PhraseExtractor)
    assert set(ForecastSettings().forecaster_options()) == keywords(ThemeForecaster) - {"random_state"}
    assert set(ForecastSettings().calibrator_options()) == keywords(ProbabilityCalibrator)
    EmergenceDetector(**TrendSettings().detector_options())
    EmergentTermScorer(**TrendSettings().scorer_options())
    ProbabilityCalibrator(**ForecastSettings().calibrator_options())


@pytest.mark.parametrize("build", [lambda: EmergenceDetector(**TrendSettings().detector_options(), perod="week"),
                                   lambda: build_topic_model(**TopicSettings().model_options(mmr_diversty=0.5))])
def test_an_unknown_constructor_argument_is_an_error(build):
    with pytest.raises(TypeError, match="unexpected keyword"):
        build()


def test_the_smtp_password_is_refused_in_the_settings_file(tmp_path):
    config = tmp_path / "t.toml"
    config.write_text('[mail]\nusername = "ana"\npassword = "hunter2-in-a-file"\n')
    with pytest.raises(ConfigError, match="TRENDSCOUT_MAIL__PASSWORD") as caught:
        load_settings(config)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("name, value", [
    ("TRENDSCOUT_MAIL", '{"password": ["hunter2-secret"]}'),  # a malformed secret
    ("TRENDSCOUT_MAIL__PORT", "hunter2-secret"),  # a secret pasted into the wrong variable
    ("TRENDSCOUT_MAIL", "{hunter2-secret"),  # not JSON
])
def test_invalid_settings_never_echo_the_value(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert "hunter2" not in str(caught.value) and "mail" in str(caught.value)


def test_the_environment_password_still_reaches_mail_settings(monkeypatch):
    monkeypatch.setenv("TRENDSCOUT_MAIL__PASSWORD", "hunter2-env")
    assert load_settings(None).mail.password.get_secret_value() == "hunter2-env"


def test_the_checked_in_settings_file_repeats_no_default():
    """A default lives once, in the settings models: trendscout.toml sets only values that differ from it."""
    checked_in = tomllib.loads((Path(__file__).resolve().parents[2] / "trendscout.toml").read_text())
    defaults = Settings().model_dump(mode="json")

    def repeats(values: dict, default: dict, prefix: str = "") -> list[str]:
        out = []
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(default.get(key), dict):
                out += repeats(value, default[key], f"{prefix}{key}.")
            elif key in default and default[key] == value:
                out.append(prefix + key)
        return out

    for contract in ("sources", "data_dir", "models_dir", "reports_dir"):  # the paths and sources other tools read
        checked_in.pop(contract)
    assert repeats(checked_in, defaults) == []
