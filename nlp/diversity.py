"""Cross-sectoral view: sector disparity from co-occurrence and Rao–Stirling diversity per topic.

Disparity d_ij = 1 - cosine similarity of sectors i and j's co-occurrence profiles (how often each
appears on the same documents as every sector, itself included): sectors that meet on the same
documents are close. Rao–Stirling diversity D = sum over i != j of d_ij p_i p_j, with p the topic's
sector mix (a document with k sectors counts 1/k to each).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd


def disparity(doc_sectors: pd.DataFrame) -> pd.DataFrame:
    """Sector x sector disparity from doc_id, sector rows."""
    pairs = doc_sectors[["doc_id", "cell"]].drop_duplicates()
    incidence = pd.crosstab(pairs["doc_id"], pairs["cell"]).clip(upper=1)
    co = incidence.T.to_numpy(float) @ incidence.to_numpy(float)
    unit = co / np.maximum(np.linalg.norm(co, axis=1, keepdims=True), 1e-12)
    return pd.DataFrame(np.clip(1 - unit @ unit.T, 0, 1), index=incidence.columns, columns=incidence.columns)


def rao_stirling(mix: pd.Series, d: pd.DataFrame) -> float:
    """Rao–Stirling diversity of a sector mix (shares summing to 1) under disparity `d`."""
    if mix.empty:
        return 0.0
    p = mix.to_numpy(float)
    sub = d.loc[mix.index, mix.index].to_numpy()
    return float(p @ sub @ p)


def sector_mix(rows: pd.DataFrame) -> pd.Series:
    """Shares of sectors over documents, each document weighted 1 / its number of sectors."""
    if rows.empty:
        return pd.Series(dtype=float)
    weights = 1.0 / rows.groupby("doc_id")["cell"].transform("count")
    mix = weights.groupby(rows["cell"]).sum()
    return mix / mix.sum()


def sector_diversity(members: pd.DataFrame, n_baseline: int, flagged: pd.Series, min_gain: float = 0.05,
                     bridge_disparity: float = 0.8, bridge_share: float = 0.1) -> pd.DataFrame:
    """Per topic: sector mix and Rao–Stirling diversity before and in the recent window, and bridges.

    A topic is cross-sectoral when it is flagged and its diversity rose by at least `min_gain`; it
    bridges sectors when two sectors with at least `bridge_share` of its recent documents each have a
    disparity of at least `bridge_disparity` (they rarely meet on the same documents).
    """
    columns = ["topic_id", "sector_mix", "diversity_baseline", "diversity_recent", "diversity_change",
               "is_cross_sectoral", "bridges"]
    sectors = members[members["scope"] == "sector"]
    if sectors.empty:
        return pd.DataFrame(columns=columns)
    d = disparity(sectors)
    rows = []
    for topic, group in sectors.groupby("topic_id"):
        recent = sector_mix(group[group["t"] >= n_baseline])
        before = sector_mix(group[group["t"] < n_baseline])
        d_recent, d_before = rao_stirling(recent, d), rao_stirling(before, d)
        big = recent[recent >= bridge_share].index
        bridges = [f"{a} + {b}" for a, b in itertools.combinations(sorted(big), 2) if d.loc[a, b] >= bridge_disparity]
        rows.append({"topic_id": topic, "sector_mix": {k: round(float(v), 3) for k, v in recent.items()},
                     "diversity_baseline": d_before, "diversity_recent": d_recent,
                     "diversity_change": d_recent - d_before,
                     "is_cross_sectoral": bool(flagged.get(topic, False)) and d_recent - d_before >= min_gain
                     and len(recent) >= 2,
                     "bridges": bridges})
    return pd.DataFrame(rows, columns=columns)
