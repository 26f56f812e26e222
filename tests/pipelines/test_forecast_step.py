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
