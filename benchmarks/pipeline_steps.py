"""Wall time and peak memory of each nightly step for N real documents.

By default builds a zip of N CORDIS project XML files from the shared corpus and starts with the crawl;
with `--corpus arxiv` it loads the first N arXiv abstracts with `trendscout ingest` instead (for sizes
beyond CORDIS's 19k). Each step runs as its own `trendscout` process and reports its wall time and
peak resident memory (os.wait4), followed by a second nightly run with nothing new.

    .venv/bin/python benchmarks/pipeline_steps.py --n 5000 [--embedder all-MiniLM-L6-v2] [--out DIR]
    .venv/bin/python benchmarks/pipeline_steps.py --corpus arxiv --n 50000 --embedder static:models/static/m2v
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TARBALL = SHARED / "cordis-horizon-europe" / "original" / "horizon-projects-xml.tar.xz"
ARXIV = SHARED / "arxiv-archive-2007-2019" / "papers.parquet"
LATER_STEPS = [("embed", ["embed"]), ("enrich", ["nightly", "--until", "enrich"]),
               ("topics fit", ["topics", "refit"]), ("detect", ["detect"]), ("digest", ["digest"]),
               ("nightly, nothing new", ["nightly", "--digest"])]


def build_zip(n: int, path: Path) -> int:
    count = 0
    with tarfile.open(TARBALL) as archive, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for member in archive:
            if member.isfile() and member.name.endswith(".xml"):
                out.writestr(member.name.rsplit("/", 1)[-1], archive.extractfile(member).read())
                count += 1
                if count == n:
                    break
    return count


def run_step(args: list[str], config: Path) -> tuple[float, float, int]:
    """Run one CLI command; return (seconds, peak RSS in MiB, exit code)."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child: become the trendscout process
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execv(sys.executable, [sys.executable, "-m", "pipelines.cli", "--quiet", "--config", str(config), *args])
    _, status, usage = os.wait4(pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--embedder", default="all-MiniLM-L6-v2")
    parser.add_argument("--corpus", choices=["cordis", "arxiv"], default="cordis")
    parser.add_argument("--out", type=Path, default=None, help="work directory (default: a temporary one)")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="trendscout-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    embedder = args.embedder
    if embedder.startswith("static:"):
        embedder = "static:" + str(Path(embedder.split(":", 1)[1]).resolve())
    if args.corpus == "cordis":
        if not TARBALL.exists():
            sys.exit(f"needs the shared CORDIS corpus at {TARBALL}")
        n = build_zip(args.n, work / "cordis.zip")
        steps = [("crawl", ["crawl"]), ("ingest", ["ingest"]), *LATER_STEPS]
    else:
        import pandas as pd

        frame = pd.read_parquet(ARXIV, columns=["id", "title", "text", "date"]).head(args.n)
        frame.to_parquet(work / "arxiv.parquet")
        n = len(frame)
        steps = [("ingest", ["ingest", str(work / "arxiv.parquet"), "--source", "arxiv", "--kind", "news"]),
                 *LATER_STEPS]
    config = work / "trendscout.toml"
    config.write_text(f'data_dir = "data"\nmodels_dir = "models"\nreports_dir = "reports"\n'
                      f'[sources.cordis]\nenabled = {"true" if args.corpus == "cordis" else "false"}\n'
                      f'urls = ["cordis.zip"]\n[nlp]\nembedder = "{embedder}"\n')
    print(f"# pipeline steps on {n} {args.corpus} documents, embedder {args.embedder}, work dir {work}")
    print(f"{'step':<22}{'seconds':>10}{'peak MiB':>10}{'exit':>6}")
    total = rerun = 0.0
    for name, cli_args in steps:
        seconds, peak, code = run_step(cli_args, config)
        if name.startswith("nightly"):
            rerun = seconds
        else:
            total += seconds
        print(f"{name:<22}{seconds:>10.1f}{peak:>10.0f}{code:>6}", flush=True)
    print(f"{'full run (sum)':<22}{total:>10.1f}")
    print(f"nothing-new run costs {100 * rerun / total:.1f}% of the full run")


if __name__ == "__main__":
    main()
