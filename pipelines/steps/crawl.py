"""Crawl step: run the enabled sources' spiders in a child process; raw feeds land in data/raw.

This is the only place that turns our Settings into Scrapy settings. Scrapy's reactor can start
once per process, so each crawl runs in a fresh child process and reports its stats back as JSON.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import Settings
from pipelines.store import Store

logger = logging.getLogger(__name__)


def _spider_loader():
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.spiderloader import SpiderLoader

    project = ScrapySettings()
    project.setmodule("crawlers.settings", priority="project")
    return SpiderLoader.from_settings(project)


def known_sources() -> dict[str, list[str]]:
    """Every spider in the crawlers project with the real entry points it uses when given no URLs."""
    loader = _spider_loader()
    return {name: list(getattr(loader.load(name), "default_urls", [])) for name in sorted(loader.list())}


def scrapy_settings(settings: Settings, run_id: str) -> dict:
    """Our settings as Scrapy settings for one run (no secrets: spiders read those from the env)."""
    crawl = settings.crawl
    frontier = {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": crawl.redis_url,
        "SCHEDULER_PERSIST": True,  # a machine that finishes first must not clear the queue the others share
    } if crawl.redis_frontier else {}
    return {
        **frontier,
        "USER_AGENT": crawl.user_agent,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_per_domain,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "HTTPCACHE_ENABLED": crawl.http_cache,
        "HTTPCACHE_DIR": str(settings.data_dir / "httpcache"),
        "DOWNLOAD_TIMEOUT": crawl.timeout_s,
        "TRENDSCOUT_MIN_TEXT_CHARS": crawl.min_text_chars,
        "TRENDSCOUT_RAW_DIR": str(settings.raw_dir),
        "TRENDSCOUT_RUN_ID": run_id,
        "TRENDSCOUT_STATE_DIR": str(settings.data_dir / "state" / "crawl"),
        "TRENDSCOUT_REQUESTS_PER_MINUTE": crawl.requests_per_minute,
        "TRENDSCOUT_ROBOTS_EXEMPT": {name: src.robots_exempt for name, src in settings.sources.items()
                                     if src.robots_exempt},
        "LOG_LEVEL": "INFO",
    }


def _run_spiders(project_settings: dict, jobs: dict[str, dict], stats_path: str) -> None:
    """Child-process entry point: crawl every job, then write each spider's stats to `stats_path`."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings as ScrapySettings

    from pipelines.logs import configure_logging

    scrapy_settings_ = ScrapySettings()
    scrapy_settings_.setmodule("crawlers.settings", priority="project")
    scrapy_settings_.setdict(project_settings, priority="cmdline")
    process = CrawlerProcess(scrapy_settings_, install_root_handler=False)
    configure_logging()  # after Scrapy's own logging set-up, which opens the root logger to DEBUG
    crawlers = {}
    for name, args in jobs.items():
        crawlers[name] = process.create_crawler(name)
        process.crawl(crawlers[name], **args)
    process.start()
    stats = {name: {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
             for name, crawler in crawlers.items()}
    Path(stats_path).write_text(json.dumps(stats, default=str), encoding="utf-8")


def crawl(store: Store, settings: Settings, run_id: str, bars: Bars, *,
          sources: list[str] | None = None, since: str | None = None) -> StepResult:
    """Crawl the enabled (or the named) sources; count items, drops and errors per source."""
    result = StepResult("crawl")
    known = known_sources()
    names = sources or [n for n, s in settings.sources.items() if s.enabled]
    unknown = [n for n in names if n not in known]
    for name in unknown:
        result.error(f"{name}: no spider of that name (known: {', '.join(known)})")
    names = [n for n in names if n in known]
    if not names:
        result.status = "failed" if unknown else "ok"
        return result
    jobs = {}
    for name in names:
        source = settings.source(name)
        args = {**{k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in source.options.items()}}
        if source.urls:
            args["urls"] = json.dumps(source.urls)
        watermark = since or _watermark(store, name)
        if watermark:
            args["since"] = watermark
        jobs[name] = args
        logger.info("crawl %s: %d URL(s), since %s", name, len(source.urls) or 0, watermark or "the start")
    stats_path = settings.data_dir / "state" / "stats" / f"{run_id}.json"
    stats_path.parent.mkdir(parents=True, exist_ok=True)
    child = multiprocessing.get_context("spawn").Process(
        target=_run_spiders, args=(scrapy_settings(settings, run_id), jobs, str(stats_path)))
    child.start()
    child.join()
    if child.exitcode != 0 or not stats_path.exists():
        result.status = "failed"
        result.error(f"the crawler process ended with exit code {child.exitcode}")
        return result
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    _summarise(stats, result)
    with store.transaction() as con:
        for name in names:
            con.execute("INSERT OR REPLACE INTO source_state VALUES (?, ?, current_timestamp)", [name, run_id])
    if all(_failed(stats.get(n, {}), n) for n in names):
        result.status = "failed"  # no source delivered anything, and each had errors
    return result


def _failed(spider_stats: dict, name: str) -> bool:
    """A source failed when it had errors and delivered nothing: no items, nothing found unchanged."""
    delivered = spider_stats.get(f"trendscout/items/{name}", 0) + sum(
        v for k, v in spider_stats.items() if k.startswith(("trendscout/unchanged/", "trendscout/skipped/")))
    errors = sum(v for k, v in spider_stats.items() if k.startswith("trendscout/errors/"))
    return errors > 0 and delivered == 0


def _summarise(stats: dict[str, dict], result: StepResult) -> None:
    """Fold each spider's trendscout/* stats keys into the step's counts, skips and errors."""
    for name, spider_stats in stats.items():
        per_reason: dict[str, int] = defaultdict(int)
        for key, value in spider_stats.items():
            parts = key.split("/")
            if len(parts) < 3 or parts[0] != "trendscout":
                continue
            what, why = parts[1], parts[2]
            if what == "items":
                result.count(**{f"items_{name}": value})
            elif what == "dropped":
                result.skip(f"{name}/{why}", value)
            elif what == "errors":
                per_reason[why] += value
            elif what in ("unchanged", "duplicates", "clamped"):
                result.count(**{f"{what}_{name}": value})
            elif what == "skipped":  # seen before or older than the watermark: not new, not an error
                result.count(**{f"not_new_{name}": value})
        for why, value in per_reason.items():
            result.error(f"{name}: {value} x {why}")
        if spider_stats.get("finish_reason") not in (None, "finished"):
            result.error(f"{name}: finished with {spider_stats.get('finish_reason')}")


def _watermark(store: Store, source: str) -> str | None:
    """The newest `updated_on` among the source's documents, never past today: fetch what changed since then."""
    value = store.scalar("SELECT max(updated_on) FROM documents WHERE source = ?", [source])
    value = min(value, datetime.now(UTC).date()) if value else None
    return value.isoformat() if value else None
