"""Topic identity across refits: match a new fit's topics to the stable topics and name what happened.

New topics are paired one-to-one with stable topics (Hungarian assignment on centroid cosine plus the
Jaccard index of the documents both fits share); a pair keeps the stable identity when the centroids are
similar (cosine above `threshold`) or when most of the new topic's documents were that stable topic's.
What is left is classified from the shared documents:

- split: an unmatched new topic whose documents mostly came from a stable topic that lives on;
- birth: an unmatched new topic without such an origin;
- merge: an unmatched stable topic whose documents mostly went to one new topic;
- death: an unmatched stable topic without such a destination.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment


def centered(centroids: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    """Unit centroids after removing the corpus mean direction.

    Some embedders (static ones especially) put every document in a narrow cone (mean pairwise cosine
    0.67 for model2vec on CORDIS), where all topic centroids look alike; centring makes a cosine
    threshold mean the same thing across embedders.
    """
    if mean is None or len(centroids) == 0:
        return centroids
    shifted = centroids - mean
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return shifted / np.where(norms == 0, 1, norms)


def match_topics(previous: np.ndarray, current: np.ndarray, threshold: float = 0.75,
                 mean: np.ndarray | None = None) -> dict[int, tuple[int, float]]:
    """Match rows of `current` centroids to rows of `previous` one-to-one; {current: (previous, sim)}.

    Pairs below `threshold` cosine similarity (of centroids centred on `mean`) stay unmatched.
    """
    if len(previous) == 0 or len(current) == 0:
        return {}
    sims = centered(current, mean) @ centered(previous, mean).T
    rows, cols = linear_sum_assignment(-sims)
    return {int(r): (int(c), float(sims[r, c])) for r, c in zip(rows, cols, strict=True)
            if sims[r, c] >= threshold}


@dataclass
class Linkage:
    """Stable id per current topic, and lineage events as dicts(event, topic_id, related, similarity)."""

    stable_ids: list[int]
    events: list[dict] = field(default_factory=list)


def link_topics(previous_ids: np.ndarray, previous: np.ndarray, current: np.ndarray, next_id: int, *,
                overlap: np.ndarray | None = None, threshold: float = 0.75, min_share: float = 0.5,
                mean: np.ndarray | None = None) -> Linkage:
    """Give each current topic a stable id and record continuations, births, splits, merges and deaths.

    Args:
        previous_ids: stable ids of the previous topics (rows of `previous`, unit centroids).
        current: unit centroids of the new fit's topics.
        next_id: the first unused stable id, for births and splits.
        overlap: shared documents, shape (n_current, n_previous); None when the fits share none.
        min_share: share of a topic's shared documents that makes another topic its origin/destination.
        mean: the corpus mean embedding; similarities are taken between centroids centred on it.
    """
    n_cur, n_prev = len(current), len(previous)
    previous, current = centered(previous, mean), centered(current, mean)
    sims = current @ previous.T if n_cur and n_prev else np.zeros((n_cur, n_prev))
    overlap = np.zeros((n_cur, n_prev)) if overlap is None else np.asarray(overlap, dtype=float)
    origin = _shares(overlap)        # row i: where current topic i's shared documents came from
    destination = _shares(overlap.T)  # row j: where previous topic j's shared documents went
    pairs = {}
    if n_cur and n_prev:  # one-to-one on centroid similarity plus the Jaccard index of shared documents
        union = overlap.sum(axis=1, keepdims=True) + overlap.sum(axis=0, keepdims=True) - overlap
        jaccard = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
        for i, j in zip(*linear_sum_assignment(-(sims + jaccard)), strict=True):
            if sims[i, j] >= threshold or origin[i, j] >= min_share:  # drifted centroids: follow the documents
                pairs[int(i)] = (int(j), float(sims[i, j]))
    matched_prev = {j: i for i, (j, _) in pairs.items()}
    linkage = Linkage(stable_ids=[0] * n_cur)
    for i in range(n_cur):
        if i in pairs:
            j, sim = pairs[i]
            linkage.stable_ids[i] = int(previous_ids[j])
            linkage.events.append(_event("continue", previous_ids[j], [], sim))
            continue
        linkage.stable_ids[i], next_id = next_id, next_id + 1
        j = int(origin[i].argmax()) if n_prev else -1
        if j >= 0 and origin[i, j] >= min_share and j in matched_prev:
            linkage.events.append(_event("split", linkage.stable_ids[i], [previous_ids[j]], sims[i, j]))
        else:
            best = float(sims[i].max()) if n_prev else None
            linkage.events.append(_event("birth", linkage.stable_ids[i], [], best))
    for j in range(n_prev):
        if j in matched_prev:
            continue
        i = int(destination[j].argmax()) if n_cur else -1
        if i >= 0 and destination[j, i] >= min_share:
            linkage.events.append(_event("merge", previous_ids[j], [linkage.stable_ids[i]], sims[i, j]))
        else:
            best = float(sims[:, j].max()) if n_cur else None
            linkage.events.append(_event("death", previous_ids[j], [], best))
    return linkage


def _shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _event(event: str, topic_id, related: list, similarity) -> dict:
    return {"event": event, "topic_id": int(topic_id), "related": [int(r) for r in related],
            "similarity": None if similarity is None else float(similarity)}
