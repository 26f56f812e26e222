"""Base spider for news on cluster organisations' own sites, found through their sitemaps.

`urls` are sitemap, sitemap-index or robots.txt URLs. Entries whose `lastmod` is before `since`, or
unchanged since the last run (state file), are not fetched; article pages go through the same
extraction as feed articles.
"""

from __future__ import annotations

import logging

from scrapy.spiders import SitemapSpider
from scrapy.utils.sitemap import Sitemap

from crawlers.articles import ArticleHints, ArticleSpider, canonical_url, fix_placeholder_host
from crawlers.feeds import is_html_page

logger = logging.getLogger(__name__)

# Path fragments of news-like pages in several EU languages; `-a paths=<regex>` replaces it per run.
ARTICLE_PATHS = (r"/(news|articles?|press|blog|community-news|content|actualites?|aktuelles|noticias|notizie"
                 r"|nieuws)/")


class ArticleSitemapSpider(ArticleSpider, SitemapSpider):
    """Read sitemaps (index, urlset, robots.txt), follow article entries to their pages."""

    sitemap_rules = [(ARTICLE_PATHS, "parse_article")]
    custom_settings = {"DOWNLOAD_MAXSIZE": 50 * 1024 * 1024}  # the sitemap protocol's limit per file

    def __init__(self, *args, paths: str | None = None, **kwargs):
        if paths:
            self.sitemap_rules = [(paths, "parse_article")]
        super().__init__(*args, **kwargs)
        self.listed: dict[str, tuple[str, ArticleHints]] = {}
        self.sitemap_url = ""

    async def start(self):
        for url in self.start_urls:
            yield self.request(url, self._parse_sitemap)

    def sitemap_filter(self, entries):
        for entry in entries:
            entry["loc"] = fix_placeholder_host(entry["loc"], self.sitemap_url)
            lastmod = (entry.get("lastmod") or "")[:10] or None
            key = canonical_url(entry["loc"])
            hints = ArticleHints(source_url=self.sitemap_url, updated_on=lastmod)
            if self.is_new(key, lastmod or key, lastmod, hints):
                self.listed[entry["loc"]] = (key, hints)
                yield entry

    def _parse_sitemap(self, response):
        # SitemapSpider builds its requests without errback or article hints; add both here.
        self.sitemap_url = response.url
        if not response.url.endswith("/robots.txt"):
            body = self._get_sitemap_body(response)
            if not body or is_html_page(body) or Sitemap(body).type not in ("urlset", "sitemapindex"):
                self.count("errors", "not_a_sitemap")
                logger.warning("%s: %s is not a sitemap", self.name, response.url)
                return
        for request in super()._parse_sitemap(response):
            if request.callback == self.parse_article:
                key, hints = self.listed.pop(request.url, (canonical_url(request.url), ArticleHints(response.url)))
                request = request.replace(cb_kwargs={"hints": hints, "key": key, "stamp": hints.updated_on or key})
            yield request.replace(errback=self.failed)
