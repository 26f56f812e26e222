"""Embedding throughput: the embed step against raw `SentenceTransformer.encode` on the same texts.

Both sides use the same model, batch size, max_seq_length and input texts (title + start of the
objective of N real CORDIS projects); the step adds hashing, length sorting, the DuckDB writes and
the links. With `--static PATH` the model2vec fast path is measured on the same texts too.

    .venv/bin/python benchmarks/embed_throughput.py --n 1000 [--static models/static/minilm-m2v]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PROJECTS = REPO.parent / "shared" / "data" / "cordis-horizon-europe" / "projects.parquet"

from nlp.embed import embedding_input, load_embedder  # noqa: E402
from pipelines.logs import Bars  # noqa: E402
from pipelines.runs import StepResult  # noqa: E402
from pipelines.settings import NlpSettings  # noqa: E402
from pipelines.steps.embed import embed  # noqa: E402
from pipelines.steps.ingest import upsert_documents  # noqa: E402
from pipelines.store import Store  # noqa: E402


def load_docs(n: int) -> pd.DataFrame:
    frame = pd.read_parquet(PROJECTS, columns=["id", "title", "text", "ec_signature_date"]).head(n)
    return frame.rename(columns={"ec_signature_date": "date"})


def step_rate(docs: pd.DataFrame, nlp: NlpSettings) -> float:
    with Store.open(":memory:") as store:
        records = [{"source": "cordis", "kind": "project", "external_id": str(r.id), "title": r.title,
                    "text": r.text, "published_on": r.date} for r in docs.itertuples()]
        upsert_documents(store, records, StepResult("ingest"))
        embedder = load_embedder(nlp.embedder, batch_size=nlp.batch_size, max_seq_length=nlp.max_seq_length)
        start = time.perf_counter()
        embed(store, nlp, Bars(enabled=False), embedder=embedder)
        return len(docs) / (time.perf_counter() - start)


def raw_rate(texts: list[str], nlp: NlpSettings) -> float:
    embedder = load_embedder(nlp.embedder, batch_size=nlp.batch_size, max_seq_length=nlp.max_seq_length)
    start = time.perf_counter()
    if hasattr(embedder, "model"):
        embedder.model.encode(texts, batch_size=nlp.batch_size, show_progress_bar=False)
    else:
        embedder.encode(texts)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--max-seq-length", type=int, default=NlpSettings().max_seq_length)
    parser.add_argument("--static", default=None, help="a model2vec model directory for the fast path")
    args = parser.parse_args()
    if not PROJECTS.exists():
        sys.exit(f"needs the shared CORDIS corpus at {PROJECTS}")
    docs = load_docs(args.n)
    nlp = NlpSettings(embedder=args.model, max_seq_length=args.max_seq_length)
    texts = [embedding_input(t, x, nlp.embed_chars) for t, x in zip(docs["title"], docs["text"], strict=True)]
    print(f"# {len(docs)} CORDIS abstracts, batch {nlp.batch_size}, max_seq_length {nlp.max_seq_length}")
    raw = raw_rate(texts, nlp)
    step = step_rate(docs, nlp)
    print(f"raw SentenceTransformer.encode : {raw:8.1f} docs/s")
    print(f"trendscout embed step          : {step:8.1f} docs/s  ({100 * step / raw:.0f}% of raw)")
    if args.static:
        static = NlpSettings(embedder=f"static:{args.static}")
        fast = step_rate(docs, static)
        print(f"embed step, static fast path   : {fast:8.1f} docs/s  ({fast / step:.0f}x the full model's step)")


if __name__ == "__main__":
    main()
