"""The latest detection and its ranked flags (topics, cells, terms): what the digest, dashboard and CLI read."""

from __future__ import annotations

import json

import pandas as pd

from pipelines.store import Store


def latest_detection(store: Store) -> str | None:
    return store.scalar("SELECT detect_id FROM detections ORDER BY created_at DESC LIMIT 1")


def detection_params(store: Store, detect_id: str | None) -> dict:
    """The settings a detection ran with, and its resolved period and kinds ({} when unknown)."""
    return json.loads(store.scalar("SELECT params FROM detections WHERE detect_id = ?", [detect_id]) or "{}")


def ranked_flags(store: Store, *, region: str | None = None, sector: str | None = None, kind: str | None = None,
                 terms: bool = False, top: int = 20) -> tuple[pd.DataFrame, str | None]:
    """The latest detection's cells, flagged first: topics, the cells of a region / sector / kind, or terms.

    Several filters keep the topics present under all of them; rows show the first filter's cell.
    A region matches NUTS-2 codes that start with it (so a NUTS-1 or country code works too).
    Topics and cells follow the detector's score. Terms follow the test (q, then p: a handful of documents
    against none scores high but proves nothing), ranked anew; runners-up holding a corpus-generic word
    (`generic_words`) are left out, flagged terms are shown as the detector flagged them.
    """
    detect_id = latest_detection(store)
    if detect_id is None:
        return pd.DataFrame(), None
    kinds = detection_params(store, detect_id)
    has_kind_cells = store.count("trend_cells", "detect_id = ? AND scope = 'kind'", [detect_id]) > 0
    filters = [("region", "starts_with(c.cell, upper(?))", region), ("sector", "lower(c.cell) = lower(?)", sector),
               ("kind", "c.cell = ?", kind)]
    chosen = [(scope, cond, value) for scope, cond, value in filters if value]
    if kind and not has_kind_cells:  # one kind in the store: the topic rows are that kind's rows
        chosen = [f for f in chosen if f[0] != "kind"] or [("topic", "c.cell = ''", None)]
        if kinds.get("kinds") != [kind]:
            return pd.DataFrame(columns=["topic_id", "flagged"]), detect_id
    chosen = [("term", "TRUE", None)] if terms else chosen or [("topic", "c.cell = ''", None)]
    order = "c.flagged DESC, c.q_value, c.p_value, c.score DESC, c.cell" if terms else "c.flagged DESC, c.score DESC"
    frames = []
    for scope, cond, value in chosen:
        frames.append(store.df(
            "SELECT c.*, t.label FROM trend_cells c LEFT JOIN topics t USING (topic_id) WHERE c.detect_id = ? "
            f"AND c.scope = ? AND {cond} ORDER BY {order}",
            [detect_id, scope, *([value] if value is not None else [])]))
    shared = set.intersection(*(set(f["topic_id"]) for f in frames))
    frame = frames[0][frames[0]["topic_id"].isin(shared)]
    if terms:
        generic = generic_words(store)
        frame = frame[frame["flagged"].astype(bool) | ~frame["cell"].map(lambda t: bool(generic & set(t.split())))]
    frame = frame.head(top).reset_index(drop=True)
    if terms:
        frame["rank"] = range(1, len(frame) + 1)
    frame["components"] = frame["components"].map(lambda c: json.loads(c or "{}"))
    return frame, detect_id


def generic_words(store: Store) -> set[str]:
    """The corpus-generic words the current topic model found at its fit (`nlp.labels.generic_words`): common in
    the corpus and spread evenly over its topics ("project", "new", "research" in CORDIS)."""
    metrics = store.scalar("SELECT metrics FROM topic_models WHERE is_current ORDER BY created_at DESC LIMIT 1")
    return set(json.loads(metrics or "{}").get("generic_words") or [])
