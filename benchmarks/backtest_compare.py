"""Detector vs the raw-growth baseline on the shared corpora, side by side (one backtest run per corpus).

Each corpus goes into a fresh store under benchmarks/out/backtest-<name>/, is embedded once with the
cheap `hashing` embedder, and replayed cutoff by cutoff with PCA + k-means topics refitted at every
cutoff (see docs/backtest.md). Prints one table and writes benchmarks/out/backtest-compare.json.

    .venv/bin/python benchmarks/backtest_compare.py [cordis] [patents] [acl]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
from backtest_data import OUT, acl_corpus, cordis_corpus, patents_corpus

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
               "trends": {"period": "auto", "recent_periods": 3, "baseline_periods": 12}},
    "patents": {"corpus": patents_corpus, "kind": "patent", "truth": "patents_neural.csv", "step": "year",
                "from": "1986-12-31", "to": "2018-12-31",
                "topics": {"n_clusters": 25, "window_months": 120},
                "trends": {"period": "auto", "recent_periods": 2, "baseline_periods": 5}},
    "acl": {"corpus": acl_corpus, "kind": "paper", "truth": "acl_nlp.csv", "step": "quarter",
            "from": "2018-03-31", "to": "2024-12-31",
            "topics": {"n_clusters": 40, "window_months": 36},
            "trends": {"period": "auto", "recent_periods": 3, "baseline_periods": 12}},
}


def settings_for(name: str, spec: dict) -> Settings:
    folder = OUT / f"backtest-{name}"
    topics = {"reducer": "pca", "clusterer": "kmeans", "min_topic_size": 10, **spec["topics"]}
    if "representation" in Settings.model_fields["topics"].annotation.model_fields:
        topics["representation"] = "ctfidf"
    return Settings(data_dir=folder, models_dir=folder / "models", nlp={"embedder": "hashing"}, topics=topics,
                    trends={**spec["trends"], "terms": False})


def run(name: str) -> dict:
    spec = RUNS[name]
    settings = settings_for(name, spec)
    started = time.monotonic()
    with Store.open(settings.store_path) as store:
        ingest_corpus(store, spec["corpus"](), name, spec["kind"], Bars(enabled=False))
        embed(store, settings.nlp, Bars(enabled=False))
    result = run_backtest(settings, TRUTH / spec["truth"], start=pd.Timestamp(spec["from"]),
                          end=pd.Timestamp(spec["to"]), step=spec["step"])
    result["seconds"] = round(time.monotonic() - started)
    return result


def table(results: dict[str, dict]) -> str:
    lines = [f"{'corpus':<9}{'method':<10}{'recall':>7}{'false alarms':>14}{'median delay':>14}{'flags/cutoff':>14}",
             "-" * 68]
    for name, result in results.items():
        for method, m in (("detector", result), ("baseline", result["baseline"])):
            delay = "-" if m["median_delay_days"] is None else f"{m['median_delay_days']:.0f} d"
            recall = "-" if m["recall"] is None else f"{m['recall']:.2f}"
            lines.append(f"{name:<9}{method:<10}{recall:>7}{m['false_alarms']:>14}{delay:>14}"
                         f"{m['flags_per_cutoff']:>14.2f}")
        for d, b in zip(result["themes"], result["baseline"]["themes"], strict=True):
            lines.append(f"{'':<9}  {d['theme']:<22} {d['label']:<13} detector: {d['first_cutoff'] or '-':<10} "
                         f"{d['n_matching_flags']:>3} flags | baseline: {b['first_cutoff'] or '-':<10} "
                         f"{b['n_matching_flags']:>3} flags")
    return "\n".join(lines)


if __name__ == "__main__":
    configure_logging(quiet=True)
    names = sys.argv[1:] or list(RUNS)
    results = {name: run(name) for name in names}
    (OUT / "backtest-compare.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
