import pandas as pd

from pipelines.settings import ForecastSettings, TrendSettings
from pipelines.steps.detect import detect
from pipelines.steps.forecast import forecast
from pipelines.views.forecasts import theme_forecasts
from tests.pipelines.test_detect import store  # noqa: F401  (fixture)


def test_forecast_writes_every_topic_of_the_latest_detection_with_ordered_intervals(store):  # noqa: F811
    assert forecast(store, ForecastSettings()).skipped == {"no_detection": 1}
    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    result = forecast(store, ForecastSettings(horizon=3, n_samples=500))
    rows = store.df("SELECT * FROM theme_forecasts WHERE detect_id = 'run1'")
    topics = set(store.df("SELECT topic_id FROM trend_scores WHERE detect_id = 'run1'")["topic_id"])
    assert set(rows["topic_id"]) == topics and result.counts["topics"] == len(topics)
    assert sorted(rows["step"].unique()) == [1, 2, 3]
    assert ((rows["q10"] <= rows["q25"]) & (rows["q25"] <= rows["q50"]) & (rows["q75"] <= rows["q90"])).all()
    planted = theme_forecasts(store, "run1")[9]
    assert 0 <= planted["p_lasting"] <= 1 and len(planted["steps"]) == 3
    assert planted["steps"][0]["period"] >= "2025-01-01"


def test_trends_json_carries_each_themes_forecast(tmp_path):
    import json

    from typer.testing import CliRunner

    from pipelines.cli import app
    from tests.conftest import write_config
    from tests.pipelines.test_detect import rising_phrase_store

    config = write_config(tmp_path, trends={"period": "month", "terms": False})
    with rising_phrase_store(tmp_path / "data" / "trendscout.duckdb") as s:
        detect(s, TrendSettings(period="month", terms=False), "run1", as_of="2024-12-31")
        forecast(s, ForecastSettings(n_samples=500))
    result = CliRunner().invoke(app, ["--config", str(config), "trends", "--json"])
    assert result.exit_code == 0, result.output
    theme = json.loads(result.stdout)["themes"][0]["forecast"]
    assert [s["period"] for s in theme["steps"]] == ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]
    low, high = theme["steps"][0]["interval_80"]
    assert low <= theme["steps"][0]["interval_50"][0] <= theme["steps"][0]["interval_50"][1] <= high
    assert theme["model"] in {"naive", "level", "trend"} and 0 <= theme["p_lasting"] <= 1


def test_digest_card_chart_draws_the_themes_forecast(store, tmp_path, monkeypatch):  # noqa: F811
    from pipelines.settings import Settings
    from pipelines.steps import digest

    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    assert digest.build_digest(store, Settings(reports_dir=tmp_path))["themes"][0]["forecast"] is None
    forecast(store, ForecastSettings(horizon=3, n_samples=500))
    content = digest.build_digest(store, Settings(reports_dir=tmp_path))
    card = content["themes"][0]
    assert card["topic_id"] == 9 and [p for p, *_ in card["forecast"]] == [
        s["period"] for s in theme_forecasts(store, "run1")[9]["steps"]]
    assert all(low <= mid <= high for _, low, mid, high in card["forecast"])
    drawn = {}
    monkeypatch.setattr(digest, "png_chart", lambda *a, title, forecast, **k: drawn.setdefault(title, forecast))
    digest.charts(content)
    assert drawn[card["label"]] == card["forecast"]


def test_lasting_growth_is_calibrated_on_the_earlier_detections_resolved_forecasts(store):  # noqa: F811
    import numpy as np

    from nlp.calibration import ProbabilityCalibrator
    from pipelines.steps.forecast import resolved_lasting

    detect(store, TrendSettings(terms=False), "run0", as_of="2023-12-31")
    first = forecast(store, ForecastSettings(n_samples=500, lasting_min_resolved=1))
    assert first.counts["lasting_resolved"] == 0 and first.counts["lasting_calibrated"] == 0
    before = store.df("SELECT * FROM theme_forecasts WHERE detect_id = 'run0'")
    assert np.allclose(before["p_lasting"], before["p_lasting_raw"], equal_nan=True)  # nothing resolved: raw
    detect(store, TrendSettings(terms=False), "run0b", as_of="2023-12-31")  # a rerun: the same forecasts again
    forecast(store, ForecastSettings(n_samples=500, lasting_min_resolved=1))
    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    settings = ForecastSettings(n_samples=500, lasting_min_resolved=1)
    second = forecast(store, settings)
    as_of, period = store.df("SELECT as_of, period FROM detections WHERE detect_id = 'run1'").iloc[0]
    last = store.df("SELECT max(period) AS p FROM theme_forecasts WHERE detect_id = 'run0'")["p"][0]
    resolved = resolved_lasting(store, "run1", pd.Timestamp(as_of), period, pd.Timestamp("2024-12-01"), 1.5)
    # one per topic: the rerun's forecasts of the same periods are not counted twice
    assert second.counts["lasting_resolved"] == len(resolved) == before["p_lasting_raw"].notna().sum() // 4 > 0
    assert set(resolved["p"]) <= set(before["p_lasting_raw"]) and pd.Timestamp(last) <= pd.Timestamp(as_of)
    calibrator = ProbabilityCalibrator(**settings.calibrator_options()).fit(resolved["p"], resolved["event"])
    after = store.df("SELECT * FROM theme_forecasts WHERE detect_id = 'run1' AND p_lasting_raw IS NOT NULL")
    assert np.allclose(after["p_lasting"], calibrator.predict(after["p_lasting_raw"]))
    assert second.counts["lasting_calibrated"] == int(calibrator.fitted_) == 1  # the planted topic rose: both outcomes
    # run0's forecasts are not resolved yet for a detection a quarter after it: none used
    early = resolved_lasting(store, "run1", pd.Timestamp("2024-03-31"), period, pd.Timestamp("2024-03-01"), 1.5)
    assert early.empty
