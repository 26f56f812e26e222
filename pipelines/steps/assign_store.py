"""Store reads and writes of the topics step: the model registry, stable topics, lineage, assignments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.store import Store


def register_model(store: Store, manifest: dict, path: Path, *, is_current: bool) -> None:
    """Record a saved model in `topic_models`; a current (base) model replaces the previous one."""
    if is_current:
        store.con.execute("UPDATE topic_models SET is_current = FALSE")
    start, end = manifest["data_window"]
    store.con.execute(
        "INSERT INTO topic_models (version, created_at, path, embedder, n_docs, window_start, window_end, params, "
        "metrics, is_current, kind, base_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [manifest["version"], datetime.now(UTC), str(path), manifest["embedder"], manifest["n_docs"], start, end,
         json.dumps(manifest["params"]), json.dumps(manifest["metrics"]), is_current, manifest["kind"],
         manifest.get("base_version")])


def write_topics(store: Store, table: pd.DataFrame, version: str, *, born_on, retire: dict[int, str]) -> None:
    """Upsert stable topics from `table` (topic_id, local_topic, label, terms, size, centroid, similarity).

    Topics new to the store are born on `born_on`; existing ones keep their birth date. `retire` maps
    stable ids to their new status (merged, dead).
    """
    born = dict(store.con.execute("SELECT topic_id, born_on FROM topics").fetchall())
    for row in table.itertuples():
        stable = int(row.topic_id)
        store.con.execute("DELETE FROM topics WHERE topic_id = ?", [stable])
        store.con.execute("INSERT INTO topics VALUES (?, ?, ?, ?, ?, ?, 'active', ?)", [
            stable, row.label, json.dumps(row.terms), int(row.size), born.get(stable, born_on), version,
            np.asarray(row.centroid, dtype=float).tolist()])
        store.con.execute("INSERT INTO model_topics VALUES (?, ?, ?, ?)", [
            version, int(row.local_topic), stable, None if pd.isna(row.similarity) else float(row.similarity)])
    for topic_id, status in retire.items():
        store.con.execute("UPDATE topics SET status = ? WHERE topic_id = ?", [status, topic_id])


def write_lineage(store: Store, events: list[dict], from_version: str | None, to_version: str, occurred_on) -> None:
    frame = pd.DataFrame({
        "event": [e["event"] for e in events], "topic_id": [e["topic_id"] for e in events],
        "related_topic_ids": [e["related"] for e in events], "from_version": from_version,
        "to_version": to_version, "occurred_on": occurred_on, "similarity": [e["similarity"] for e in events],
        "recorded_at": datetime.now(UTC)})
    store.insert_frame("topic_lineage", frame)


def write_assignments(store: Store, doc_ids: list[str], topics: np.ndarray, nearest: np.ndarray,
                      similarity: np.ndarray, reduced: np.ndarray, version: str) -> None:
    """Replace the documents' topic assignments and nearest-topic scores (inside the caller's transaction)."""
    now = datetime.now(UTC)
    store.delete_keys("topic_assignments", "doc_id", list(doc_ids))
    store.delete_keys("topic_similarities", "doc_id", list(doc_ids))
    store.insert_frame("topic_assignments", pd.DataFrame({
        "doc_id": doc_ids, "topic_id": np.asarray(topics, dtype=int), "model_version": version,
        "probability": np.asarray(similarity, dtype=float), "assigned_at": now}))
    store.insert_frame("topic_similarities", pd.DataFrame({
        "doc_id": doc_ids, "nearest_topic_id": np.asarray(nearest, dtype=int),
        "similarity": np.asarray(similarity, dtype=float), "reduced_topic_id": np.asarray(reduced, dtype=int),
        "model_version": version}))
