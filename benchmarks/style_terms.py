"""The style verdict on real text: the terms issue 13 names as machine-assisted phrasing vs well-known themes.

CORDIS projects signed 2024-07 .. 2025-06 stand for a detection's recent window, in 30 k-means clusters of
their cached model2vec embeddings (`topics_data`) for topics; each term is judged by `StyleJudge` (default
`[trends]` settings) from the projects containing it, as a term flag would be.

    PYTHONPATH=. .venv/bin/python benchmarks/style_terms.py
"""

from __future__ import annotations

import pandas as pd
from sklearn.cluster import KMeans
from topics_data import embeddings, load_corpus

from pipelines.settings import TrendSettings
from pipelines.views.bursts import StyleJudge, flag_documents

STYLE = ["delves", "valuable insights", "plays pivotal", "underscores", "aligns eu", "pivotal", "leveraging"]
THEMES = ["green hydrogen", "large language models", "digital twins", "quantum", "generative ai", "eu taxonomy",
          "circular economy", "critical raw materials", "machine learning", "artificial intelligence",
          "data spaces", "climate change", "cancer"]


def main() -> None:
    corpus = load_corpus()
    vectors = embeddings(corpus, "m2v")
    keep = ((corpus["date"] >= "2024-07-01") & (corpus["date"] < "2025-07-01")).to_numpy()
    docs = corpus[keep].reset_index(drop=True)
    topics = KMeans(30, random_state=0, n_init=2).fit_predict(vectors[keep])
    recent = pd.DataFrame({"doc_id": docs["doc_id"], "topic_id": topics, "t": docs["title"] + ". " + docs["text"]})
    judge = StyleJudge(recent, TrendSettings())
    print(f"{len(recent)} projects; {len(judge.generic)} generic words")
    print("| term | expected | projects | verdict |\n|---|---|---|---|")
    for expected, terms in (("style", STYLE), ("theme", THEMES)):
        for term in terms:
            texts = recent.loc[recent["doc_id"].isin(flag_documents(recent, "term", -1, term)), "t"].tolist()
            print(f"| {term} | {expected} | {len(texts)} | {judge.reason([term], texts) or 'theme'} |")


if __name__ == "__main__":
    main()
