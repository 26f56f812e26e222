import numpy as np
import pandas as pd
import pytest

from pipelines.settings import ForecastSettings, TrendSettings
from pipelines.steps.detect import detect
from pipelines.steps.forecast import forecast
from pipelines.store import Store
from pipelines.views.forecasts import forecast_line, theme_forecasts
from tests.pipelines.test_detect import store  # noqa: F401  (fixture)


def test_forecast_writes_every_topic_of_the_latest_detection_with_ordered_intervals(store):  # noqa: F811
    assert forecast(store, ForecastSettings()).skipped == {"no_detection": 1}
    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    result = forecast(store, ForecastSettings(horizon=3, n_samples=500))
    rows = store.df("SELECT * FROM theme_forecasts WHERE detect_id = 'run1'")
    topics = set(store.df("SELECT topic_id FROM trend_scores WHERE detect_id = 'run1'")["topic_id"])
    assert set(rows.loc[rows["scope"] == "topic", "topic_id"]) == topics and result.counts["topics"] == len(topics)
    assert sorted(rows["step"].unique()) == [1, 2, 3]
    assert ((rows["q10"] <= rows["q25"]) & (rows["q25"] <= rows["q50"]) & (rows["q75"] <= rows["q90"])).all()
    planted = theme_forecasts(store, "run1")[("topic", 9, "")]
    assert 0 <= planted["p_lasting"] <= 1 and len(planted["steps"]) == 3 == planted["horizon"]
    assert planted["steps"][0]["period"] >= "2025-01-01"
    # a topic's baseline share is the detection's (the lasting-growth threshold is the one trend_scores holds)
    first = rows[(rows["scope"] == "topic") & (rows["step"] == 1)].set_index("topic_id")["share_baseline"]
    scores = store.df("SELECT topic_id, share_baseline FROM trend_scores WHERE detect_id = 'run1'")
    assert np.allclose(first.loc[scores["topic_id"]], scores["share_baseline"])


def test_forecast_writes_the_flagged_and_best_ranked_region_and_sector_cells(store):  # noqa: F811
    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    result = forecast(store, ForecastSettings(horizon=3, n_samples=500, top_cells=2))
    cells = store.df("SELECT scope, topic_id, cell, rank, flagged FROM trend_cells WHERE detect_id = 'run1' "
                     "AND scope IN ('region', 'sector')")
    wanted = cells[cells["flagged"] | (cells["rank"] <= 2)]
    rows = store.df("SELECT * FROM theme_forecasts WHERE detect_id = 'run1' AND scope <> 'topic' AND step = 1")
    assert set(map(tuple, rows[["scope", "topic_id", "cell"]].to_numpy())) == set(
        map(tuple, wanted[["scope", "topic_id", "cell"]].to_numpy()))
    assert result.counts["regions"] == (wanted["scope"] == "region").sum() and result.counts["sectors"] >= 2
    forecasts = theme_forecasts(store, "run1", 9)
    for region in ("DE11", "FR10"):  # the planted theme's flagged regions: its share of the region's documents
        cell = forecasts[("region", 9, region)]
        recent = store.df("SELECT count(*) FILTER (WHERE a.topic_id = 9) / count(*) AS share FROM topic_assignments a "
                          "JOIN document_organisations o USING (doc_id) JOIN documents d USING (doc_id) "
                          "WHERE o.nuts_code LIKE ? AND d.published_on >= '2024-12-01'", [region + "%"])["share"][0]
        assert cell["share_last"] == pytest.approx(recent)
        assert cell["p_lasting"] > 0.5 and cell["share_baseline"] < cell["share_last"]
        low, high = cell["steps"][0]["interval_80"]
        assert low <= cell["steps"][0]["median"] <= high


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
    result = CliRunner().invoke(app, ["--config", str(config), "trends", "--terms", "--json"])
    term = json.loads(result.stdout)["themes"][0]
    ahead = term["forecast"]  # the flagged term: the share of all documents holding it, rising from 0 in 3 months
    assert term["cell"] == "quantumsensing" and term["flagged"] and ahead["horizon"] == 4
    with Store.open(tmp_path / "data" / "trendscout.duckdb") as s:
        december = s.df("SELECT avg((text LIKE '%quantumsensing%')::INT) AS share FROM documents "
                        "WHERE published_on >= '2024-12-01'")["share"][0]
    assert december > 0 and ahead["share_last"] == pytest.approx(december)
    assert ahead["share_baseline"] == 0 and ahead["p_lasting"] is None  # no baseline share: no lasting threshold
    assert ahead["steps"][-1]["interval_80"][0] <= ahead["steps"][-1]["median"] <= ahead["steps"][-1]["interval_80"][1]


def test_digest_card_chart_draws_the_themes_forecast(store, tmp_path, monkeypatch):  # noqa: F811
    from pipelines.settings import Settings
    from pipelines.steps import digest

    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    assert digest.build_digest(store, Settings(reports_dir=tmp_path))["themes"][0]["forecast"] is None
    forecast(store, ForecastSettings(horizon=3, n_samples=500))
    content = digest.build_digest(store, Settings(reports_dir=tmp_path))
    card = content["themes"][0]
    forecasts = theme_forecasts(store, "run1")
    assert card["topic_id"] == 9 and [p for p, *_ in card["forecast"]] == [
        s["period"] for s in forecasts[("topic", 9, "")]["steps"]]
    assert all(low <= mid <= high for _, low, mid, high in card["forecast"])
    drawn = {}
    monkeypatch.setattr(digest, "png_chart", lambda *a, title, forecast, **k: drawn.setdefault(title, forecast))
    digest.charts(content)
    assert drawn[card["label"]] == card["forecast"]


def test_digest_cards_show_the_forecast_line_of_the_theme_and_of_its_flagged_regions(store, tmp_path):  # noqa: F811
    from pipelines.settings import Settings
    from pipelines.steps import digest

    store.con.execute("INSERT INTO nuts_regions VALUES ('DE11', '<script>alert(1)</script>Stuttgart', 2)")
    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    forecast(store, ForecastSettings(horizon=3, n_samples=500))
    content = digest.build_digest(store, Settings(reports_dir=tmp_path))
    card = content["themes"][0]
    de11 = theme_forecasts(store, "run1")[("region", 9, "DE11")]
    line = forecast_line(de11, "month")
    assert line.startswith(f"next 3 months: share {100 * de11['share_last']:.2f} % → ") and "P(lasting)" in line
    assert {r["code"]: r["forecast"] for r in card["regions"] if r["forecast"]} == {
        "DE11": line, "FR10": forecast_line(theme_forecasts(store, "run1")[("region", 9, "FR10")], "month")}
    assert card["forecast_line"] == forecast_line(theme_forecasts(store, "run1")[("topic", 9, "")], "month")
    files = digest.render_digest(content)
    html, md = files["digest.html"], files["digest.md"]
    assert f"Forecast, {card['forecast_line']}" in html and f"Forecast, {card['forecast_line']}" in md
    assert "<script>alert" not in html and f"&lt;script&gt;alert(1)&lt;/script&gt;Stuttgart (DE11): {line}" in html
    assert "\\<script\\>alert\\(1\\)\\</script\\>Stuttgart \\(DE11\\): " + line in md


def test_digest_early_signal_terms_show_the_terms_forecast(tmp_path):
    from pipelines.settings import Settings
    from pipelines.steps.digest import build_digest, render_digest
    from tests.pipelines.test_detect import rising_phrase_store

    with rising_phrase_store(":memory:") as s:
        detect(s, TrendSettings(period="month", terms=False, style=False), "run1", as_of="2024-12-31")
        forecast(s, ForecastSettings(n_samples=500))
        content = build_digest(s, Settings(reports_dir=tmp_path))
        line = forecast_line(theme_forecasts(s, "run1")[("term", *next(
            (t, c) for sc, t, c in theme_forecasts(s, "run1") if sc == "term" and c == "quantumsensing"))], "month")
    term = content["early_terms"][0]
    assert term["term"] == "quantumsensing" and term["forecast"] == line and line.startswith("next 4 months: share ")
    assert f'<span class="forecast">{line}</span>' in render_digest(content)["digest.html"]


def test_lasting_growth_is_calibrated_per_scope_on_the_earlier_detections_resolved_forecasts(store):  # noqa: F811
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
    # one per series: the rerun's forecasts of the same periods are not counted twice
    assert second.counts["lasting_resolved"] == len(resolved) == before["p_lasting_raw"].notna().sum() // 4 > 0
    assert set(resolved["scope"]) == {"topic", "region", "sector"}
    assert set(resolved["p"]) <= set(before["p_lasting_raw"]) and pd.Timestamp(last) <= pd.Timestamp(as_of)
    after = store.df("SELECT * FROM theme_forecasts WHERE detect_id = 'run1' AND p_lasting_raw IS NOT NULL")
    fitted = 0
    for scope, known in resolved.groupby("scope"):  # each scope mapped by its own resolved forecasts
        calibrator = ProbabilityCalibrator(**settings.calibrator_options()).fit(known["p"], known["event"])
        mine = after[after["scope"] == scope]
        assert np.allclose(mine["p_lasting"], calibrator.predict(mine["p_lasting_raw"]))
        fitted += calibrator.fitted_ * int((mine["step"] == 1).sum())
    assert second.counts["lasting_calibrated"] == fitted > 0
    topics = resolved[resolved["scope"] == "topic"]  # the planted topic rose: both outcomes
    assert 0 < topics["event"].sum() < len(topics)
    # run0's forecasts are not resolved yet for a detection a quarter after it: none used
    early = resolved_lasting(store, "run1", pd.Timestamp("2024-03-31"), period, pd.Timestamp("2024-03-01"), 1.5)
    assert early.empty


def test_lasting_outcome_of_a_region_cell_is_its_topics_share_of_the_regions_documents(store):  # noqa: F811
    from pipelines.steps.forecast import resolved_lasting

    detect(store, TrendSettings(terms=False), "run0", as_of="2023-12-31")
    forecast(store, ForecastSettings(n_samples=300))
    row = store.df("SELECT * FROM theme_forecasts WHERE detect_id = 'run0' AND step = 1 AND scope = 'region' "
                   "AND p_lasting_raw IS NOT NULL ORDER BY topic_id, cell LIMIT 1").iloc[0]
    share = store.df("SELECT count(*) FILTER (WHERE a.topic_id = ?) / count(*) AS s FROM topic_assignments a "
                     "JOIN document_organisations o USING (doc_id) JOIN documents d USING (doc_id) "
                     "WHERE o.nuts_code LIKE ? AND d.published_on BETWEEN '2024-12-01' AND '2024-12-31'",
                     [int(row["topic_id"]), row["cell"] + "%"])["s"][0]
    resolved = {}
    for factor, event in ((1.0 - 1e-9, 1.0), (1.0 + 1e-9, 0.0)):  # December's share just reaches the threshold, or not
        store.con.execute("UPDATE theme_forecasts SET share_baseline = ? WHERE detect_id = 'run0' AND scope = 'region' "
                          "AND topic_id = ? AND cell = ?", [factor * share / 1.5, int(row["topic_id"]), row["cell"]])
        found = resolved_lasting(store, "run1", pd.Timestamp("2024-12-31"), "month", pd.Timestamp("2024-12-01"), 1.5)
        mine = (found["scope"] == "region") & (found["p"] == row["p_lasting_raw"])
        resolved[event] = found.loc[mine, "event"].tolist()
    assert share > 0 and resolved == {1.0: [1.0], 0.0: [0.0]}


def test_migration_15_keeps_an_old_stores_topic_forecasts_as_topic_series(tmp_path):
    import duckdb

    from pipelines.schema import MIGRATIONS

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))  # a store as migration 14 left it, with a detection's topic forecasts
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT now())")
    for version, sql in sorted(MIGRATIONS.items()):
        if version < 15:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version) VALUES (?)", [version])
    con.execute("INSERT INTO trend_scores (detect_id, topic_id, share_baseline) VALUES ('d1', 3, 0.02)")
    con.execute("INSERT INTO theme_forecasts VALUES ('d1', 3, 1, '2025-01-01', 'trend', 0.03, 0.01, 0.02, 0.03, "
                "0.04, 0.05, 0.4, 0.35), ('d1', 3, 2, '2025-02-01', 'trend', 0.03, 0.01, 0.02, 0.03, 0.04, 0.06, "
                "0.4, 0.35)")
    con.close()
    with Store.open(path) as upgraded:
        rows = upgraded.df("SELECT * FROM theme_forecasts ORDER BY step")
        forecasts = theme_forecasts(upgraded, "d1")
    assert rows[["scope", "topic_id", "cell"]].drop_duplicates().values.tolist() == [["topic", 3, ""]]
    assert rows["share_baseline"].tolist() == [0.02, 0.02] and rows["share_last"].isna().all()
    ahead = forecasts[("topic", 3, "")]
    assert ahead["p_lasting"] == 0.4 and ahead["p_lasting_raw"] == 0.35 and ahead["horizon"] == 2
    assert ahead["steps"][1]["interval_80"] == [0.01, 0.06] and forecast_line(ahead, "month") == \
        "next 2 months: share 3.00 % (80 %: 1.00–6.00 %); P(lasting) 40 %"
