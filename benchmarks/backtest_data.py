"""Corpus files for the backtests, built from the shared data (read at run time, written to benchmarks/out/).

- CORDIS Horizon Europe projects dated by `ec_signature_date`, with regions (every participant's NUTS-2)
  and sectors (the second level of each EuroSciVoc path, e.g. "computer and information sciences").
- PatentsView "neural network" and "baseball" query results, dated by grant date (no regions or sectors).
- ACL Anthology papers with an abstract from 2016 on (earlier years have abstracts for few venues),
  dated by year and month of publication.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "out"


def cordis_corpus() -> Path:
    path = OUT / "backtest-cordis.parquet"
    if path.exists():
        return path
    folder = SHARED / "cordis-horizon-europe"
    projects = pd.read_parquet(folder / "projects.parquet",
                               columns=["id", "title", "text", "ec_signature_date", "euroscivoc_paths"])
    orgs = pd.read_parquet(folder / "organizations.parquet", columns=["project_id", "nuts_code"])
    orgs = orgs[orgs["nuts_code"].str.len() >= 4].assign(nuts2=lambda f: f["nuts_code"].str[:4])
    regions = orgs.groupby("project_id")["nuts2"].agg(lambda s: ";".join(sorted(set(s))))
    sectors = projects["euroscivoc_paths"].fillna("").map(
        lambda s: ";".join(sorted({p.split("/")[2] for p in s.split(";") if p.count("/") >= 2})))
    frame = pd.DataFrame({"id": projects["id"].astype(str), "title": projects["title"], "text": projects["text"],
                          "date": projects["ec_signature_date"], "regions": projects["id"].astype(str).map(regions),
                          "sectors": sectors}).dropna(subset=["date"])
    OUT.mkdir(exist_ok=True)
    frame.to_parquet(path)
    return path


def patents_corpus() -> Path:
    path = OUT / "backtest-patents.parquet"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        pd.read_parquet(SHARED / "patents-patentsview-queries" / "patents.parquet",
                        columns=["id", "title", "text", "date"]).to_parquet(path)
    return path


def acl_corpus() -> Path:
    path = OUT / "backtest-acl.parquet"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        papers = pd.read_parquet(SHARED / "acl-anthology" / "papers.parquet",
                                 columns=["id", "title", "text", "date", "year", "has_abstract"])
        papers[papers["has_abstract"] & (papers["year"] >= 2016)][["id", "title", "text", "date"]].to_parquet(path)
    return path
