"""The detector's flags of a store's latest backtest, by verdict, for a hand check (docs/backtest.md).

Each flag: cutoff, marker (a term, or a topic's label), recent documents, growth, q, confirmed (what happened
next: `nlp.backtest.Confirmer`), the verdict's reason and, for a term flag, the titles of up to `--titles`
documents of its recent window holding the term.

    .venv/bin/python benchmarks/backtest_flags.py benchmarks/out/backtest-cordis-minilm/trendscout.duckdb
        [--titles 2]
"""

from __future__ import annotations

import json
import sys

import duckdb
import pandas as pd

from nlp.textsearch import term_pattern


def latest_flags(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, dict]:
    """The detector's flags of the newest backtest in the store and its parameters."""
    backtest_id, params = con.execute("SELECT backtest_id, params FROM backtests ORDER BY created_at DESC "
                                      "LIMIT 1").fetchone()
    flags = con.execute("SELECT * FROM backtest_flags WHERE backtest_id = ? AND method = 'detector' "
                        "ORDER BY verdict, cutoff, scope, cell", [backtest_id]).df()
    return flags, json.loads(params)


def titles(docs: pd.DataFrame, term: str, cutoff, recent_days: int, n: int) -> list[str]:
    """Up to `n` titles of the documents of the recent window before `cutoff` that hold `term`."""
    end = pd.Timestamp(cutoff)
    window = docs[(docs["published_on"] > end - pd.Timedelta(days=recent_days)) & (docs["published_on"] <= end)]
    holding = window[window["t"].str.contains(term_pattern(term))]
    return holding["title"].head(n).tolist()


def main(path: str, n_titles: int) -> None:
    con = duckdb.connect(path, read_only=True)
    flags, params = latest_flags(con)
    docs = con.execute("SELECT title, coalesce(title, '') || '. ' || coalesce(text, '') AS t, "
                       "CAST(published_on AS TIMESTAMP) AS published_on FROM documents").df()
    recent_days = params["trends"]["recent_days"]
    print(f"{len(flags)} detector flags: " + ", ".join(f"{v} {n}" for v, n in flags["verdict"].value_counts().items()))
    for verdict, group in flags.groupby("verdict"):
        print(f"\n## {verdict} ({len(group)})")
        for f in group.itertuples():
            marker = f.cell if f.scope == "term" else f"topic {f.label}"
            print(f"{f.cutoff} {marker!r}: {f.n_recent} recent, growth {f.growth:.1f}x, q {f.q_value:.3g}, "
                  f"confirmed {f.confirmed}; {f.verdict_reason}")
            if f.scope == "term":
                for title in titles(docs, f.cell, f.cutoff, recent_days, n_titles):
                    print(f"    - {title}")


if __name__ == "__main__":
    args = sys.argv[1:]
    count = int(args.pop(args.index("--titles") + 1)) if "--titles" in args else 2
    args = [a for a in args if a != "--titles"]
    main(args[0], count)
