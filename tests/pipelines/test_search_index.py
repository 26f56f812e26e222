"""The search's inverted index: written incrementally by enrich, dropped for changed documents, read with BM25."""

import math

import pytest

from nlp.embed import HashingEmbedder
from pipelines.dashboard.queries import search_documents
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import NlpSettings, Settings
from pipelines.steps.embed import embed
from pipelines.steps.enrich import enrich, index_terms
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from pipelines.views.search import K1, TITLE_WEIGHT, B
from pipelines.views.themes import DocFilter

FILLER = " ".join(f"word{i}" for i in range(200))


def doc(i, title, text, day=1):
    return {"source": "news", "kind": "news", "external_id": str(i), "title": title, "text": text,
            "published_on": f"2025-03-{day:02d}"}


DOCS = [doc(1, "Hydrogen valley", "A hydrogen valley in Munich brings electrolysers to trucks.", 1),
        doc(2, "Trucks", "The valley of hydrogen: fuel cells for München and Hamburg.", 2),
        doc(3, "Steel", "Green steel from hydrogen direct reduction.", 3),
        doc(4, "Short", "hydrogen tanks", 4),
        doc(5, "Long", f"{FILLER} tanks hydrogen {FILLER}", 5)]


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        upsert_documents(s, DOCS, StepResult("ingest"))
        yield s


def ids(found):
    return [r["title"] for r in found["results"]]


def test_index_is_written_once_and_a_changed_document_is_indexed_again(store):
    assert index_terms(store) == 5 and index_terms(store) == 0
    tf, in_title = store.con.execute("SELECT tf, in_title FROM doc_terms WHERE doc_id = 'news:1' "
                                     "AND term = 'hydrogen'").fetchone()
    assert (tf, in_title) == (TITLE_WEIGHT + 1, True)
    assert store.scalar("SELECT count(*) FROM doc_terms WHERE doc_id = 'news:2' AND term = 'münchen'") == 1
    upsert_documents(store, [doc(3, "Steel", "Green steel from electric arc furnaces.", 3)], StepResult("ingest"))
    assert store.count("doc_terms", "doc_id = 'news:3'") == store.count("doc_lengths", "doc_id = 'news:3'") == 0
    assert index_terms(store) == 1
    terms = set(store.df("SELECT term FROM doc_terms WHERE doc_id = 'news:3'")["term"])
    assert "furnaces" in terms and "hydrogen" not in terms


def test_enrich_fills_the_index_and_resumes_with_the_rest(store):
    settings = Settings(nlp=NlpSettings(embedder="hashing-64"))
    embed(store, settings.nlp, Bars(enabled=False), embedder=HashingEmbedder(64))
    index_terms(store)
    store.con.execute("DELETE FROM doc_lengths WHERE doc_id > 'news:2'")  # as if three came in after that run
    store.con.execute("DELETE FROM doc_terms WHERE doc_id > 'news:2'")
    result = enrich(store, settings, Bars(enabled=False), embedder=HashingEmbedder(64))
    assert result.counts["indexed"] == 3 and store.scalar("SELECT count(DISTINCT doc_id) FROM doc_terms") == 5
    assert store.count("doc_lengths") == 5


def test_search_through_the_index_needs_every_word_and_checks_phrases(store):
    scanned = search_documents(store, '"hydrogen valley"', DocFilter(), 10)  # no index yet: the scan
    index_terms(store)
    assert search_documents(store, '"hydrogen valley"', DocFilter(), 10)["total"] == scanned["total"] == 1
    assert sorted(ids(search_documents(store, "valley hydrogen", DocFilter(), 10))) == ["Hydrogen valley", "Trucks"]
    assert search_documents(store, '"valley hydrogen"', DocFilter(), 10)["total"] == 0  # word order counts
    assert ids(search_documents(store, "hydrogen MÜNCHEN", DocFilter(), 10)) == ["Trucks"]
    assert search_documents(store, "hydrogen munich steel", DocFilter(), 10)["total"] == 0  # AND, not OR
    store.con.execute("DELETE FROM doc_terms WHERE doc_id = 'news:3'")  # its doc_lengths row stays
    assert "Steel" not in ids(search_documents(store, "hydrogen", DocFilter(), 10))  # read from the index
    paged = search_documents(store, "hydrogen", DocFilter(), 2, page=2)
    assert paged["total"] == 4 and paged["pages"] == 2 and len(paged["results"]) == 2


def test_bm25_ranks_a_short_text_above_a_long_one_and_ties_newest_first(store):
    index_terms(store)
    found = search_documents(store, "tanks", DocFilter(), 10)
    assert ids(found) == ["Short", "Long"]
    lengths = dict(store.con.execute("SELECT doc_id, length FROM doc_lengths").fetchall())
    avgdl, n, df = sum(lengths.values()) / len(lengths), len(lengths), 2
    expected = math.log(1 + (n - df + 0.5) / (df + 0.5)) * (K1 + 1) / (1 + K1 * (1 - B + B * lengths["news:4"] / avgdl))
    assert found["results"][0]["relevance"] == pytest.approx(expected, abs=1e-3)
    upsert_documents(store, [doc(6, "Short", "hydrogen tanks", 9)], StepResult("ingest"))
    index_terms(store)
    newest = search_documents(store, "tanks", DocFilter(), 10)["results"]
    assert [r["date"] for r in newest[:2]] == ["2025-03-09", "2025-03-04"]
