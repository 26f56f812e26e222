"""DocFilter's region filter: any level, from the regions enrichment tagged and from organisations not yet enriched."""

import pytest

from pipelines.runs import StepResult
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from pipelines.views.themes import DocFilter


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        upsert_documents(s, [
            {"source": "news", "kind": "news", "external_id": "1", "title": "Plant opens in Regensburg",
             "text": "x", "published_on": "2025-05-01"},
            {"source": "cordis", "kind": "project", "external_id": "2", "title": "p", "text": "x",
             "published_on": "2025-05-01", "organisations": [{"name": "Org", "nuts_code": "FR101", "country": "FR"}]},
        ], StepResult("ingest"))
        # the news item was enriched: placed by its text only (no organisation), at NUTS-3
        s.con.execute("INSERT INTO doc_regions VALUES ('news:1', 'DE232', 3, 'Regensburg', 'place', 1.0)")
        s.con.execute("INSERT INTO doc_features (doc_id, canonical_id, enriched_at) VALUES ('news:1', 'news:1', now())")
        yield s


@pytest.mark.parametrize("region, expected", [
    ("DE", ["news:1"]), ("DE23", ["news:1"]), ("DE232", ["news:1"]), ("DE21", []),
    ("FR1", ["cordis:2"]), ("FR101", ["cordis:2"]), ("FR102", []),
])
def test_region_filter_finds_documents_placed_by_text_or_by_organisations(store, region, expected):
    where, params = DocFilter(region=region).sql()
    found = store.df(f"SELECT doc_id FROM documents d WHERE {where} ORDER BY doc_id", params)["doc_id"].tolist()
    assert found == expected
