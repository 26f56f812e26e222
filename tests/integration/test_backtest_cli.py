import json

import numpy as np
import pandas as pd
import pytest

from pipelines.settings import TopicSettings
from pipelines.store import Store
from tests.conftest import run_cli, write_config

THEMES = {
    "steel": "steel mill blast furnace coke iron ore rolling plant",
    "farming": "dairy farm cattle grazing pasture milk cooperative",
    "tourism": "hotel tourism visitors beach resort season bookings",
    "battery": "solid-state battery electrolyte cathode lithium cell gigafactory",
}
TRUTH = """theme,terms,label,expected_from,expected_to
batteries,solid-state battery|electrolyte,emerging,2024-09-01,2024-12-31
steel,blast furnace,not_emerging,,
"""


def corpus(seed: int = 0) -> pd.DataFrame:
    """24 months of news: three flat themes and batteries rising over the last four months."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, month in enumerate(pd.date_range("2023-01-01", periods=24, freq="MS")):
        for theme, words in THEMES.items():
            n = (3 if i < 20 else 6 + 6 * (i - 20)) if theme == "battery" else 12
            for _ in range(rng.poisson(n)):
                text = " ".join(rng.choice(words.split(), size=12))
                rows.append({"id": f"{theme}-{len(rows)}", "title": f"{theme} news", "text": text,
                             "date": (month + pd.Timedelta(days=int(rng.integers(0, 28)))).date().isoformat()})
    return pd.DataFrame(rows)


def planted(tmp_path) -> tuple:
    """The planted corpus and truth file written to `tmp_path`; (corpus path, PCA + k-means topic settings)."""
    path = tmp_path / "news.jsonl"
    corpus().to_json(path, orient="records", lines=True)
    (tmp_path / "truth.csv").write_text(TRUTH)
    return path, {"reducer": "pca", "clusterer": "kmeans", "n_clusters": 5, "min_topic_size": 5, "n_components": 5}


@pytest.mark.integration
def test_backtest_cli_detects_planted_theme_without_false_alarms(tmp_path):
    path, topics = planted(tmp_path)
    if "representation" in TopicSettings.model_fields:
        topics["representation"] = "ctfidf"
    config = write_config(tmp_path, nlp={"embedder": "hashing"}, topics=topics,
                          trends={"period": "month", "recent_days": 91, "baseline_days": 274, "terms": False})
    proc = run_cli("--config", config, "backtest", "--truth", tmp_path / "truth.csv", "--corpus", path,
                   "--from", "2024-06", "--to", "2024-12", "--step", "month", "--json")
    result = json.loads(proc.stdout)
    assert set(result) >= {"recall", "false_alarms", "median_delay_days", "flags_per_cutoff", "themes", "threat_score",
                           "confirmed_share", "premature_flags", "unmatched_flags"}
    assert set(result["baselines"]) >= {"topic_share", "topics_over_time", "term_share", "detector_repeated"}
    stages = result["params"]["stage_cpu_seconds"]  # where a replay's time goes, each stage timed over all cutoffs
    assert set(stages) >= {"copy", "topics", "detect", "forecasts", "verdicts", "baselines", "confirm",
                           "evidence"}
    assert all(s >= 0 for s in stages.values()) and stages["topics"] > 0
    themes = {t["theme"]: t for t in result["themes"]}
    assert result["recall"] == 1.0 and themes["batteries"]["detected"]
    assert -60 <= themes["batteries"]["delay_days"] <= 120 and result["false_alarms"] == 0
    # the theme's own words showed the rise no later than the detector flagged it
    assert themes["batteries"]["evidence_delay_days"] <= themes["batteries"]["delay_days"]
    assert result["median_evidence_delay_days"] == themes["batteries"]["evidence_delay_days"]
    with Store.open(tmp_path / "data" / "trendscout.duckdb", read_only=True) as store:
        flags = store.df("SELECT method, cutoff FROM backtest_flags")
    assert "detector" in set(flags["method"]) and len(flags) >= 1
    per_cutoff = flags.groupby(["cutoff", "method"]).size().unstack(fill_value=0)
    assert (per_cutoff.drop(columns="detector").le(per_cutoff["detector"], axis=0)).all().all()  # same budget
    assert flags["cutoff"].max() <= pd.Timestamp("2024-12-31")
    forecast = result["forecast"]  # topic shares 4 months ahead, scored where the outcome is inside the data
    assert forecast["horizon"] == 4 and forecast["n_forecasts"] > 0 and 0 <= forecast["coverage_80"] <= 1
    assert set(forecast) >= {"coverage_50", "crps", "crps_naive", "crps_ets", "rel_rmse", "rel_rmse_naive",
                             "rel_rmse_ets", "brier", "brier_base_rate"}
    terms = result["forecast_terms"]  # the flagged and best-ranked terms' shares, scored the same way
    assert terms["horizon"] == 4 and terms["n_forecasts"] > 0 and set(terms) >= set(forecast) - {"models", "points"}


@pytest.mark.integration
def test_backtest_explains_a_miss_with_the_closest_cell_and_the_rules_it_failed(tmp_path):
    """Cut off before the batteries rise: the theme is missed, and the report names the cell that came closest."""
    path, topics = planted(tmp_path)
    config = write_config(tmp_path, nlp={"embedder": "hashing"}, topics=topics,
                          trends={"period": "month", "recent_days": 91, "baseline_days": 274})
    args = ("--config", config, "backtest", "--truth", tmp_path / "truth.csv", "--corpus", path,
            "--from", "2024-06", "--to", "2024-07", "--step", "month")
    result = json.loads(run_cli(*args, "--json").stdout)
    assert result["recall"] == 0.0
    [miss] = result["missed"]
    assert miss["theme"] == "batteries" and miss["why"] == "not flagged"
    assert miss["cutoff"] in {"2024-06-30", "2024-07-31"} and "electrolyte" in miss["marker"]
    assert miss["failed"] and set(miss["failed"].split(",")) <= {"untestable", "fdr", "support", "growth",
                                                                   "persistence", "term_cap", "carried"}
    assert "missed batteries: closest" in run_cli(*args).stdout


@pytest.mark.integration
def test_backtest_from_the_first_thin_months_reports_too_little_data_and_goes_on(tmp_path):
    frame = corpus()
    early = pd.to_datetime(frame["date"]) < pd.Timestamp("2023-04-01")
    frame = pd.concat([frame[~early], frame[early].head(30)])  # a handful of documents in the first quarter
    path = tmp_path / "news.jsonl"
    frame.to_json(path, orient="records", lines=True)
    (tmp_path / "truth.csv").write_text(TRUTH)
    topics = {"reducer": "pca", "clusterer": "hdbscan", "min_topic_size": 10, "n_components": 5}  # one cluster
    config = write_config(tmp_path, nlp={"embedder": "hashing"}, topics=topics,
                          trends={"period": "month", "recent_days": 91, "baseline_days": 274})
    proc = run_cli("--config", config, "backtest", "--truth", tmp_path / "truth.csv", "--corpus", path,
                   "--from", "2023-01", "--to", "2023-03", "--step", "month", "--json")
    result = json.loads(proc.stdout)
    assert [s["cutoff"] for s in result["skipped_cutoffs"]] == ["2023-01-31", "2023-02-28", "2023-03-31"]
    assert all(s["reason"].startswith("too little data: topic model on 30 documents")
               for s in result["skipped_cutoffs"])


@pytest.mark.integration
def test_backtest_before_whole_windows_skips_too_little_history_and_lists_shortened_baselines(tmp_path):
    """Windows of 91 + 274 days on a corpus starting 2023-01: at 2023-06-30 less than 91 + 91 days of data, from
    2023-07-31 a baseline shortened to the data; without --from the first cutoff has the whole baseline."""
    path = tmp_path / "news.jsonl"
    corpus().to_json(path, orient="records", lines=True)
    (tmp_path / "truth.csv").write_text(TRUTH)
    topics = {"reducer": "pca", "clusterer": "kmeans", "n_clusters": 5, "min_topic_size": 5, "n_components": 5}
    config = write_config(tmp_path, nlp={"embedder": "hashing"}, topics=topics,
                          trends={"period": "month", "recent_days": 91, "baseline_days": 274, "terms": False})
    proc = run_cli("--config", config, "backtest", "--truth", tmp_path / "truth.csv", "--corpus", path,
                   "--from", "2023-06", "--to", "2023-09", "--step", "month", "--json")
    result = json.loads(proc.stdout)
    assert [s["cutoff"] for s in result["skipped_cutoffs"]] == ["2023-06-30"]
    assert result["skipped_cutoffs"][0]["reason"].startswith("too little history: the corpus spans 18")
    shortened = result["shortened_baseline_cutoffs"]
    assert [c["cutoff"] for c in shortened] == ["2023-07-31", "2023-08-31", "2023-09-30"]
    assert all(91 <= c["baseline_days"] < 274 for c in shortened)
    whole = json.loads(run_cli("--config", config, "backtest", "--truth", tmp_path / "truth.csv", "--to", "2024-02",
                               "--step", "month", "--json").stdout)
    assert whole["params"]["from"] >= "2023-12-31" and whole["shortened_baseline_cutoffs"] == []


@pytest.mark.integration
def test_backtest_slicing_one_corpus_term_index_flags_what_vectorizing_every_cutoff_flags(tmp_path, monkeypatch):
    import pipelines.backtest as backtest
    from pipelines.logs import Bars
    from pipelines.settings import Settings
    from pipelines.steps.embed import embed
    from pipelines.steps.ingest import ingest_corpus

    path = tmp_path / "news.jsonl"
    corpus(seed=1).to_json(path, orient="records", lines=True)
    (tmp_path / "truth.csv").write_text(TRUTH)
    topics = {"reducer": "pca", "clusterer": "kmeans", "n_clusters": 5, "min_topic_size": 5, "n_components": 5,
              "representation": "ctfidf"}
    settings = Settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models", nlp={"embedder": "hashing"},
                        topics=topics, trends={"period": "month", "recent_days": 91, "baseline_days": 274})
    with Store.open(settings.store_path) as store:
        ingest_corpus(store, path, "news", "news", Bars(enabled=False))
        embed(store, settings.nlp, Bars(enabled=False))

    def flags():
        result = backtest.run_backtest(settings, tmp_path / "truth.csv", start=pd.Timestamp("2024-08-31"),
                                       end=pd.Timestamp("2024-12-31"), step="month")
        with Store.open(settings.store_path, read_only=True) as store:
            return store.df("SELECT * EXCLUDE (backtest_id) FROM backtest_flags WHERE backtest_id = ? ORDER BY "
                            "method, cutoff, scope, rank, cell", [result["backtest_id"]])

    fast = flags()
    monkeypatch.setattr(backtest, "_term_index", lambda corpus, trends: None)  # every cutoff vectorizes its texts
    reference = flags()
    assert (fast["scope"] == "term").any() and (fast["method"] == "detector").any()
    pd.testing.assert_frame_equal(fast, reference)
