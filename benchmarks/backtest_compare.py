"""Detector vs the baselines on the shared corpora, scored strictly, side by side (one backtest run per corpus).

Each corpus goes into a fresh store under benchmarks/out/backtest-<name>-static/, is embedded once with the
fast path's static embedder (model2vec distilled offline from all-MiniLM-L6-v2, `topics_data.distilled_model_path`),
and replayed cutoff by cutoff with PCA + k-means topics refitted at every cutoff (see docs/backtest.md).
`--embedder hashing` replays with the cheaper lexical embedder instead (store benchmarks/out/backtest-<name>/:
the runs before 2026-11-30 13:00). Prints one table and writes benchmarks/out/backtest-compare-<names>.json.
With --shuffle SEED every run replays the documents with permuted dates (the control); --step, --from,
--to and --refit-every replace the runs' own cadence and range (e.g. CORDIS monthly over three years:
`cordis --step month --from 2022-10-31 --to 2025-09-30`). Each result carries its wall and CPU seconds.

    .venv/bin/python benchmarks/backtest_compare.py [cordis] [patents] [acl] [arxiv] [arxiv_full] [--shuffle SEED]
        [--step month] [--from DATE] [--to DATE] [--refit-every K] [--embedder static|hashing]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
from backtest_data import OUT, acl_corpus, arxiv_corpus, arxiv_full_corpus, cordis_corpus, patents_corpus
from topics_data import distilled_model_path

from pipelines.backtest import run_backtest
from pipelines.cli.trends import describe_miss, stage_seconds
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
    "arxiv": {"corpus": arxiv_corpus, "kind": "paper", "truth": "arxiv_applied.csv", "step": "quarter",
              "from": "2012-12-31", "to": "2019-12-31",
              "topics": {"n_clusters": 40, "window_months": 36},
              "trends": {}},
    "arxiv_full": {"corpus": arxiv_full_corpus, "kind": "paper", "truth": "arxiv_applied.csv", "step": "quarter",
                   "from": "2012-12-31", "to": "2019-12-31",
                   "topics": {"n_clusters": 40, "window_months": 36},
                   "trends": {}},
}


def settings_for(name: str, spec: dict, embedder: str = "static") -> Settings:
    if embedder not in ("static", "hashing"):
        raise SystemExit(f"--embedder static or hashing, not {embedder}")
    folder = OUT / (f"backtest-{name}" if embedder == "hashing" else f"backtest-{name}-static")
    model = "hashing" if embedder == "hashing" else f"static:{distilled_model_path()}"
    # the fast path: a static embedder, PCA + k-means, and terms without spaCy's noun phrases (parsing every
    # corpus once would cost 54 CPU s per 1,000 documents, models/README.md)
    topics = {"reducer": "pca", "clusterer": "kmeans", "min_topic_size": 10, "noun_phrases": False, **spec["topics"]}
    if "representation" in Settings.model_fields["topics"].annotation.model_fields:
        topics["representation"] = "ctfidf"
    return Settings(data_dir=folder, models_dir=folder / "models", nlp={"embedder": model}, topics=topics,
                    trends=spec["trends"])


def prepare(name: str, settings: Settings) -> None:
    """Ingest the corpus into its store and embed it (both idempotent)."""
    spec = RUNS[name]
    with Store.open(settings.store_path) as store:
        ingest_corpus(store, spec["corpus"](), name, spec["kind"], Bars(enabled=False))
        embed(store, settings.nlp, Bars(enabled=False))


def run(name: str, shuffle_seed: int | None = None, refit_every: int = 1, embedder: str = "static",
        **overrides) -> dict:
    """Prepare the corpus's store and replay it; `overrides`: step, from, to instead of the run's own."""
    spec = RUNS[name] | overrides
    settings = settings_for(name, spec, embedder)
    started, cpu = time.monotonic(), time.process_time()
    prepare(name, settings)
    result = run_backtest(settings, TRUTH / spec["truth"], start=pd.Timestamp(spec["from"]),
                          end=pd.Timestamp(spec["to"]), step=spec["step"], refit_every=refit_every,
                          shuffle_seed=shuffle_seed)
    result["seconds"], result["cpu_seconds"] = round(time.monotonic() - started), round(time.process_time() - cpu)
    return result


def pop_options(args: list[str], flags: tuple[str, ...]) -> dict[str, str]:
    """Take each `--flag VALUE` of `flags` out of `args`; return {flag without dashes: value}."""
    options = {}
    for flag in flags:
        if flag in args:
            at = args.index(flag)
            options[flag[2:]] = args.pop(at + 1)
            args.pop(at)
    return options


COLUMNS = [("recall", "recall", "{:.2f}"), ("threat", "threat_score", "{:.2f}"),
           ("confirmed", "confirmed_share", "{:.2f}"), ("false", "false_alarms", "{}"),
           ("premat.", "premature_flags", "{}"), ("unmatch.", "unmatched_flags", "{}"),
           ("delay", "median_delay_days", "{:.0f} d"), ("flags/cut", "flags_per_cutoff", "{:.2f}")]


def table(results: dict[str, dict]) -> str:
    head = f"{'corpus':<8}{'method':<18}" + "".join(f"{title:>10}" for title, _, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, result in results.items():
        lines.append(f"{name:<8}{result['seconds']} s ({result.get('cpu_seconds', '?')} s CPU), "
                     f"{result['share_of_cutoffs_flagged']:.0%} of cutoffs flagged, "
                     f"{len(result['skipped_cutoffs'])} skipped, {result.get('carried_terms', '?')} terms carried, "
                     f"median evidence delay {result.get('median_evidence_delay_days')} d")
        if result["params"].get("stage_cpu_seconds"):
            lines.append(f"{'':<8}{stage_seconds(result['params']['stage_cpu_seconds'])}")
        for method, m in (("detector", result), *result["baselines"].items()):
            cells = ["-" if m[key] is None else fmt.format(m[key]) for _, key, fmt in COLUMNS]
            lines.append(f"{'':<8}{method:<18}" + "".join(f"{c:>10}" for c in cells))
        for d in result["themes"]:
            lines.append(f"{'':<10}{d['theme']:<32} {d['label']:<13} first {d['first_cutoff'] or '-':<10} "
                         f"delay {d['delay_days'] if d['delay_days'] is not None else '-':>5} "
                         f"{d['n_matching_flags']:>3} flags, {d['premature_flags']} premature"
                         + (f", evidence {d['evidence_cutoff']} ({d['evidence_delay_days']} d)"
                            if d.get("evidence_cutoff") else ""))
        for miss in result.get("missed", []):
            lines.append(f"{'':<10}missed {miss['theme']}: {describe_miss(miss)}")
    return "\n".join(lines)


if __name__ == "__main__":
    configure_logging(quiet=True)
    args = sys.argv[1:]
    options = pop_options(args, ("--shuffle", "--step", "--from", "--to", "--refit-every", "--embedder"))
    seed = int(options.pop("shuffle")) if "shuffle" in options else None
    refit = int(options.pop("refit-every", 1))
    embedder = options.pop("embedder", "static")
    names = args or list(RUNS)
    results = {name: run(name, seed, refit, embedder, **options) for name in names}
    suffix = "-".join(names + [f"{k}{v}" for k, v in options.items()]) + ("" if refit == 1 else f"-refit{refit}") \
        + ("" if seed is None else f"-shuffled{seed}") + ("" if embedder == "hashing" else f"-{embedder}")
    (OUT / f"backtest-compare-{suffix}.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
