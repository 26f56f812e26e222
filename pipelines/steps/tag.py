"""Tag free text with language, NUTS regions and sectors, using the registry of the configured store.

Analysts use it to check the tagger: `trendscout tag "Fraunhofer IPA opens a hydrogen lab in Stuttgart"`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from nlp.embed import build_embedder
from nlp.language import detect_languages
from nlp.regions import RegionTagger
from nlp.sectors import SectorClassifier, load_taxonomy
from pipelines.settings import Settings
from pipelines.steps.enrich import build_registry, fit_sector_classifier
from pipelines.store import Store

logger = logging.getLogger(__name__)

MIN_FIT_DOCS = 50


class TextTagger:
    """Everything `tag` needs, built once: the place registry, the embedder, the sector thresholds."""

    def __init__(self, store: Store, settings: Settings, say: Callable[[str], None] = lambda _: None):
        """`say` hears what is loading (the registry, the embedder, the sector thresholds take seconds)."""
        say("loading the place registry")
        self.regions = RegionTagger(build_registry(store))
        say(f"loading the embedder {settings.nlp.embedder}")
        self.embedder = build_embedder(**settings.nlp.embedder_options())
        model = settings.nlp.embedder
        self.sectors: SectorClassifier | None = None
        if store.count("doc_embeddings", "model = ?", [model]) >= MIN_FIT_DOCS:
            say("calibrating the sector thresholds on the store's documents")
            self.sectors = fit_sector_classifier(store, model, self.embedder)
        else:
            logger.warning("fewer than %d embedded documents in the store: sectors are not calibrated "
                           "and left out; run 'trendscout nightly' first", MIN_FIT_DOCS)
        self.labels = dict(zip(load_taxonomy()["slug"], load_taxonomy()["label"], strict=True))

    def tag(self, texts: list[str]) -> list[dict]:
        """Per text: {"lang", "regions": [{code, name, level, evidence, weight}], "sectors": [{label, slug, score}]}."""
        languages = detect_languages(texts)
        regions = self.regions.tag(texts)
        if self.sectors is not None and texts:
            labels = self.sectors.predict(self.embedder.encode(texts))
        else:
            labels = [[] for _ in texts]
        return [{"lang": lang,
                 "regions": [{k: r.get(k) for k in ("code", "name", "level", "evidence", "weight")} for r in regs],
                 "sectors": [{"label": self.labels.get(slug, slug), "slug": slug, "score": float(np.round(score, 4))}
                             for slug, score in secs]}
                for lang, regs, secs in zip(languages, regions, labels, strict=True)]
