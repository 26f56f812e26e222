"""A planted new theme: born in the month it appears, kept through a refit; other topics keep their ids."""

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nlp.embed import HashingEmbedder
from pipelines.cli import app
from pipelines.logs import Bars
from pipelines.settings import NlpSettings, Settings, TopicSettings
from pipelines.steps.embed import embed
from pipelines.steps.topics import topics_step
from pipelines.store import Store
from tests.conftest import write_config

THEMES = {
    "hydrogen": "hydrogen electrolyser fuel cell pipeline ammonia storage green renewable refuelling pressure",
    "steel": "steel furnace blast scrap alloy rolling mill smelting coke slag foundry casting",
    "fish": "aquaculture salmon fish farm feed hatchery marine cage seafood mussel oyster",
    "quantum": "quantum qubit entanglement photon superconducting cryogenic annealing decoherence gate sensing",
}
COMMON = "project innovation european partners results industry research develop".split()


def add_month(store: Store, month: date, themes: list[str], n: int = 30, seed: int = 0) -> None:
    rng = np.random.default_rng(seed + month.month)
    rows = []
    for theme in themes:
        vocab = THEMES[theme].split()
        for i in range(n):
            words = list(rng.choice(vocab, 20)) + list(rng.choice(COMMON, 5))
            doc_id = f"t:{theme}-{month:%Y%m}-{i}"
            rows.append({"doc_id": doc_id, "source": "t", "kind": "project", "external_id": doc_id,
                         "title": theme, "text": " ".join(words), "published_on": month.replace(day=1 + i % 28),
                         "content_hash": doc_id, "codes": json.dumps({"sector": [theme]}),
                         "first_seen_at": datetime.now(UTC), "ingested_at": datetime.now(UTC)})
    store.insert_frame("documents", pd.DataFrame(rows))
    store.insert_frame("document_organisations", pd.DataFrame(
        {"doc_id": [r["doc_id"] for r in rows], "position": 0, "nuts_code": "DE212"}))


@pytest.fixture
def settings(tmp_path):
    return Settings(models_dir=tmp_path / "models", nlp=NlpSettings(embedder="hashing-256"),
                    topics=TopicSettings(reducer="pca", clusterer="hdbscan", min_topic_size=10,
                                         recent_min_topic_size=10, recent_days=31))


def run(store: Store, settings: Settings, force: bool = False):
    embed(store, settings.nlp, Bars(enabled=False), embedder=HashingEmbedder(256))
    return topics_step(store, settings, Bars(enabled=False), force_fit=force)


def topic_of(store: Store) -> dict[str, int]:
    """The most frequent stable topic of each planted theme's documents."""
    frame = store.df("SELECT doc_id, topic_id FROM topic_assignments WHERE topic_id >= 0")
    frame["theme"] = frame["doc_id"].str.extract(r"t:(\w+)-")[0]
    return frame.groupby("theme")["topic_id"].agg(lambda s: int(s.mode().iloc[0])).to_dict()


def test_planted_theme_is_born_in_its_month_and_keeps_its_id(settings):
    store = Store.open(":memory:")
    for month in (1, 2, 3):
        add_month(store, date(2024, month, 1), ["hydrogen", "steel", "fish"])
    run(store, settings, force=True)
    before = topic_of(store)
    assert len(set(before.values())) == 3

    add_month(store, date(2024, 4, 1), ["hydrogen", "steel", "fish", "quantum"])
    result = run(store, settings)
    births = store.df("SELECT * FROM topic_lineage WHERE event = 'birth' AND occurred_on >= '2024-04-01'")
    assert result.counts["births"] == 1 and len(births) == 1
    assert births["occurred_on"].iloc[0].strftime("%Y-%m") == "2024-04"
    after = topic_of(store)
    assert after["quantum"] == births["topic_id"].iloc[0]
    assert {k: v for k, v in after.items() if k != "quantum"} == before

    for month in (5, 6):
        add_month(store, date(2024, month, 1), list(THEMES))
    run(store, settings, force=True)
    assert topic_of(store) == after
    refit = store.df("SELECT event, count(*) AS n FROM topic_lineage WHERE to_version = "
                     "(SELECT version FROM topic_models WHERE is_current) GROUP BY event")
    assert dict(zip(refit["event"], refit["n"], strict=True)) == {"continue": 4}


def test_topics_cli_lists_topics_and_shows_lineage(settings, tmp_path):
    config = write_config(tmp_path, nlp={"embedder": "hashing-256"})
    with Store.open(tmp_path / "data" / "trendscout.duckdb") as store:
        for month in (1, 2):
            add_month(store, date(2024, month, 1), ["hydrogen", "steel"])
        run(store, settings, force=True)
    listed = CliRunner().invoke(app, ["--config", str(config), "topics", "list", "--json"])
    topics = json.loads(listed.stdout)
    assert listed.exit_code == 0 and sorted(t["n_docs"] for t in topics if t["topic_id"] >= 0) == [60, 60]
    shown = CliRunner().invoke(app, ["--config", str(config), "topics", "lineage", "0"])
    assert shown.exit_code == 0 and "birth" in shown.stdout and "2024-02-28" in shown.stdout


def test_no_topic_period_counts_table(settings):
    """Migration 8 dropped it: nothing read it; the detector counts documents per source itself."""
    store = Store.open(":memory:")
    add_month(store, date(2024, 1, 1), ["hydrogen", "steel"])
    run(store, settings, force=True)
    assert store.count("information_schema.tables", "table_name = 'topic_period_counts'") == 0


def test_refits_parse_each_document_once_and_a_changed_document_again(settings, monkeypatch):
    from nlp.phrases import PhraseExtractor
    from pipelines.steps.ingest import DERIVED_TABLES

    parsed: list[int] = []
    real = PhraseExtractor.noun_phrases
    monkeypatch.setattr(PhraseExtractor, "noun_phrases",
                        lambda self, texts: parsed.append(len(texts)) or real(self, texts))
    store = Store.open(":memory:")
    add_month(store, date(2025, 1, 1), ["hydrogen", "steel", "fish"])
    run(store, settings, force=True)
    first = store.count("doc_noun_phrases")
    assert parsed == [first] and first == 90
    run(store, settings, force=True)  # nothing new: every document's phrases come from the store
    assert parsed == [first]
    add_month(store, date(2025, 2, 1), ["quantum"])
    run(store, settings, force=True)
    assert parsed == [first, 30] and store.count("doc_noun_phrases") == 120
    row = store.df("SELECT p.phrases, d.title || ' ' || d.text AS t FROM doc_noun_phrases p JOIN documents d "
                   "USING (doc_id) WHERE doc_id = 't:quantum-202502-0'").iloc[0]
    assert len(row["phrases"]) and all(set(p.split()) <= set(row["t"].split()) for p in row["phrases"])
    assert "doc_noun_phrases" in DERIVED_TABLES  # an ingest that changes a document drops its parse
    store.close()
