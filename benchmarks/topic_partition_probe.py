"""Why a topic flag rises: its share of the baseline and recent documents under the stored (sticky) assignments
against the one partition the detector counts (`pipelines.views.topic_model.one_partition`: every document at its
nearest current topic, an outlier below the model's assign similarity).

Replays a corpus as `backtest_compare.py` does (same options) with a probe in the detect step: at each cutoff, for
every flagged topic cell, it prints both shares and their ratio. Under shuffled dates (`--shuffle SEED`) only the
assignment can make a topic grow; a flag that rises under the stored assignments and stays flat under one partition
is made by the sticky rule (`nlp.identity.sticky_topics`), not by the documents. The eleventh session measured
with it why the detector, then counting the stored assignments, flagged shuffled dates (benchmarks/RESULTS.md).

    PYTHONPATH=..:. ../.venv/bin/python topic_partition_probe.py cordis --step month --from 2022-10-31 \
        --to 2024-08-31 --refit-every 3 --shuffle 1
"""

from __future__ import annotations

import sys

import pandas as pd
from backtest_compare import pop_options, run

import pipelines.backtest as backtest
from pipelines.logs import configure_logging
from pipelines.views.topic_model import one_partition


def shares(window: pd.DataFrame, column: str, topic: int) -> tuple[float, float]:
    """The topic's share of the baseline and of the recent documents of the window, by `column`'s topic."""
    holds = window[column] == topic
    return float(holds[~window["recent"]].mean()), float(holds[window["recent"]].mean())


def probe():
    """The detect step's `score_cells`, printing each flagged topic's shares both ways."""
    score_cells = backtest.score_cells

    def probed(store, trends, as_of, index):
        out = score_cells(store, trends, as_of=as_of, index=index)
        detector, cells = out[0], out[1]
        flagged = cells[(cells["scope"] == "topic") & cells["flagged"]].set_index("topic_id")
        if flagged.empty:
            return out
        stored = store.df("SELECT doc_id, topic_id FROM topic_assignments")
        window = detector.window_[["doc_id", "recent"]].merge(stored, on="doc_id")
        window["one_partition"] = one_partition(store, window)["topic_id"].to_numpy()
        for topic, row in flagged.iterrows():
            (b0, r0), (b1, r1) = shares(window, "topic_id", topic), shares(window, "one_partition", topic)
            print(f"{pd.Timestamp(as_of).date()} topic {topic} q {row['q_value']:.4f} | stored {b0:.4f} -> {r0:.4f} "
                  f"({r0 / max(b0, 1e-9):.2f}x) | one partition {b1:.4f} -> {r1:.4f} ({r1 / max(b1, 1e-9):.2f}x)",
                  flush=True)
        return out

    return probed


if __name__ == "__main__":
    configure_logging(quiet=True)
    args = sys.argv[1:]
    options = pop_options(args, ("--shuffle", "--step", "--from", "--to", "--refit-every"))
    seed = int(options.pop("shuffle")) if "shuffle" in options else None
    refit = int(options.pop("refit-every", 1))
    name = args[0] if args else "cordis"
    backtest.score_cells = probe()
    run(name, seed, refit, **options)
