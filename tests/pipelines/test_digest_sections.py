"""The digest's sections on a small hand-built store; `build_store` is shared with the dashboard tests."""

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from pipelines.errors import NotFound
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.steps.digest import build_digest, render_digest
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from pipelines.views.feedback import record_feedback

PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
RECENT = ["2026-09-01", "2026-10-01", "2026-11-01"]
MONTHS = [f"{y}-{m:02d}-01" for y in (2025, 2026) for m in range(1, 13) if f"{y}-{m:02d}" <= "2026-11"]
TOPICS = {  # topic -> (label, terms, sectors, orgs [(name, nuts)], docs per baseline month, per recent month)
    1: ("hydrogen valleys", ["hydrogen", "electrolyser", "valley"], {"sector": ["energy", "chemicals"]},
        [("H2 Darmstadt GmbH", "DE711"), ("Lyon Hydrogène SA", "FRK26"), ("Bilbao H2 SL", "ES213")], 1, 5),
    2: ("steel recycling", ["steel", "scrap", "furnace"], {"sector": ["steel"]}, [("Ruhr Stahl AG", "DEA11")], 1, 1),
    3: ("smart textiles", ["textile", "fibre", "wearable"], {"legal_basis": ["HORIZON.2.4"]},
        [("Prato Tessile Srl", "ITI14")], 2, 0),
    4: ("solid-state batteries", ["battery", "solid", "electrolyte"], {"sector": ["energy"]},
        [("Batterie Nord GmbH", "DE929"), ("Lund Cells AB", "SE224")], 0, 2),
}


def _docs() -> list[dict]:
    docs = []
    for topic, (label, terms, codes, orgs, per_base, per_recent) in TOPICS.items():
        for month in MONTHS:
            for i in range(per_recent if month in RECENT else per_base):
                org = orgs[len(docs) % len(orgs)]
                title = f"{label.title()} {terms[i % 3]} project {month} {i}"
                docs.append({"source": "cordis" if i % 2 else "news", "kind": "project" if i % 2 else "news",
                             "external_id": f"{topic}-{month}-{i}", "title": title,
                             "text": f"{title}. {' '.join(terms)}", "url": f"https://example.test/{topic}/{month}/{i}",
                             "published_on": month[:8] + "15", "codes": codes,
                             "organisations": [{"name": org[0], "nuts_code": org[1], "country": org[1][:2]}],
                             "meta": {"nuts_names": {org[1][:4]: f"Region {org[1][:4]}"}}, "_topic": topic})
    docs.append({"source": "news", "kind": "news", "external_id": "xss", "title": f"{PAYLOAD} hydrogen",
                 "text": f"{PAYLOAD} hydrogen electrolyser body", "url": "javascript:window.__xss=3",
                 "published_on": "2026-11-20", "codes": {"sector": [PAYLOAD]},
                 "organisations": [{"name": PAYLOAD, "nuts_code": "DE711", "country": "DE"}], "_topic": 1})
    return docs


def _series(topic: int, docs: list[dict]) -> list:
    totals = {m: sum(d["published_on"][:7] == m[:7] for d in docs) for m in MONTHS}
    return [(m, sum(d["published_on"][:7] == m[:7] and d["_topic"] == topic for d in docs) / totals[m],
             sum(d["published_on"][:7] == m[:7] and d["_topic"] == topic for d in docs)) for m in MONTHS]


def build_store(store: Store) -> Store:
    """Fill `store` with four topics (1 rising, 2 flat, 3 cooling, 4 newborn), a hostile document and a run."""
    docs = _docs()
    upsert_documents(store, docs, StepResult("ingest"))
    con = store.con
    for topic, (label, terms, *_rest) in TOPICS.items():
        con.execute("INSERT INTO topics VALUES (?, ?, ?, 0, '2025-01-01', 'v1', 'active', NULL)",
                    [topic, label, json.dumps(terms)])
    for d in docs:
        con.execute("INSERT INTO topic_assignments VALUES (?, ?, 'v1', 0.9, now())",
                    [f"{d['source']}:{d['external_id']}", d["_topic"]])
    con.execute("INSERT INTO detections VALUES ('d1', 'r1', '2026-11-20', 'month', TIMESTAMP '2026-11-24 03:30:00', ?)",
                [json.dumps({"min_growth": 1.5, "fdr": 0.05, "min_docs": 5})])
    scores = {1: (1, 16, 12, 4.0, 1e-5, True), 2: (2, 3, 11, 1.0, 0.6, False), 3: (4, 0, 20, 0.1, 0.9, False),
              4: (3, 6, 0, 3.0, 1e-3, True)}
    for topic, (rank, n_recent, n_base, growth, q, flagged) in scores.items():
        evidence = {"label": TOPICS[topic][0], "terms": TOPICS[topic][1], "series": _series(topic, docs),
                    "recent_periods": RECENT}
        con.execute("INSERT INTO trend_scores VALUES ('d1', ?, ?, ?, ?, 0.1, 0.05, ?, ?, ?, ?, ?, ?, NULL, NULL)",
                    [topic, rank, n_recent, n_base, growth, q / 10, q, 5 - rank, flagged, json.dumps(evidence)])
    con.execute("INSERT INTO topic_lineage VALUES ('birth', 4, [], 'v0', 'v1', '2026-11-20', 0.4, ?)",
                [datetime(2026, 11, 24, 3)])
    con.execute("INSERT INTO runs VALUES ('r1', 'nightly', ?, ?, 'failed', 3, '{}')",
                [datetime(2026, 11, 24, 3), datetime(2026, 11, 24, 4)])
    con.execute("INSERT INTO run_steps VALUES ('r1', 'crawl', now(), now(), 'ok', 1.0, ?, ?, ?)",
                [json.dumps({"duplicates_news": 4}), json.dumps({"news/short_text": 2}),
                 json.dumps([f"news: 3 x {PAYLOAD}", "cordis: 1 x timeout"])])
    return store


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        yield build_store(s)


def test_build_digest_fills_every_section_from_base_tables(store, tmp_path: Path):
    d = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")
    by_id = {t["topic_id"]: t for t in d["themes"]}
    hydrogen = by_id[1]
    assert [r["code"] for r in hydrogen["regions"]][:1] == ["DE71"] and hydrogen["regions"][0]["lq"] > 1
    assert {s["sector"] for s in hydrogen["sectors"]} >= {"energy", "chemicals"}
    assert hydrogen["onset"] == "2026-09-01" and hydrogen["is_cross_sectoral"] and hydrogen["is_cross_border"]
    assert {o["name"] for o in by_id[4]["new_organisations"]} == {"Batterie Nord GmbH", "Lund Cells AB"}
    assert 3 not in by_id and 2 not in by_id  # only flags that passed get a card
    assert d["lineage"][0]["event"] == "birth" and d["lineage"][0]["label"] == "solid-state batteries"
    assert [c["topic_id"] for c in d["cooled"]] == [3] and d["watch_list"] == []
    assert d["summary"] | {"freshness": None} == {"n_passed": 2, "n_terms": 0, "n_bursts": 0, "n_new_topics": 1,
                                                  "freshness": None}
    assert d["health"]["errors_by_source"] == {"news": 1, "cordis": 1} and d["health"]["duplicates_this_week"] == 4
    assert d["regions"] and d["regions"][0]["themes"]


def test_digest_shows_feedback_and_suppresses_rejected_theme(store, tmp_path: Path):
    record_feedback(store, 1, "not_relevant", "hype", "ana", detect_id="d1")
    record_feedback(store, 3, "watch", "", "ana", detect_id="d1")
    d = build_digest(store, Settings(reports_dir=tmp_path, digest={"top_n": 2}), "2026-W48")
    ids = [t["topic_id"] for t in d["themes"]]
    assert 1 not in ids and 3 in ids  # watched theme reported beyond top_n; rejected one moved out
    assert d["suppressed"][0]["topic_id"] == 1 and d["suppressed"][0]["since"] == str(date.today())
    md = render_digest(d)["digest.md"]
    assert f"suppressed: not relevant since {date.today()}" in md and "watched since" in md


def test_digest_sections_say_so_when_empty(tmp_path: Path):
    with Store.open(":memory:") as s:
        s.con.execute("INSERT INTO detections VALUES ('d0', 'r0', '2026-11-20', 'month', "
                      "TIMESTAMP '2026-11-24 03:00:00', '{}')")
        html = render_digest(build_digest(s, Settings(reports_dir=tmp_path), "2026-W48"))["digest.html"]
    for message in ("Nothing passed the test this week", "No burst this week", "No theme spans several sectors",
                    "No topic was born",
                    "No rising term", "No theme declined", "No documents with a known region"):
        assert message in html


def test_card_sentence_carries_counts_windows_growth_q_onset_regions_and_sectors(store, tmp_path: Path):
    d = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")
    hydrogen = d["themes"][0]
    assert hydrogen["sentence"] == (
        "16 documents from 2026-09-01 to 2026-11-30 against 12 in the 20 months before (2025-01-01 to 2026-08-31): "
        f"share × 4.0 ({100 * hydrogen['share_baseline']:.2f}% → {100 * hydrogen['share_recent']:.2f}% of all "
        "documents), q = 1e-05; rising since 2026-09-01; most documents in Region DE71 (DE71), Region ES21 (ES21) "
        "and Region FRK2 (FRK2); across chemicals and energy.")
    html = render_digest(d)["digest.html"]
    assert html.index('id="summary"') < html.index(hydrogen["sentence"][:40]) < html.index('id="cooled"')
    assert 'href="http://127.0.0.1:8765/themes/1"' in html and "<details>" in html
    assert "q-value (FDR)" in html and "chance that a flag this strong is noise" in html


def test_nothing_passed_says_so_and_shows_a_watch_list_apart_from_what_cooled(store, tmp_path: Path):
    store.con.execute("UPDATE trend_scores SET flagged = false, q_value = 0.3")
    d = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")
    assert d["themes"] == [] and d["summary"]["n_passed"] == 0
    watch = {t["topic_id"] for t in d["watch_list"]}
    assert watch == {1, 4} and not watch & {c["topic_id"] for c in d["cooled"]}  # growth > 1 only, never cooled
    html, md = render_digest(d)["digest.html"], render_digest(d)["digest.md"]
    assert "Nothing passed the test this week" in html and "Watch list — not significant" in html
    assert html.count("not significant</span>") == 2 and "What is new" not in html
    assert "Nothing passed the test this week" in md and "(not significant)" in md


def test_stale_data_is_flagged_in_the_summary(store, tmp_path: Path):
    fresh = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")["summary"]["freshness"]
    assert fresh["newest"] == "2026-11-20" and not fresh["is_stale"]  # 9 days old, limit two months
    store.con.execute("UPDATE detections SET period = 'week'")
    d = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")
    assert d["summary"]["freshness"] | {"age_days": 9} == {"newest": "2026-11-20", "age_days": 9, "period": "week",
                                                           "limit_days": 14, "is_stale": False}
    store.con.execute("DELETE FROM documents WHERE published_on >= '2026-11-01'")
    d = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")
    assert d["summary"]["freshness"]["is_stale"] and d["summary"]["freshness"]["newest"] == "2026-10-15"
    assert "Stale data: the newest document is" in render_digest(d)["digest.html"]


def test_digest_for_a_past_week_uses_that_weeks_detection_or_refuses(store, tmp_path: Path):
    store.con.execute("INSERT INTO detections SELECT 'd0', run_id, '2026-01-31', period, '2026-02-04 03:00', params "
                      "FROM detections WHERE detect_id = 'd1'")
    store.con.execute("INSERT INTO trend_scores SELECT 'd0', * EXCLUDE (detect_id) FROM trend_scores "
                      "WHERE detect_id = 'd1'")
    assert build_digest(store, Settings(reports_dir=tmp_path), "2026-W06")["detect_id"] == "d0"
    assert build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")["detect_id"] == "d1"
    with pytest.raises(NotFound, match="no detection was made by 2026-01-25"):
        build_digest(store, Settings(reports_dir=tmp_path), "2026-W04")


def test_a_verdict_column_moves_bursts_out_of_the_top_list(store, tmp_path: Path):
    store.con.execute("UPDATE trend_scores SET verdict = 'burst' WHERE topic_id = 4")  # others NULL: emerging
    d = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")
    assert [t["topic_id"] for t in d["themes"]] == [1] and [t["topic_id"] for t in d["bursts"]] == [4]
    assert d["summary"]["n_passed"] == 1 and d["summary"]["n_bursts"] == 1
    html = render_digest(d)["digest.html"]
    assert html.index('id="bursts"') < html.index('id="topic-4"') and '<span class="badge burst">burst' in html


def test_sectors_carry_taxonomy_names_and_the_labels_confidence(store, tmp_path: Path):
    store.con.execute("INSERT INTO doc_sectors SELECT doc_id, 'biopharmaceuticals', 0.42, 'zero-shot' "
                      "FROM topic_assignments WHERE topic_id = 4")
    d = build_digest(store, Settings(reports_dir=tmp_path), "2026-W48")
    batteries = next(t for t in d["themes"] if t["topic_id"] == 4)
    pharma = next(s for s in batteries["sectors"] if s["sector"] == "biopharmaceuticals")
    assert pharma["name"] == "Biopharmaceuticals" and pharma["confidence"] == pytest.approx(0.42)
    assert "Biopharmaceuticals" in batteries["sentence"]


def test_chart_draws_a_forecast_fan_when_a_theme_has_one():
    from pipelines.steps.digest import charts

    theme = {"chart": "chart-topic-1.png", "series": _series(1, _docs()), "recent_periods": RECENT,
             "onset": "2026-09-01", "label": "hydrogen valleys"}
    plain = charts({"themes": [theme], "bursts": [], "watch_list": []})["chart-topic-1.png"]
    fan = [("2026-12-01", 0.08, 0.1, 0.12), ("2027-01-01", 0.07, 0.11, 0.15)]
    with_fan = charts({"themes": [theme | {"forecast": fan}], "bursts": [], "watch_list": []})["chart-topic-1.png"]
    assert plain[:4] == with_fan[:4] == b"\x89PNG" and plain != with_fan
