"""A corpus shorter than the default windows (182 recent + 730 baseline days): a shortened baseline, said
plainly, or "too little history" — never an empty digest without a word."""

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.runs import StepResult
from pipelines.settings import Settings, TrendSettings
from pipelines.steps.detect import detect
from pipelines.steps.digest import write_digest
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from tests.conftest import write_config
from tests.nlp.test_emergence import synthetic_docs

WEEK = None  # the current week: the detections are made now


def planted_store(path, months: int) -> Store:
    """News documents over the last `months` months of 2024: a background, a flat topic and topic 1, whose rate
    triples over the last six months."""
    lead = [0.0] * (24 - months)
    rising = [4.0] * (months - 6) + [6.0, 8.0, 10.0, 12.0, 14.0, 16.0]
    docs = synthetic_docs({-1: lead + [150.0] * months, 0: lead + [10.0] * months, 1: lead + rising[-months:]})
    store = Store.open(path)
    records = [{"source": "news", "kind": "news", "external_id": d, "title": f"story {d}", "text": "x",
                "published_on": str(day.date())} for d, day in zip(docs["doc_id"], docs["published_on"], strict=True)]
    upsert_documents(store, records, StepResult("ingest"))
    store.con.register("_a", docs.assign(doc_id="news:" + docs["doc_id"])[["doc_id", "topic_id"]])
    store.con.execute("INSERT INTO topic_assignments SELECT doc_id, topic_id, 'v', 1.0, now() FROM _a")
    for topic_id, label in ((0, "steel"), (1, "hydrogen valleys")):
        store.con.execute("INSERT INTO topics VALUES (?, ?, ?, 1, NULL, 'v', 'active', NULL)",
                          [topic_id, label, json.dumps(label.split())])
    return store


def home_page(tmp_path) -> str:
    """The dashboard's theme list."""
    from starlette.testclient import TestClient

    from pipelines.dashboard.app import create_app

    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        page = client.get("/")
    assert page.status_code == 200
    return page.text


def trends_json(tmp_path) -> dict:
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path)), "trends", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_ten_months_under_the_default_windows_flag_on_a_shortened_baseline_and_say_so(tmp_path):
    """The defaults need 182 + 91 days (9 months); ten months of data leave a baseline of about four."""
    with planted_store(tmp_path / "data" / "trendscout.duckdb", months=10) as s:
        result = detect(s, TrendSettings(terms=False), "run1")
        assert result.counts["flagged"] >= 1 and not result.skipped
        flagged = s.df("SELECT topic_id FROM trend_scores WHERE flagged ORDER BY rank")["topic_id"].tolist()
        assert flagged[0] == 1  # the planted rise (the flat topic 0 happens to pass at p = 0.02 with this seed)
        params = json.loads(s.scalar("SELECT params FROM detections"))
        start = params["history"]["start"]
        assert start.startswith("2024-03-0") and params["history"]["shortened"]
        assert params["history"]["baseline_days"] == params["history"]["span_days"] - 182 < 730
        note = f"baseline shortened to {params['history']['baseline_days']} days: the corpus starts on {start}"
        assert params["history"]["note"] == note
        _, folder = write_digest(s, Settings(reports_dir=tmp_path), WEEK)
    assert note in (folder / "digest.html").read_text() and note in (folder / "digest.md").read_text()
    assert json.loads((folder / "digest.json").read_text())["themes"][0]["topic_id"] == 1
    listed = trends_json(tmp_path)
    assert listed["history"]["note"] == note and listed["themes"][0]["flagged"]
    assert note in home_page(tmp_path)


def test_two_months_are_too_little_history_for_the_default_windows_and_the_digest_says_so(tmp_path):
    with planted_store(tmp_path / "data" / "trendscout.duckdb", months=2) as s:
        result = detect(s, TrendSettings(terms=False), "run1")
        assert result.skipped == {"too_little_history": 1}
        assert s.count("trend_scores") == 0 and s.count("detections") == 1
        note = json.loads(s.scalar("SELECT params FROM detections"))["history"]["note"]
        assert note.startswith("too little history: the corpus spans ") and note.endswith(
            ", the windows need 273 (182 recent + 91 baseline)")
        _, folder = write_digest(s, Settings(reports_dir=tmp_path), WEEK)
    html = (folder / "digest.html").read_text()
    assert f"No detection this week: {note}" in html and "Nothing passed the test" in html
    assert note in (folder / "digest.md").read_text()
    listed = trends_json(tmp_path)
    assert listed["history"]["too_little"] and listed["themes"] == []
    detected = CliRunner().invoke(app, ["--config", str(write_config(tmp_path)), "detect"])
    assert detected.exit_code == 0 and note in detected.stdout
    assert f"No themes were scored: {note}" in home_page(tmp_path)


@pytest.mark.parametrize("months, minimum, scored", [(10, 91, True), (10, 200, False), (8, 30, True)])
def test_the_minimum_baseline_is_a_setting(months, minimum, scored):
    with planted_store(":memory:", months=months) as s:
        result = detect(s, TrendSettings(terms=False, style=False, min_baseline_days=minimum), "run1")
        assert (s.count("trend_scores") > 0) == scored and (not result.skipped) == scored
