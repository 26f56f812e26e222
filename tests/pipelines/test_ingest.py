import json

import pytest

from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.steps.ingest import ingest, ingest_corpus, upsert_documents
from pipelines.store import Store


def item(external_id="1", text="Hydrogen valleys in Europe", **extra):
    return {"source": "cordis", "kind": "project", "external_id": external_id, "url": f"https://x.test/{external_id}",
            "title": f"Project {external_id}", "text": text, "published_on": "2024-05-02",
            "organisations": [{"name": "KIT", "country": "DE", "nuts_code": "DE122", "role": "coordinator"}],
            "meta": {"nuts_names": {"DE122": "Karlsruhe, Stadtkreis", "DE12": "Karlsruhe"}}, **extra}


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        yield s


def ingest_text(store, path, source: str, kind: str, content: str):
    """Write `content` to the corpus file `path` and ingest it."""
    path.write_text(content)
    return ingest_corpus(store, path, source, kind, Bars(enabled=False))


def test_upsert_is_idempotent_and_counts(store):
    result = StepResult("ingest")
    upsert_documents(store, [item("1"), item("2"), item("1")], result)
    upsert_documents(store, [item("1"), item("2")], result)
    assert store.count("documents") == 2 and store.count("document_organisations") == 2
    assert result.counts == {"new": 2, "unchanged": 2}
    assert store.scalar("SELECT name FROM nuts_regions WHERE code = 'DE12'") == "Karlsruhe"
    assert store.scalar("SELECT level FROM nuts_regions WHERE code = 'DE122'") == 3


def test_changed_document_is_updated_in_place_and_loses_derived_rows(store):
    result = StepResult("ingest")
    upsert_documents(store, [item("1")], result)
    first_seen = store.scalar("SELECT first_seen_at FROM documents")
    store.con.execute("INSERT INTO doc_embeddings VALUES ('cordis:1', 'm', 'h')")
    store.con.execute("INSERT INTO topic_assignments VALUES ('cordis:1', 3, 'v', 1.0, now())")
    upsert_documents(store, [item("1", text="Hydrogen valleys in Europe, revised")], result)
    assert result.counts["updated"] == 1 and store.count("documents") == 1
    assert store.scalar("SELECT text FROM documents").endswith("revised")
    assert store.scalar("SELECT first_seen_at FROM documents") == first_seen
    assert store.count("doc_embeddings") == 0 and store.count("topic_assignments") == 0


@pytest.mark.parametrize("bad, reason", [
    ({"external_id": ""}, "no_id"), ({"kind": "blog"}, "bad_kind"), ({"title": "", "text": ""}, "no_text"),
    ({"published_on": "someday"}, "no_date"), ({"published_on": "0001-01-01"}, "date_too_early"),
    ({"published_on": "9999-12-31"}, "date_in_future"),
    ({"kind": "news", "published_on": "2099-01-01"}, "date_in_future"),
    ({"title": ["a"], "text": {"b": 1}}, "bad_text"),
])
def test_upsert_skips_bad_records_with_a_reason(store, bad, reason):
    result = StepResult("ingest")
    upsert_documents(store, [item("1") | bad, item("2")], result)
    assert result.skipped == {reason: 1} and store.count("documents") == 1


def test_ingest_reads_finished_feeds_once_and_ignores_partial_files(store, tmp_path):
    raw = tmp_path / "raw" / "cordis"
    raw.mkdir(parents=True)
    (raw / "run1.jsonl").write_text("\n".join(json.dumps(item(str(i))) for i in range(5)) + "\n{broken\n")
    (raw / "run2.jsonl.part").write_text(json.dumps(item("99")) + "\n")
    first = ingest(store, tmp_path / "raw", Bars(enabled=False))
    second = ingest(store, tmp_path / "raw", Bars(enabled=False))
    assert first.counts["new"] == 5 and first.skipped == {"bad_json_line": 1}
    assert second.counts == {} and store.count("documents") == 5 and store.count("raw_files") == 1


def test_ingest_corpus_loads_csv_with_regions_and_sectors(store, tmp_path):
    result = ingest_text(store, tmp_path / "corpus.csv", "mine", "news",
                         "id,title,text,date,regions,sectors\n"
                         "a,Green steel,Hydrogen direct reduction of iron ore,2021-03-01,DE12;FR10,steel|energy\n"
                         "b,No date,Some text,,,\n")
    assert result.counts["new"] == 1 and result.skipped == {"no_date": 1}
    assert sorted(store.df("SELECT nuts_code FROM document_organisations")["nuts_code"]) == ["DE12", "FR10"]
    assert json.loads(store.scalar("SELECT codes FROM documents"))["sector"] == ["steel", "energy"]


def test_upsert_keeps_planned_project_dates_but_never_an_update_date_past_today(store):
    from datetime import date, timedelta

    planned = (date.today() + timedelta(days=700)).isoformat()
    upsert_documents(store, [item("1", published_on=planned, updated_on="2099-01-01")], StepResult("ingest"))
    assert store.scalar("SELECT published_on FROM documents").isoformat() == planned
    assert store.scalar("SELECT updated_on FROM documents") <= date.today()


def test_ingest_corpus_takes_a_numeric_title_as_text(store, tmp_path):
    result = ingest_text(store, tmp_path / "corpus.jsonl", "books", "paper",
                         '{"id": 1, "title": "Orwell", "text": "A novel", "date": "1949-06-08"}\n'
                         '{"id": 2, "title": 1984, "text": "Nineteen Eighty-Four", "date": "1949-06-08"}\n')
    assert result.counts["new"] == 2
    assert sorted(store.df("SELECT title FROM documents")["title"]) == ["1984", "Orwell"]


def test_ingest_corpus_stores_a_placeholder_text_as_missing_and_counts_it(store, tmp_path):
    """Exporters write a missing abstract as "nan" (608 of the shared patents): not a word of the document."""
    result = ingest_text(store, tmp_path / "corpus.jsonl", "patents", "patent",
                         '{"id": 1, "title": "Baseball bat", "text": "nan", "date": "1999-01-05"}\n'
                         '{"id": 2, "title": "NULL", "text": " None ", "date": "1999-01-05"}\n'
                         '{"id": 3, "title": "Nancy", "text": "A nan bread oven", "date": "1999-01-05"}\n')
    assert result.counts["new"] == 2 and result.counts["placeholder_text"] == 3 and result.skipped["no_text"] == 1
    assert store.df("SELECT title, text FROM documents ORDER BY title").values.tolist() == [
        ["Baseball bat", ""], ["Nancy", "A nan bread oven"]]


def test_ingest_cli_names_a_non_utf8_corpus_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from tests.conftest import write_config

    corpus = tmp_path / "latin1.csv"
    corpus.write_bytes("id,title,text,date\na,Caf\u00e9 Fran\u00e7ais,Texte,2021-03-01\n".encode("latin-1"))
    result = CliRunner().invoke(app, ["--config", str(write_config(tmp_path)), "ingest", str(corpus), "--source", "x"])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "is not UTF-8 text (it holds the byte 0xe9)" in line and "iconv" in line


def test_ingest_corpus_keeps_an_optional_group_and_organisations(store, tmp_path):
    ingest_text(store, tmp_path / "corpus.csv", "mine", "project",
                "id,title,text,date,group,organisations\n"
                "a,Green steel,Hydrogen reduction,2021-03-01,HORIZON-CL5-2021-D2-01,Acme Steel;Uni Graz\n"
                "b,Batteries,Solid-state cells,2021-04-01,,\n")
    codes = store.df("SELECT external_id, codes FROM documents ORDER BY external_id")["codes"].map(json.loads)
    assert codes.tolist() == [{"group": "HORIZON-CL5-2021-D2-01"}, {}]
    assert sorted(store.df("SELECT name FROM document_organisations")["name"]) == ["Acme Steel", "Uni Graz"]
