"""Regional view of emergence: location quotients, growth against the EU, and cross-border themes.

The "EU" reference is the whole corpus in the same window (all documents, whatever their region).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nlp.series import window_volumes


def country_of(nuts: str | None) -> str | None:
    """The country part of a NUTS code ('DE11' -> 'DE')."""
    return nuts[:2] if isinstance(nuts, str) and len(nuts) >= 2 else None


def regional_measures(cells: pd.DataFrame, members: pd.DataFrame, n_baseline: int) -> pd.DataFrame:
    """Add location_quotient (recent share in the cell / share in the EU) and growth_vs_eu to sub-corpus cells.

    Rows of scope "topic" get NaN: they are the reference.
    """
    volumes = window_volumes(members, n_baseline).set_index(["scope", "cell"])["v_recent"]
    cells = cells.copy()
    cells["country"] = np.where(cells["scope"] == "region", cells["cell"].map(country_of), None)
    v_cell = pd.Series(list(zip(cells["scope"], cells["cell"], strict=True))).map(volumes).fillna(0).to_numpy()
    reference = cells[cells["scope"] == "topic"].set_index("topic_id")
    share_eu = cells["topic_id"].map(reference["n_recent"] / volumes.get(("topic", ""), np.nan))
    share_cell = cells["n_recent"] / np.maximum(v_cell, 1)
    is_sub = cells["scope"] != "topic"
    cells["location_quotient"] = np.where(is_sub, share_cell / share_eu.where(share_eu > 0), np.nan)
    cells["growth_vs_eu"] = np.where(is_sub, cells["growth"] / cells["topic_id"].map(reference["growth"]), np.nan)
    return cells


def cross_border(cells: pd.DataFrame, members: pd.DataFrame, orgs: pd.DataFrame | None, n_baseline: int,
                 max_orgs: int = 10) -> pd.DataFrame:
    """Per topic: flagged regions, whether they span two or more countries, and the organisations there.

    Returns:
        topic_id, emerging_regions (list of NUTS-2), is_cross_border, cross_border_orgs (list of names,
        most documents first, only organisations located in the emerging regions).
    """
    flagged = cells[(cells["scope"] == "region") & cells["flagged"]]
    rows = []
    for topic, group in flagged.groupby("topic_id"):
        regions = group.sort_values("score", ascending=False)["cell"].tolist()
        is_cross = len({country_of(r) for r in regions}) >= 2
        names: list[str] = []
        if is_cross and orgs is not None and len(orgs):
            docs = members.loc[(members["scope"] == "topic") & (members["topic_id"] == topic)
                               & (members["t"] >= n_baseline), "doc_id"]
            involved = orgs[orgs["doc_id"].isin(docs) & orgs["region"].isin(regions)]
            names = involved.groupby("org").size().sort_values(ascending=False).index[:max_orgs].tolist()
        rows.append({"topic_id": topic, "emerging_regions": regions, "is_cross_border": is_cross,
                     "cross_border_orgs": names})
    columns = ["topic_id", "emerging_regions", "is_cross_border", "cross_border_orgs"]
    return pd.DataFrame(rows, columns=columns).astype({"topic_id": int}) if rows else pd.DataFrame(columns=columns)
