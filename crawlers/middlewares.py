"""Downloader and spider middlewares: URL schemes, credentials, robots.txt exemptions, `Retry-After`, and
callback exceptions counted per source.

What a source serves is untrusted: a link it lists may name any scheme or host, so only http(s) is
fetched for URLs a spider found, and API credentials go only to the origin the settings configured.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse, urlsplit

from scrapy import Request
from scrapy.exceptions import CloseSpider, IgnoreRequest
from w3lib.url import file_uri_to_path

logger = logging.getLogger(__name__)

WEB_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedUrl(IgnoreRequest):
    """A request the crawler will not send (counted under `trendscout/dropped/<reason>/<source>`)."""


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in: two ports of one host are two origins."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(scheme)


def _spider_name(spider) -> str:
    return getattr(spider, "name", "") or "unknown"


class UrlSchemeMiddleware:
    """Fetch only http(s), except the local files the settings named as a spider's start URLs.

    A feed entry, sitemap `loc` or API field may link `file:/etc/passwd`, `file:/dev/zero` or `data:...`;
    Scrapy has handlers for those schemes and its file handler ignores `DOWNLOAD_MAXSIZE`. Such a request
    is refused and counted (`trendscout/dropped/unsafe_scheme/<source>`). A configured file must be a
    regular file no larger than `DOWNLOAD_MAXSIZE`, and is never reached through a redirect.
    """

    def __init__(self, crawler):
        self.crawler, self.stats = crawler, crawler.stats
        self.configured: dict[str, set[str]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _configured(self, spider) -> set[str]:
        name = _spider_name(spider)
        if name not in self.configured:  # the URLs as Scrapy normalises them
            self.configured[name] = {Request(url).url for url in getattr(spider, "start_urls", [])}
        return self.configured[name]

    def process_request(self, request, spider=None):
        spider = spider or self.crawler.spider
        scheme = urlparse(request.url).scheme.lower()
        if scheme in WEB_SCHEMES:
            return None
        if scheme == "file" and request.url in self._configured(spider) and "redirect_urls" not in request.meta:
            reason = self._local_file_problem(request, spider)
            if reason is None:
                return None
        else:
            reason = "unsafe_scheme"
        self.stats.inc_value(f"trendscout/dropped/{reason}/{_spider_name(spider)}")
        logger.warning("%s: refused %s (%s)", _spider_name(spider), request.url[:200], reason)
        raise RefusedUrl(f"{reason}: {request.url[:200]}")

    def _local_file_problem(self, request, spider) -> str | None:
        try:
            info = os.stat(file_uri_to_path(request.url))
        except OSError:
            return None  # let the download fail and be counted as an error like any missing URL
        if not stat.S_ISREG(info.st_mode):
            return "local_file_not_regular"
        limit = request.meta.get("download_maxsize", self.crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        return "local_file_too_large" if limit and info.st_size > limit else None


class CredentialsMiddleware:
    """Attach a spider's API credentials only to requests for an origin its settings configured.

    A spider names the headers it authenticates with (`credential_headers`) and builds them in
    `credentials(request)`. They are removed from every request first, so a redirect to another host,
    port or scheme (whose request Scrapy copies with all headers, `X-Api-Key` included) never carries them.
    """

    def __init__(self, crawler):
        self.crawler, self.stats = crawler, crawler.stats
        self.allowed: dict[str, set[tuple[str, str, int | None]]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _allowed(self, spider) -> set[tuple[str, str, int | None]]:
        name = _spider_name(spider)
        if name not in self.allowed:
            self.allowed[name] = {origin(url) for url in getattr(spider, "start_urls", [])
                                  if urlparse(url).scheme in WEB_SCHEMES}
        return self.allowed[name]

    def process_request(self, request, spider=None):
        spider = spider or self.crawler.spider
        names = getattr(spider, "credential_headers", ())
        if not names:
            return None
        for name in names:
            request.headers.pop(name, None)
        if origin(request.url) in self._allowed(spider):
            request.headers.update(spider.credentials(request))
        else:
            self.stats.inc_value(f"trendscout/auth/withheld_other_origin/{_spider_name(spider)}")
            logger.warning("%s: no credentials sent to %s, which is not the configured API origin",
                           _spider_name(spider), urlsplit(request.url).netloc)
        return None


class CallbackErrorsMiddleware:
    """Count an exception raised in a spider callback as `trendscout/errors/exception_<type>/<source>`.

    The crawl goes on with the next response; the spider's `callback_failed(response, exc)` hook lets it
    remember what was lost (keep.eu retries the record next run instead of moving its watermark past it).
    """

    def __init__(self, crawler):
        self.crawler, self.stats = crawler, crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_exception(self, response, exception, spider=None):
        if isinstance(exception, CloseSpider):
            return None  # a spider's deliberate stop (OPS quota, no token): Scrapy closes the crawl
        spider = spider or self.crawler.spider
        kind = type(exception)
        reason = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"
        self.stats.inc_value(f"trendscout/errors/exception_{reason}/{_spider_name(spider)}")
        logger.error("%s: %s raised while parsing %s: %s", _spider_name(spider), reason, response.url,
                     str(exception)[:300])
        hook = getattr(spider, "callback_failed", None)
        if hook is not None:
            hook(response, exception)
        return []


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
        # OPS requests are paced by OpsTrafficMiddleware, which reads OPS's Retry-After in milliseconds
        if response.status in (429, 503) and not request.meta.get("ops_service"):
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None:
                wait = min(wait, self.max_wait)
                self.stats.inc_value("trendscout/retry_after/waits")
                logger.info("%s answered %s; waiting %.1fs as Retry-After asks", request.url,
                            response.status, wait)
                await asyncio.sleep(wait)
        return response
