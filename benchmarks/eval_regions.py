"""Region accuracy on real CORDIS organisations (prints numbers; not a test).

1. Held-out placement: organisations left out of the registry are placed from name + city alone
   (and, second line, with their country) and compared with CORDIS's own NUTS-2/NUTS-3 codes.
2. News-like sentences generated from real organisations (registry members named by name or short
   name; held-out organisations by their city only); NUTS-2 accuracy of the strongest tag.

Usage: .venv/bin/python benchmarks/eval_regions.py [--sample 1000] [--sentences 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import re
import tarfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nlp.places import PlaceRegistry
from nlp.regions import RegionTagger

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cordis-horizon-europe"
_REGION = re.compile(rb"<name>([^<]*)</name>\s*<rcn>[^<]*</rcn>\s*<nutsCode>([^<]*)</nutsCode>")
ORG_TEMPLATES = [
    "{org} has opened a new pilot line for battery recycling.",
    "Researchers at {org} presented a low-cost sensor for water quality monitoring.",
    "The cluster welcomed {org} as a new member this week.",
    "{org} and three SMEs will test hydrogen trucks on regional roads.",
    "According to {org}, demand for recycled plastics keeps growing.",
]
CITY_TEMPLATES = [
    "A start-up from {city} raised 4 million euros for its robotics platform.",
    "The new innovation hub in {city} will host twenty companies.",
    "Regional authorities in {city} launched a call for digital health projects.",
    "{city} will host the cluster's annual matchmaking event in May.",
]


def load_orgs() -> pd.DataFrame:
    orgs = pd.read_parquet(DATA / "organizations.parquet")
    lat_lon = orgs["geolocation"].str.split(",", expand=True).apply(pd.to_numeric, errors="coerce")
    return orgs.assign(name=orgs["legal_name"], lat=lat_lon[0], lon=lat_lon[1])


def load_nuts_names() -> pd.DataFrame | None:
    """NUTS code -> name from the region chains in CORDIS's original project XML files."""
    path = DATA / "original" / "horizon-projects-xml.tar.xz"
    if not path.exists():
        return None
    names: dict[str, str] = {}
    with tarfile.open(path, "r|xz") as tar:
        for member in tar:
            if member.isfile():
                names.update((c.decode(), n.decode()) for n, c in _REGION.findall(tar.extractfile(member).read()))
    return pd.DataFrame({"code": list(names), "name": list(names.values())})


def news_name(org: pd.Series) -> str:
    """How news would write the organisation: its short name if it has one, else its legal name."""
    name = org["short_name"] if isinstance(org["short_name"], str) and len(org["short_name"]) > 2 \
        else org["legal_name"]
    return name.title() if name.isupper() and len(name.split()) >= 3 else name


def news_city(city: str) -> str:
    city = re.sub(r"\s*\(.*\)", "", city).strip()
    return city.title() if city.isupper() else city


def accuracy(pred: pd.Series, truth: pd.Series, length: int) -> float:
    hits = [isinstance(p, str) and len(p) >= length and p[:length] == t[:length] for p, t in zip(pred, truth,
                                                                                                 strict=True)]
    return float(np.mean(hits)) if hits else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=1000, help="held-out organisations")
    parser.add_argument("--sentences", type=int, default=300, help="generated sentences (half org, half city)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"no CORDIS data at {DATA}")
    rng = np.random.default_rng(args.seed)
    orgs = load_orgs()
    started = time.time()
    nuts_names = load_nuts_names()
    eligible = orgs[orgs["nuts_code"].str.len().eq(5) & orgs["city"].notna()].drop_duplicates("org_id")
    held_ids = set(rng.choice(eligible["org_id"].to_numpy(), size=args.sample, replace=False))
    held = eligible[eligible["org_id"].isin(held_ids)]
    registry = PlaceRegistry.from_frames(orgs[~orgs["org_id"].isin(held_ids)], nuts_names=nuts_names)
    tagger = RegionTagger(registry)
    print(f"registry: {len(registry.orgs):,} organisations, {len(registry.places):,} place names, "
          f"{len(registry.nuts_names):,} NUTS names; built in {time.time() - started:.1f}s")

    for label, use_country in (("name + city", False), ("name + city + country", True)):
        placed = [tagger.place_organisation(r.legal_name, r.city, r.country if use_country else None)
                  for r in held.itertuples()]
        pred = pd.Series([p["code"] if p else None for p in placed])
        print(f"held-out {len(held)} orgs, {label}: placed {pred.notna().mean():.3f}, "
              f"NUTS-2 acc {accuracy(pred, held['nuts_code'], 4):.3f}, "
              f"NUTS-3 acc {accuracy(pred, held['nuts_code'], 5):.3f}")

    members = eligible[~eligible["org_id"].isin(held_ids)].sample(args.sentences // 2, random_state=args.seed)
    cities = held.sample(min(len(held), args.sentences - len(members)), random_state=args.seed)
    sentences = [(ORG_TEMPLATES[i % len(ORG_TEMPLATES)].format(org=news_name(r)), r["nuts_code"], "organisation")
                 for i, (_, r) in enumerate(members.iterrows())]
    sentences += [(CITY_TEMPLATES[i % len(CITY_TEMPLATES)].format(city=news_city(r["city"])), r["nuts_code"],
                   "city") for i, (_, r) in enumerate(cities.iterrows())]
    frame = pd.DataFrame(sentences, columns=["text", "truth", "kind"])
    started = time.time()
    tags = tagger.tag(frame["text"].tolist())
    frame["pred"] = [t[0]["code"] if t else None for t in tags]
    print(f"tagged {len(frame)} sentences in {time.time() - started:.1f}s")
    for kind, part in [("all", frame), *frame.groupby("kind")]:
        print(f"sentences ({kind}, n={len(part)}): tagged {part['pred'].notna().mean():.3f}, "
              f"NUTS-2 acc {accuracy(part['pred'], part['truth'], 4):.3f}")
    misses = frame[[not (isinstance(p, str) and p[:4] == t[:4]) for p, t in zip(frame["pred"], frame["truth"],
                                                                                strict=True)]]
    print("examples of misses:")
    for row in misses.head(8).itertuples():
        print(f"  {row.truth} -> {row.pred}: {row.text}")


if __name__ == "__main__":
    main()
