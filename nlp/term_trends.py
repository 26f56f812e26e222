"""Term cells: words and phrases whose share of documents rises, tested with the topics' count model.

New themes often show up in words before they form a topic of their own — a method that spreads
across application topics (large language models in project abstracts) or a theme still too small
for the clusterer. Every word and 1–3-word phrase in at least `min_docs` and at most `max_df` of the
window's documents is counted per period and source, exactly like a topic cell, and tested recent
window against baseline with a per-source volume offset; the p-values join the topics' BH family.

Only *topic-specific* terms are tested: a term whose documents spread over the topics like the corpus
does is style, not a theme ("leveraging", "pivotal" and "intricate" rose in 2024 abstracts in every
field at once). Specificity is the bias-corrected excess chi-square per document of the term's topic
distribution against the corpus's, (chi2 - (K - 1)) / n, about 0 for a randomly scattered term
whatever its frequency. It does not look at the time split, so selecting on it keeps the test valid.
A term must also pass the chance line (`ChanceLine`): among many small topics a handful of scattered
documents reach a high specificity by luck (a document alone in a topic of two counts as a strong excess), so
the specificity must exceed what all but a small share of random sets of as many documents reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from nlp.topics import TOKEN_PATTERN
from nlp.trends import mix_share

OUTLIER = -1


def _vectorizer(ngram_range=(1, 3), **options) -> CountVectorizer:
    """Binary counts of words and phrases, English stop words dropped: how every term is read."""
    return CountVectorizer(stop_words="english", ngram_range=ngram_range, binary=True, token_pattern=TOKEN_PATTERN,
                           dtype=np.float64, **options)


def term_matrix(texts: list[str], min_docs: int, max_df: float, ngram_range=(1, 3)) -> tuple[sp.csc_matrix, np.ndarray]:
    """Binary documents x terms matrix (English stop words dropped) and the term names."""
    if len(texts) < min_docs:
        return sp.csc_matrix((len(texts), 0)), np.array([], dtype=object)
    vectorizer = _vectorizer(ngram_range, min_df=min_docs, max_df=max_df)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:  # nothing left after min_df / max_df
        return sp.csc_matrix((len(texts), 0)), np.array([], dtype=object)
    return matrix.tocsc(), vectorizer.get_feature_names_out()


def term_documents(texts: list[str], terms: list[str]) -> sp.csc_matrix:
    """Binary documents x `terms` (distinct, in that order): the documents holding each term, read as `term_matrix`
    reads them (a phrase is counted where its words follow each other once stop words are dropped)."""
    if not len(terms):
        return sp.csc_matrix((len(texts), 0))
    return _vectorizer(vocabulary=list(terms)).transform(texts).tocsc()


@dataclass(frozen=True)
class TermCounts:
    """Documents x terms of one set of documents, read once and shared by the term cells and ESc."""

    matrix: sp.csc_matrix
    names: np.ndarray
    doc_ids: pd.Index

    @classmethod
    def from_texts(cls, texts: pd.Series, min_docs: int, ngram_range=(1, 3)) -> TermCounts:
        """Count the terms of `texts` (indexed by doc_id) that occur in at least `min_docs` of them."""
        matrix, names = term_matrix(texts.tolist(), min_docs, 1.0, ngram_range)
        return cls(matrix, names, pd.Index(texts.index))

    def subset(self, doc_ids, min_docs: int, max_df: float = 1.0) -> tuple[sp.csc_matrix, np.ndarray]:
        """The rows of `doc_ids` (in that order) and the terms in at least `min_docs` and at most `max_df`
        of them: the same matrix as `term_matrix` on those documents alone, when `min_docs` is no lower
        than the one these counts were made with."""
        rows = self.doc_ids.get_indexer(pd.Index(doc_ids))
        if (rows < 0).any():
            raise KeyError("documents without counts")
        matrix = self.matrix[rows]
        df = np.asarray(matrix.sum(axis=0)).ravel()
        keep = (df >= min_docs) & (df <= max_df * matrix.shape[0])
        return matrix[:, keep].tocsc(), self.names[keep]


class TermIndex:
    """Documents x terms of a whole corpus, vectorized once; `counts` of any subset of it equals
    `TermCounts.from_texts` on that subset's texts (a backtest's cutoffs, without re-reading the texts).

    Per-document term sets do not depend on other documents; which terms are kept does, so it is decided
    per subset from that subset's own document frequencies (no look-ahead). Terms in fewer than `min_docs`
    documents of the whole corpus are dropped at once: no subset can hold them in more.
    """

    def __init__(self, texts: pd.Series, min_docs: int, ngram_range=(1, 3)):
        self.min_docs = min_docs
        self.matrix, self.names = term_matrix(texts.tolist(), min_docs, 1.0, ngram_range)
        self.matrix = self.matrix.tocsr()
        self.doc_ids = pd.Index(texts.index)

    def counts(self, doc_ids, min_docs: int) -> TermCounts:
        """The term counts of `doc_ids` (in that order) with their terms in at least `min_docs` of them."""
        if min_docs < self.min_docs:
            raise ValueError(f"the index keeps terms in >= {self.min_docs} documents, not {min_docs}")
        doc_ids = pd.Index(doc_ids)
        rows = self.doc_ids.get_indexer(doc_ids)
        if (rows < 0).any():
            raise KeyError("documents outside the index")
        matrix = self.matrix[rows]
        keep = np.asarray(matrix.getnnz(axis=0)) >= min_docs if len(rows) >= min_docs else np.zeros(0, dtype=bool)
        if not keep.any():  # as `term_matrix`: nothing left after min_df
            return TermCounts(sp.csc_matrix((len(rows), 0)), np.array([], dtype=object), doc_ids)
        return TermCounts(matrix[:, keep].tocsc(), self.names[keep], doc_ids)


    def per_period(self, doc_ids, labels, terms, columns) -> pd.DataFrame:
        """Documents holding each of `terms` (that the index holds) per label: terms x `columns`, `labels` giving
        the label (a period start) of each of `doc_ids`."""
        position = {name: j for j, name in enumerate(self.names)}
        terms = [t for t in dict.fromkeys(terms) if t in position]
        rows = self.doc_ids.get_indexer(pd.Index(doc_ids))
        if (rows < 0).any():
            raise KeyError("documents outside the index")
        slot = pd.Index(columns).get_indexer(pd.Index(labels))
        keep = slot >= 0
        periods = sp.csr_matrix((np.ones(keep.sum()), (np.arange(keep.sum()), slot[keep])),
                                shape=(int(keep.sum()), len(columns)))
        held = self.matrix[rows[keep]][:, [position[t] for t in terms]]
        return pd.DataFrame((held.T @ periods).toarray(), index=pd.Index(terms), columns=list(columns))


def excess_per_document(observed: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Per column of `observed` (topics x columns: documents per topic): (chi2 - (K - 1)) / n against the topics'
    shares `share` of all documents — the specificity, about 0 for documents spread like the corpus, K - 1 inside
    one topic; 0 for a column without documents."""
    n = observed.sum(axis=0)
    expected = share[:, None] * n[None, :]
    chi2 = ((observed - expected) ** 2 / np.maximum(expected, 1e-12)).sum(axis=0)
    return np.where(n > 0, (chi2 - (len(share) - 1)) / np.maximum(n, 1), 0.0)


def topic_shares(topics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The real topics (outliers left out), sorted, and each one's share of the documents in real topics."""
    topics = np.asarray(topics)
    labels, counts = np.unique(topics[topics != OUTLIER], return_counts=True)
    return labels, counts / max(counts.sum(), 1)


def _topic_counts(matrix: sp.csc_matrix, topics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Documents holding each term per real topic (topics x terms) and each real topic's share of the real
    documents (`topic_shares`)."""
    real = topics != OUTLIER
    labels, share = topic_shares(topics)
    index = np.searchsorted(labels, topics[real])
    membership = sp.csr_matrix((np.ones(real.sum()), (np.arange(real.sum()), index)), shape=(real.sum(), len(labels)))
    return (membership.T @ matrix[real]).toarray(), share


def specific_terms(matrix: sp.csc_matrix, topics: np.ndarray, min_specificity: float, p: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Which terms are topic-specific — specificity at least `min_specificity` and above the chance line at `p`
    (`ChanceLine`) — and every term's specificity: (chi2 - (K - 1)) / n of its documents' topics against
    all documents' topics (`excess_per_document`, outliers left out; 0 with fewer than two topics)."""
    if not matrix.shape[1] or len(np.unique(topics[topics != OUTLIER])) < 2:
        return np.zeros(matrix.shape[1], dtype=bool), np.zeros(matrix.shape[1])
    observed, share = _topic_counts(matrix, topics)
    specificity = excess_per_document(observed, share)
    n = observed.sum(axis=0)
    return (specificity >= min_specificity) & (specificity > ChanceLine(topics, int(n.max()), p)(n)), specificity


class ChanceLine:
    """The specificity that as many documents drawn at random from a window's (`topics`) exceed with probability
    `p`, for sets of up to `max_n` documents (in real topics): the line a term's topic mix must pass to be beyond
    chance. Small topics make it wide: among 150 topics of 1-40 documents, 5 to 20 random documents reach a
    specificity of 1 a third of the time. Drawn (multinomially) once, at a log-spaced grid of counts; a count
    reads the grid point at or below it (fewer documents scatter wider: the line is conservative). Called with
    counts, the line at each; no documents: inf."""

    def __init__(self, topics: np.ndarray, max_n: int, p: float, draws: int = 1000, seed: int = 0):
        share = topic_shares(topics)[1]
        self.grid, self.lines = np.array([1]), np.array([np.inf])
        if len(share) and max_n >= 1:
            self.grid = np.unique(np.geomspace(1, max_n, 48).astype(int))
            rng = np.random.default_rng(seed)
            self.lines = np.array([np.quantile(excess_per_document(rng.multinomial(size, share, size=draws).T, share),
                                               1 - p) for size in self.grid])

    def __call__(self, n: np.ndarray) -> np.ndarray:
        n = np.asarray(n, dtype=int)
        return np.where(n > 0, self.lines[np.maximum(np.searchsorted(self.grid, n, side="right") - 1, 0)], np.inf)


def linked_topics(matrix: sp.csc_matrix, topics: np.ndarray) -> np.ndarray:
    """Per term: the real topic holding most of its documents (OUTLIER when all are outliers)."""
    labels, index = np.unique(topics, return_inverse=True)
    n = len(topics)
    membership = sp.csr_matrix((np.ones(n), (np.arange(n), index)), shape=(n, len(labels)))
    counts = (membership.T @ matrix).toarray()
    counts[labels == OUTLIER] = -1
    best = counts.argmax(axis=0)
    return np.where(counts.max(axis=0) > 0, labels[best], OUTLIER)


def term_counts(matrix: sp.csc_matrix, t: np.ndarray, sources: np.ndarray, n_periods: int, n_baseline: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, expectations (pooled share) and baseline-share expectations per term and period.

    As for topic cells: under "no emergence" a term keeps its share of each source's documents.
    """
    shape = (matrix.shape[1], n_periods)
    counts, expected, base_expected = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for source in np.unique(sources):
        rows = sources == source
        period = sp.csr_matrix((np.ones(rows.sum()), (np.arange(rows.sum()), t[rows])), shape=(rows.sum(), n_periods))
        y = (matrix[rows].T @ period).toarray()
        volume = np.bincount(t[rows], minlength=n_periods).astype(float)
        share = (y.sum(axis=1) + 0.5) / (volume.sum() + 1.0)
        share_base = (y[:, :n_baseline].sum(axis=1) + 0.5) / (volume[:n_baseline].sum() + 1.0)
        counts += y
        expected += share[:, None] * volume[None, :]
        base_expected += share_base[:, None] * volume[None, :]
    return counts, expected, base_expected


def redundant(matrix: sp.csc_matrix, order: np.ndarray, min_overlap: float = 0.8) -> np.ndarray:
    """Mask over `order` (term columns, best first): True where a better term covers the same documents.

    "era chair", "chair holder" and "era chair holder" name one cohort of projects; the first kept
    term stands for the others when at least `min_overlap` of the smaller document set is shared.
    """
    kept: list[int] = []
    out = np.zeros(len(order), dtype=bool)
    sizes = np.asarray(matrix.sum(axis=0)).ravel()
    for i, column in enumerate(order):
        if kept:
            shared = (matrix[:, kept].T @ matrix[:, column]).toarray().ravel()
            smaller = np.minimum(sizes[kept], sizes[column])
            if (shared >= min_overlap * np.maximum(smaller, 1)).any():
                out[i] = True
                continue
        kept.append(column)
    return out


def carried_share(term: np.ndarray, carrier: np.ndarray, recent: np.ndarray, prior_docs: float = 10.0) -> float:
    """How much of a term's rise the rise of a carrier explains (booleans per document: holds the term, holds the
    carrier, is recent): `nlp.trends.mix_share` over two groups, the documents with and without the carrier (a
    carrier new in the recent window explains nothing); 0 when the term did not rise or has no baseline
    documents."""
    base, parts = ~recent, (carrier, ~carrier)
    return mix_share([(base & p).sum() for p in parts], [(term & base & p).sum() for p in parts],
                     [(recent & p).sum() for p in parts], float(term[recent].sum()), prior_docs)[0]


def carried(matrix: sp.csc_matrix, recent: np.ndarray, order: np.ndarray, max_share: float,
            topics: list[np.ndarray] = ()) -> np.ndarray:
    """Mask over `order` (flagged term columns, most significant first): True where a flagged topic (`topics`: a
    mask of its documents each) or a term kept before it explains at least `max_share` of the term's rise
    (`carried_share`). "input" and "output" rise in the patents of 1990 because neural-network patents do, not
    within them or without them: the wave is the flag, not its words."""
    kept: list[np.ndarray] = list(topics)
    out = np.zeros(len(order), dtype=bool)
    for i, column in enumerate(order):
        term = matrix[:, column].toarray().ravel() > 0
        if any(carried_share(term, carrier, recent) >= max_share for carrier in kept):
            out[i] = True
        else:
            kept.append(term)
    return out
