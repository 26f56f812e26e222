"""EPO OPS traffic light: per-service request spacing from `X-Throttling-Control`, and the bearer token.

Every OPS answer carries `X-Throttling-Control: busy (retrieval=green:200, search=yellow:15, ...)`: a colour
and an allowance in requests per minute per service. Requests to a service are spaced 60/allowance seconds,
twice that on yellow, four times on red; on black the service is suspended for `Retry-After` and the request
tried again. The bearer token is not set here but by CredentialsMiddleware (after this one has waited), only
for the configured OPS origin, so requests queued before a refresh use the new token and a redirect to another
host never carries it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from crawlers.middlewares import retry_after_seconds

logger = logging.getLogger(__name__)

_SERVICE = re.compile(r"(\w+)=(green|yellow|red|black):(\d+)")
SLOWDOWN = {"green": 1.0, "yellow": 2.0, "red": 4.0}
MAX_BLACK_RETRIES = 2


def parse_throttling(header: str) -> dict[str, tuple[str, int]]:
    """`busy (search=green:30, ...)` -> {"search": ("green", 30), ...}."""
    return {service: (colour, int(limit)) for service, colour, limit in _SERVICE.findall(header or "")}


def ops_retry_after(value: bytes | str | None) -> float | None:
    """OPS has been reported to send Retry-After in milliseconds: read values above 1000 as milliseconds."""
    seconds = retry_after_seconds(value)
    return seconds / 1000.0 if seconds is not None and seconds > 1000 else seconds


class OpsTrafficMiddleware:
    """Space requests per OPS service and pause a service on black."""

    def __init__(self, crawler, max_wait: float):
        self.crawler, self.stats, self.max_wait = crawler, crawler.stats, max_wait
        self.interval: dict[str, float] = {}
        self.next_at: dict[str, float] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.getfloat("TRENDSCOUT_RETRY_AFTER_MAX", 300.0))

    async def process_request(self, request, spider=None):
        service = request.meta.get("ops_service")
        if not service:
            return None
        async with self.locks.setdefault(service, asyncio.Lock()):
            wait = self.next_at.get(service, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.next_at[service] = time.monotonic() + self.interval.get(service, 0.0)
        return None

    def process_response(self, request, response, spider=None):
        spider = spider or self.crawler.spider
        lights = parse_throttling((response.headers.get(b"X-Throttling-Control") or b"").decode("latin-1"))
        for service, (colour, limit) in lights.items():
            if colour in SLOWDOWN and limit > 0:
                self.interval[service] = 60.0 / limit * SLOWDOWN[colour]
        service = request.meta.get("ops_service")
        colour = lights.get(service, ("green", 0))[0]
        if colour != "green" and service:
            self.stats.inc_value(f"trendscout/throttled/{colour}/{spider.name}")
        if colour == "black":
            return self._suspend(request, response, service, spider)
        return response

    def _suspend(self, request, response, service: str, spider):
        wait = ops_retry_after(response.headers.get(b"Retry-After"))
        tries = request.meta.get("ops_black_retries", 0)
        if wait is None or tries >= MAX_BLACK_RETRIES:
            logger.error("%s: OPS suspended the %s service; giving up on %s", spider.name, service, request.url)
            return response
        wait = min(wait, self.max_wait)
        logger.warning("%s: OPS %s service is black; pausing it %.1fs", spider.name, service, wait)
        self.next_at[service] = time.monotonic() + wait
        return request.replace(dont_filter=True, meta={**request.meta, "ops_black_retries": tries + 1})
