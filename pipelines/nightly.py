"""The nightly job: crawl -> ingest -> embed -> enrich -> topics -> detect -> forecast (-> digest), in `runs`.

A failed step is logged and recorded; the steps that depend on it are skipped, the others run.
Every step selects the work that is missing, so a killed run finishes its work when run again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pipelines.logs import Bars
from pipelines.ops.lock import StoreLock
from pipelines.ops.retention import retention
from pipelines.runs import RunRecorder, StepResult, new_run_id
from pipelines.settings import Settings
from pipelines.steps.crawl import crawl
from pipelines.steps.detect import detect
from pipelines.steps.digest import write_digest
from pipelines.steps.embed import embed
from pipelines.steps.enrich import enrich
from pipelines.steps.forecast import forecast
from pipelines.steps.ingest import ingest
from pipelines.steps.topics import topics_step
from pipelines.store import Store

logger = logging.getLogger(__name__)

STEPS = ("crawl", "ingest", "embed", "enrich", "topics", "detect", "forecast", "digest", "retention")
DEPENDS_ON = {"enrich": "embed", "topics": "embed", "detect": "topics", "forecast": "detect", "digest": "detect"}


@dataclass
class NightlyReport:
    run_id: str
    results: list[StepResult]
    exit_code: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        return "\n".join([f"run {self.run_id}"] + [f"  {r.summary()}" for r in self.results])


def run_nightly(settings: Settings, *, sources: list[str] | None = None, until: str | None = None,
                digest: bool | None = None, bars: Bars | None = None) -> NightlyReport:
    """Run the nightly steps up to `until`; write the digest when asked or on the configured weekday."""
    bars = bars or Bars()
    run_id = new_run_id()
    if digest is None:
        digest = settings.digest.weekday == datetime.now(UTC).isoweekday()
    steps: dict[str, Callable[[Store], StepResult]] = {
        "crawl": lambda s: crawl(s, settings, run_id, bars, sources=sources),
        "ingest": lambda s: ingest(s, settings.raw_dir, bars),
        "embed": lambda s: embed(s, settings.nlp, bars),
        "enrich": lambda s: enrich(s, settings, bars),
        "topics": lambda s: topics_step(s, settings, bars),
        "detect": lambda s: detect(s, settings.trends, run_id),
        "forecast": lambda s: forecast(s, settings.forecast),
        "digest": lambda s: write_digest(s, settings)[0],
        "retention": lambda s: retention(s, settings),  # raw files, old models and backups past their time
    }
    wanted = list(STEPS[: STEPS.index(until) + 1] if until else STEPS)
    if not digest and until != "digest" and "digest" in wanted:
        wanted.remove("digest")
    with StoreLock(settings.data_dir, run_id), Store.open(settings.store_path) as store:
        run = RunRecorder(store, "nightly", run_id)
        failed: set[str] = set()
        for name in wanted:
            if DEPENDS_ON.get(name) in failed:
                result = StepResult(name, status="skipped")
                result.error(f"skipped because {DEPENDS_ON[name]} failed")
                failed.add(name)
            else:
                logger.info("%s: start", name)
                try:
                    result = steps[name](store)
                except Exception as exc:  # a failed step must not stop the others
                    logger.exception("%s failed", name)
                    result = StepResult(name, status="failed")
                    result.error(f"{type(exc).__name__}: {exc}")
                if result.status == "failed":
                    failed.add(name)
            run.record(result)
        code = run.finish()
    return NightlyReport(run_id, run.results, code)
