"""A backtest with the full model: all-MiniLM-L6-v2 vectors, the default topic settings (UMAP, HDBSCAN with the
k-means fallback, MMR terms) refitted at each cutoff, and the fast path's windows and cadence.

Each corpus goes into its own store under benchmarks/out/backtest-<name>-minilm/. CORDIS can take precomputed
vectors from `benchmarks/out/cordis-minilm-<N>.npy` (`topics_data.py minilm`: one row per project with a
signature date in `topics_data.load_corpus()` order, unit-norm, input = title + the first 2000 characters,
max_seq_length 128): they are stored as the embed step would have stored them (`embed_chars = 2000`, the same
input hash) after checking that the store's documents give the same embedding input. Every other corpus (and
CORDIS without the file) is embedded by the embed step itself, once: the vectors stay in the store, so a killed
run resumes.

    .venv/bin/python benchmarks/backtest_minilm.py [cordis|patents|acl|arxiv] [--step S] [--from D] [--to D]
        [--refit-every K] [--npy PATH]
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from backtest_compare import RUNS, TRUTH, pop_options, table
from backtest_data import OUT
from topics_data import load_corpus

from nlp.embed import embedding_input, input_hash
from pipelines.backtest import run_backtest
from pipelines.logs import Bars, configure_logging
from pipelines.settings import Settings
from pipelines.steps.embed import embed
from pipelines.steps.ingest import ingest_corpus
from pipelines.store import Store

MODEL, EMBED_CHARS = "all-MiniLM-L6-v2", 2000


def settings(name: str) -> Settings:
    folder = OUT / f"backtest-{name}-minilm"
    return Settings(data_dir=folder, models_dir=folder / "models",
                    nlp={"embedder": MODEL, "embed_chars": EMBED_CHARS, "max_seq_length": 128},
                    trends=RUNS[name]["trends"])


def load_vectors(store: Store, npy: Path) -> dict:
    """Store the precomputed vectors under the embed step's keys; return what was checked."""
    corpus = load_corpus()
    vectors = np.load(npy, mmap_mode="r")
    if len(vectors) != len(corpus):
        raise SystemExit(f"{npy} has {len(vectors)} rows, the corpus {len(corpus)} projects")
    docs = store.df("SELECT doc_id, title, text FROM documents")
    docs["input"] = [embedding_input(t, x, EMBED_CHARS) for t, x in zip(docs["title"], docs["text"], strict=True)]
    row = pd.Series(np.arange(len(corpus)), index="cordis:" + corpus["doc_id"].astype(str))
    docs["row"] = docs["doc_id"].map(row)
    source_input = corpus["input"].to_numpy()
    same = docs["row"].notna() & (docs["input"] == [source_input[int(r)] if pd.notna(r) else None
                                                    for r in docs["row"]])
    docs = docs[same].assign(input_hash=lambda f: f["input"].map(input_hash))
    unique = docs.drop_duplicates("input_hash")
    store.con.execute("DELETE FROM doc_embeddings WHERE model = ?", [MODEL])
    store.con.execute("DELETE FROM embeddings WHERE model = ?", [MODEL])
    block = np.asarray(vectors[unique["row"].astype(int).to_numpy()], dtype=np.float32)
    with store.transaction():
        store.insert_frame("embeddings", pa.table({
            "model": pa.array([MODEL] * len(unique)), "input_hash": pa.array(unique["input_hash"].tolist()),
            "vector": pa.array(list(block), type=pa.list_(pa.float32())),
            "created_at": pa.array([datetime.now(UTC)] * len(unique), type=pa.timestamp("us", tz="UTC"))}))
        store.insert_frame("doc_embeddings", docs[["doc_id", "input_hash"]].assign(model=MODEL))
    norms = np.linalg.norm(block, axis=1)
    return {"npy": str(npy), "projects": len(corpus), "store_documents": int(len(same)),
            "same_input": int(same.sum()), "vectors_stored": len(unique),
            "norm_min": float(norms.min()), "norm_max": float(norms.max())}


if __name__ == "__main__":
    configure_logging(quiet=True)
    args = sys.argv[1:]
    values = pop_options(args, ("--step", "--from", "--to", "--refit-every", "--npy"))
    name = args[0] if args else "cordis"
    spec = RUNS[name] | {k: v for k, v in values.items() if k in ("step", "from", "to")}
    refit = int(values.get("refit-every", 1))
    config = settings(name)
    started, cpu = time.monotonic(), time.process_time()
    with Store.open(config.store_path) as store:
        ingest_corpus(store, spec["corpus"](), name, spec["kind"], Bars(enabled=False))
        n = store.scalar("SELECT count(*) FROM documents WHERE published_on IS NOT NULL")
        npy = Path(values["npy"]) if "npy" in values else OUT / f"cordis-minilm-{n}.npy"
        if name == "cordis" and npy.exists():
            checked = load_vectors(store, npy)
        else:
            embedded = embed(store, config.nlp, Bars())
            checked = {"embedded": dict(embedded.counts), "store_documents": int(n)}
    print(json.dumps(checked, default=str), file=sys.stderr)
    result = run_backtest(config, TRUTH / spec["truth"], start=pd.Timestamp(spec["from"]),
                          end=pd.Timestamp(spec["to"]), step=spec["step"], refit_every=refit)
    result["seconds"], result["cpu_seconds"] = round(time.monotonic() - started), round(time.process_time() - cpu)
    result["vectors"] = checked
    suffix = "-".join([name, spec["step"]] + ([f"refit{refit}"] if refit > 1 else []))
    (OUT / f"backtest-minilm-{suffix}.json").write_text(json.dumps(result, indent=2, default=str))
    print(table({name: result}))
