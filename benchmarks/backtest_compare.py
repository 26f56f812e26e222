"""Detector vs the baselines on the shared corpora, scored strictly, side by side (one backtest run per corpus).

Each corpus goes into a fresh store under benchmarks/out/backtest-<name>/, is embedded once with the
cheap `hashing` embedder, and replayed cutoff by cutoff with PCA + k-means topics refitted at every
cutoff (see docs/backtest.md). Prints one table and writes benchmarks/out/backtest-compare-<names>.json.
With --shuffle SEED every run replays the documents with permuted dates (the control).

    .venv/bin/python benchmarks/backtest_compare.py [cordis] [patents] [acl] [arxiv] [--shuffle SEED]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
from backtest_data import OUT, acl_corpus, arxiv_corpus, cordis_corpus, patents_corpus

from pipelines.backtest import run_backtest
from pipelines.logs import Bars, configure_logging
from pipelines.settings import Settings
from pipelines.steps.embed import embed
from pipelines.steps.ingest import ingest_corpus
from pipelines.store import Store

TRUTH = Path(__file__).resolve().parent / "truth"
RUNS = {
    "cordis": {"corpus": cordis_corpus, "kind": "project", "truth": "cordis_horizon.csv", "step": "quarter",
               "from": "2023-06-30", "to": "2025-09-30",
               "topics": {"n_clusters": 60, "window_months": 36},
               "trends": {}},
    "patents": {"corpus": patents_corpus, "kind": "patent", "truth": "patents_neural.csv", "step": "year",
                "from": "1986-12-31", "to": "2018-12-31",
                "topics": {"n_clusters": 25, "window_months": 120},
                "trends": {"period": "auto", "recent_days": 730, "baseline_days": 1826}},
    "acl": {"corpus": acl_corpus, "kind": "paper", "truth": "acl_nlp.csv", "step": "quarter",
            "from": "2018-03-31", "to": "2024-12-31",
            "topics": {"n_clusters": 40, "window_months": 36},
            "trends": {}},
    "arxiv": {"corpus": arxiv_corpus, "kind": "paper", "truth": "arxiv_applied.csv", "step": "year",
              "from": "2012-12-31", "to": "2019-12-31",
              "topics": {"n_clusters": 40, "window_months": 36},
              "trends": {}},
}


def settings_for(name: str, spec: dict) -> Settings:
    folder = OUT / f"backtest-{name}"
    topics = {"reducer": "pca", "clusterer": "kmeans", "min_topic_size": 10, **spec["topics"]}
    if "representation" in Settings.model_fields["topics"].annotation.model_fields:
        topics["representation"] = "ctfidf"
    return Settings(data_dir=folder, models_dir=folder / "models", nlp={"embedder": "hashing"}, topics=topics,
                    trends=spec["trends"])


def run(name: str, shuffle_seed: int | None = None) -> dict:
    spec = RUNS[name]
    settings = settings_for(name, spec)
    started = time.monotonic()
    with Store.open(settings.store_path) as store:
        ingest_corpus(store, spec["corpus"](), name, spec["kind"], Bars(enabled=False))
        embed(store, settings.nlp, Bars(enabled=False))
    result = run_backtest(settings, TRUTH / spec["truth"], start=pd.Timestamp(spec["from"]),
                          end=pd.Timestamp(spec["to"]), step=spec["step"], shuffle_seed=shuffle_seed)
    result["seconds"] = round(time.monotonic() - started)
    return result


COLUMNS = [("recall", "recall", "{:.2f}"), ("threat", "threat_score", "{:.2f}"),
           ("confirmed", "confirmed_share", "{:.2f}"), ("false", "false_alarms", "{}"),
           ("premat.", "premature_flags", "{}"), ("unmatch.", "unmatched_flags", "{}"),
           ("delay", "median_delay_days", "{:.0f} d"), ("flags/cut", "flags_per_cutoff", "{:.2f}")]


def table(results: dict[str, dict]) -> str:
    head = f"{'corpus':<8}{'method':<18}" + "".join(f"{title:>10}" for title, _, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, result in results.items():
        lines.append(f"{name:<8}{result['seconds']} s, {result['share_of_cutoffs_flagged']:.0%} of cutoffs flagged, "
                     f"{len(result['skipped_cutoffs'])} skipped")
        for method, m in (("detector", result), *result["baselines"].items()):
            cells = ["-" if m[key] is None else fmt.format(m[key]) for _, key, fmt in COLUMNS]
            lines.append(f"{'':<8}{method:<18}" + "".join(f"{c:>10}" for c in cells))
        for d in result["themes"]:
            lines.append(f"{'':<10}{d['theme']:<32} {d['label']:<13} first {d['first_cutoff'] or '-':<10} "
                         f"delay {d['delay_days'] if d['delay_days'] is not None else '-':>5} "
                         f"{d['n_matching_flags']:>3} flags, {d['premature_flags']} premature")
    return "\n".join(lines)


if __name__ == "__main__":
    configure_logging(quiet=True)
    args = sys.argv[1:]
    seed = int(args.pop(args.index("--shuffle") + 1)) if "--shuffle" in args else None
    names = [a for a in args if a != "--shuffle"] or list(RUNS)
    results = {name: run(name, seed) for name in names}
    suffix = "-".join(names) + ("" if seed is None else f"-shuffled{seed}")
    (OUT / f"backtest-compare-{suffix}.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
