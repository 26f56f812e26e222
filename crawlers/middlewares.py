"""Downloader middlewares: explicit robots.txt exemptions and waiting for `Retry-After`."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

logger = logging.getLogger(__name__)


class RobotsExemptionMiddleware:
    """Let a request through robots.txt only where the settings name its path prefix for its spider.

    CORDIS disallows `/data/` in robots.txt although its official open-data files live there; a human
    has to opt in per source (`TRENDSCOUT_ROBOTS_EXEMPT = {"cordis": ["/data/"]}`), and every exempted
    request is logged. Everything else stays under Scrapy's RobotsTxtMiddleware.
    """

    def __init__(self, exempt: dict[str, list[str]], crawler):
        self.exempt = exempt
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getdict("TRENDSCOUT_ROBOTS_EXEMPT"), crawler)

    def process_request(self, request, spider=None):
        name = getattr(spider or self.crawler.spider, "name", "")
        path = urlparse(request.url).path
        if any(path.startswith(prefix) for prefix in self.exempt.get(name, [])):
            if not request.meta.get("dont_obey_robotstxt"):
                logger.warning("robots.txt exemption for %s (setting sources.%s.robots_exempt): %s",
                               name, name, request.url)
                self.stats.inc_value(f"trendscout/robots_exempt/{name}")
            request.meta["dont_obey_robotstxt"] = True
        return None


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date. None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class RetryAfterMiddleware:
    """Wait as long as a 429/503 answer's `Retry-After` asks (capped) before RetryMiddleware retries."""

    def __init__(self, max_wait: float, stats):
        self.max_wait = max_wait
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getfloat("TRENDSCOUT_RETRY_AFTER_MAX", 300.0), crawler.stats)

    async def process_response(self, request, response, spider=None):
        if response.status in (429, 503):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None:
                wait = min(wait, self.max_wait)
                self.stats.inc_value("trendscout/retry_after/waits")
                logger.info("%s answered %s; waiting %.1fs as Retry-After asks", request.url,
                            response.status, wait)
                await asyncio.sleep(wait)
        return response
