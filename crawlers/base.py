"""Base spider for every trendscout source: spider arguments, persisted state, error counting, JSON bodies.

Every spider takes `urls` (a JSON list or comma-separated string replacing its real entry points; a plain
path becomes a `file:` URL) and `since` (an ISO date watermark). State that must survive between nightly runs lives in
`<TRENDSCOUT_STATE_DIR>/<name>.json`, read at start and written when the spider closes.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as tx_error

from crawlers.middlewares import RefusedUrl

logger = logging.getLogger(__name__)

_FAILURE_REASONS = (
    ((DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError, TimeoutError), "timeout"),
    ((CannotResolveHostError, tx_error.DNSLookupError), "dns"),
    ((DownloadConnectionRefusedError, tx_error.ConnectionRefusedError), "connection_refused"),
    ((DownloadCancelledError,), "too_large"),  # DOWNLOAD_MAXSIZE is what cancels downloads here
    ((ResponseDataLossError,), "data_loss"),
)


def parse_url_list(value) -> list[str]:
    """Accept a JSON list, a comma-separated string or a list of URLs (spider argument forms)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        urls = [str(v) for v in value]
    elif str(value).strip().startswith("["):
        urls = [str(v) for v in json.loads(str(value))]
    else:
        urls = [v.strip() for v in str(value).split(",") if v.strip()]
    return [url if "://" in url or url.startswith(("file:", "data:")) else Path(url).resolve().as_uri()
            for url in urls]


def failure_reason(exc: BaseException) -> str:
    """Name why a request failed, for the `trendscout/errors/<reason>/<source>` stats key."""
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        if "max redirections" in message:
            return "redirect_loop"
        return "robots_forbidden" if "robots.txt" in message else "ignored"
    for types, reason in _FAILURE_REASONS:
        if isinstance(exc, types):
            return reason
    return type(exc).__name__.lower()


def parse_since(value: str | None) -> date | None:
    """Read the `since` argument (an ISO date or datetime); None when absent."""
    return date.fromisoformat(str(value)[:10]) if value else None


class SourceSpider(scrapy.Spider):
    """Arguments, state file, request errback and stats helpers shared by all trendscout spiders."""

    kind = "news"
    default_urls: list[str] = []
    # API limits that no run setting may loosen: requests per minute for this spider (None = no limit);
    # `TRENDSCOUT_REQUESTS_PER_MINUTE = {"<name>": n}` overrides it (0 switches it off, e.g. in tests).
    requests_per_minute: float | None = None
    # Headers this spider authenticates with; CredentialsMiddleware sets them from `credentials(request)`
    # on requests to the configured API origin only.
    credential_headers: tuple[str, ...] = ()

    def __init__(self, urls=None, since: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = parse_url_list(urls) or list(self.default_urls)
        self.since = parse_since(since)
        self.state: dict[str, Any] = {}

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        limit = settings.getdict("TRENDSCOUT_REQUESTS_PER_MINUTE").get(cls.name, cls.requests_per_minute)
        if limit:
            # Set above cmdline priority: a run-wide DOWNLOAD_DELAY must not break an API's rate limit.
            delay = max(settings.getfloat("DOWNLOAD_DELAY"), 60.0 / float(limit))
            settings.set("DOWNLOAD_DELAY", delay, priority=50)
            settings.set("DOWNLOAD_DELAY_JITTER", 0.0, priority=50)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.state = spider.load_state()
        return spider

    # state ---------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return Path(self.settings.get("TRENDSCOUT_STATE_DIR", "data/state")) / f"{self.name}.json"

    def load_state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            logger.warning("%s: unreadable crawl state %s; starting afresh", self.name, self.state_path)
            return {}

    def save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.state_path)

    def closed(self, reason: str) -> None:
        self.save_state()

    # requests and failures ----------------------------------------------------------------
    def count(self, what: str, why: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"trendscout/{what}/{why}/{self.name}", n)

    def request(self, url: str, callback, **kwargs) -> scrapy.Request:
        """A request that counts its failure under `trendscout/errors/<reason>/<name>`.

        Spiders deduplicate what they request themselves; Scrapy's duplicate filter is bypassed because it
        would silently swallow the second hop of a redirect loop instead of letting it fail and be counted.
        """
        kwargs.setdefault("dont_filter", True)
        return scrapy.Request(url, callback=callback, errback=self.failed, **kwargs)

    def credentials(self, request) -> dict[str, str]:
        """Authentication headers for a request to the configured API origin."""
        return {}

    def callback_failed(self, response, exc: BaseException) -> None:
        """Called when a callback raised (already counted): remember what was lost, if anything."""

    def failed(self, failure):
        if isinstance(failure.value, RefusedUrl):
            return  # counted as dropped by UrlSchemeMiddleware: the source's fault, not a fetch error
        reason = failure_reason(failure.value)
        self.count("errors", reason)
        logger.warning("%s: %s failed: %s", self.name, failure.request.url, reason)

    def json_body(self, response) -> Any:
        """Decode a JSON response; count and return None for HTML error pages or malformed JSON."""
        head = response.body[:200].lstrip().lower()
        if head.startswith((b"<!doctype", b"<html", b"<")):
            self.count("errors", "html_instead_of_json")
            logger.warning("%s: %s answered HTML where JSON was expected", self.name, response.url)
            return None
        try:
            return json.loads(response.body)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
            self.count("errors", "malformed_json")
            logger.warning("%s: %s answered malformed JSON", self.name, response.url)
            return None
