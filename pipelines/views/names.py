"""Names for the codes analysts read: NUTS regions ("Noord-Holland (NL32)") and sectors ("Biopharmaceuticals").

NUTS names come from the store's `nuts_regions` (the names CORDIS gives its organisations' regions) over a
NUTS 2021 table shipped in `views/data/nuts_names.csv`, built by `benchmarks/build_nuts_names.py` from the
CORDIS Horizon Europe XML distribution (CC BY 4.0, "CORDIS, European Commission / Publications Office").
CORDIS carries one name per region, Eurostat's national-language one ("Северозападен", BG31; countries in
English); no Latin-script (`NAME_LATN`) or English region names are available offline, so none are shown.
Sector names come from the taxonomy in `nlp/data/sectors.csv`.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

from nlp.sectors import load_taxonomy
from pipelines.store import Store


@lru_cache(maxsize=1)
def packaged_nuts_names() -> dict[str, str]:
    """NUTS code -> name from the shipped table."""
    with resources.files("pipelines.views").joinpath("data/nuts_names.csv").open(encoding="utf-8") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def nuts_names(store: Store) -> dict[str, str]:
    """NUTS code -> name: the store's names over the shipped table."""
    names = dict(packaged_nuts_names())
    frame = store.df("SELECT code, name FROM nuts_regions WHERE name IS NOT NULL")
    names.update(zip(frame["code"], frame["name"], strict=True))
    return names


def region_label(code: str | None, names: dict[str, str]) -> str:
    """'Noord-Holland (NL32)'; the bare code when no name is known."""
    if not code:
        return ""
    name = names.get(code)
    return f"{name} ({code})" if name and name != code else code


@lru_cache(maxsize=1)
def sector_names() -> dict[str, str]:
    """Sector slug -> label from the taxonomy."""
    taxonomy = load_taxonomy()
    return dict(zip(taxonomy["slug"], taxonomy["label"], strict=True))


def sector_label(slug: str | None) -> str:
    """The taxonomy's label of a sector slug; other labels (a source's own sector names) as they are."""
    return sector_names().get(slug or "", slug or "")
