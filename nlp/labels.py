"""Topic labels in an analyst's words: the genre's own vocabulary out, no two topics with one label.

A corpus-generic word is one that is common in the corpus (in at least `min_df` of its documents) and
spread evenly across the topics: no topic uses it in more than `max_lift` times its corpus-wide share of
documents (a topic's own words reach 3-10 times theirs). In CORDIS these are "project", "new",
"research", "develop", "approach"...: found from the corpus, not from a fixed list.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

OUTLIER = -1


def generic_words(docs: list[str], topics: np.ndarray, *, min_df: float, max_lift: float,
                  token_pattern: str) -> list[str]:
    """Words of `docs` common to all topics alike (see the module docstring), most common first."""
    topics = np.asarray(topics)
    keep = topics != OUTLIER
    labels = np.unique(topics[keep])
    if len(labels) < 2:
        return []
    vectorizer = CountVectorizer(binary=True, token_pattern=token_pattern, lowercase=True, stop_words="english",
                                 min_df=max(2, int(min_df * keep.sum())))
    try:
        matrix = sparse.csr_matrix(vectorizer.fit_transform([d for d, k in zip(docs, keep, strict=True) if k]))
    except ValueError:  # no word is that common
        return []
    inner = topics[keep]
    rates = np.vstack([np.asarray(matrix[inner == t].mean(axis=0)).ravel() for t in labels])  # topics x words
    df = np.asarray(matrix.mean(axis=0)).ravel()
    names = vectorizer.get_feature_names_out()
    picked = np.flatnonzero(rates.max(axis=0) <= max_lift * df)
    return [str(names[i]) for i in picked[np.argsort(-df[picked], kind="stable")]]


def short_label(terms: list[str], n: int = 3, taken: set[str] | frozenset = frozenset()) -> str:
    """The top terms, skipping any that shares a word stem with an earlier one; never one of `taken`.

    A multi-word term that repeats the stem of one single-word term among the first `n` takes its place: it
    names it more precisely ("energy storage" for "energy", "plastic waste" for "plastics").
    A label that is taken gets the next usable term instead of its last one, then the one after, and
    so on; when the terms run out, the most specific term list wins: all usable terms joined.
    """
    usable: list[str] = []
    stems: list[set[str]] = []
    for term in terms:
        own = {_stem(word) for word in term.split()}
        clash = [i for i, other in enumerate(stems) if own & other]
        if not clash:
            usable.append(term)
            stems.append(own)
        elif len(clash) == 1 and clash[0] < n and " " in term and " " not in usable[clash[0]]:
            usable[clash[0]], stems[clash[0]] = term, own
    label = " · ".join(usable[:n])
    for extra in usable[n:]:
        if label not in taken:
            break
        label = " · ".join([*usable[: n - 1], extra])
    return label if label not in taken else " · ".join(usable)


def unique_labels(term_lists: list[list[str]], n: int = 3, taken: set[str] | frozenset = frozenset()) -> list[str]:
    """One label per term list (in order: put the largest topic first), no two alike nor in `taken`."""
    used, labels = set(taken), []
    for terms in term_lists:
        label = short_label(terms, n, used)
        while label in used:  # identical term lists: number them
            label = f"{label} ({sum(lbl.startswith(label) for lbl in used) + 1})"
        used.add(label)
        labels.append(label)
    return labels


def _stem(word: str) -> str:
    """A crude stem for "does this label repeat itself": plural off, first six letters."""
    word = word.lower()
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:6]
