"""Topics step: stable topics over time — periodic refits with lineage, nightly assignment and births.

- Refit (when the base model is older than `refit_days`, or forced): BERTopic over the rolling window,
  corpus-generic words dropped from its terms, its topics linked to the stable topics (`nlp.identity`),
  the events written to `topic_lineage`, and every embedded document (re)assigned — a document whose
  stable topic lives on and still fits it stays there, so a browsed topic keeps its documents.
- Counting (`pipelines.views.topic_model.one_partition`): the detector and the forecast place every document
  at its nearest current topic instead, so a topic's older and newer documents are counted by the same centroids.
- Nightly: documents without a topic go to the most similar stable centroid (an outlier below the base
  model's assign similarity). Then a small model on the recent window looks for clusters that are mostly
  outliers and match no stable topic: each is a birth, available to the next night's assignment.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from nlp import topics as tm
from nlp.coherence import CoherenceScorer, topic_diversity
from nlp.identity import link_topics, sticky_topics
from nlp.lineage import centered, match_topics
from nlp.phrases import PhraseExtractor, frequent_phrases
from pipelines.errors import ModelNotFound
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.steps.assign_store import (
    register_model,
    write_assignments,
    write_lineage,
    write_topics,
)
from pipelines.store import Store
from pipelines.views.topic_model import active_topics, centroid_matrix, current_model, thresholds

logger = logging.getLogger(__name__)

MIN_DOCS_TO_FIT = 20
ASSIGN_BATCH = 5000


def fit_due(store: Store, settings: Settings, force: bool = False) -> bool:
    model = current_model(store)
    if force or model is None:
        return True
    age = datetime.now(UTC) - pd.Timestamp(model["created_at"]).tz_localize(None).tz_localize(UTC)
    return age > timedelta(days=settings.topics.refit_days)


def _new_version(suffix: str = "") -> str:
    return "topics-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + suffix


def _build(settings: Settings, **overrides):
    from nlp.embed import build_embedder

    embedder = None if settings.topics.representation == "ctfidf" else build_embedder(**settings.nlp.embedder_options())
    return tm.build_topic_model(**settings.topics.model_options(**overrides), embedder=embedder)


def noun_phrases(store: Store, settings: Settings, doc_ids: list[str], texts: list[str]) -> list[set[str]]:
    """Each document's noun phrases: parsed by spaCy once per document and model and kept in
    `doc_noun_phrases` (an ingest that changes a document drops its row), so refits parse only new documents."""
    model = settings.nlp.spacy_model
    with store.registered("_ids", pd.DataFrame({"doc_id": list(doc_ids)})):
        known = store.df("SELECT doc_id, phrases FROM doc_noun_phrases JOIN _ids USING (doc_id) WHERE model = ?",
                         [model]).set_index("doc_id")["phrases"]
    missing = [i for i, d in enumerate(doc_ids) if d not in known.index]
    if missing:
        parsed = PhraseExtractor(**settings.nlp.phrase_options()).noun_phrases([texts[i] for i in missing])
        store.insert_frame("doc_noun_phrases", pd.DataFrame(
            {"doc_id": [doc_ids[i] for i in missing], "model": model, "phrases": [sorted(p) for p in parsed]}))
        known = pd.concat([known, pd.Series([list(p) for p in parsed], index=[doc_ids[i] for i in missing])])
    return [set(known[d]) for d in doc_ids]


def _drop_generic_terms(store: Store, model, doc_ids: list[str], texts: list[str], local: np.ndarray,
                        settings: Settings) -> list[str]:
    """`nlp.topics.drop_generic_terms`; with `[topics] noun_phrases` the terms are the noun phrases of at most
    `phrase_sample` of the texts (spread over the topics) and the texts' single words (models/README.md)."""
    cfg, vocabulary = settings.topics, None
    if cfg.noun_phrases:
        sample = tm.per_topic_sample(local, cfg.phrase_sample, cfg.seed)
        phrases = frequent_phrases(noun_phrases(store, settings, [doc_ids[i] for i in sample],
                                                [texts[i] for i in sample]), cfg.phrase_min_df)
        vocabulary = sorted(set(phrases) | set(tm.single_words(texts, cfg.phrase_min_df)))
    return tm.drop_generic_terms(model, texts, local, min_df=cfg.generic_min_df, max_lift=cfg.generic_max_lift,
                                 vocabulary=vocabulary)


def fit(store: Store, settings: Settings, result: StepResult, coherence: bool = True) -> str | None:
    """Refit on the window, link its topics to the stable ones, and reassign every embedded document.

    `coherence=False` leaves the NPMI of the model's manifest out (a backtest reads no manifest; the NPMI
    vectorizes every window text once more)."""
    embedder_name, cfg = settings.nlp.embedder, settings.topics
    newest = store.scalar("SELECT max(published_on) FROM documents")
    if newest is None:
        return None
    start = (pd.Timestamp(newest) - pd.DateOffset(months=cfg.window_months)).date()
    doc_ids, vectors = store.vectors(embedder_name, where="doc.published_on > ?", params=[start])
    if len(doc_ids) < MIN_DOCS_TO_FIT:
        result.skip("too_few_documents_to_fit", len(doc_ids))
        return None
    logger.info("topics: fitting on %d documents (%s .. %s)", len(doc_ids), start, newest)
    model, texts = _build(settings), store.texts(doc_ids)
    local = tm.fit_topics(model, texts, vectors)
    generic = _drop_generic_terms(store, model, doc_ids, texts, local, settings)
    table = tm.topic_table(model, local, vectors)
    real = table[table["local_topic"] != tm.OUTLIER].reset_index(drop=True)
    previous = active_topics(store)
    base = current_model(store)
    before = _previous_assignments(store, doc_ids)
    overlap, current_shared, previous_shared = _overlap(before, local, real["local_topic"], previous["topic_id"])
    linkage = link_topics(previous["topic_id"].to_numpy(), centroid_matrix(previous), centroid_matrix(real),
                          next_id=int(store.scalar("SELECT coalesce(max(topic_id), -1) FROM topics")) + 1,
                          overlap=overlap, current_shared=current_shared, previous_shared=previous_shared,
                          current_terms=real["terms"].tolist(),
                          previous_terms=previous["terms"].map(json.loads).tolist(), mean=vectors.mean(axis=0),
                          threshold=cfg.match_threshold, min_jaccard=cfg.match_jaccard, min_terms=cfg.match_terms,
                          min_share=cfg.min_share)
    mapping = dict(zip(real["local_topic"], linkage.stable_ids, strict=True)) | {tm.OUTLIER: tm.OUTLIER}
    version = _new_version()
    path = settings.models_dir / "topics" / version
    tm.save_model(model, path)
    stable_ids, centroids = np.array(linkage.stable_ids, dtype=int), centroid_matrix(real)
    nearest = tm.nearest_topics(vectors, centroids)  # the fit's documents' nearest topics, for metrics and placing
    metrics = _metrics(local, nearest[1], real, linkage.events, cfg.reduce_quantile) | _quality(texts, real["terms"],
                                                                                               coherence)
    manifest = {"version": version, "kind": "base", "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "data_window": [str(start), str(newest)], "n_docs": len(doc_ids), "embedder": embedder_name,
                "params": cfg.model_dump(), "metrics": metrics, "topics": {int(k): v for k, v in mapping.items()}}
    table["topic_id"] = table["local_topic"].map(mapping)
    table["similarity"] = table["topic_id"].map({e["topic_id"]: e["similarity"] for e in linkage.events
                                                 if e["event"] == "continue"})
    topics, kept = _sticky(np.array([mapping[t] for t in local]), before, vectors, stable_ids, centroids,
                           metrics["assign_similarity"])
    metrics |= {"match_rules": linkage.rules, "sticky_docs": int(kept.sum()), "generic_words": generic,
                "clusterer": getattr(model.hdbscan_model, "method_", cfg.clusterer)}
    fitted = _fitted_assignments(topics, tm.placed(*nearest, stable_ids, *thresholds(metrics)))
    other_ids, other_vectors = store.vectors(embedder_name, where="doc.published_on IS NULL OR doc.published_on <= ?",
                                             params=[start])
    others = tm.nearest_assignments(other_vectors, stable_ids, centroids, *thresholds(metrics))
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    with store.transaction():  # all or nothing: a killed refit leaves the previous model in charge
        register_model(store, manifest, path, is_current=True)
        write_topics(store, table, version, born_on=newest, retire=_retired(linkage.events))
        write_lineage(store, linkage.events, base and base["version"], version, newest)
        write_assignments(store, doc_ids, *fitted, version)
        write_assignments(store, other_ids, *others, version)
    result.count(fitted=len(doc_ids), topics=len(real),
                 births=sum(e["event"] == "birth" for e in linkage.events))
    logger.info("topics: model %s with %d topics, %.0f%% outliers", version, len(real),
                100 * metrics["outlier_share"])
    return version


def _previous_assignments(store: Store, doc_ids: list[str]) -> np.ndarray:
    """Each document's stable topic before the refit (-1: an outlier or never assigned)."""
    before = store.df("SELECT doc_id, topic_id FROM topic_assignments").set_index("doc_id")["topic_id"]
    return before.reindex(doc_ids).fillna(tm.OUTLIER).astype(int).to_numpy()


def _overlap(before: np.ndarray, local: np.ndarray, current: pd.Series, previous: pd.Series
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Documents shared by each (new local topic, previous stable topic) pair, outliers left out; and each
    topic's size among the documents both fits saw (the other fit's outliers included)."""
    table = pd.crosstab(local, before)
    overlap = table.reindex(index=current, columns=previous, fill_value=0).to_numpy()
    current_shared = table.sum(axis=1).reindex(current, fill_value=0).to_numpy()
    previous_shared = table.sum(axis=0).reindex(previous, fill_value=0).to_numpy()
    return overlap, current_shared, previous_shared


def _sticky(topics: np.ndarray, before: np.ndarray, vectors: np.ndarray, stable_ids: np.ndarray,
            centroids: np.ndarray, min_similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Documents whose previous topic lives on and still fits it stay there (`nlp.identity.sticky_topics`)."""
    row = {int(t): k for k, t in enumerate(stable_ids)}
    has = np.array([t in row for t in before.tolist()], dtype=bool)
    sims = np.full(len(before), -1.0)
    if has.any():
        rows = np.array([row[t] for t in before[has].tolist()])
        norms = np.linalg.norm(vectors[has], axis=1)
        sims[has] = np.einsum("ij,ij->i", vectors[has], centroids[rows]) / np.where(norms == 0, 1, norms)
    return sticky_topics(topics, before, sims, set(row), min_similarity=min_similarity)


def _metrics(local: np.ndarray, sims: np.ndarray, real: pd.DataFrame, events: list[dict],
             reduce_quantile: float) -> dict:
    """Outlier share and the similarity thresholds nightly assignment uses to match it (`sims`: each fitted
    document's similarity to its nearest topic)."""
    outlier_share = float((local == tm.OUTLIER).mean())
    counts = pd.Series([e["event"] for e in events]).value_counts().to_dict()
    return {"n_topics": len(real), "outlier_share": outlier_share,
            "assign_similarity": float(np.quantile(sims, outlier_share)) if len(real) else 1.0,
            "reduce_similarity": float(np.quantile(sims, reduce_quantile)) if len(real) else 1.0,
            "events": {k: int(v) for k, v in counts.items()}}


def _quality(texts: list[str], terms: pd.Series, coherence: bool = True) -> dict:
    """NPMI coherence (top 10 terms, document co-occurrence over the fitted texts; None without `coherence`)
    and topic diversity."""
    if terms.empty:
        return {"npmi": None, "diversity": None}
    npmi = CoherenceScorer().fit(texts).npmi(terms.tolist()) if coherence else np.array([np.nan])
    return {"npmi": float(np.nanmean(npmi)) if np.isfinite(npmi).any() else None,
            "diversity": topic_diversity(terms.tolist())}


def _retired(events: list[dict]) -> dict[int, str]:
    return {e["topic_id"]: {"merge": "merged", "death": "dead"}[e["event"]] for e in events
            if e["event"] in ("merge", "death")}


def _fitted_assignments(topics: np.ndarray, placed: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """(topic, nearest, similarity, reduced) for the fit's own documents: its clusters, outliers reduced; `placed`
    is their nearest assignment (`nlp.topics.placed`)."""
    _, nearest, sims, reduced = placed
    return topics, nearest, sims, np.where(topics != tm.OUTLIER, topics, reduced)


def _assign_nearest(store: Store, settings: Settings, bars: Bars, doc_ids: list[str], topics: pd.DataFrame,
                    version: str, metrics: dict) -> int:
    """Assign documents to the nearest stable centroid in batches, one transaction each."""
    centroids, ids = centroid_matrix(topics), topics["topic_id"].to_numpy()
    batches = [doc_ids[i:i + ASSIGN_BATCH] for i in range(0, len(doc_ids), ASSIGN_BATCH)]
    for batch in bars.track(batches, total=len(doc_ids), description="assign topics", weight=len):
        batch_ids, vectors = store.vectors(settings.nlp.embedder, doc_ids=batch)
        with store.transaction():
            placed = tm.nearest_assignments(vectors, ids, centroids, *thresholds(metrics))
            write_assignments(store, batch_ids, *placed, version)
    return len(doc_ids)


def assign_pending(store: Store, settings: Settings, bars: Bars, result: StepResult) -> int:
    """Assign documents that have a vector but no topic to the stable topics; return how many."""
    info = current_model(store)
    if info is None:
        raise ModelNotFound("no topic model yet; run 'trendscout topics fit' or 'trendscout nightly'")
    ids = store.df("SELECT e.doc_id FROM doc_embeddings e WHERE e.model = ? AND NOT EXISTS (SELECT 1 FROM "
                   "topic_assignments a WHERE a.doc_id = e.doc_id) ORDER BY e.doc_id",
                   [settings.nlp.embedder])["doc_id"].tolist()
    n = _assign_nearest(store, settings, bars, ids, active_topics(store), info["version"],
                        json.loads(info["metrics"]))
    result.count(assigned=n)
    return n


def find_births(store: Store, settings: Settings, result: StepResult) -> list[int]:
    """Fit a model on the recent window; clusters of outliers that match no stable topic become topics."""
    cfg, base = settings.topics, current_model(store)
    as_of = store.scalar("SELECT max(d.published_on) FROM documents d JOIN topic_assignments USING (doc_id)")
    since = as_of - timedelta(days=cfg.recent_days)
    doc_ids, vectors = store.vectors(settings.nlp.embedder, where="doc.published_on > ?", params=[since])
    if len(doc_ids) < max(MIN_DOCS_TO_FIT, 2 * cfg.recent_min_topic_size):
        result.skip("too_few_recent_documents", len(doc_ids))
        return []
    model = _build(settings, min_topic_size=cfg.recent_min_topic_size,
                   n_clusters=max(2, min(cfg.n_clusters, len(doc_ids) // cfg.recent_min_topic_size)))
    texts, stable = store.texts(doc_ids), active_topics(store)
    local = tm.fit_topics(model, texts, vectors)
    _drop_generic_terms(store, model, doc_ids, texts, local, settings)
    table = tm.topic_table(model, local, vectors, taken=set(stable["label"]))
    real = table[table["local_topic"] != tm.OUTLIER].reset_index(drop=True)
    mean = vectors.mean(axis=0)
    matched = match_topics(centroid_matrix(stable), centroid_matrix(real), cfg.match_threshold, mean=mean)
    assigned = store.df("SELECT doc_id, topic_id FROM topic_assignments").set_index("doc_id")["topic_id"]
    is_outlier = assigned.reindex(doc_ids).to_numpy() == tm.OUTLIER
    new = [i for i, row in real.iterrows() if i not in matched and row["size"] >= cfg.recent_min_topic_size
           and is_outlier[local == row["local_topic"]].mean() >= cfg.min_share]
    if not new:
        return []
    births = real.loc[new].copy()
    next_id = int(store.scalar("SELECT coalesce(max(topic_id), -1) FROM topics")) + 1
    births["topic_id"] = range(next_id, next_id + len(births))
    births["similarity"] = None
    version = _new_version("-recent")
    path = settings.models_dir / "topics" / version
    tm.save_model(model, path)
    manifest = {"version": version, "kind": "recent", "base_version": base["version"],
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "data_window": [str(since), str(as_of)],
                "n_docs": len(doc_ids), "embedder": settings.nlp.embedder, "params": cfg.model_dump(),
                "metrics": {"n_topics": len(real), "births": len(births)},
                "topics": dict(zip(births["local_topic"].astype(int), births["topic_id"].astype(int), strict=True))}
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    sims = centered(centroid_matrix(stable), mean) @ centered(centroid_matrix(births), mean).T if len(stable) else None
    events = [{"event": "birth", "topic_id": int(t), "related": [],
               "similarity": None if sims is None else float(sims[:, k].max())}
              for k, t in enumerate(births["topic_id"])]
    members = np.isin(local, births["local_topic"])
    to_stable = dict(zip(births["local_topic"], births["topic_id"], strict=True))
    topic_of = np.array([to_stable[t] for t in local[members]])
    member_sims = np.einsum("ij,ij->i", vectors[members], centroid_matrix(births.set_index("topic_id").loc[topic_of]))
    with store.transaction():
        register_model(store, manifest, path, is_current=False)
        write_topics(store, births, version, born_on=as_of, retire={})
        write_lineage(store, events, base["version"], version, as_of)
        write_assignments(store, [d for d, m in zip(doc_ids, members, strict=True) if m], topic_of, topic_of,
                          member_sims, topic_of, version)
    result.count(births=len(births))
    logger.info("topics: %d new topics from %d recent documents (%s)", len(births), len(doc_ids), version)
    return births["topic_id"].tolist()


def topics_step(store: Store, settings: Settings, bars: Bars, *, force_fit: bool = False,
                coherence: bool = True) -> StepResult:
    """Refit when due (or forced); assign new documents and look for births (`coherence`: as in `fit`)."""
    result = StepResult("topics")
    if fit_due(store, settings, force_fit) and fit(store, settings, result, coherence) is None \
            and current_model(store) is None:
        return result
    if assign_pending(store, settings, bars, result):
        find_births(store, settings, result)
    return result
