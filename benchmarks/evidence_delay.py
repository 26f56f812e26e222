"""How early could anyone tell? The delay the data and the windows allow, per corpus, theme and recent window.

For each emerging theme of a backtest's truth file, the first cutoff of its hit window at which the documents
holding its own phrases rose in the recent window against the baseline window (`nlp.backtest.Evidence`: as many
documents and as much growth as a flag needs, a one-sided binomial test at the FDR level over the window's
cutoffs), and its delay from
the theme's expected_from: the best a detector reading those windows could do, knowing the theme's words. Read
for the recent window the runs use (`backtest_compare.RUNS`) and for shorter and longer ones, with the same
cutoffs and baseline window. No embedding, no topics: seconds per corpus. `--shuffle SEED` permutes the
documents' dates first (the control: no theme should show).

    .venv/bin/python benchmarks/evidence_delay.py [cordis] [patents] [acl] [arxiv_full] [--step month --from DATE
        --to DATE] [--recent 91,182,365] [--shuffle SEED]
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from backtest_compare import RUNS, TRUTH, pop_options

from nlp.backtest import Evidence, read_truth
from pipelines.backtest import cutoffs
from pipelines.settings import TrendSettings


def shown(found: dict) -> str:
    """An evidence cutoff and its delay, or '-'."""
    return f"{found['evidence_cutoff']} ({found['evidence_delay_days']} d)" if found["evidence_cutoff"] else "-"


def evidence_table(name: str, recent: list[int], shuffle: int | None = None, **overrides) -> list[str]:
    """One line per theme and window: the evidence cutoff and delay; a last line per window: the median delay."""
    spec = RUNS[name] | overrides
    trends = TrendSettings(**spec["trends"])
    corpus = pd.read_parquet(spec["corpus"](), columns=["title", "text", "date"])
    if shuffle is not None:
        corpus["date"] = np.random.default_rng(shuffle).permutation(corpus["date"].to_numpy())
    texts = corpus["title"].fillna("") + ". " + corpus["text"].fillna("")
    truth = read_truth(TRUTH / spec["truth"])
    points = cutoffs(spec["from"], spec["to"], spec["step"])
    windows = sorted({*recent, trends.recent_days})
    lines = [f"{name}: {len(corpus):,} documents{', dates shuffled' if shuffle is not None else ''}, {len(points)} "
             f"{spec['step']}ly cutoffs {spec['from']} .. {spec['to']}, baseline {trends.baseline_days} d; "
             "evidence cutoff (delay) per recent window",
             f"{'theme':<34}{'expected':>12}" + "".join(f"{d:>21} d{' *' if d == trends.recent_days else '  '}"
                                                     for d in windows)]
    found = {d: Evidence(texts, corpus["date"], recent_days=d, baseline_days=trends.baseline_days,
                         min_docs=trends.min_docs, min_growth=trends.min_growth, alpha=trends.fdr)
             .per_theme(truth, points, tolerance_days=180) for d in windows}
    for theme in truth[truth["label"] == "emerging"].itertuples():
        cells = [found[d][theme.theme] for d in windows]
        lines.append(f"{theme.theme:<34}{theme.expected_from.date()!s:>12}" + "".join(f"{shown(c):>24}" for c in cells))
    medians = [np.median([c["evidence_delay_days"] for c in found[d].values() if c["evidence_delay_days"] is not None]
                         or [np.nan]) for d in windows]
    lines.append(f"{'median delay':<46}" + "".join(f"{m:>22.0f} d " for m in medians))
    return lines


if __name__ == "__main__":
    args = sys.argv[1:]
    options = pop_options(args, ("--step", "--from", "--to", "--recent", "--shuffle"))
    recent = [int(d) for d in options.pop("recent", "91,182,365").split(",")]
    shuffle = int(options.pop("shuffle")) if "shuffle" in options else None
    for name in args or ["cordis", "patents", "acl", "arxiv_full"]:
        print("\n".join(evidence_table(name, recent, shuffle, **options)), end="\n\n")
