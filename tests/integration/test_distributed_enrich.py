"""Enrichment on a Dask LocalCluster (2 worker processes) writes the rows the single-machine enrich step writes."""

import pandas as pd
import pytest

from pipelines.errors import ConfigError
from pipelines.logs import Bars
from pipelines.ops.cluster import dask_client
from pipelines.ops.distributed import backfill, backfill_steps
from pipelines.runs import StepResult
from pipelines.settings import DaskSettings, load_settings
from pipelines.steps.embed import embed
from pipelines.steps.enrich import enrich
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from tests.conftest import FIXTURES, SHARED_DATA, write_config

pytestmark = pytest.mark.integration
PROJECTS = SHARED_DATA / "cordis-horizon-europe" / "projects.parquet"
NUTS = FIXTURES / "nuts" / "synthetic_nuts.geojson"
PARTNER = {"name": "Verein fuer Almwirtschaft", "country": "AT", "lat": 48.0, "lon": 11.0, "role": "partner"}
TABLES = {"doc_features": "SELECT * EXCLUDE (enriched_at) FROM doc_features ORDER BY doc_id",
          "doc_regions": "SELECT * FROM doc_regions ORDER BY doc_id, code",
          "doc_sectors": "SELECT * FROM doc_sectors ORDER BY doc_id, sector"}


@pytest.fixture(scope="module")
def records():
    """180 CORDIS projects with coordinators, partners placed only by coordinates, 20 reposts, one with no language."""
    if not PROJECTS.exists():
        pytest.skip(f"shared CORDIS projects not found at {PROJECTS}")
    frame = pd.read_parquet(PROJECTS, columns=["id", "title", "text", "ec_signature_date", "coordinator_name",
                                               "coordinator_country", "coordinator_nuts", "legal_basis"]).head(180)
    out = []
    for i, r in enumerate(frame.itertuples()):
        orgs = [{"name": r.coordinator_name, "country": r.coordinator_country, "nuts_code": r.coordinator_nuts,
                 "role": "coordinator"}] + ([PARTNER] if i % 7 == 0 else [])
        out.append({"source": "cordis", "kind": "project", "external_id": str(r.id), "title": r.title,
                    "text": r.text, "published_on": r.ec_signature_date, "organisations": orgs,
                    "codes": {"legal_basis": [r.legal_basis]} if r.legal_basis else {},
                    "language": "en" if i % 3 == 0 else None})
    out += [{"source": "news", "kind": "news", "external_id": f"repost-{i}", "title": p["title"],
             "text": "Read the full story below. " + p["text"], "published_on": p["published_on"]}
            for i, p in enumerate(out[:20])]
    out += [{"source": "news", "kind": "news", "external_id": "numbers", "title": "2024",
             "text": "12345 678 910 1112 1314 1516", "published_on": "2024-05-01"}]  # no language detected
    return out


@pytest.fixture(scope="module")
def client():
    with dask_client(DaskSettings(workers=2)) as client:
        yield client


def settings_with(tmp_path, records):
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = load_settings(write_config(tmp_path, nlp={"embedder": "hashing", "gisco_nuts": str(NUTS)}))
    with Store.open(settings.store_path) as store:
        upsert_documents(store, records, StepResult("ingest"))
    return settings


def tables(settings) -> dict[str, pd.DataFrame]:
    with Store.open(settings.store_path, read_only=True) as store:
        return {name: store.df(sql) for name, sql in TABLES.items()}


def test_enrich_on_two_workers_gives_the_single_machine_rows(records, client, tmp_path):
    single = settings_with(tmp_path / "single", records)
    with Store.open(single.store_path) as store:
        embed(store, single.nlp, Bars(enabled=False))
        expected = enrich(store, single, Bars(enabled=False))
    distributed = settings_with(tmp_path / "distributed", records)
    *embedded, enriched = backfill(distributed, client, partition_rows=40, steps=("embed", "enrich"))
    assert [r.step for r in embedded] == ["export", "compute", "import"] and enriched.step == "enrich"
    assert enriched.counts["workers"] == 2 and enriched.counts["files"] >= 5  # 40 rows per source x year x part
    assert enriched.counts["enriched"] == expected.counts["enriched"] == len(records)
    assert enriched.counts["duplicates"] == expected.counts["duplicates"] >= 15
    want, got = tables(single), tables(distributed)
    assert (want["doc_regions"]["evidence"] == "coordinates").sum() >= 20  # partners in the synthetic AT312
    assert want["doc_features"]["language"].isna().sum() == 1
    for name in TABLES:
        pd.testing.assert_frame_equal(got[name], want[name], obj=name)
    again = backfill(distributed, client, steps=["enrich"])
    assert [(r.step, r.status, dict(r.counts)) for r in again] == [("enrich", "ok", {})]
    assert not (distributed.data_dir / "backfill" / "enrich").exists()


@pytest.mark.parametrize(("text", "steps"), [("embed", ["embed"]), ("enrich, embed", ["embed", "enrich"]),
                                             ("embed,topics", None), ("", None)])
def test_backfill_steps_run_in_pipeline_order_and_reject_unknown_ones(text, steps):
    if steps is None:
        with pytest.raises(ConfigError, match="backfill steps"):
            backfill_steps(text)
    else:
        assert backfill_steps(text) == steps
