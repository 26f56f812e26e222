"""Topics step: fit the base topic model when due, otherwise assign new documents to its topics.

A fit covers the rolling window (the newest `window_months` of documents) and is saved under
`models/topics/<version>/` with a manifest. Its topics are matched to the earlier stable topics by
centroid, so a theme keeps its id across refits; documents outside the window are assigned too.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from nlp import topics as tm
from pipelines.errors import ModelNotFound
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.store import Store

logger = logging.getLogger(__name__)

MIN_DOCS_TO_FIT = 20
ASSIGN_BATCH = 5000


def current_model(store: Store) -> dict | None:
    rows = store.df("SELECT * FROM topic_models WHERE is_current ORDER BY created_at DESC LIMIT 1")
    return None if rows.empty else rows.iloc[0].to_dict()


def _doc_texts(store: Store, doc_ids: list[str]) -> list[str]:
    store.con.register("_ids", pd.DataFrame({"doc_id": doc_ids}))
    try:
        frame = store.df("SELECT doc_id, coalesce(title, '') || '. ' || coalesce(text, '') AS t "
                         "FROM documents JOIN _ids USING (doc_id)").set_index("doc_id")
    finally:
        store.con.unregister("_ids")
    return frame.loc[doc_ids, "t"].tolist()


def fit_due(store: Store, settings: Settings, force: bool = False) -> bool:
    model = current_model(store)
    if force or model is None:
        return True
    age = datetime.now(UTC) - pd.Timestamp(model["created_at"]).tz_localize(None).tz_localize(UTC)
    return age > timedelta(days=settings.topics.refit_days)


def fit(store: Store, settings: Settings, bars: Bars, result: StepResult) -> str | None:
    """Fit a model on the window's embedded documents, register it, and store its assignments."""
    model_name = settings.nlp.embedder
    newest = store.scalar("SELECT max(published_on) FROM documents")
    if newest is None:
        return None
    start = (pd.Timestamp(newest) - pd.DateOffset(months=settings.topics.window_months)).date()
    doc_ids, vectors = store.vectors(model_name, where="doc.published_on > ?", params=[start])
    if len(doc_ids) < MIN_DOCS_TO_FIT:
        result.skip("too_few_documents_to_fit", len(doc_ids))
        return None
    params = settings.topics.model_dump()
    model = tm.build_topic_model(**params)
    logger.info("topics: fitting on %d documents (%s .. %s)", len(doc_ids), start, newest)
    local, probs = tm.fit_topics(model, _doc_texts(store, doc_ids), vectors)
    table = tm.topic_table(model, local, vectors)
    version = "topics-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = settings.models_dir / "topics" / version
    tm.save_model(model, path)
    mapping = _stable_ids(store, table, version, newest)
    metrics = {"n_topics": int((table["local_topic"] != tm.OUTLIER).sum()),
               "outlier_share": float((local == tm.OUTLIER).mean())}
    manifest = {"version": version, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "data_window": [str(start), str(newest)], "n_docs": len(doc_ids), "embedder": model_name,
                "params": params, "metrics": metrics, "topics": {int(k): v for k, v in mapping.items()}}
    (path / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    assignments = pd.DataFrame({"doc_id": doc_ids, "topic_id": [mapping[t] for t in local],
                                "model_version": version, "probability": probs,
                                "assigned_at": datetime.now(UTC)})
    with store.transaction() as con:
        con.execute("UPDATE topic_models SET is_current = FALSE")
        con.execute("INSERT INTO topic_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE)", [
            version, datetime.now(UTC), str(path), model_name, len(doc_ids), start, newest,
            json.dumps(params), json.dumps(metrics)])
        store.delete_keys("topic_assignments", "doc_id", doc_ids)
        store.insert_frame("topic_assignments", assignments)
    result.count(fitted=len(doc_ids), topics=metrics["n_topics"])
    logger.info("topics: model %s with %d topics, %.0f%% outliers", version, metrics["n_topics"],
                100 * metrics["outlier_share"])
    return version


def _stable_ids(store: Store, table: pd.DataFrame, version: str, newest) -> dict[int, int]:
    """Map the model's local topics to stable ids (matched by centroid, new ids for births)."""
    previous = store.df("SELECT topic_id, centroid, born_on FROM topics WHERE topic_id <> ? "
                        "AND status = 'active' ORDER BY topic_id", [tm.OUTLIER])
    prev_c = np.stack(previous["centroid"].map(np.asarray)) if len(previous) else np.zeros((0, 0))
    born = dict(zip(previous["topic_id"], previous["born_on"], strict=True))
    real = table[table["local_topic"] != tm.OUTLIER].reset_index(drop=True)
    matches = tm.match_topics(prev_c, np.stack(real["centroid"]) if len(real) else np.zeros((0, 0)))
    next_id = int(store.scalar("SELECT coalesce(max(topic_id), -1) FROM topics")) + 1
    mapping, similarity = {tm.OUTLIER: tm.OUTLIER}, {}
    for i, row in real.iterrows():
        if i in matches:
            stable = int(previous["topic_id"].iloc[matches[i][0]])
            similarity[stable] = matches[i][1]
        else:
            stable, next_id = next_id, next_id + 1
        mapping[int(row["local_topic"])] = stable
    with store.transaction() as con:
        con.execute("UPDATE topics SET status = 'retired' WHERE status = 'active'")
        for row in table.itertuples():
            stable = mapping[row.local_topic]
            con.execute("DELETE FROM topics WHERE topic_id = ?", [stable])
            con.execute("INSERT INTO topics VALUES (?, ?, ?, ?, ?, ?, 'active', ?)", [
                stable, row.label, json.dumps(row.terms), row.size, born.get(stable, newest), version,
                row.centroid.tolist()])
            con.execute("INSERT INTO model_topics VALUES (?, ?, ?, ?)",
                        [version, row.local_topic, stable, similarity.get(stable)])
    return mapping


def assign_pending(store: Store, settings: Settings, bars: Bars, result: StepResult) -> None:
    """Assign documents that have a vector but no topic to the current model's topics."""
    info = current_model(store)
    if info is None:
        raise ModelNotFound("no topic model yet; run 'trendscout topics fit' or 'trendscout nightly'")
    ids = store.df("SELECT e.doc_id FROM doc_embeddings e WHERE e.model = ? AND NOT EXISTS (SELECT 1 FROM "
                   "topic_assignments a WHERE a.doc_id = e.doc_id) ORDER BY e.doc_id",
                   [settings.nlp.embedder])["doc_id"].tolist()
    if not ids:
        return
    model = tm.load_model(Path(info["path"]))
    mapping = dict(store.con.execute("SELECT local_topic, topic_id FROM model_topics WHERE model_version = ?",
                                     [info["version"]]).fetchall())
    mapping[tm.OUTLIER] = tm.OUTLIER
    batches = [ids[i:i + ASSIGN_BATCH] for i in range(0, len(ids), ASSIGN_BATCH)]
    for batch in bars.track(batches, total=len(ids), description="assign topics", weight=len):
        doc_ids, vectors = store.vectors(settings.nlp.embedder, doc_ids=batch)
        local, probs = tm.assign_topics(model, _doc_texts(store, doc_ids), vectors)
        frame = pd.DataFrame({"doc_id": doc_ids, "topic_id": [mapping.get(int(t), tm.OUTLIER) for t in local],
                              "model_version": info["version"], "probability": probs,
                              "assigned_at": datetime.now(UTC)})
        with store.transaction():
            store.insert_frame("topic_assignments", frame)
        result.count(assigned=len(frame))


def topics_step(store: Store, settings: Settings, bars: Bars, *, force_fit: bool = False) -> StepResult:
    """Refit when due (or forced), then assign every embedded document still without a topic."""
    result = StepResult("topics")
    if fit_due(store, settings, force_fit) and fit(store, settings, bars, result) is None \
            and current_model(store) is None:
        return result
    assign_pending(store, settings, bars, result)
    return result
