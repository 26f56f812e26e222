"""How fast the backtest and the verdicts find the documents holding a term: `nlp.textsearch.TextSearch` (a
substring pre-filter on case-folded texts, the pattern only where it can match) against the pattern on every text,
the way it was done before, on the same terms of the same corpus. Prints seconds per term and checks both agree.
The confirmation rule searches the whole corpus (arXiv: 182,792 abstracts); the verdicts search one window of
recent documents (CORDIS: its 19k projects hold about two windows).

    PYTHONPATH=. .venv/bin/python benchmarks/confirmer_speed.py [--corpus arxiv|cordis] [--n N] [--terms 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from backtest_data import arxiv_full_corpus, cordis_corpus

from nlp.textsearch import TextSearch, term_pattern

TERMS = {"arxiv": ["generative adversarial networks", "blockchain", "federated learning", "graph neural network",
                   "bert", "peer-to-peer", "option pricing", "protein folding", "deep learning", "smart contracts",
                   "transformer", "wireless sensor networks", "density functional theory", "reinforcement learning",
                   "covid-19", "quantum", "self-attention", "edge computing", "attention", "gan"],
         "cordis": ["infrastructure", "excellence", "research infrastructures", "ai", "ukraine", "digital product",
                    "stakeholder engagement", "microscopy", "ai-driven", "policymakers", "large language",
                    "copernicus", "hydrogen", "quantum", "cultural heritage", "covid-19", "initiative", "twins",
                    "decision support", "pediatric"]}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", choices=sorted(TERMS), default="arxiv")
    parser.add_argument("--n", type=int, default=None, help="the first N documents (default: all)")
    parser.add_argument("--terms", type=int, default=20)
    args = parser.parse_args()
    path = arxiv_full_corpus() if args.corpus == "arxiv" else cordis_corpus()
    docs = pd.read_parquet(path, columns=["title", "text"] if args.corpus == "cordis" else ["text"])
    docs = docs.head(args.n) if args.n else docs
    texts = docs["title"].fillna("") + ". " + docs["text"].fillna("") if args.corpus == "cordis" else docs["text"]
    terms = TERMS[args.corpus][:args.terms]
    started = time.perf_counter()
    search = TextSearch(texts)
    setup = time.perf_counter() - started
    started = time.perf_counter()
    masks = [search.holding(term) for term in terms]
    fast = time.perf_counter() - started
    texts = search.texts
    started = time.perf_counter()
    plain = [texts.str.contains(term_pattern(term)).to_numpy() for term in terms]
    slow = time.perf_counter() - started
    same = all(np.array_equal(a, b) for a, b in zip(masks, plain, strict=True))
    print(f"# {len(texts)} {args.corpus} documents, {len(terms)} terms")
    print(f"case-folding once        : {setup:7.2f} s")
    print(f"TextSearch (pre-filtered): {fast / len(terms):7.3f} s per term")
    print(f"pattern on every text    : {slow / len(terms):7.3f} s per term  ({slow / fast:.1f}x slower)")
    print(f"same documents           : {same}")
