"""The theme page's time chart: the share per period and, after the last period, the forecast fan."""

import json
import re

from starlette.testclient import TestClient

from pipelines.dashboard.app import create_app
from pipelines.settings import ForecastSettings, Settings
from pipelines.steps.forecast import forecast
from pipelines.store import Store
from pipelines.views.forecasts import forecast_line, theme_forecasts
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
        fan = theme_forecasts(store, "d1", 1)[("topic", 1, "")]
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


def test_theme_page_shows_the_forecast_line_of_a_flagged_region_cell(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    with Store.open(settings.store_path) as store:
        build_store(store)
        store.con.execute("INSERT INTO trend_cells (detect_id, topic_id, scope, cell, country, rank, n_recent, "
                          "flagged) VALUES ('d1', 1, 'region', 'DE71', 'DE', 1, 9, true), "
                          "('d1', 1, 'region', 'FR10', 'FR', 2, 3, false)")
        store.con.execute("UPDATE nuts_regions SET name = '<b>Darmstadt</b>' WHERE code = 'DE71'")
        for cell in ("DE71", "FR10"):
            store.con.execute("INSERT INTO theme_forecasts VALUES ('d1', 'region', 1, ?, 1, '2026-12-01', 'level', "
                              "0.1, 0.05, 0.08, 0.1, 0.12, 0.2, 0.7, 0.6, 0.04, 0.09)", [cell])
        line = forecast_line(theme_forecasts(store, "d1", 1)[("region", 1, "DE71")], "month")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        page = c.get("/themes/1").text
    assert line == "next 1 month: share 9.00 % → 10.00 % (80 %: 5.00–20.00 %); P(lasting) 70 %"
    assert page.count('class="cell-forecast"') == 1 and f"rising here; {line}" in page  # FR10 is not flagged
    assert "<b>Darmstadt" not in page and "&lt;b&gt;Darmstadt" in page
