"""Topic quality: NPMI coherence over a reference corpus (document co-occurrence) and topic diversity.

NPMI(a, b) = log(P(a, b) / (P(a) P(b))) / -log P(a, b), with probabilities over documents, and -1 for
pairs that never co-occur (Bouma 2009; the document-window variant of Röder et al. 2015).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer


class CoherenceScorer:
    """Count document frequencies once, then score any number of topic word lists."""

    def __init__(self, vectorizer: CountVectorizer | None = None):
        self.vectorizer = vectorizer

    def fit(self, docs: list[str], y=None) -> CoherenceScorer:
        """Learn the vocabulary and the binary document-term matrix of the reference corpus."""
        from nlp.topics import build_vectorizer

        vectorizer = self.vectorizer or build_vectorizer(min_df=1)
        self.doc_terms_ = sparse.csc_matrix(vectorizer.fit_transform(docs) > 0, dtype=np.float32)
        self.vocabulary_ = vectorizer.vocabulary_
        self.n_docs_ = len(docs)
        return self

    def npmi(self, topics: list[list[str]], top_n: int = 10) -> np.ndarray:
        """Mean NPMI over the word pairs of each topic's first `top_n` known words (NaN: under 2 words)."""
        return np.array([self._topic_npmi(words[:top_n]) for words in topics])

    def _topic_npmi(self, words: list[str]) -> float:
        cols = [self.vocabulary_[w] for w in words if w in self.vocabulary_]
        if len(cols) < 2:
            return float("nan")
        sub = self.doc_terms_[:, cols]
        joint = (sub.T @ sub).toarray() / self.n_docs_
        single = np.diag(joint)
        scores = []
        for a, b in combinations(range(len(cols)), 2):
            p_ab = joint[a, b]
            if p_ab == 0:
                scores.append(-1.0)
            elif p_ab == 1:
                scores.append(1.0)
            else:
                scores.append(np.log(p_ab / (single[a] * single[b])) / -np.log(p_ab))
        return float(np.mean(scores))


def topic_diversity(topics: list[list[str]], top_n: int = 10) -> float:
    """Share of unique words among all topics' first `top_n` words (1.0: no word is shared)."""
    words = [w for topic in topics for w in topic[:top_n]]
    return len(set(words)) / len(words) if words else float("nan")
