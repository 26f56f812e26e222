"""Region x theme measures on a planted matrix known by hand, cross-checked against the `ecomplexity` package."""

import numpy as np
import pandas as pd
import pytest

from nlp.geography import (
    complexity,
    cross_border_pairs,
    internationalisation,
    measure,
    proximity,
    rca,
    region_theme_matrix,
    relatedness_density,
    shared_projects,
)

# rows total 10 each; columns X 10, Y 15, Z 15 of 40
PLANTED = pd.DataFrame([[5, 5, 0], [5, 5, 0], [0, 5, 5], [0, 0, 10]], index=list("ABCD"), columns=list("XYZ"),
                       dtype=float)


def test_rca_proximity_and_density_match_the_hand_computation():
    g = measure(PLANTED, rca_threshold=1.0)
    assert g.rca.loc["A"].tolist() == pytest.approx([2.0, 4 / 3, 0.0])
    assert g.rca.loc["D", "Z"] == pytest.approx(8 / 3)
    assert g.mcp.to_numpy().tolist() == [[1, 1, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]
    # ubiquity X 2, Y 3, Z 2; X and Y together in A, B; Y and Z in C
    assert g.proximity.to_numpy() == pytest.approx(np.array([[0, 2 / 3, 0], [2 / 3, 0, 1 / 3], [0, 1 / 3, 0]]))
    assert g.density.loc["A"].tolist() == pytest.approx([100, 200 / 3, 100])
    assert g.density.loc["C"].tolist() == pytest.approx([100, 100 / 3, 100])
    assert g.density.loc["D"].tolist() == pytest.approx([0, 100 / 3, 0])


def test_a_document_is_counted_once_with_fractional_region_weights():
    places = pd.DataFrame({"doc_id": ["a", "a", "b", "c"], "region": ["DE11", "FR10", "DE11", "FR10"],
                           "weight": [2.0, 2.0, 1.0, 0.3]})
    themes = pd.DataFrame({"doc_id": ["a", "b", "c", "d"], "topic_id": [1, 1, 2, 2]})
    counts = region_theme_matrix(places, themes)
    assert counts.loc["DE11"].tolist() == [1.5, 0.0] and counts.loc["FR10"].tolist() == [0.5, 1.0]
    assert counts.to_numpy().sum() == 3  # document d has no region


def test_measures_agree_with_ecomplexity_on_the_same_matrix():
    ecomplexity = pytest.importorskip("ecomplexity").ecomplexity
    rng = np.random.default_rng(7)
    counts = pd.DataFrame(rng.poisson(rng.gamma(1.0, 4.0, size=(14, 9))).astype(float) + np.eye(14, 9) * 20,
                          index=[f"R{i:02d}" for i in range(14)], columns=[f"T{j}" for j in range(9)])
    long = counts.stack().rename("x").rename_axis(["region", "theme"]).reset_index().assign(year=2024)
    theirs = ecomplexity(long, {"time": "year", "loc": "region", "prod": "theme", "val": "x"})
    wide = {col: theirs.pivot(index="region", columns="theme", values=col).loc[counts.index, counts.columns]
            for col in ("rca", "mcp", "density")}
    g = measure(counts, rca_threshold=1.0)
    assert g.rca.to_numpy() == pytest.approx(wide["rca"].to_numpy())
    assert (g.mcp.to_numpy() == wide["mcp"].to_numpy()).all()
    eci = theirs.groupby("region")["eci"].first().loc[counts.index]
    pci = theirs.groupby("theme")["pci"].first().loc[counts.columns]
    assert g.eci.to_numpy() == pytest.approx(eci.to_numpy(), abs=1e-6)
    assert g.pci.to_numpy() == pytest.approx(pci.to_numpy(), abs=1e-6)
    # ecomplexity keeps phi_ii = 1 in its density (0-1); EconGeo's (and ours) leaves a theme out of its own
    m = g.mcp.to_numpy()
    with_self = g.proximity.to_numpy() + np.diag((m.sum(axis=0) > 0).astype(float))
    assert (m @ with_self / with_self.sum(axis=0)) == pytest.approx(wide["density"].to_numpy())


def test_complexity_ranks_the_diverse_region_and_the_rare_theme_first():
    nested = pd.DataFrame([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], index=list("ABCD"),
                          columns=list("WXYZ"), dtype=float)
    eci, pci = complexity(nested)
    assert eci.idxmax() == "A" and eci.idxmin() == "D" and pci.idxmax() == "Z" and pci.idxmin() == "W"


def test_building_blocks_handle_empty_rows_and_columns():
    counts = pd.DataFrame([[1.0, 0.0], [0.0, 0.0]], index=["A", "B"], columns=[1, 2])
    assert rca(counts).loc["B"].tolist() == [0.0, 0.0]
    phi = proximity((rca(counts) >= 1).astype(float))
    assert relatedness_density((rca(counts) >= 1).astype(float), phi).to_numpy().sum() == 0


def test_cross_border_pair_with_a_shared_consortium_is_an_existing_collaboration():
    status = pd.DataFrame({"region": ["DE11", "FR10", "DE21", "ES30", "ITC1", "PL91"],
                           "rca": [2.0, 1.5, 3.0, 0.5, 0.2, 0.1],
                           "rising": [False, False, False, True, True, False]})
    consortia = pd.DataFrame({"doc_id": ["p1", "p1", "p1", "p2", "p3"],
                              "region": ["DE11", "FR10", "PL91", "ES30", "ITC1"]})
    pairs = cross_border_pairs(status, shared_projects(consortia), rca_threshold=1.0)
    key = {(r.region, r.partner_region): r for r in pairs.itertuples()}
    assert set(key) == {("DE11", "FR10"), ("DE21", "FR10"), ("ES30", "ITC1")}  # DE11-DE21: same country
    assert key[("DE11", "FR10")].existing_collaboration and key[("DE11", "FR10")].shared_projects == 1
    assert not key[("DE21", "FR10")].existing_collaboration
    assert not key[("ES30", "ITC1")].existing_collaboration and key[("ES30", "ITC1")].basis == "rising"
    assert pairs.iloc[0]["region"] == "ES30"  # both rising ranks first


def test_non_eu_share_rises_and_names_the_partners():
    rows = [(1, f"d{i}", "DE", "TU Munich", "2023-03-01") for i in range(8)]
    rows += [(1, "e1", "US", "MIT", "2023-05-01"), (1, "e2", "DE", "TU Munich", "2023-05-01")]
    rows += [(1, f"n{i}", c, o, "2025-02-01") for i, (c, o) in
             enumerate([("UK", "Oxford"), ("UK", "Oxford"), ("CH", "ETH"), ("US", "MIT"), ("FR", "CNRS")])]
    frame = pd.DataFrame(rows, columns=["topic_id", "doc_id", "country", "organisation", "date"])
    out = internationalisation(frame, since="2025-01-01", min_ratio=1.25, min_count=3, top_k=2).iloc[0]
    assert out["share_before"] == pytest.approx(0.1) and out["share_since"] == pytest.approx(0.8)
    assert out["non_eu_share"] == pytest.approx(5 / 15) and out["rising"]
    assert out["top_countries"] == [("UK", 2), ("US", 2)]
    assert out["top_organisations"] == [("MIT", "US", 2), ("Oxford", "UK", 2)]  # ties by name
