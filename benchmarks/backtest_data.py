"""Corpus files for the backtests, built from the shared data (read at run time, written to benchmarks/out/).

- CORDIS Horizon Europe projects dated by `ec_signature_date`, with regions (every participant's NUTS-2),
  sectors (the second level of each EuroSciVoc path, e.g. "computer and information sciences"), the
  call topic code as group and the coordinator as organisation (what a burst concentrates in).
- PatentsView "neural network" and "baseball" query results, dated by grant date (no regions or sectors).
- ACL Anthology papers with an abstract from 2016 on (earlier years have abstracts for few venues),
  dated by year and month of publication, with the venue (conference, workshop, shared task) as group.
- arXiv applied-CS / engineering / q-bio / physics / finance papers 2007-2019, a seeded sample of
  `ARXIV_SAMPLE` papers (the whole archive is 183k), dated by first submission; `arxiv_full_corpus`: all of them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "out"
ARXIV_SAMPLE = 20_000


def cordis_corpus() -> Path:
    path = OUT / "backtest-cordis.parquet"
    if path.exists():
        return path
    folder = SHARED / "cordis-horizon-europe"
    projects = pd.read_parquet(folder / "projects.parquet",
                               columns=["id", "title", "text", "ec_signature_date", "euroscivoc_paths", "topic_codes"])
    orgs = pd.read_parquet(folder / "organizations.parquet", columns=["project_id", "nuts_code", "role", "legal_name"])
    coordinators = orgs[orgs["role"] == "coordinator"].groupby("project_id")["legal_name"].first()
    orgs = orgs[orgs["nuts_code"].str.len() >= 4].assign(nuts2=lambda f: f["nuts_code"].str[:4])
    regions = orgs.groupby("project_id")["nuts2"].agg(lambda s: ";".join(sorted(set(s))))
    sectors = projects["euroscivoc_paths"].fillna("").map(
        lambda s: ";".join(sorted({p.split("/")[2] for p in s.split(";") if p.count("/") >= 2})))
    frame = pd.DataFrame({"id": projects["id"].astype(str), "title": projects["title"], "text": projects["text"],
                          "date": projects["ec_signature_date"], "regions": projects["id"].astype(str).map(regions),
                          "sectors": sectors, "group": projects["topic_codes"].fillna("").str.split(";").str[0],
                          "organisations": projects["id"].astype(str).map(coordinators)}).dropna(subset=["date"])
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
                                 columns=["id", "title", "text", "date", "year", "has_abstract", "venue"])
        papers = papers[papers["has_abstract"] & (papers["year"] >= 2016)].rename(columns={"venue": "group"})
        papers[["id", "title", "text", "date", "group"]].to_parquet(path)
    return path


def arxiv_corpus(sample: int | None = ARXIV_SAMPLE) -> Path:
    path = OUT / ("backtest-arxiv.parquet" if sample == ARXIV_SAMPLE else f"backtest-arxiv-{sample or 'full'}.parquet")
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        papers = pd.read_parquet(SHARED / "arxiv-archive-2007-2019" / "papers.parquet",
                                 columns=["id", "title", "text", "date"])
        papers = papers.sample(sample, random_state=13) if sample else papers
        papers.sort_values("date").to_parquet(path)
    return path


def arxiv_full_corpus() -> Path:
    return arxiv_corpus(None)
