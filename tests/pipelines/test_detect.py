import json
import re

import numpy as np
import pandas as pd
import pytest

from pipelines.runs import StepResult
from pipelines.settings import TrendSettings
from pipelines.steps.detect import detect
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from pipelines.views.detections import ranked_flags
from tests.nlp.test_emergence import _planted_corpus


@pytest.fixture
def store():
    """The planted cross-border, cross-sectoral theme (topic 9) as documents, organisations and sectors."""
    docs, groups, orgs = _planted_corpus()
    sector = groups[groups["scope"] == "sector"].set_index("doc_id")["cell"]
    org = orgs.set_index("doc_id")
    with Store.open(":memory:") as s:
        records = [{"source": "cordis", "kind": "project", "external_id": d, "title": f"project {d}", "text": "x",
                    "published_on": str(day.date()), "codes": {"sector": [sector[d]]},
                    "organisations": [{"name": org.loc[d, "org"], "nuts_code": org.loc[d, "region"] + "1",
                                       "country": org.loc[d, "country"], "role": "participant"}]}
                   for d, day in zip(docs["doc_id"], docs["published_on"], strict=True)]
        upsert_documents(s, records, StepResult("ingest"))
        s.con.register("_a", docs.assign(doc_id="cordis:" + docs["doc_id"])[["doc_id", "topic_id"]])
        s.con.execute("INSERT INTO topic_assignments SELECT doc_id, topic_id, 'v', 1.0, now() FROM _a")
        s.con.execute("INSERT INTO topics VALUES (9, 'planted', '[\"hydrogen valleys\"]', 1, NULL, 'v', 'active', "
                      "NULL)")
        yield s


def test_detect_writes_topic_scores_cells_and_evidence(store):
    result = detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    assert result.counts["flagged"] == 1
    score = store.df("SELECT * FROM trend_scores WHERE detect_id = 'run1' AND topic_id = 9").iloc[0]
    evidence = json.loads(score["evidence"])
    assert score["flagged"] and score["rank"] == 1 and evidence["label"] == "planted"
    assert evidence["is_cross_border"] and evidence["is_cross_sectoral"]
    assert sorted(evidence["components"]["emerging_regions"]) == ["DE11", "FR10"]
    assert {"growth", "acceleration", "novelty", "persistence", "spread"} <= set(evidence["components"])
    cells = store.df("SELECT * FROM trend_cells WHERE flagged AND scope = 'region'")
    assert set(cells["cell"]) == {"DE11", "FR10"} and set(cells["country"]) == {"DE", "FR"}


@pytest.mark.parametrize("filters, expected", [
    ({"region": "DE11"}, [9]), ({"region": "ITC4"}, []), ({"sector": "Health"}, [9]), ({"kind": "news"}, []),
    ({"kind": "project"}, [9]),
])
def test_ranked_flags_filters_by_region_sector_and_kind(store, filters, expected):
    detect(store, TrendSettings(terms=False), "run1", as_of="2024-12-31")
    frame, detect_id = ranked_flags(store, **filters)
    assert detect_id == "run1"
    assert frame.loc[frame["flagged"].astype(bool), "topic_id"].tolist() == expected


def rising_phrase_store(path) -> Store:
    """News documents in 12 topics; "quantumsensing" enters three of them in the last three months."""
    from tests.nlp.test_term_trends import corpus

    docs, texts = corpus(rising="quantumsensing")
    store = Store.open(path)
    records = [{"source": "news", "kind": "news", "external_id": d, "title": "", "text": texts[d],
                "published_on": str(day.date())} for d, day in zip(docs["doc_id"], docs["published_on"], strict=True)]
    upsert_documents(store, records, StepResult("ingest"))
    store.con.register("_a", docs.assign(doc_id="news:" + docs["doc_id"])[["doc_id", "topic_id"]])
    store.con.execute("INSERT INTO topic_assignments SELECT doc_id, topic_id, 'v', 1.0, now() FROM _a")
    return store


def test_detect_stores_a_rising_phrase_as_a_term_flag_shown_by_ranked_flags_and_the_digest():
    from pipelines.steps.digest_sections import early_terms

    with rising_phrase_store(":memory:") as s:
        # the planted texts are word lists, no English: their parts of speech mean nothing, so no style verdict
        result = detect(s, TrendSettings(period="month", terms=False, style=False), "run1", as_of="2024-12-31")
        assert result.counts["terms_flagged"] == 1
        frame, _ = ranked_flags(s, terms=True)
        assert frame.loc[0, "cell"] == "quantumsensing" and frame.loc[0, "flagged"]
        assert frame.loc[0, "topic_id"] in (0, 1, 2) and frame.loc[0, "q_value"] < 0.01
        assert frame.loc[0, "verdict"] == "emerging"  # in many topics and three months: no burst
        assert early_terms(s, "run1", None)[0]["term"] == "quantumsensing"
        assert not detect(s, TrendSettings(period="month", terms=False, term_cells=False), "run2",
                          as_of="2024-12-31").counts["terms_flagged"]


def test_detect_keeps_the_term_runners_up_with_the_smallest_q_values():
    """`trends --terms` ranks unflagged terms by q: the stored runners-up are the best by q, not by score."""
    from pipelines.steps.detect import RUNNERS_UP, score_cells

    trends = TrendSettings(period="month", terms=False, style=False, top_n=3)
    with rising_phrase_store(":memory:") as s:
        _, cells, _, _ = score_cells(s, trends, "2024-12-31")
        detect(s, trends, "run1", as_of="2024-12-31")
        stored = s.df("SELECT cell FROM trend_cells WHERE scope = 'term' AND NOT flagged")
    unflagged = cells[(cells["scope"] == "term") & ~cells["flagged"].astype(bool)]
    best = unflagged.sort_values(["q_value", "p_value"], kind="stable").head(RUNNERS_UP * trends.top_n)
    by_rank = unflagged[unflagged["rank"] <= trends.top_n]  # the best-ranked by score: what the forecast step reads
    assert len(unflagged) > len(best) and set(stored["cell"]) == set(best["cell"]) | set(by_rank["cell"])
    by_score = unflagged.sort_values("score", ascending=False).head(len(best))
    assert set(by_score["cell"]) != set(best["cell"])  # the planted data tells the two orders apart


def test_trends_terms_cli_lists_the_flagged_term(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from tests.conftest import write_config

    config = write_config(tmp_path, trends={"period": "month", "terms": False})
    with rising_phrase_store(tmp_path / "data" / "trendscout.duckdb") as s:
        detect(s, TrendSettings(period="month", terms=False, style=False), "run1", as_of="2024-12-31")  # no English
    result = CliRunner().invoke(app, ["--config", str(config), "trends", "--terms", "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)["themes"][0]
    assert first["cell"] == "quantumsensing" and first["flagged"] and first["scope"] == "term"
    text = CliRunner().invoke(app, ["--config", str(config), "trends", "--terms"]).stdout
    note, header, first_row = text.splitlines()[:3]  # the corpus starts in 2023-01: about 549 of the 730 days
    assert re.fullmatch(r"baseline shortened to 5[34]\d days: the corpus starts on 2023-01-0\d", note)
    assert header.split() == ["rank", "flag", "growth", "recent", "q", "acceleration", "novelty", "persistence",
                              "spread", "cross", "theme"]
    assert '"quantumsensing"' in first_row and first_row.split()[1] == "emerging"


def planted_terms_store(path) -> Store:
    """A detection's term rows: one flagged term, runners-up that score high on a handful of documents (two of
    them holding corpus-generic words) and one close to significance; the topic model's generic words."""
    store = Store.open(path)
    store.con.execute("INSERT INTO detections VALUES ('d1', 'r1', '2026-11-20', 'month', now(), '{}')")
    store.con.execute("INSERT INTO topics VALUES (1, 'quantum sensing', '[]', 1, NULL, 'v', 'active', NULL)")
    rows = [("quantumsensing", True, 1e-3, 1e-5, 2.0), ("kinds", False, 1.0, 0.4, 5.9),
            ("government", False, 0.9, 0.2, 5.5), ("project aims", False, 1.0, 0.3, 5.4),
            ("photonic chips", False, 0.08, 0.004, 1.0)]
    store.insert_frame("trend_cells", pd.DataFrame(
        [{"detect_id": "d1", "topic_id": 1, "scope": "term", "cell": cell, "rank": rank, "n_recent": 6, "n_baseline": 0,
          "growth": 20.0, "p_value": p, "q_value": q, "score": score, "flagged": flagged, "components": "{}",
          "is_cross_sectoral": False, "is_cross_border": False, "verdict": "emerging" if flagged else None}
         for rank, (cell, flagged, q, p, score) in enumerate(sorted(rows, key=lambda r: (not r[1], -r[4])), 1)]))
    store.con.execute("INSERT INTO topic_models (version, is_current, metrics) VALUES ('v', true, ?)",
                      [json.dumps({"generic_words": ["project", "government", "research"]})])
    return store


def test_trends_terms_rank_by_the_test_and_leave_corpus_generic_words_out(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from tests.conftest import write_config

    with planted_terms_store(tmp_path / "data" / "trendscout.duckdb") as s:
        frame, _ = ranked_flags(s, terms=True)
        assert frame["cell"].tolist() == ["quantumsensing", "photonic chips", "kinds"]
        assert frame["rank"].tolist() == [1, 2, 3]
        s.con.execute("UPDATE trend_cells SET flagged = true WHERE cell = 'government'")  # the detector's flag
        assert ranked_flags(s, terms=True)[0]["cell"].tolist()[:2] == ["quantumsensing", "government"]
        s.con.execute("UPDATE trend_cells SET flagged = false WHERE cell = 'government'")
    text = CliRunner().invoke(app, ["--config", str(write_config(tmp_path)), "trends", "--terms"]).stdout
    assert [line.split('"')[1] for line in text.splitlines()[1:]] == ["quantumsensing", "photonic chips", "kinds"]


def test_detect_labels_a_one_call_rise_a_burst_and_the_digest_lists_it_apart(tmp_path):
    """Topic 9 rises across organisations and groups; topic 10, the same rise, has every recent document
    under one call: trend_scores says burst for 10 (with the call as reason), emerging for 9, and the digest
    puts 10 in its bursts section, not among the themes."""
    from pipelines.settings import Settings
    from pipelines.steps.digest import build_digest

    docs, groups, orgs = _planted_corpus()
    sector = groups[groups["scope"] == "sector"].set_index("doc_id")["cell"]
    org = orgs.set_index("doc_id")
    theme = docs[docs["topic_id"] == 9]
    burst = theme.assign(doc_id="b" + theme["doc_id"], topic_id=10)
    assigned = pd.concat([docs, burst])

    def record(doc_id: str, day: pd.Timestamp) -> dict:
        planted = doc_id.removeprefix("b")  # a copy keeps its original's sector and organisation
        in_call = doc_id.startswith("b") and day >= pd.Timestamp("2024-10-01")  # the recent window
        return {"source": "cordis", "kind": "project", "external_id": doc_id, "title": f"project {doc_id}",
                "text": "x", "published_on": str(day.date()),
                "codes": {"sector": [sector[planted]]} | ({"group": "CALL-1"} if in_call else {}),
                "organisations": [{"name": org.loc[planted, "org"], "country": org.loc[planted, "country"],
                                   "nuts_code": org.loc[planted, "region"] + "1", "role": "participant"}]}

    records = [record(d, day) for d, day in zip(assigned["doc_id"], assigned["published_on"], strict=True)]
    with Store.open(":memory:") as s:
        upsert_documents(s, records, StepResult("ingest"))
        s.con.register("_a", assigned.assign(doc_id="cordis:" + assigned["doc_id"])[["doc_id", "topic_id"]])
        s.con.execute("INSERT INTO topic_assignments SELECT doc_id, topic_id, 'v', 1.0, now() FROM _a")
        for topic_id, label in ((9, "planted"), (10, "one call")):
            s.con.execute("INSERT INTO topics VALUES (?, ?, '[]', 1, NULL, 'v', 'active', NULL)", [topic_id, label])
        detect(s, TrendSettings(terms=False), "run1", as_of="2024-12-31")
        scores = s.df("SELECT * FROM trend_scores WHERE flagged").set_index("topic_id")
        assert scores.loc[9, "verdict"] == "emerging" and scores.loc[10, "verdict"] == "burst"
        assert "CALL-1" in scores.loc[10, "verdict_reason"]
        cells = s.df("SELECT topic_id, verdict FROM trend_cells WHERE scope = 'topic' AND flagged")
        assert dict(zip(cells["topic_id"], cells["verdict"], strict=True)) == {9: "emerging", 10: "burst"}
        digest = build_digest(s, Settings(reports_dir=tmp_path))
        assert [t["topic_id"] for t in digest["themes"]] == [9]
        assert [t["topic_id"] for t in digest["bursts"]] == [10] and digest["summary"]["n_bursts"] == 1


def test_the_detector_counts_every_document_at_its_nearest_topic_not_where_a_refit_left_it(tmp_path):
    """A theme at a steady 10 projects a month whose older projects a refit left in another topic (the sticky
    rule keeps documents in place) grows eightfold under the stored assignments. The detector places every
    document at its nearest current topic (an outlier below the model's assign similarity) and flags nothing;
    the stored assignments, which browsing reads, stay as they were."""
    from pipelines.steps.assign_store import register_model
    from pipelines.steps.detect import doc_topics

    rng = np.random.default_rng(0)
    axes = {"steady": 0, "other": 1, "far": 2}
    rows = [(f"{theme}-{month:%Y%m}-{i}", theme, month + pd.Timedelta(days=i % 28))
            for month in pd.date_range("2022-01-01", "2024-12-01", freq="MS")
            for theme, n in (("steady", 10), ("other", 30), ("far", 2)) for i in range(n)]
    docs = pd.DataFrame(rows, columns=["external_id", "theme", "day"])
    docs["doc_id"] = "cordis:" + docs["external_id"]
    vectors = 0.15 * rng.standard_normal((len(docs), 8))
    vectors[np.arange(len(docs)), docs["theme"].map(axes)] += 1
    late = docs["day"] >= pd.Timestamp("2024-10-01")
    stored = np.where(docs["theme"] == "other", 1, np.where(late, 0, 1))  # the steady theme's older documents in 1
    with Store.open(":memory:") as s:
        upsert_documents(s, [{"source": "cordis", "kind": "project", "external_id": e, "title": "p", "text": "x",
                              "published_on": str(d.date())} for e, d in zip(docs["external_id"], docs["day"],
                                                                             strict=True)], StepResult("ingest"))
        s.insert_frame("embeddings", pd.DataFrame({"model": "test", "input_hash": docs["doc_id"],
                                                   "vector": list(vectors.astype(np.float32)),
                                                   "created_at": pd.Timestamp("2025-01-01")}))
        s.insert_frame("doc_embeddings", pd.DataFrame({"doc_id": docs["doc_id"], "model": "test",
                                                       "input_hash": docs["doc_id"]}))
        s.insert_frame("topic_assignments", pd.DataFrame({"doc_id": docs["doc_id"], "topic_id": stored,
                                                          "model_version": "v", "probability": 1.0,
                                                          "assigned_at": pd.Timestamp("2025-01-01")}))
        register_model(s, {"version": "v", "data_window": ["2022-01-01", "2024-12-31"], "embedder": "test",
                           "n_docs": len(docs), "params": {}, "metrics": {"assign_similarity": 0.5,
                                                                         "reduce_similarity": 0.3}, "kind": "base"},
                       tmp_path, is_current=True)
        for topic_id in (0, 1):
            s.con.execute("INSERT INTO topics VALUES (?, ?, '[]', 1, NULL, 'v', 'active', ?)",
                          [topic_id, f"topic {topic_id}", [float(topic_id == k) for k in range(8)]])

        counted = doc_topics(s).set_index("doc_id")["topic_id"].reindex(docs["doc_id"]).to_numpy()
        assert (counted == docs["theme"].map({"steady": 0, "other": 1, "far": -1}).to_numpy()).all()
        detect(s, TrendSettings(terms=False, style=False), "run1", as_of="2024-12-31")
        steady = s.df("SELECT * FROM trend_scores WHERE topic_id = 0").iloc[0]
        assert not steady["flagged"] and 0.7 < steady["growth"] < 1.4
        assert (s.df("SELECT topic_id FROM topic_assignments ORDER BY doc_id")["topic_id"].to_numpy()
                == stored[np.argsort(docs["doc_id"].to_numpy())]).all()
