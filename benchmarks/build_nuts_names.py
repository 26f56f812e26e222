"""Build pipelines/views/data/nuts_names.csv (NUTS code, name, level) from the CORDIS Horizon Europe XML.

Source: the CORDIS "HORIZON projects" XML distribution (CC BY 4.0, "CORDIS, European Commission /
Publications Office"), whose organisations carry their NUTS 2021 region chain (country .. NUTS-3) with
the Eurostat names. Run: python benchmarks/build_nuts_names.py [PATH to the .zip or .tar(.xz)].
"""

from __future__ import annotations

import csv
import sys
import tarfile
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

from crawlers.cordis_xml import parse_project

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO.parent / "shared/data/cordis-horizon-europe/original/horizon-projects-xml.tar.xz"
OUT = REPO / "pipelines/views/data/nuts_names.csv"


def _members(path: Path):
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".xml"):
                    yield z.read(name)
    else:
        with tarfile.open(path) as t:
            for m in t:
                if m.isfile() and m.name.endswith(".xml"):
                    yield t.extractfile(m).read()


def main(path: Path = DEFAULT) -> None:
    votes: dict[str, Counter] = defaultdict(Counter)
    for data in _members(path):
        for code, name in (parse_project(data).meta.get("nuts_names") or {}).items():
            votes[code][name] += 1
    rows = sorted((code, names.most_common(1)[0][0], len(code) - 2) for code, names in votes.items()
                  if 2 <= len(code) <= 5 and code[:2].isalpha())
    with OUT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "name", "level"])
        writer.writerows(rows)
    print(f"{len(rows)} NUTS codes -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
