"""The theme page's time chart: the share per period and, after the last period, the forecast fan."""

import json
import re

from starlette.testclient import TestClient

from pipelines.dashboard.app import create_app
from pipelines.settings import ForecastSettings, Settings
from pipelines.steps.forecast import forecast
from pipelines.store import Store
from pipelines.views.forecasts import theme_forecasts
from tests.pipelines.test_digest_sections import build_store


def plot_of(page: str) -> list[dict]:
    return json.loads(re.search(r'<script type="application/json" id="theme-data">(.*?)</script>', page, re.S).group(1))


def test_theme_page_draws_the_share_and_the_forecast_fan_after_the_last_period(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    with Store.open(settings.store_path) as store:
        build_store(store)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        before = c.get("/themes/1").text
    assert 'id="theme-data"' not in before and 'src="/themes/1/chart.png"' in before  # no forecast: the PNG
    with Store.open(settings.store_path) as store:
        assert forecast(store, ForecastSettings(n_samples=300)).counts["topics"] == 4
        fan = theme_forecasts(store, "d1", 1)[1]
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        page = c.get("/themes/1").text
    traces = plot_of(page)
    history, *bands = traces
    assert history["x"][0] == "2025-01-01" and history["y"][0] == 25.0
    periods = [s["period"] for s in fan["steps"]]
    assert [t["name"] for t in bands] == ["80 % low", "forecast 80 %", "50 % low", "forecast 50 %", "forecast median"]
    last = max(i for i, p in enumerate(history["x"]) if p < periods[0])  # the fixture's last month is partial
    for trace in bands:  # the fan starts at the last observed share before the forecast and covers its periods
        assert trace["x"] == [history["x"][last], *periods] and trace["y"][0] == history["y"][last]
    low80, high80, low50, high50, median = (t["y"][1:] for t in bands)
    assert high80 == [round(100 * s["interval_80"][1], 3) for s in fan["steps"]]
    assert all(a <= b <= m <= d <= e for a, b, m, d, e in zip(low80, low50, median, high50, high80, strict=True))
    assert 'src="/static/plotly.min.js"' in page and 'src="/themes/1/chart.png"' in page  # the PNG without script
