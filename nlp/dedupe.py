"""Near-duplicate detection: MinHash signatures of normalised text and incremental canonical groups.

A signature is computed once per document and stored; each night `find_canonical` links the new
documents to the ones already grouped (whose canonical never changes) and to each other. Texts that
normalise to nothing get the all-empty signature and are never matched, so blank pages do not
collapse into one group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from datasketch import LeanMinHash, MinHash, MinHashLSH

SCHEME = "affine32"  # datasketch's hashing scheme; signatures from another scheme are not comparable
EMPTY_HASH = np.uint64(2**32 - 1)  # what datasketch leaves in a slot no shingle reached
_URL = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def normalise(text: str | None) -> list[str]:
    """Lower-case words of a text, without URLs, e-mail addresses, punctuation or spacing quirks."""
    return _WORD.findall(_URL.sub(" ", (text or "").lower()))


def shingles(words: Sequence[str], size: int) -> set[bytes]:
    """Word n-grams of `size` words; a text shorter than that is a single shingle."""
    if not words:
        return set()
    if len(words) <= size:
        return {" ".join(words).encode()}
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def minhash_signatures(texts: Sequence[str | None], num_perm: int = 128, shingle_size: int = 5,
                       seed: int = 1) -> np.ndarray:
    """Return one MinHash signature per text: an (n, num_perm) uint64 array."""
    sets = [shingles(normalise(text), shingle_size) for text in texts]
    out = np.full((len(sets), num_perm), EMPTY_HASH, dtype=np.uint64)
    for row, minhash in enumerate(MinHash.bulk(sets, num_perm=num_perm, seed=seed)):
        out[row] = minhash.hashvalues
    return out


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures (0 when either text was empty)."""
    if is_empty(a) or is_empty(b):
        return 0.0
    return float(np.mean(np.asarray(a) == np.asarray(b)))


def is_empty(signature: np.ndarray) -> bool:
    """True for the signature of a text without any words."""
    return bool(np.all(np.asarray(signature) == EMPTY_HASH))


def _stack(column: pd.Series, num_perm: int) -> np.ndarray:
    rows = [np.asarray(s, dtype=np.uint64) for s in column]
    if any(row.shape != (num_perm,) for row in rows):
        raise ValueError(f"find_canonical: every signature must have {num_perm} values, like the first one")
    return np.asarray(rows, dtype=np.uint64).reshape(len(rows), num_perm)


def find_canonical(new: pd.DataFrame, existing: pd.DataFrame | None = None, threshold: float = 0.8,
                   seed: int = 1) -> pd.DataFrame:
    """Assign each new document the canonical id of its near-duplicate group.

    Args:
        new: doc_id, signature, published_on (other columns, e.g. url or source, are ignored).
        existing: doc_id, signature, canonical_id of documents grouped on earlier runs; they keep it.
        threshold: estimated Jaccard similarity from which two documents are duplicates.

    Returns:
        doc_id, canonical_id, similarity (to the document it was linked through; 1.0 for itself),
        one row per new document. A new document matching an earlier one takes that one's canonical;
        new documents matching only each other are grouped under the earliest (published_on, doc_id).
    """
    if new["doc_id"].duplicated().any():
        raise ValueError("find_canonical: doc_id must be unique within `new`")
    existing = existing if existing is not None else pd.DataFrame(columns=["doc_id", "signature",
                                                                           "canonical_id"])
    num_perm = len(new["signature"].iloc[0]) if len(new) else 128
    new_sigs, old_sigs = _stack(new["signature"], num_perm), _stack(existing["signature"], num_perm)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    keys = [("old", i) for i in range(len(existing))] + [("new", i) for i in range(len(new))]
    sigs = list(old_sigs) + list(new_sigs)
    for key, sig in zip(keys, sigs, strict=True):
        if not is_empty(sig):
            lsh.insert(key, LeanMinHash(seed=seed, hashvalues=sig.astype(np.uint32), scheme=SCHEME))

    parent = list(range(len(new)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    best_old: dict[int, tuple[float, int]] = {}  # new row -> (similarity, existing row)
    best_new: dict[int, float] = {}
    for i, sig in enumerate(new_sigs):
        if is_empty(sig):
            continue
        for kind, j in lsh.query(LeanMinHash(seed=seed, hashvalues=sig.astype(np.uint32), scheme=SCHEME)):
            if kind == "new" and j == i:
                continue
            sim = similarity(sig, (old_sigs if kind == "old" else new_sigs)[j])
            if sim < threshold:
                continue
            if kind == "old":
                best_old[i] = max(best_old.get(i, (0.0, -1)), (sim, -j))
            else:
                parent[root(i)] = root(j)
                best_new[i] = max(best_new.get(i, 0.0), sim)

    order = new.assign(_row=range(len(new))).sort_values(["published_on", "doc_id"], na_position="last")
    group_canonical: dict[int, tuple[float, str]] = {}
    for i, (sim, neg_j) in best_old.items():  # a group touching old documents joins the closest one
        candidate = (sim, str(existing["canonical_id"].iloc[-neg_j]))
        group_canonical[root(i)] = max(group_canonical.get(root(i), candidate), candidate)
    for i in order["_row"]:
        group_canonical.setdefault(root(i), (1.0, str(new["doc_id"].iloc[i])))

    rows = []
    for i, doc_id in enumerate(new["doc_id"]):
        if i in best_old:
            sim, neg_j = best_old[i]
            rows.append((doc_id, str(existing["canonical_id"].iloc[-neg_j]), sim))
            continue
        canonical = group_canonical[root(i)][1]
        rows.append((doc_id, canonical, 1.0 if canonical == doc_id else best_new.get(i, 1.0)))
    return pd.DataFrame(rows, columns=["doc_id", "canonical_id", "similarity"])


def syndication_groups(docs: pd.DataFrame) -> pd.DataFrame:
    """Summarise groups with more than one document: canonical_id, n_docs, n_sources, doc_ids.

    Args:
        docs: doc_id, canonical_id and optionally source.
    """
    sources = docs["source"] if "source" in docs else pd.Series("", index=docs.index)
    grouped = docs.assign(source=sources).groupby("canonical_id")
    out = pd.DataFrame({"n_docs": grouped["doc_id"].size(), "n_sources": grouped["source"].nunique(),
                        "doc_ids": grouped["doc_id"].agg(sorted)}).reset_index()
    return out[out["n_docs"] > 1].sort_values(["n_docs", "canonical_id"], ascending=[False, True],
                                              ignore_index=True)
