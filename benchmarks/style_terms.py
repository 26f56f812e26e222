"""The style verdict on real text: machine-assisted phrasing vs well-known themes, on CORDIS and on ACL.

One year of documents stands for a detection's recent window (CORDIS projects signed 2024-07 .. 2025-06, ACL
papers dated 2023-07 .. 2024-06), in 30 k-means clusters of their model2vec embeddings (`topics_data`) for
topics; each term is judged by `StyleJudge` (default `[trends]` settings) from the documents containing it, as a
term flag would be. The ACL lists hold the technique words of the language-model wave (read by the tagger as
verbs and adjectives) and the words that LLM-assisted writing made common.

    PYTHONPATH=. .venv/bin/python benchmarks/style_terms.py [cordis|acl]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from backtest_data import acl_corpus
from sklearn.cluster import KMeans
from topics_data import embed, embeddings, load_corpus

from pipelines.settings import TrendSettings
from pipelines.views.bursts import FlagDocuments, StyleJudge

TERMS = {
    "cordis": {"style": ["delves", "valuable insights", "plays pivotal", "underscores", "aligns eu", "pivotal",
                         "leveraging", "cutting-edge", "in-depth", "state-of-the-art", "user-friendly"],
               "theme": ["green hydrogen", "large language models", "digital twins", "quantum", "generative ai",
                         "eu taxonomy", "circular economy", "critical raw materials", "machine learning",
                         "artificial intelligence", "data spaces", "climate change", "cancer", "ai-driven",
                         "ai-based", "ai-powered"]},
    "acl": {"style": ["delve", "showcasing", "pivotal", "intricate", "encompassing", "leveraging", "underscores",
                      "meticulously", "plus"],
            "theme": ["prompting", "in-context", "llm-based", "instruction-tuned", "transformer-based",
                      "pre-trained language models", "large language models", "chain-of-thought", "masked",
                      "pretrained", "retrieval-augmented generation", "instruction tuning", "hallucination",
                      "multimodal"]},
}


def window(corpus: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The year of documents (doc_id, t) and their embeddings."""
    if corpus == "cordis":
        docs = load_corpus()
        keep = ((docs["date"] >= "2024-07-01") & (docs["date"] < "2025-07-01")).to_numpy()
        vectors = embeddings(docs, "m2v")[keep]
    else:
        docs = pd.read_parquet(acl_corpus()).rename(columns={"id": "doc_id"})
        docs["date"] = pd.to_datetime(docs["date"])
        keep = ((docs["date"] >= "2023-07-01") & (docs["date"] < "2024-07-01")).to_numpy()
    docs = docs[keep].reset_index(drop=True)
    docs["t"] = docs["title"] + ". " + docs["text"]
    return docs, vectors if corpus == "cordis" else embed(docs["t"].tolist(), "m2v")


def main(corpus: str) -> None:
    docs, vectors = window(corpus)
    topics = KMeans(30, random_state=0, n_init=2).fit_predict(vectors)
    recent = pd.DataFrame({"doc_id": docs["doc_id"], "topic_id": topics, "t": docs["t"]})
    documents = FlagDocuments(recent)
    judge = StyleJudge(documents, TrendSettings())
    print(f"{corpus}: {len(recent)} documents; {len(judge.generic)} generic words")
    print("| term | expected | documents | verdict |\n|---|---|---|---|")
    right = {"style": 0, "theme": 0}
    for expected, terms in TERMS[corpus].items():
        for term in terms:
            own = documents.mask("term", -1, term)
            reason = judge.reason([term], own)
            right[expected] += (reason is not None) == (expected == "style")
            print(f"| {term} | {expected} | {own.sum()} | {reason or 'theme'} |")
    print(" ".join(f"{k}: {right[k]} / {len(v)} right" for k, v in TERMS[corpus].items()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cordis")
