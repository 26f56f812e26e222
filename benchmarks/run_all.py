"""Run every benchmark and write benchmarks/RESULTS.md (machine, versions, date, each script's output).

Each script prints its own figures against the baseline it names, measured in the same run.
`--quick` uses small sizes (minutes); the default sizes are the ones the issues ask for (hours).

    .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name -> (arguments at full size, arguments for --quick)
BENCHMARKS = {
    "pipeline_steps": (["--n", "5000"], ["--n", "500", "--embedder", "hashing"]),
    "embed_throughput": (["--n", "1000"], ["--n", "200"]),
    "crawl_throughput": (["--pages", "300"], ["--pages", "100"]),
    "eval_regions": ([], ["--sample", "300", "--sentences", "100"]),
    "eval_sectors": ([], ["--sample", "30", "--calibration", "30"]),
    "eval_dedupe": ([], ["--sample", "200"]),
    "topics_stability": (["--twice"], ["--embedder", "m2v", "--refits", "1"]),
    "topics_sizes": ([], ["--sizes", "1000", "3000"]),
    "topics_quality": ([], []),
    "topics_cost": ([], ["fit", "5000"]),
    "backtest_compare": (["cordis", "patents", "acl"], ["patents"]),
    "regions_entry": (["--boot", "200"], ["--boot", "0"]),
}
VERSIONS = ("torch", "sentence-transformers", "bertopic", "umap-learn", "hdbscan", "duckdb", "scrapy", "pandas",
            "numpy", "model2vec")


def machine() -> list[str]:
    lines = [f"- date: {datetime.now(UTC).isoformat(timespec='seconds')}",
             f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
             f"- python: {platform.python_version()}"]
    try:
        total = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
        lines.append(f"- memory: {total:.1f} GiB")
    except (OSError, ValueError, IndexError):
        pass
    versions = []
    for dist in VERSIONS:
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return lines + ["- versions: " + ", ".join(versions)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    sections = ["# Benchmark results", "", *machine(), f"- sizes: {'quick' if args.quick else 'full'}", ""]
    for name, (full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        command = [sys.executable, str(HERE / f"{name}.py"), *(quick if args.quick else full)]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True)
        took = time.perf_counter() - start
        print(proc.stdout, flush=True)
        tail = proc.stdout.strip() or proc.stderr.strip()[-2000:]
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        sections += [f"## {name}", "", f"`{name}.py {' '.join(command[2:])}` — {status}, {took:.0f} s", "",
                     "```", tail, "```", ""]
        (HERE / "RESULTS.md").write_text("\n".join(sections), encoding="utf-8")  # after each: partial runs count
    print(f"wrote {HERE / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
