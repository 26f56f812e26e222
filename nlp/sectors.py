"""Sector labels: the cluster taxonomy (51 traded categories + 10 emerging industries) held as data.

Documents with classification codes (CORDIS legal basis, call topics and EuroSciVoc paths; IPC/CPC
via the WIPO technology concordance) are scored from those codes; the others zero-shot, by cosine
similarity of their embedding to each category description's embedding. `fit` sets one threshold
per category from data: where a (weakly) labelled sample has enough positives, the threshold that
maximises F1 on it; otherwise a high quantile of the category's similarities in the sample.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

DATA_DIR = Path(__file__).parent / "data"
_IPC = re.compile(r"^([A-H]\d\d[A-Z])\s*0*(\d+)?")


@lru_cache(maxsize=1)
def load_taxonomy() -> pd.DataFrame:
    """The 61 categories: slug, label, kind (traded | emerging), description."""
    return pd.read_csv(DATA_DIR / "sectors.csv")


@lru_cache(maxsize=1)
def _code_map() -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, str]]:
    rows = pd.read_csv(DATA_DIR / "sector_codes.csv", comment="#", dtype=str)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows.itertuples():
        table.setdefault(row.scheme, {}).setdefault(row.code, {})[row.sector] = float(row.weight)
    fields = pd.read_csv(DATA_DIR / "wipo_ipc_fields.csv", comment="#", dtype=str)
    return table, dict(zip(fields["ipc_prefix"], fields["field_id"], strict=True))


def wipo_field(code: str) -> str | None:
    """WIPO technology field id of an IPC/CPC code ("H01M 10/052" -> "1"), or None."""
    match = _IPC.match(code.strip().upper())
    if match is None:
        return None
    subclass, group = match.groups()
    fields = _code_map()[1]
    for key in (f"{subclass}{group}" if group else None, subclass, subclass[:3]):
        if key and key in fields:
            return fields[key]
    return None


def code_scores(codes: Mapping[str, Sequence[str]] | None) -> dict[str, float]:
    """Sector -> weight (0-1) implied by a document's codes; the best code per sector counts.

    Args:
        codes: scheme -> codes, schemes legal_basis, topic, euroscivoc, ipc, cpc (others ignored).
    """
    table, _ = _code_map()
    scores: dict[str, float] = {}
    for scheme, values in (codes or {}).items():
        for value in values or []:
            if scheme in ("ipc", "cpc"):
                field = wipo_field(str(value))
                sectors = table["wipo_field"].get(field, {}) if field else {}
            else:
                prefixes = [p for p in table.get(scheme, {}) if _has_prefix(str(value), p)]
                sectors = table[scheme][max(prefixes, key=len)] if prefixes else {}
            for sector, weight in sectors.items():
                scores[sector] = max(scores.get(sector, 0.0), weight)
    return scores


def _has_prefix(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and (len(value) == len(prefix) or not value[len(prefix)].isalnum())


class SectorClassifier(BaseEstimator):
    """Score documents against the taxonomy: from codes where present, else zero-shot from embeddings.

    Args:
        embedder: encodes the category descriptions in `fit` (documents arrive as embeddings).
        taxonomy: slug, label, description; `load_taxonomy()` by default.
        quantile: threshold for categories without enough labelled positives in the fit sample.
        min_positives: labelled positives a category needs for an F1-calibrated threshold.
        max_labels: labels returned per document at most.
        code_weight: share of a code-scored label's score that comes from the code (rest: similarity).
    """

    def __init__(self, embedder=None, taxonomy: pd.DataFrame | None = None, quantile: float = 0.97,
                 min_positives: int = 10, max_labels: int = 3, code_weight: float = 0.5):
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.quantile = quantile
        self.min_positives = min_positives
        self.max_labels = max_labels
        self.code_weight = code_weight

    def fit(self, X: np.ndarray, y: Sequence[Sequence[str]] | None = None,
            codes: Sequence[Mapping | None] | None = None) -> SectorClassifier:
        """Embed the descriptions and set per-category thresholds on X (n, dim).

        Args:
            y: per document, its sector slugs (a labelled sample); if None, labels are derived
                from `codes` (weak labels: sectors a code implies with weight >= 0.6).
        """
        if self.embedder is None:
            raise ValueError("SectorClassifier needs an embedder to embed the category descriptions")
        taxonomy = self.taxonomy if self.taxonomy is not None else load_taxonomy()
        self.slugs_ = taxonomy["slug"].tolist()
        texts = (taxonomy["label"] + ". " + taxonomy["description"]).tolist()
        self.category_embeddings_ = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        sims = self._similarities(X)
        if y is None and codes is not None:
            y = [[s for s, w in code_scores(c).items() if w >= 0.6] for c in codes]
        labels = self._indicator(y, len(sims)) if y is not None else np.zeros_like(sims, dtype=bool)
        self.reference_ = np.sort(sims, axis=0)
        self.thresholds_ = np.array([self._threshold(sims[:, j], labels[:, j]) for j in range(len(self.slugs_))])
        self.is_calibrated_ = labels.sum(axis=0) >= self.min_positives
        return self

    def predict(self, X: np.ndarray, codes: Sequence[Mapping | None] | None = None) -> list[list[tuple[str, float]]]:
        """Return per document its (slug, score) labels, strongest first; scores are in [0, 1].

        A zero-shot score is the document's percentile among the fit sample's similarities to that
        category; a code-implied label scores code_weight * weight + (1 - code_weight) * percentile.
        """
        sims = self._similarities(X)
        pct = np.stack([np.searchsorted(self.reference_[:, j], sims[:, j], side="right")
                        for j in range(sims.shape[1])], axis=1) / max(len(self.reference_), 1)
        codes = codes if codes is not None else [None] * len(sims)
        out = []
        for i, doc_codes in enumerate(codes):
            implied = code_scores(doc_codes)
            if implied:
                scored = [(slug, self.code_weight * w + (1 - self.code_weight) * pct[i, self.slugs_.index(slug)])
                          for slug, w in implied.items() if slug in self.slugs_]
            else:
                scored = [(self.slugs_[j], pct[i, j]) for j in np.flatnonzero(sims[i] >= self.thresholds_)]
            scored.sort(key=lambda pair: (-pair[1], pair[0]))
            out.append([(slug, round(float(score), 4)) for slug, score in scored[: self.max_labels]])
        return out

    def _similarities(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.category_embeddings_.shape[1]:
            raise ValueError(f"embeddings must be (n, {self.category_embeddings_.shape[1]}), got {X.shape}")
        return X @ self.category_embeddings_.T

    def _indicator(self, y: Sequence[Sequence[str]], n: int) -> np.ndarray:
        if len(y) != n:
            raise ValueError(f"y has {len(y)} label lists for {n} documents")
        index = {slug: j for j, slug in enumerate(self.slugs_)}
        labels = np.zeros((n, len(self.slugs_)), dtype=bool)
        for i, slugs in enumerate(y):
            labels[i, [index[s] for s in slugs or [] if s in index]] = True
        return labels

    def _threshold(self, sims: np.ndarray, positives: np.ndarray) -> float:
        """The F1-best cut on a labelled sample; without enough positives, the `quantile` of sims."""
        if positives.sum() < self.min_positives:
            return float(np.quantile(sims, self.quantile))
        order = np.argsort(-sims)
        hits = np.cumsum(positives[order])
        f1 = 2 * hits / (np.arange(1, len(sims) + 1) + positives.sum())
        return float(sims[order][int(np.argmax(f1))])
