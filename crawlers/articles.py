"""News article pages: canonical URLs and main-text extraction (trafilatura + htmldate), shared by news spiders."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import trafilatura
from htmldate import find_date
from scrapy.http import HtmlResponse

from crawlers.base import SourceSpider
from crawlers.items import DocumentItem, Organisation
from crawlers.middlewares import DEFAULT_PORTS

logger = logging.getLogger(__name__)

# Drupal sites with a misconfigured base URL publish links on this host (ECCP feeds and sitemaps).
PLACEHOLDER_HOSTS = frozenset({"default"})


def fix_placeholder_host(url: str, base_url: str) -> str:
    """Resolve `url` against `base_url` and move links on a placeholder host to the base URL's host."""
    url = urljoin(base_url, url.strip())
    parts = urlsplit(url)
    if parts.hostname in PLACEHOLDER_HOSTS:
        base = urlsplit(base_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
    return url


def canonical_url(url: str) -> str:
    """Scheme + host + path: the key under which a cross-posted article is counted once."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), (parts.hostname or "").lower() + _port(parts), parts.path or "/", "", ""))


_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


def without_tracking(url: str) -> str:
    """Drop tracking parameters (utm_*, fbclid, ...): the same article listed by two feeds gets one URL."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith(_TRACKING)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _port(parts) -> str:
    default = DEFAULT_PORTS.get(parts.scheme.lower())
    return f":{parts.port}" if parts.port and parts.port != default else ""


@dataclass
class ArticleHints:
    """What a feed entry or sitemap entry already says about an article."""

    source_url: str  # the feed or sitemap that listed it
    title: str | None = None
    published_on: str | None = None
    updated_on: str | None = None
    language: str | None = None
    publisher: str | None = None
    tags: list[str] = field(default_factory=list)


def page_language(response) -> str | None:
    """Primary language subtag from `<html lang>` or the Content-Language header."""
    lang = response.xpath("/html/@lang").get() or (response.headers.get(b"Content-Language") or b"").decode()
    lang = lang.split(",")[0].strip().split("-")[0].split("_")[0].lower()
    return lang or None


def extract_article(response, hints: ArticleHints, *, source: str, kind: str) -> DocumentItem | None:
    """Build an item from an article page; None when it has no main text (boilerplate-only or empty)."""
    # Pass bytes: trafilatura detects the encoding itself, which survives pages that lie about it.
    doc = trafilatura.bare_extraction(response.body, url=response.url, with_metadata=True,
                                      include_comments=False, include_tables=False)
    if doc is None or not (doc.text or "").strip():
        return None
    canonical = canonical_url(fix_placeholder_host(doc.url or response.url, response.url))
    published = hints.published_on or find_date(response.body, url=response.url, original_date=True)
    updated = find_date(response.body, url=response.url, original_date=False) or hints.updated_on
    publisher = doc.sitename or hints.publisher or urlsplit(response.url).hostname
    return DocumentItem(
        source=source,
        kind=kind,
        external_id=canonical,
        url=without_tracking(response.url),
        title=doc.title or hints.title or "",
        text=doc.text,
        published_on=published,
        updated_on=max(filter(None, [updated, published])) if (updated or published) else None,
        language=page_language(response) or hints.language,
        organisations=[Organisation(name=publisher, role="publisher")] if publisher else [],
        codes={"tags": sorted(set(hints.tags) | set(doc.tags or []))} if (hints.tags or doc.tags) else {},
        meta={"canonical_url": canonical, "listed_in": hints.source_url, "author": doc.author,
              "description": doc.description, "site": urlsplit(canonical).hostname},
    )


class ArticleSpider(SourceSpider):
    """Follow article links found in feeds or sitemaps; yield one news item per article page.

    The state file maps each article's canonical URL to the date stamp it was listed with, so an
    article is fetched again only when its listing date changes.
    """

    kind = "news"
    custom_settings = {"DOWNLOAD_MAXSIZE": 10 * 1024 * 1024}  # feeds, sitemaps and article pages are small

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requested: dict[str, ArticleHints | None] = {}

    def is_new(self, key: str, stamp: str, day: str | None, hints: ArticleHints | None = None) -> bool:
        """Count and refuse articles listed before `since`, already fetched in this crawl, or unchanged.

        A second listing of an article already requested in this crawl adds its tags to the first
        listing's hints, so the item does not depend on which feed happened to be read first.
        """
        if self.since and day and date.fromisoformat(day[:10]) < self.since:
            self.count("skipped", "before_since")
            return False
        if key in self.requested:
            first = self.requested[key]
            if first is not None and hints is not None:
                first.tags = sorted(set(first.tags) | set(hints.tags))
            self.count("skipped", "already_seen")
            return False
        if self.state.get("seen", {}).get(key) == stamp:
            self.count("skipped", "already_seen")
            return False
        self.requested[key] = hints
        return True

    def parse_article(self, response, hints: ArticleHints, key: str, stamp: str):
        if not isinstance(response, HtmlResponse):
            self.count("dropped", "not_html")
            return
        item = extract_article(response, hints, source=self.name, kind=self.kind)
        if item is None:
            self.count("dropped", "no_text")
            logger.info("%s: no main text in %s", self.name, response.url)
            return
        self.state.setdefault("seen", {})[key] = stamp
        canonical = item.external_id
        if canonical != key and not response.meta.get("is_canonical"):
            # A republished copy: keep the original instead, fetched once from its canonical URL.
            if self.is_new(canonical, stamp, None, hints):
                yield self.request(canonical, self.parse_article, meta={"is_canonical": True},
                                   cb_kwargs={"hints": hints, "key": canonical, "stamp": stamp})
            return
        yield item
