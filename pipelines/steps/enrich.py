"""Enrich step: embedded documents without features -> language, near-duplicate group, regions, sectors.

Runs after `embed` because zero-shot sectors compare a document's vector with the category
descriptions. The place registry is built from the organisations the crawlers stored, so news text
naming an organisation or a city can be placed; organisations' coordinates are placed by the configured
NUTS boundaries first. Each batch has a per-document part (`document_parts`: language, MinHash signature,
region tags; `pipelines.ops.distributed_enrich` runs it on Dask workers) and a part that needs the store and the
earlier documents (`combine_batch`: near-duplicate groups, sectors from the stored vectors). First it adds the
documents not yet in the dashboard search's inverted index (`index_terms`: doc_terms, doc_lengths).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from nlp.boundaries import NutsBoundaries
from nlp.dedupe import find_canonical, minhash_signatures
from nlp.embed import Embedder
from nlp.language import detect_languages
from nlp.places import PlaceRegistry
from nlp.regions import RegionTagger
from nlp.sectors import SectorClassifier, code_scores
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.steps.boundaries import load_boundaries
from pipelines.store import Store
from pipelines.views.search import index_sql

logger = logging.getLogger(__name__)

BATCH = 500
FIT_SAMPLE = 5000
ORG_COLUMNS = ["name", "short_name", "country", "city", "nuts_code", "lat", "lon", "role"]


def build_registry(store: Store, boundaries: NutsBoundaries | None = None) -> PlaceRegistry:
    """The organisation and place registry from what the crawlers collected (and NUTS polygons, if given)."""
    orgs = store.df(f"SELECT DISTINCT {', '.join(ORG_COLUMNS[:-1])} FROM document_organisations "
                    "WHERE name IS NOT NULL AND name <> ''")
    names = store.df("SELECT code, name FROM nuts_regions")
    return PlaceRegistry.from_frames(orgs, nuts_names=names if len(names) else None, boundaries=boundaries)


def build_tagger(store: Store, settings: Settings) -> RegionTagger:
    """The region tagger over the store's registry and the configured NUTS boundaries."""
    return RegionTagger(build_registry(store, load_boundaries(settings.nlp, settings.data_dir)))


def fit_sector_classifier(store: Store, model: str, embedder: Embedder, seed: int = 0) -> SectorClassifier:
    """Fit thresholds on a sample of the store's embedded documents, weak labels from their codes."""
    sample = store.df("SELECT doc_id, codes FROM documents d WHERE EXISTS (SELECT 1 FROM doc_embeddings e "
                      "WHERE e.doc_id = d.doc_id AND e.model = ?) ORDER BY hash(doc_id || ?) LIMIT ?",
                      [model, str(seed), FIT_SAMPLE])
    ids, vectors = store.vectors(model, doc_ids=sample["doc_id"].tolist())
    codes = sample.set_index("doc_id").loc[ids, "codes"].map(lambda c: json.loads(c or "{}")).tolist()
    return SectorClassifier(embedder=embedder).fit(vectors, codes=codes)


def organisations(store: Store, doc_ids: list[str]) -> dict[str, list[dict]]:
    """Each document's structured organisations (ORG_COLUMNS), in their stored order."""
    with store.registered("_ids", pd.DataFrame({"doc_id": doc_ids})):
        orgs = store.df(f"SELECT doc_id, {', '.join(ORG_COLUMNS)} FROM document_organisations "
                        "JOIN _ids USING (doc_id) ORDER BY doc_id, position")
    orgs = orgs.astype(object).where(orgs.notna(), None)
    return {doc_id: group.drop(columns="doc_id").to_dict("records") for doc_id, group in orgs.groupby("doc_id")}


def pending(store: Store, model: str) -> pd.DataFrame:
    return store.df("SELECT d.doc_id, d.title, d.text, d.codes, d.published_on, d.language FROM documents d "
                    "WHERE NOT EXISTS (SELECT 1 FROM doc_features f WHERE f.doc_id = d.doc_id) AND EXISTS "
                    "(SELECT 1 FROM doc_embeddings e WHERE e.doc_id = d.doc_id AND e.model = ?) ORDER BY doc_id",
                    [model])


def enrich(store: Store, settings: Settings, bars: Bars, embedder: Embedder | None = None) -> StepResult:
    """Add language, canonical copy, regions and sectors to embedded documents that lack them."""
    result = StepResult("enrich")
    result.count(indexed=index_terms(store))
    todo = pending(store, settings.nlp.embedder)
    if todo.empty:
        return result
    if embedder is None:
        from nlp.embed import build_embedder

        embedder = build_embedder(**settings.nlp.embedder_options())
    tagger = build_tagger(store, settings)
    sectors = fit_sector_classifier(store, settings.nlp.embedder, embedder)
    seen = seen_signatures(store)
    for batch in bars.track(batches(todo), total=len(todo), description="enrich", weight=len):
        features, regions, doc_sectors = enrich_batch(store, batch, settings, tagger, sectors, seen)
        seen = pd.concat([seen, features[["doc_id", "signature", "canonical_id"]]], ignore_index=True)
        with store.transaction():
            write_frames(store, features, regions, doc_sectors)
        count_frames(result, features)
    return result


def index_terms(store: Store) -> int:
    """Add the documents without a `doc_lengths` row to the search index, in one transaction; how many."""
    with store.transaction():
        store.con.execute("CREATE OR REPLACE TEMP TABLE _unindexed AS SELECT doc_id, title, text FROM documents d "
                          "WHERE NOT EXISTS (SELECT 1 FROM doc_lengths l WHERE l.doc_id = d.doc_id)")
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE _rows AS {index_sql('_unindexed')}")
        store.con.execute("INSERT INTO doc_terms SELECT * FROM _rows ORDER BY term")
        store.con.execute("INSERT INTO doc_lengths SELECT u.doc_id, coalesce(sum(r.tf), 0) FROM _unindexed u "
                          "LEFT JOIN _rows r USING (doc_id) GROUP BY u.doc_id")
        n = store.scalar("SELECT count(*) FROM _unindexed")
        store.con.execute("DROP TABLE _unindexed; DROP TABLE _rows")
    return int(n)


def batches(todo: pd.DataFrame) -> list[pd.DataFrame]:
    """The pending documents in batches of BATCH, in doc_id order (near-duplicates depend on the batching)."""
    return [todo.iloc[i:i + BATCH] for i in range(0, len(todo), BATCH)]


def seen_signatures(store: Store) -> pd.DataFrame:
    """Signatures and groups of the documents enriched before."""
    return store.df("SELECT doc_id, signature, canonical_id FROM doc_features WHERE signature IS NOT NULL")


def write_frames(store: Store, features: pd.DataFrame, regions: pd.DataFrame, doc_sectors: pd.DataFrame) -> None:
    """Insert the three feature frames (inside the caller's transaction)."""
    store.insert_frame("doc_features", _features_table(features))
    store.insert_frame("doc_regions", regions)
    store.insert_frame("doc_sectors", doc_sectors)


def count_frames(result: StepResult, features: pd.DataFrame) -> None:
    """Count a batch's enriched documents, duplicates and skips."""
    result.count(enriched=len(features), duplicates=int((features["canonical_id"] != features["doc_id"]).sum()))
    result.skip("no_region", int((features["n_regions"] == 0).sum()))
    result.skip("no_language", int(features["language"].isna().sum()))


def _features_table(features: pd.DataFrame) -> pa.Table:
    """Arrow keeps the MinHash values unsigned (they overflow BIGINT)."""
    table = pa.Table.from_pandas(features.drop(columns="signature"), preserve_index=False)
    signatures = pa.array([np.asarray(s, dtype=np.uint64) for s in features["signature"]],
                          type=pa.list_(pa.uint64()))
    return table.append_column("signature", signatures)


def enrich_batch(store: Store, batch: pd.DataFrame, settings: Settings, tagger: RegionTagger,
                 sectors: SectorClassifier, seen: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Compute the three feature frames of one batch; `seen` holds earlier documents' signatures."""
    parts = document_parts(batch, organisations(store, batch["doc_id"].tolist()), tagger)
    return combine_batch(store, batch, parts, settings, sectors, seen)


def document_parts(batch: pd.DataFrame, orgs: dict[str, list[dict]], tagger: RegionTagger) -> pd.DataFrame:
    """The per-document part, without the store: doc_id, language, signature, tags (list of region dicts).

    Args:
        batch: doc_id, title, text, language (given by the source, or None).
    """
    ids = batch["doc_id"].tolist()
    texts = [f"{t or ''}. {x or ''}" for t, x in zip(batch["title"], batch["text"], strict=True)]
    languages = detect_languages(texts)
    # a missing given language reads as NaN from a string column, which `or` would keep
    languages = [given if isinstance(given, str) and given else found
                 for given, found in zip(batch["language"], languages, strict=True)]
    tags = tagger.tag(texts, [orgs.get(i, []) for i in ids])
    return pd.DataFrame({"doc_id": ids, "language": languages, "signature": list(minhash_signatures(texts)),
                         "tags": tags})


def combine_batch(store: Store, batch: pd.DataFrame, parts: pd.DataFrame, settings: Settings,
                  sectors: SectorClassifier, seen: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Near-duplicate groups (against `seen`) and sectors (from stored vectors) of one batch's `parts`."""
    ids = batch["doc_id"].tolist()
    parts = parts.set_index("doc_id").loc[ids]
    languages, signatures, tags = parts["language"].tolist(), parts["signature"].tolist(), parts["tags"].tolist()
    groups = find_canonical(pd.DataFrame({"doc_id": ids, "signature": signatures,
                                          "published_on": batch["published_on"].tolist()}),
                            seen if len(seen) else None, threshold=settings.nlp.dedupe_threshold)
    groups = groups.set_index("doc_id").loc[ids]
    codes = [json.loads(c or "{}") for c in batch["codes"]]
    _, vectors = store.vectors(settings.nlp.embedder, doc_ids=ids)
    labels = sectors.predict(vectors, codes=codes)
    regions = pd.DataFrame([{"doc_id": i, "code": t["code"], "level": t["level"], "name": t.get("name"),
                             "evidence": t["evidence"], "weight": t["weight"]}
                            for i, doc_tags in zip(ids, tags, strict=True) for t in doc_tags],
                           columns=["doc_id", "code", "level", "name", "evidence", "weight"])
    regions = regions.drop_duplicates(["doc_id", "code"])
    given = [set(c.get("sector", [])) for c in codes]
    doc_sectors = pd.DataFrame(
        [{"doc_id": i, "sector": s, "score": 1.0, "evidence": "given"} for i, g in zip(ids, given, strict=True)
         for s in sorted(g)] +
        [{"doc_id": i, "sector": s, "score": score, "evidence": "codes" if code_scores(c) else "zero-shot"}
         for i, c, g, doc_labels in zip(ids, codes, given, labels, strict=True) for s, score in doc_labels
         if s not in g], columns=["doc_id", "sector", "score", "evidence"]).drop_duplicates(["doc_id", "sector"])
    features = pd.DataFrame({
        "doc_id": ids, "language": languages, "canonical_id": groups["canonical_id"].tolist(),
        "dup_similarity": groups["similarity"].astype(float).tolist(),
        "signature": signatures,
        "n_regions": [len(t) for t in tags], "n_sectors": doc_sectors.groupby("doc_id").size().reindex(ids)
        .fillna(0).astype(int).tolist(), "enriched_at": datetime.now(UTC).replace(tzinfo=None)})
    return features, regions, doc_sectors
