"""Real sub-models (UMAP + HDBSCAN) on real CORDIS texts: two monthly refits keep ids and fill the registry."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nlp.embed import HashingEmbedder
from nlp.topics import OUTLIER, load_model
from pipelines.logs import Bars
from pipelines.settings import NlpSettings, Settings
from pipelines.steps.embed import embed
from pipelines.steps.topics import topics_step
from pipelines.store import Store
from tests.conftest import SHARED_DATA, needs_shared

pytestmark = [pytest.mark.integration, needs_shared(SHARED_DATA / "cordis-horizon-europe" / "projects.parquet")]


def cordis_documents(n: int = 1500) -> pd.DataFrame:
    frame = pd.read_parquet(SHARED_DATA / "cordis-horizon-europe" / "projects.parquet",
                            columns=["id", "title", "text", "ec_signature_date"])
    frame = frame[frame["ec_signature_date"].between("2025-03-01", "2025-10-31")].sort_values("ec_signature_date")
    frame = frame.tail(n)
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame({"doc_id": "cordis:" + frame["id"].astype(str), "source": "cordis", "kind": "project",
                         "external_id": frame["id"].astype(str), "title": frame["title"], "text": frame["text"],
                         "published_on": pd.to_datetime(frame["ec_signature_date"]).dt.date,
                         "content_hash": frame["id"].astype(str), "codes": "{}", "first_seen_at": now,
                         "ingested_at": now})


def test_monthly_refits_keep_topic_ids_and_register_models(tmp_path):
    settings = Settings(models_dir=tmp_path / "models", nlp=NlpSettings(embedder="hashing-256"))
    docs, store, bars = cordis_documents(), Store.open(":memory:"), Bars(enabled=False)
    stable = []
    for month_end in ("2025-09-30", "2025-10-31"):
        store.insert_frame("documents", docs[docs["published_on"].astype(str) <= month_end]
                           .loc[lambda d: ~d["doc_id"].isin(store.df("SELECT doc_id FROM documents")["doc_id"])])
        embed(store, settings.nlp, bars, embedder=HashingEmbedder(256))
        topics_step(store, settings, bars, force_fit=True)
        stable.append(store.df("SELECT doc_id, topic_id FROM topic_assignments").set_index("doc_id")["topic_id"])
    shared = stable[0].index
    kept = (stable[0] == stable[1].reindex(shared))[(stable[0] != OUTLIER) & (stable[1].reindex(shared) != OUTLIER)]
    assert kept.mean() >= 0.6 and store.count("topic_assignments") == len(docs)

    current = store.df("SELECT * FROM topic_models WHERE is_current").iloc[0]
    manifest = json.loads((Path(current["path"]) / "manifest.json").read_text())
    assert {"outlier_share", "assign_similarity", "reduce_similarity"} <= set(manifest["metrics"])
    model = load_model(Path(current["path"]))  # safetensors: no UMAP, transform by topic-embedding similarity
    assert type(model.umap_model).__name__ == "BaseDimensionalityReduction"
    ids, vectors = store.vectors(settings.nlp.embedder)
    topics, _ = model.transform(["."] * 50, embeddings=vectors[:50])
    sims = vectors[:50] @ np.asarray(model.topic_embeddings_).T / np.linalg.norm(model.topic_embeddings_, axis=1)
    assert np.array_equal(np.asarray(topics), sims.argmax(axis=1) - model._outliers)
