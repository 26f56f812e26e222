"""Base spider for RSS/Atom news feeds: parse each feed with feedparser, follow entries to the article page.

Europa Web Publishing Platform listing pages (`.../news_en`, ECL `article.ecl-content-item` markup) are read
as feeds too, for agencies whose feed URL is not known.

Incremental: entries older than `since` are skipped, and the state file remembers each article's canonical
URL with the entry's date stamp, so an unchanged entry is not fetched again on the next run.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import date
from xml.sax import SAXParseException

import feedparser
from scrapy.http import HtmlResponse

from crawlers.articles import ArticleHints, ArticleSpider, canonical_url, fix_placeholder_host

logger = logging.getLogger(__name__)

# Drupal theme-debug comments and stray whitespace or BOMs can precede the XML declaration.
_FEED_START = re.compile(rb"<\?xml|<rss|<feed|<rdf:RDF", re.IGNORECASE)


def strip_leading_junk(body: bytes) -> bytes:
    """Drop anything before the XML declaration or the feed's root element."""
    match = _FEED_START.search(body[:65536])
    return body[match.start():] if match else body


def is_html_page(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def entry_date(entry, *keys: str) -> str | None:
    """The first of the entry's parsed dates (feedparser's UTC struct_time) as an ISO date."""
    for key in keys:
        value = entry.get(f"{key}_parsed")
        if value:
            return date(*value[:3]).isoformat()
    return None


def feed_entries(feed_url: str, feed) -> list[tuple[str | None, ArticleHints]]:
    """(link, hints) for each entry of a feedparser result."""
    return [(entry.get("link"), ArticleHints(
        source_url=feed_url, title=entry.get("title"), published_on=entry_date(entry, "published", "updated"),
        updated_on=entry_date(entry, "updated", "published"), language=feed.feed.get("language"),
        publisher=feed.feed.get("title"), tags=[t.term for t in entry.get("tags", []) if t.get("term")],
    )) for entry in feed.entries]


def listing_entries(response) -> list[tuple[str | None, ArticleHints]]:
    """(link, hints) for each ECL content item of a Europa listing page."""
    entries = []
    for article in response.css("article.ecl-content-item"):
        day = (article.css("time::attr(datetime)").get() or "")[:10] or None
        entries.append((article.css(".ecl-content-block__title a::attr(href)").get(), ArticleHints(
            source_url=response.url, title=article.css(".ecl-content-block__title a ::text").get(),
            published_on=day, updated_on=day,
            tags=article.css(".ecl-content-block__primary-meta-item ::text").getall(),
        )))
    return entries


class FeedSpider(ArticleSpider):
    """Follow every entry of every feed in `start_urls` to its article and yield one news item each."""

    async def start(self):
        for url in self.start_urls:
            yield self.request(url, self.parse_feed)

    def parse_feed(self, response):
        body = strip_leading_junk(response.body)
        if is_html_page(body):
            if isinstance(response, HtmlResponse) and response.css("article.ecl-content-item"):
                yield from self.follow_entries(response, listing_entries(response))
                return
            self.count("errors", "html_instead_of_xml")
            logger.warning("%s: %s is an HTML page, not a feed", self.name, response.url)
            return
        # A BytesIO, never the bytes: feedparser opens a str or bytes that looks like a path or URL itself.
        feed = feedparser.parse(io.BytesIO(body), response_headers={"content-type": response.headers.get(
            b"Content-Type", b"application/xml").decode("latin-1"), "content-location": response.url})
        if isinstance(feed.get("bozo_exception"), SAXParseException):
            # feedparser's lenient parser may still recover entries; count the feed, keep what it recovered
            self.count("errors", "malformed_xml")
            logger.warning("%s: malformed feed %s: %s", self.name, response.url, feed.bozo_exception)
        elif not feed.entries:
            self.count("errors", "empty_feed")
            logger.warning("%s: no entries in %s", self.name, response.url)
        yield from self.follow_entries(response, feed_entries(response.url, feed))

    def follow_entries(self, response, entries):
        for link, hints in entries:
            if not link:
                self.count("dropped", "no_link")
                continue
            link = fix_placeholder_host(link, response.url)
            key = canonical_url(link)
            stamp = hints.updated_on or key
            if self.is_new(key, stamp, hints.updated_on, hints):
                yield self.request(link, self.parse_article, cb_kwargs={"hints": hints, "key": key, "stamp": stamp})
