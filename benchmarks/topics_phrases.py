"""Noun-phrase terms (spaCy, `nlp.phrases`) against today's words and bigrams, on the first N CORDIS projects.

One topic fit with the default settings on cached embeddings (`topics_data`, model2vec), then its terms twice
from the same clusters: without the corpus-generic words as today, and with the noun-phrase vocabulary. NPMI
(of the top 10 terms, over document co-occurrence in the same N projects, words and phrases of up to three
words) and diversity of both, the spaCy cost per 1,000 projects, and the `--labels` largest topics' labels.

    .venv/bin/python benchmarks/topics_phrases.py [--size 3000] [--labels 20]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from topics_data import OUT, embeddings, load_corpus, static_embedder
from topics_sizes import quality

from nlp.coherence import CoherenceScorer
from nlp.phrases import PhraseExtractor, load
from nlp.topics import (
    OUTLIER,
    TOKEN_PATTERN,
    build_topic_model,
    drop_generic_terms,
    fit_topics,
    single_words,
    topic_table,
)
from pipelines.settings import NlpSettings, TopicSettings


def phrase_vocabulary(docs: list[str], min_df: int) -> tuple[list[str], float]:
    """The noun-phrase vocabulary of `docs` (cached under benchmarks/out/) and spaCy's seconds per 1,000 docs."""
    cache = OUT / f"cordis-phrases-{len(docs)}.json"
    if cache.exists():
        cached = json.loads(cache.read_text())
        return cached["vocabulary"], cached["seconds_per_1000"]
    extractor = PhraseExtractor(**NlpSettings().phrase_options())
    load(extractor.model)
    start = time.perf_counter()
    vocabulary = extractor.vocabulary(docs, min_df)
    seconds = (time.perf_counter() - start) / len(docs) * 1000
    cache.write_text(json.dumps({"vocabulary": vocabulary, "seconds_per_1000": seconds}))
    return vocabulary, seconds


def main(size: int, show: int, terms_of: str | None = None) -> None:
    corpus = load_corpus()
    vectors, words = embeddings(corpus, "m2v")[:size], static_embedder()
    docs = (corpus["title"] + ". " + corpus["text"]).tolist()[:size]
    cfg = TopicSettings()
    vocabulary, seconds = phrase_vocabulary(docs, cfg.phrase_min_df)
    print(f"spaCy noun phrases: {seconds:.0f} s per 1,000 projects; {len(vocabulary)} phrases in >= "
          f"{cfg.phrase_min_df} projects")
    scorer = CoherenceScorer(CountVectorizer(stop_words="english", ngram_range=(1, 3), token_pattern=TOKEN_PATTERN))
    scorer.fit(docs)
    model = build_topic_model(**cfg.model_options(), embedder=words)
    labels = fit_topics(model, docs, vectors)
    generic = drop_generic_terms(model, docs, labels, min_df=cfg.generic_min_df, max_lift=cfg.generic_max_lift)
    before, old = quality(model, labels, scorer), topic_table(model, labels, vectors)
    tables = {"words and bigrams": (before, old)}
    for name, terms in (("noun phrases", vocabulary),
                        ("noun phrases + words", sorted(set(vocabulary) | set(single_words(docs, cfg.phrase_min_df))))):
        drop_generic_terms(model, docs, labels, min_df=cfg.generic_min_df, max_lift=cfg.generic_max_lift,
                           vocabulary=terms)
        tables[name] = quality(model, labels, scorer), topic_table(model, labels, vectors)
    print(f"{size} projects, {int(labels.max() + 1)} topics, {(labels == OUTLIER).mean():.1%} outliers, "
          f"{len(generic)} generic")
    for name, ((npmi, diversity), table) in tables.items():
        multi = [" " in t for terms in table.loc[table["local_topic"] != OUTLIER, "terms"] for t in terms[:10]]
        print(f"{name:22} NPMI {npmi:.3f}, diversity {diversity:.3f}, multi-word top-10 terms {np.mean(multi):.0%}")
    labelled = {name: table.set_index("local_topic")["label"] for name, (_, table) in tables.items()}
    print("| size | " + " | ".join(labelled) + " |\n|---|" + "---|" * len(labelled))
    for row in old[old["local_topic"] != OUTLIER].sort_values("size", ascending=False).head(show).itertuples():
        print(f"| {row.size} | " + " | ".join(lbl[row.local_topic] for lbl in labelled.values()) + " |")
    if terms_of:
        last = tables[terms_of][1].set_index("local_topic")["terms"]
        for row in old[old["local_topic"] != OUTLIER].sort_values("size", ascending=False).head(show).itertuples():
            print(row.size, ", ".join(last[row.local_topic]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=3000)
    parser.add_argument("--labels", type=int, default=20)
    parser.add_argument("--terms-of", help="print these terms' top 10 of the --labels largest topics")
    args = parser.parse_args()
    main(args.size, args.labels, args.terms_of)
