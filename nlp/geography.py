"""Economic geography of themes: region x theme counts, RCA, proximity, relatedness density, complexity.

Definitions (docs/regions.md): Balassa's revealed comparative advantage, Hidalgo et al.'s (2007) proximity
between activities, Balland's relatedness density (EconGeo `relatedness.density`, 0-100) and the
Hidalgo-Hausmann (2009) eigenvector complexity, normalised as the `ecomplexity` package does. Also the pairs of
regions in different countries that share a theme (and whether a consortium already joins them) and the share
of participants from outside the EU. Frames in, frames out; no store, no settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from nlp.gazetteer import EU27
from nlp.regional import country_of


def region_theme_matrix(places: pd.DataFrame, themes: pd.DataFrame) -> pd.DataFrame:
    """Documents per region (rows) and theme (columns), each document counted once in total.

    `places`: doc_id, region, weight (any scale; a document's weights are normalised to sum 1);
    `themes`: doc_id, topic_id (and an optional weight, normalised the same way). A document in two regions
    adds 0.5 to each; documents without a region or a theme add nothing.
    """
    places = _normalised(places, "region")
    themes = _normalised(themes, "topic_id")
    cells = places.merge(themes, on="doc_id", suffixes=("_r", "_t"))
    cells["w"] = cells["weight_r"] * cells["weight_t"]
    return cells.pivot_table(index="region", columns="topic_id", values="w", aggfunc="sum", fill_value=0.0)


def _normalised(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    frame = frame[["doc_id", key] + (["weight"] if "weight" in frame else [])].copy()
    if "weight" not in frame:
        frame["weight"] = 1.0
    frame = frame.groupby(["doc_id", key], as_index=False)["weight"].sum()
    frame = frame[frame["weight"] > 0]
    frame["weight"] = frame["weight"] / frame.groupby("doc_id")["weight"].transform("sum")
    return frame


def rca(matrix: pd.DataFrame) -> pd.DataFrame:
    """Balassa: (x_rt / x_r.) / (x_.t / x_..); 0 for empty regions or themes."""
    x = matrix.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (x / x.sum(axis=1, keepdims=True)) / (x.sum(axis=0, keepdims=True) / x.sum())
    return pd.DataFrame(np.nan_to_num(out), index=matrix.index, columns=matrix.columns)


def proximity(mcp: pd.DataFrame) -> pd.DataFrame:
    """Hidalgo's proximity of themes i, j: co-specialised regions / max(ubiquity_i, ubiquity_j); diagonal 0."""
    m = mcp.to_numpy(dtype=float)
    together = m.T @ m
    ubiquity = m.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.nan_to_num(together / np.maximum.outer(ubiquity, ubiquity))
    np.fill_diagonal(phi, 0.0)
    return pd.DataFrame(phi, index=mcp.columns, columns=mcp.columns)


def relatedness_density(mcp: pd.DataFrame, phi: pd.DataFrame) -> pd.DataFrame:
    """Balland: 100 * sum_j M_rj phi_jt / sum_j phi_jt, the share of theme t's relatedness the region holds."""
    weights = phi.to_numpy(dtype=float)
    total = weights.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.nan_to_num(100 * (mcp.to_numpy(dtype=float) @ weights) / total)
    return pd.DataFrame(out, index=mcp.index, columns=mcp.columns)


def complexity(mcp: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Hidalgo-Hausmann ECI (regions) and PCI (themes); NaN where diversity or ubiquity is 0.

    The second eigenvector of M~ = D^-1 M U^-1 M^T, signed to correlate with diversity and standardised by
    the ECI's mean and standard deviation (as the `ecomplexity` package and the Atlas do).
    """
    m = mcp.to_numpy(dtype=float)
    diversity, ubiquity = m.sum(axis=1), m.sum(axis=0)
    rows, cols = diversity > 0, ubiquity > 0
    eci, pci = np.full(len(diversity), np.nan), np.full(len(ubiquity), np.nan)
    valid = m[rows][:, cols]
    if valid.shape[0] >= 2 and valid.shape[1] >= 2:
        by_region, by_theme = valid / diversity[rows, None], valid / ubiquity[None, cols]
        values, vectors = np.linalg.eig(by_theme.T @ by_region)
        kp = np.real(vectors[:, np.argsort(np.real(values))[-2]])
        kc = by_region @ kp
        if kc.std() > 1e-12:  # else every region is alike: no ranking
            sign = np.sign(np.cov(diversity[rows], kc)[0, 1]) or 1.0
            kc, kp = sign * kc, sign * kp
            eci[rows], pci[cols] = (kc - kc.mean()) / kc.std(), (kp - kc.mean()) / kc.std()
    return pd.Series(eci, index=mcp.index, name="eci"), pd.Series(pci, index=mcp.columns, name="pci")


@dataclass(frozen=True)
class Geography:
    """The measures of one region x theme matrix."""

    counts: pd.DataFrame
    rca: pd.DataFrame
    mcp: pd.DataFrame  # 1 where RCA >= the threshold
    proximity: pd.DataFrame
    density: pd.DataFrame
    eci: pd.Series
    pci: pd.Series


def measure(counts: pd.DataFrame, *, rca_threshold: float) -> Geography:
    """Every measure of `counts` (regions x themes), specialisation meaning RCA >= `rca_threshold`."""
    advantage = rca(counts)
    mcp = (advantage >= rca_threshold).astype(float)
    phi = proximity(mcp)
    eci, pci = complexity(mcp)
    return Geography(counts, advantage, mcp, phi, relatedness_density(mcp, phi), eci, pci)


def shared_projects(consortia: pd.DataFrame) -> pd.Series:
    """Projects joining each pair of regions: `consortia` holds doc_id, region for every project (any theme)
    with its participants' regions; the result is indexed by (region, partner_region), region < partner."""
    members = consortia[["doc_id", "region"]].drop_duplicates()
    together = members.merge(members, on="doc_id", suffixes=("", "_b"))
    together = together[together["region"] < together["region_b"]]
    return together.groupby(["region", "region_b"]).size().rename("shared_projects")


def cross_border_pairs(status: pd.DataFrame, shared: pd.Series, *, rca_threshold: float) -> pd.DataFrame:
    """Pairs of regions in different countries that are both specialised in a theme or both rising in it.

    `status`: region, rca, rising (bool) for one theme (specialised: rca >= `rca_threshold`); `shared`:
    `shared_projects(consortia)`. A pair that
    shares a consortium already collaborates. Ranked: both rising and both specialised first, then by the
    weaker region's RCA.
    Returns region, partner_region, partner_country, basis, rca, partner_rca, shared_projects,
    existing_collaboration.
    """
    columns = ["region", "partner_region", "partner_country", "basis", "rca", "partner_rca", "shared_projects",
               "existing_collaboration"]
    status = status.assign(specialised=status["rca"] >= rca_threshold, country=status["region"].map(country_of))
    status = status[status["specialised"] | status["rising"]].reset_index(drop=True)
    pairs = status.merge(status, how="cross", suffixes=("", "_b"))
    pairs = pairs[(pairs["region"] < pairs["region_b"]) & (pairs["country"] != pairs["country_b"])]
    both_specialised = pairs["specialised"] & pairs["specialised_b"]
    both_rising = pairs["rising"] & pairs["rising_b"]
    pairs = pairs[both_specialised | both_rising].copy()
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    both_specialised, both_rising = both_specialised[pairs.index], both_rising[pairs.index]
    pairs["basis"] = np.select([both_rising & both_specialised, both_rising], ["rising and specialised", "rising"],
                               "specialised")
    pairs = pairs.merge(shared.reset_index(), on=["region", "region_b"], how="left")
    pairs["shared_projects"] = pairs["shared_projects"].fillna(0).astype(int)
    pairs["existing_collaboration"] = pairs["shared_projects"] > 0
    pairs["order"] = pairs["basis"].map({"rising and specialised": 0, "rising": 1, "specialised": 2})
    pairs["weaker"] = np.minimum(pairs["rca"], pairs["rca_b"])
    pairs = pairs.sort_values(["order", "weaker", "region", "region_b"], ascending=[True, False, True, True])
    out = pairs.rename(columns={"region_b": "partner_region", "country_b": "partner_country", "rca_b": "partner_rca"})
    return out[columns].reset_index(drop=True)


def internationalisation(participations: pd.DataFrame, *, since, min_ratio: float, min_count: int,
                         top_k: int) -> pd.DataFrame:
    """Per theme: the share of participations from outside the EU, before and since `since`, and who they are.

    `participations`: topic_id, doc_id, country, organisation, date (one row per organisation and document).
    A theme's non-EU share is rising when the share since `since` is at least `min_ratio` times the share
    before and at least `min_count` non-EU participations fall since then.
    Returns topic_id, n, non_eu_share, share_before, share_since, rising, top_countries [(country, n)],
    top_organisations [(name, country, n)].
    """
    frame = participations.dropna(subset=["country"]).copy()
    frame["non_eu"] = ~frame["country"].isin(EU27)
    frame["recent"] = pd.to_datetime(frame["date"]) >= pd.Timestamp(since)
    rows = []
    for topic, group in frame.groupby("topic_id"):
        before, recent = group[~group["recent"]], group[group["recent"]]
        share_before = before["non_eu"].mean() if len(before) else np.nan
        share_since = recent["non_eu"].mean() if len(recent) else np.nan
        outside = group[group["non_eu"]]
        countries = _most(outside.groupby("country").size(), top_k)
        orgs = _most(outside.groupby(["organisation", "country"]).size(), top_k)
        rows.append({"topic_id": topic, "n": len(group), "non_eu_share": float(group["non_eu"].mean()),
                     "share_before": share_before, "share_since": share_since,
                     "rising": bool(recent["non_eu"].sum() >= min_count and share_since > 0
                                    and (share_before == 0 or share_since >= min_ratio * share_before)),
                     "top_countries": [(c, int(n)) for c, n in countries.items()],
                     "top_organisations": [(o, c, int(n)) for (o, c), n in orgs.items()]})
    columns = ["topic_id", "n", "non_eu_share", "share_before", "share_since", "rising", "top_countries",
               "top_organisations"]
    return pd.DataFrame(rows, columns=columns)


def _most(counts: pd.Series, k: int) -> pd.Series:
    """The k largest counts, ties by name."""
    return counts.reset_index(name="n").sort_values(["n", *counts.index.names], ascending=[False] + [True] *
                                                   counts.index.nlevels).set_index(counts.index.names)["n"].head(k)
