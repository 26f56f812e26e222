"""Does relatedness density predict which themes a region enters? A held-out-in-time check on CORDIS (prints numbers).

Regions: NUTS-2 of every participating organisation (CORDIS's own codes), a project split over its organisations'
regions (fractional weights summing to 1). Themes: the project's EuroSciVoc fields cut to their third level
("natural sciences/biological sciences/genetics", 289 fields), split the same way; projects without EuroSciVoc are
left out. This is a cheap, honest theme assignment from CORDIS's own codes, not the topic model. `--themes text`
instead clusters the projects' title and objective (nlp.embed.HashingEmbedder, 256 dimensions, k-means with
`--k` clusters) fitted on the projects signed before the split only; later projects go to the nearest centroid.
Before: projects signed up to 2023-12-31; after: signed 2024-01-01 .. 2025-12-31. RCA, proximity and relatedness
density (nlp.geography) from the before-matrix; a region enters a theme when RCA < 1 before and >= 1 after, and exits
when RCA >= 1 before and < 1 after. Baseline in the same run: the region's number of projects before (size).

Usage: .venv/bin/python benchmarks/regions_entry.py [--min-projects 20] [--level 3] [--themes codes|text] [--k 200]
       [--boot 200]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from nlp.embed import HashingEmbedder
from nlp.geography import measure, rca, region_theme_matrix

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cordis-horizon-europe"
SPLIT, END = "2023-12-31", "2025-12-31"


def load(level: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """places (doc_id, region, weight), themes (doc_id, topic_id), signature date per project."""
    projects = pd.read_parquet(DATA / "projects.parquet", columns=["id", "ec_signature_date", "euroscivoc_paths"])
    orgs = pd.read_parquet(DATA / "organizations.parquet", columns=["project_id", "nuts_code"])
    orgs = orgs[orgs["nuts_code"].str.len() >= 4]
    places = pd.DataFrame({"doc_id": orgs["project_id"], "region": orgs["nuts_code"].str[:4], "weight": 1.0})
    fields = projects[["id", "euroscivoc_paths"]].dropna().set_index("id")["euroscivoc_paths"].str.split(";").explode()
    fields = fields.str.strip("/").str.split("/").str[:level].str.join("/")
    themes = fields[fields.str.count("/") == level - 1].rename("topic_id").rename_axis("doc_id").reset_index()
    return places, themes.drop_duplicates(), projects.set_index("id")["ec_signature_date"]


def text_themes(k: int) -> pd.DataFrame:
    """doc_id, topic_id: k-means on hashed title + objective, fitted on the projects signed up to SPLIT."""
    from sklearn.cluster import KMeans

    projects = pd.read_parquet(DATA / "projects.parquet", columns=["id", "ec_signature_date", "title", "text"])
    vectors = HashingEmbedder(256).encode((projects["title"].fillna("") + ". " + projects["text"].fillna("")).tolist())
    before = (projects["ec_signature_date"] <= SPLIT).to_numpy()
    model = KMeans(n_clusters=k, n_init=1, random_state=0).fit(vectors[before])
    return pd.DataFrame({"doc_id": projects["id"], "topic_id": model.predict(vectors)})


def auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else float("nan")


def boot_auc(frame: pd.DataFrame, outcome: str, columns: list[str], reps: int, seed: int = 0) -> dict:
    """95% intervals of each column's AUC and of the difference first - second, resampling regions."""
    rng = np.random.default_rng(seed)
    groups = {r: g for r, g in frame.groupby("region")}
    names = list(groups)
    draws = []
    for _ in range(reps):
        sample = pd.concat([groups[names[i]] for i in rng.integers(0, len(names), len(names))])
        values = [auc(sample[outcome].to_numpy(), sample[c].to_numpy()) for c in columns]
        draws.append(values + [values[0] - values[1]])
    lo, hi = np.nanpercentile(np.array(draws), [2.5, 97.5], axis=0)
    return {name: (lo[i], hi[i]) for i, name in enumerate([*columns, "difference"])}


def within_theme_ols(frame: pd.DataFrame, outcome: str, regressors: list[str]) -> np.ndarray:
    """Linear probability model with theme fixed effects (variables demeaned within theme): the slopes."""
    cols = [outcome, *regressors]
    demeaned = frame[cols] - frame.groupby("topic_id")[cols].transform("mean")
    slopes, *_ = np.linalg.lstsq(demeaned[regressors].to_numpy(), demeaned[outcome].to_numpy(), rcond=None)
    return slopes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-projects", type=float, default=20.0, help="region size (projects, fractional) before")
    parser.add_argument("--level", type=int, default=3, help="EuroSciVoc depth of a theme")
    parser.add_argument("--themes", choices=["codes", "text"], default="codes",
                        help="EuroSciVoc fields (codes) or k-means clusters of the text (text)")
    parser.add_argument("--k", type=int, default=200, help="clusters for --themes text")
    parser.add_argument("--boot", type=int, default=200, help="bootstrap draws over regions (0: none)")
    args = parser.parse_args()
    started = time.perf_counter()
    places, themes, signed = load(args.level)
    if args.themes == "text":
        themes = text_themes(args.k)
    before_ids = signed.index[signed <= SPLIT]
    after_ids = signed.index[(signed > SPLIT) & (signed <= END)]
    before = region_theme_matrix(places[places["doc_id"].isin(before_ids)], themes[themes["doc_id"].isin(before_ids)])
    after = region_theme_matrix(places[places["doc_id"].isin(after_ids)], themes[themes["doc_id"].isin(after_ids)])
    size = before.sum(axis=1)
    regions = size.index[size >= args.min_projects].intersection(after.index[after.sum(axis=1) > 0])
    columns = before.columns.intersection(after.columns)
    # measures on the whole before-matrix (every region counts for proximity), outcomes on the kept regions
    g = measure(before[columns], rca_threshold=1.0)
    rca_after = rca(after.loc[:, columns]).reindex(index=g.rca.index, fill_value=0.0)
    frame = pd.DataFrame({"rca_before": g.rca.stack(), "rca_after": rca_after.stack(), "density": g.density.stack()})
    frame = frame.rename_axis(["region", "topic_id"]).reset_index()
    frame = frame[frame["region"].isin(regions)]
    frame["size"] = np.log(frame["region"].map(size))
    entry = frame[frame["rca_before"] < 1].copy()
    entry["y"] = (entry["rca_after"] >= 1).astype(float)
    leave = frame[frame["rca_before"] >= 1].copy()
    leave["y"] = (leave["rca_after"] < 1).astype(float)
    leave["low_density"], leave["small"] = -leave["density"], -leave["size"]

    kind = f"EuroSciVoc level {args.level}" if args.themes == "codes" else f"{args.k} text clusters (hashing, k-means)"
    print(f"CORDIS Horizon Europe, NUTS-2 x {kind}: {len(before_ids)} projects signed by "
          f"{SPLIT}, {len(after_ids)} in 2024-2025; {len(regions)} regions with >= {args.min_projects:g} projects "
          f"before, {len(columns)} themes")
    print(f"entry: {int(entry['y'].sum())} of {len(entry)} region-theme pairs without RCA enter "
          f"({entry['y'].mean():.1%}); exit: {int(leave['y'].sum())} of {len(leave)} specialisations end "
          f"({leave['y'].mean():.1%})")
    print("\n| outcome | AUC relatedness density | AUC region size (baseline) |\n|---|---|---|")
    ci_entry = boot_auc(entry, "y", ["density", "size"], args.boot) if args.boot else {}
    ci_exit = boot_auc(leave, "y", ["low_density", "small"], args.boot) if args.boot else {}

    def cell(frame, col, ci, key):
        value = auc(frame["y"].to_numpy(), frame[col].to_numpy())
        return f"{value:.3f}" + (f" [{ci[key][0]:.3f}, {ci[key][1]:.3f}]" if ci else "")

    print(f"| entry | {cell(entry, 'density', ci_entry, 'density')} | {cell(entry, 'size', ci_entry, 'size')} |")
    print(f"| exit (lower density / smaller region) | {cell(leave, 'low_density', ci_exit, 'low_density')}"
          f" | {cell(leave, 'small', ci_exit, 'small')} |")
    if ci_entry:
        print(f"\nAUC difference density - size, 95% region bootstrap ({args.boot} draws): entry "
              f"[{ci_entry['difference'][0]:+.3f}, {ci_entry['difference'][1]:+.3f}], exit "
              f"[{ci_exit['difference'][0]:+.3f}, {ci_exit['difference'][1]:+.3f}]")

    entry["decile"] = pd.qcut(entry["density"].rank(method="first"), 10, labels=False) + 1
    table = entry.groupby("decile").agg(density_from=("density", "min"), density_to=("density", "max"),
                                        pairs=("y", "size"), entries=("y", "sum"), p_entry=("y", "mean"))
    print("\nEntry probability by relatedness-density decile:\n\n| decile | density | pairs | entries | P(entry) |"
          "\n|---|---|---|---|---|")
    for d, r in table.iterrows():
        print(f"| {d} | {r.density_from:.1f}-{r.density_to:.1f} | {int(r.pairs)} | {int(r.entries)} | "
              f"{r.p_entry:.1%} |")

    base = entry["y"].mean()
    (b_only,) = within_theme_ols(entry, "y", ["density"])
    b_density, b_size = within_theme_ols(entry, "y", ["density", "size"])
    print(f"\nEffect of +10 points of relatedness density (0-100 scale), linear probability model with theme fixed "
          f"effects:\n- density alone: {10 * b_only:+.2%} points of P(entry), {10 * b_only / base:+.0%} relative to "
          f"the mean entry rate {base:.1%}\n- with log region size: {10 * b_density:+.2%} points "
          f"({10 * b_density / base:+.0%} relative); log size slope {b_size:+.3f}\n- Boschma, Balland & Kogler "
          "(2015, 366 US cities, USPTO 1981-2010): +10 % relatedness density -> about +30 % probability of entry")
    print(f"\n({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
