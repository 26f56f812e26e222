"""Near-duplicate precision and recall on perturbed real texts (prints numbers; not a test).

Real CORDIS objectives are re-posted with different boilerplate, truncated, or lightly edited,
and mixed with distinct real objectives. The originals arrive on night 1, the re-posts and more
distinct texts on night 2 (`find_canonical` with `existing`). A predicted pair is two documents
with the same canonical id; we report pairwise precision and recall against the planted pairs.

Usage: .venv/bin/python benchmarks/eval_dedupe.py [--sample 400] [--seed 0]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nlp.dedupe import find_canonical, minhash_signatures

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cordis-horizon-europe"
HEADERS = ["Share this article: Facebook | X | LinkedIn | E-mail\n", "Home > News > Research\n\n",
           "PRESS RELEASE - For immediate release\n"]
FOOTERS = ["\n\nSubscribe to our newsletter to receive the latest cluster news.",
           "\n\nOriginally published by the project consortium. All rights reserved.",
           "\n\nRead more: https://example.org/news/12345 | Contact: press@example.org"]


def perturb(text: str, kind: str, rng: np.random.Generator) -> str:
    """A re-post of `text`: new boilerplate, a truncation, or small word edits (plus boilerplate)."""
    boiler = lambda t: HEADERS[rng.integers(len(HEADERS))] + t + FOOTERS[rng.integers(len(FOOTERS))]  # noqa: E731
    words = text.split()
    if kind == "boilerplate":
        return boiler(text)
    if kind == "truncation":
        return " ".join(words[: int(len(words) * rng.uniform(0.8, 0.9))]) + " [...]"
    edited = [w.upper() if rng.random() < 0.03 else w for w in words if rng.random() > 0.02]
    return boiler(" ".join(edited).replace(".", ";", 2))


def pairs(groups: pd.Series) -> set[tuple[str, str]]:
    return {tuple(sorted(p)) for _, ids in groups.groupby(groups) for p in itertools.combinations(ids.index, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=400, help="originals (half get a re-post)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    texts = pd.read_parquet(DATA / "projects.parquet", columns=["id", "text"]).drop_duplicates("text")
    texts = texts.sample(2 * args.sample, random_state=args.seed)["text"].tolist()
    originals, distinct = texts[: args.sample], texts[args.sample:]
    kinds = ["boilerplate", "truncation", "edits"]
    reposts = [(f"r{i}", perturb(originals[i], kinds[i % 3], rng), f"o{i}") for i in range(0, args.sample, 2)]
    night1 = pd.DataFrame({"doc_id": [f"o{i}" for i in range(args.sample)], "text": originals,
                           "published_on": "2026-01-01"})
    night2 = pd.DataFrame({"doc_id": [r[0] for r in reposts] + [f"d{i}" for i in range(len(distinct))],
                           "text": [r[1] for r in reposts] + distinct, "published_on": "2026-01-02"})
    truth = {tuple(sorted((r[0], r[2]))) for r in reposts}
    started = time.time()
    for night in (night1, night2):
        night["signature"] = list(minhash_signatures(night["text"].tolist()))
    print(f"signatures for {len(night1) + len(night2)} texts in {time.time() - started:.1f}s; "
          f"{len(truth)} planted re-posts ({', '.join(kinds)}), {len(distinct) + args.sample - len(truth)} singles")
    for threshold in (0.5, 0.6, 0.7, 0.8):
        first = find_canonical(night1, threshold=threshold)
        existing = night1.assign(canonical_id=first["canonical_id"].to_numpy())
        second = find_canonical(night2, existing, threshold=threshold)
        groups = pd.concat([first, second]).set_index("doc_id")["canonical_id"]
        found = pairs(groups)
        precision = len(found & truth) / len(found) if found else float("nan")
        recall = len(found & truth) / len(truth)
        by_kind = {k: np.mean([tuple(sorted((r[0], r[2]))) in found for j, r in enumerate(reposts) if j % 3 == i])
                   for i, k in enumerate(kinds)}
        print(f"threshold {threshold}: precision {precision:.3f}, recall {recall:.3f} "
              f"(recall by kind: {', '.join(f'{k} {v:.2f}' for k, v in by_kind.items())})")


if __name__ == "__main__":
    main()
