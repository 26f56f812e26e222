"""Per-cell count and expectation matrices (cells x periods) with a volume offset per source.

Under "no emergence" a topic keeps its share of each source's documents in a sub-corpus; the
expected count of a cell in a period is therefore the sum over sources of that source's volume in the
sub-corpus times the topic's share of the source. A crawl that doubles one source's volume doubles
only that source's part of the expectation, so it does not read as growth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CELL = ["scope", "cell", "topic_id"]


def cell_matrices(members: pd.DataFrame, n_periods: int, n_baseline: int, min_total: int = 1
                  ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Counts and expectations per cell and period.

    Args:
        members: one row per (document, sub-corpus): doc_id, topic_id, source, t (period index, the
            first `n_baseline` are the baseline), scope, cell.
        min_total: keep cells with at least this many documents over all periods.
    Returns:
        (cells[scope, cell, topic_id], counts, expected with shares pooled over the whole window,
        expected with shares from the baseline only), the arrays shaped cells x periods.
    """
    periods = list(range(n_periods))
    volumes = (members.groupby(["scope", "cell", "source", "t"]).size().unstack("t", fill_value=0)
               .reindex(columns=periods, fill_value=0))
    counts = (members.groupby([*CELL, "source", "t"]).size().unstack("t", fill_value=0)
              .reindex(columns=periods, fill_value=0))
    totals = counts.sum(axis=1).groupby(level=CELL).sum()
    cells = totals[totals >= min_total].index.to_frame(index=False)
    strata = volumes.index.to_frame(index=False).reset_index(names="stratum")
    pairs = cells.reset_index(names="cell_id").merge(strata, on=["scope", "cell"])
    y = counts.reindex(pd.MultiIndex.from_frame(pairs[[*CELL, "source"]]), fill_value=0).to_numpy(float)
    v = volumes.to_numpy(float)[pairs["stratum"].to_numpy()]
    share_pooled = (y.sum(axis=1) + 0.5) / (v.sum(axis=1) + 1.0)
    share_base = (y[:, :n_baseline].sum(axis=1) + 0.5) / (v[:, :n_baseline].sum(axis=1) + 1.0)
    shape = (len(cells), n_periods)
    observed, expected, base_expected = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    ids = pairs["cell_id"].to_numpy()
    np.add.at(observed, ids, y)
    np.add.at(expected, ids, share_pooled[:, None] * v)
    np.add.at(base_expected, ids, share_base[:, None] * v)
    return cells, observed, expected, base_expected


def window_volumes(members: pd.DataFrame, n_baseline: int) -> pd.DataFrame:
    """Documents per sub-corpus in the baseline and the recent window: scope, cell, v_baseline, v_recent."""
    docs = members.drop_duplicates(["scope", "cell", "doc_id"])
    recent = docs["t"] >= n_baseline
    out = docs.assign(v_recent=recent.astype(int), v_baseline=(~recent).astype(int))
    return out.groupby(["scope", "cell"], as_index=False)[["v_baseline", "v_recent"]].sum()
