"""How fast the backtest's confirmation rule finds a marker's documents: `nlp.backtest.Confirmer` (a substring
pre-filter on case-folded texts, the pattern only where it can match) against the pattern on every text, the
way it was done before, on the same terms of the same corpus. Prints seconds per term and checks both agree.

    PYTHONPATH=. .venv/bin/python benchmarks/confirmer_speed.py [--n 182792] [--terms 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from backtest_data import arxiv_full_corpus

from nlp.backtest import Confirmer, term_pattern

TERMS = ["generative adversarial networks", "blockchain", "federated learning", "graph neural network", "bert",
         "peer-to-peer", "option pricing", "protein folding", "deep learning", "smart contracts", "transformer",
         "wireless sensor networks", "density functional theory", "reinforcement learning", "covid-19",
         "quantum", "self-attention", "edge computing", "attention", "gan"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=None, help="the first N papers (default: all)")
    parser.add_argument("--terms", type=int, default=len(TERMS))
    args = parser.parse_args()
    papers = pd.read_parquet(arxiv_full_corpus(), columns=["text", "date"])
    papers = papers.head(args.n) if args.n else papers
    terms = TERMS[:args.terms]
    started = time.perf_counter()
    confirmer = Confirmer(papers["text"], papers["date"])
    setup = time.perf_counter() - started
    started = time.perf_counter()
    masks = [confirmer.presence("term", term, [term]) for term in terms]
    fast = time.perf_counter() - started
    texts = confirmer.texts
    started = time.perf_counter()
    plain = [texts.str.contains(term_pattern(term)).to_numpy() for term in terms]
    slow = time.perf_counter() - started
    same = all(np.array_equal(a, b) for a, b in zip(masks, plain, strict=True))
    print(f"# {len(texts)} arXiv abstracts, {len(terms)} terms")
    print(f"case-folding once        : {setup:7.2f} s")
    print(f"Confirmer (pre-filtered) : {fast / len(terms):7.3f} s per term")
    print(f"pattern on every text    : {slow / len(terms):7.3f} s per term  ({slow / fast:.1f}x slower)")
    print(f"same documents           : {same}")
