"""Zero-shot sector agreement with CORDIS thematic clusters (prints numbers; not a test).

Horizon Europe pillar-2 projects carry their cluster as legal basis (HORIZON.2.1 Health ...
HORIZON.2.6 Food, bioeconomy, ...); nlp/data/sector_codes.csv maps each cluster to taxonomy
sectors. Thresholds are fitted on a calibration sample (weak labels from its codes); the
evaluation sample is then labelled zero-shot from MiniLM embeddings alone, codes withheld, and
we report per cluster how often the labels agree with the cluster's sectors.

Usage: .venv/bin/python benchmarks/eval_sectors.py [--sample 100] [--calibration 60] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nlp.embed import embedding_input, load_embedder
from nlp.sectors import SectorClassifier, code_scores, load_taxonomy

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cordis-horizon-europe"
CLUSTERS = [f"HORIZON.2.{i}" for i in range(1, 7)]


def project_codes(row: pd.Series) -> dict[str, list[str]]:
    split = lambda v: [s for s in str(v or "").split(";") if s]  # noqa: E731
    return {"legal_basis": [row["legal_basis"]], "topic": split(row["topic_codes"]),
            "euroscivoc": split(row["euroscivoc_paths"])}


def agreement(labels: list[list[tuple[str, float]]], truth: list[set[str]]) -> tuple[float, float, float]:
    """Share labelled at all, share whose top label is a cluster sector, share with any cluster sector."""
    labelled = np.mean([bool(lab) for lab in labels])
    top1 = np.mean([bool(lab) and lab[0][0] in t for lab, t in zip(labels, truth, strict=True)])
    any_hit = np.mean([any(s in t for s, _ in lab) for lab, t in zip(labels, truth, strict=True)])
    return float(labelled), float(top1), float(any_hit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=100, help="evaluation projects per cluster")
    parser.add_argument("--calibration", type=int, default=60, help="calibration projects per cluster")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    projects = pd.read_parquet(DATA / "projects.parquet")
    projects = projects[projects["legal_basis"].isin(CLUSTERS)]
    picked = pd.concat(group.sample(min(len(group), args.sample + args.calibration), random_state=args.seed)
                       for _, group in projects.groupby("legal_basis"))
    picked["is_calibration"] = picked.groupby("legal_basis").cumcount() < args.calibration
    embedder = load_embedder(args.model)
    started = time.time()
    X = embedder.encode([embedding_input(t, x, 1000) for t, x in zip(picked["title"], picked["text"],
                                                                     strict=True)])
    print(f"embedded {len(picked)} projects with {embedder.name} in {time.time() - started:.0f}s")
    cal = picked["is_calibration"].to_numpy()
    codes = [project_codes(row) for _, row in picked.iterrows()]
    cal_codes, eval_codes = [c for c, m in zip(codes, cal, strict=True) if m], \
        [c for c, m in zip(codes, cal, strict=True) if not m]
    truth = [set(code_scores({"legal_basis": [lb]})) for lb in picked.loc[~cal, "legal_basis"]]
    variants = {
        "F1-calibrated on weak labels": SectorClassifier(embedder).fit(X[cal], codes=cal_codes),
        "quantile rule only (no labels)": SectorClassifier(embedder).fit(X[cal]),
    }
    n_sectors = len(load_taxonomy())
    for name, model in variants.items():
        labels = model.predict(X[~cal])
        print(f"\n{name}: {int(model.is_calibrated_.sum())} of {n_sectors} thresholds calibrated")
        print(f"{'cluster':<12} {'n':>4} {'labelled':>9} {'top-1':>6} {'any':>6} {'chance top-1':>13}")
        frame = picked[~cal].assign(_labels=labels, _truth=truth)
        for cluster, part in [*frame.groupby("legal_basis"), ("all", frame)]:
            labelled, top1, any_hit = agreement(part["_labels"].tolist(), part["_truth"].tolist())
            chance = np.mean([len(t) / n_sectors for t in part["_truth"]])
            print(f"{cluster:<12} {len(part):>4} {labelled:>9.2f} {top1:>6.2f} {any_hit:>6.2f} {chance:>13.2f}")
    with_codes = variants["F1-calibrated on weak labels"].predict(X[~cal], codes=eval_codes)
    labelled, top1, any_hit = agreement(with_codes, truth)
    print(f"\nwith codes (legal basis, topic, EuroSciVoc) given: top-1 {top1:.2f}, any {any_hit:.2f} "
          "(by construction; shows the code path)")


if __name__ == "__main__":
    main()
