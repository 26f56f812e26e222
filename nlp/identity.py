"""Topic identity across refits: which new topic is which stable topic, decided on what topics are.

Three kinds of evidence per (new topic, stable topic) pair:

- documents: the Jaccard index of their memberships over the documents both fits saw;
- terms: the Jaccard index of the words of their top terms (c-TF-IDF, after MMR);
- centroid: the cosine of their centroids, centred on the corpus mean (`nlp.lineage.centered`).

New topics are paired one-to-one with stable topics by the Hungarian method on the sum of the three.
A pair keeps the stable id when one rule accepts it, tried in this order: `documents` (Jaccard at least
`min_jaccard`), `terms` (term Jaccard at least `min_terms` and centroid cosine at least half the
centroid threshold), `centroid` (cosine at least `threshold`). The rule that decided is recorded on
the `continue` event. What is left is classified from the shared documents:

- split: an unmatched new topic whose documents mostly came from a stable topic that lives on;
- birth: an unmatched new topic without such an origin;
- merge: an unmatched stable topic whose documents mostly went to one new topic;
- death: an unmatched stable topic without such a destination.

`sticky_topics` then keeps documents where they were: a document whose stable topic lives on and
still fits it (cosine to its centroid at least the assign similarity) keeps that topic, unless the refit
placed it in a topic that is new (a birth or split). A new topic keeps the older documents the refit
gave it: held back, it would hold only the newest ones and its share would seem to rise from nothing
(under shuffled dates such topics were most of the false flags).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from nlp.lineage import centered

OUTLIER = -1
RULES = ("documents", "terms", "centroid")


@dataclass
class Linkage:
    """Stable id per current topic, lineage events (event, topic_id, related, similarity[, rule])
    and how many continuations each rule decided."""

    stable_ids: list[int]
    events: list[dict] = field(default_factory=list)
    rules: dict[str, int] = field(default_factory=dict)


def membership_jaccard(overlap: np.ndarray, current_shared: np.ndarray, previous_shared: np.ndarray
                       ) -> np.ndarray:
    """Jaccard of memberships from shared-document counts and each topic's size among the shared documents."""
    union = current_shared[:, None] + previous_shared[None, :] - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap, dtype=float), where=union > 0)


def term_jaccard(current_terms: list[list[str]], previous_terms: list[list[str]]) -> np.ndarray:
    """Jaccard of the sets of words in each pair of topics' term lists (phrases count word by word)."""
    cur = [{w for term in terms for w in term.lower().split()} for terms in current_terms]
    prev = [{w for term in terms for w in term.lower().split()} for terms in previous_terms]
    out = np.zeros((len(cur), len(prev)))
    for i, a in enumerate(cur):
        for j, b in enumerate(prev):
            if a or b:
                out[i, j] = len(a & b) / len(a | b)
    return out


def link_topics(previous_ids: np.ndarray, previous: np.ndarray, current: np.ndarray, next_id: int, *,
                overlap: np.ndarray | None, current_shared: np.ndarray | None = None,
                previous_shared: np.ndarray | None = None, current_terms: list[list[str]] | None = None,
                previous_terms: list[list[str]] | None = None, mean: np.ndarray | None,
                threshold: float, min_jaccard: float, min_terms: float, min_share: float) -> Linkage:
    """Give each current topic a stable id and record continuations, births, splits, merges and deaths.

    Args:
        previous_ids: stable ids of the previous topics (rows of `previous`, unit centroids).
        current: unit centroids of the new fit's topics.
        next_id: the first unused stable id, for births and splits.
        overlap: shared documents per (current, previous) topic pair, outliers left out; None: none shared.
        current_shared, previous_shared: each topic's documents among those both fits saw (outliers of
            the other fit included); by default the overlap's margins.
        current_terms, previous_terms: top terms per topic; None: no term evidence.
        mean: the corpus mean embedding; centroids are compared centred on it.
        threshold: centroid cosine accepted on its own.
        min_jaccard: membership Jaccard accepted on its own.
        min_terms: term Jaccard accepted with a centroid cosine of at least threshold / 2.
        min_share: share of a topic's shared documents that makes another topic its origin/destination.
    """
    n_cur, n_prev = len(current), len(previous)
    sims = centered(current, mean) @ centered(previous, mean).T if n_cur and n_prev else np.zeros((n_cur, n_prev))
    overlap = np.zeros((n_cur, n_prev)) if overlap is None else np.asarray(overlap, dtype=float)
    current_shared = overlap.sum(axis=1) if current_shared is None else np.asarray(current_shared, dtype=float)
    previous_shared = overlap.sum(axis=0) if previous_shared is None else np.asarray(previous_shared, dtype=float)
    jaccard = membership_jaccard(overlap, current_shared, previous_shared)
    terms = (term_jaccard(current_terms, previous_terms) if current_terms is not None and previous_terms is not None
             else np.zeros((n_cur, n_prev)))
    origin = _shares(overlap)        # row i: where current topic i's shared documents came from
    destination = _shares(overlap.T)  # row j: where previous topic j's shared documents went
    pairs: dict[int, tuple[int, float, str]] = {}
    if n_cur and n_prev:
        for i, j in zip(*linear_sum_assignment(-(jaccard + terms + np.clip(sims, 0, None))), strict=True):
            rule = _rule(jaccard[i, j], terms[i, j], sims[i, j], threshold, min_jaccard, min_terms)
            if rule:
                pairs[int(i)] = (int(j), float(sims[i, j]), rule)
    matched_prev = {j for j, _, _ in pairs.values()}
    linkage = Linkage(stable_ids=[0] * n_cur, rules=dict(Counter(rule for _, _, rule in pairs.values())))
    for i in range(n_cur):
        if i in pairs:
            j, sim, rule = pairs[i]
            linkage.stable_ids[i] = int(previous_ids[j])
            linkage.events.append(_event("continue", previous_ids[j], [], sim) | {"rule": rule})
            continue
        linkage.stable_ids[i], next_id = next_id, next_id + 1
        j = int(origin[i].argmax()) if n_prev else -1
        if j >= 0 and origin[i, j] >= min_share and j in matched_prev:
            linkage.events.append(_event("split", linkage.stable_ids[i], [previous_ids[j]], sims[i, j]))
        else:
            linkage.events.append(_event("birth", linkage.stable_ids[i], [], sims[i].max() if n_prev else None))
    for j in range(n_prev):
        if j in matched_prev:
            continue
        i = int(destination[j].argmax()) if n_cur else -1
        if i >= 0 and destination[j, i] >= min_share:
            linkage.events.append(_event("merge", previous_ids[j], [linkage.stable_ids[i]], sims[i, j]))
        else:
            linkage.events.append(_event("death", previous_ids[j], [], sims[:, j].max() if n_cur else None))
    return linkage


def sticky_topics(topics: np.ndarray, previous: np.ndarray, similarity_to_previous: np.ndarray,
                  live: set[int], *, min_similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep each document in its previous stable topic when that topic lives on and still fits it.

    Args:
        topics: stable topic per document from the new fit (-1: outlier).
        previous: stable topic per document before the refit (-1: outlier or never assigned).
        similarity_to_previous: cosine of each document to its previous topic's new centroid.
        live: stable ids of the new fit's topics (those not in `previous` are new: their documents stay).
        min_similarity: the assign similarity: a document below it does not fit its old topic any more.
    Returns the topics after the rule, and a mask of the documents it kept in place.
    """
    new_topics = list(live - set(previous.tolist()))
    kept = ((previous != OUTLIER) & (topics != previous) & np.isin(previous, list(live))
            & ~np.isin(topics, new_topics) & (similarity_to_previous >= min_similarity))
    return np.where(kept, previous, topics), kept


def _rule(jaccard: float, terms: float, sim: float, threshold: float, min_jaccard: float, min_terms: float
          ) -> str | None:
    if jaccard >= min_jaccard:
        return "documents"
    if terms >= min_terms and sim >= threshold / 2:
        return "terms"
    if sim >= threshold:
        return "centroid"
    return None


def _shares(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def _event(event: str, topic_id, related: list, similarity) -> dict:
    return {"event": event, "topic_id": int(topic_id), "related": [int(r) for r in related],
            "similarity": None if similarity is None else float(similarity)}
