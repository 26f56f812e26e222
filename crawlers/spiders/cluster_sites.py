"""News from cluster organisations' own websites and the ECCP, through their sitemaps."""

from __future__ import annotations

from crawlers.sitemaps import ArticleSitemapSpider


class ClusterSitesSpider(ArticleSitemapSpider):
    """One item per news page in the sitemaps of the configured sites (`urls`: sitemap or robots.txt URLs).

    The default reads the ECCP's robots.txt for its Sitemap lines; the sites of individual cluster
    organisations are listed in the run settings and arrive as `urls`.
    """

    name = "cluster_sites"
    kind = "news"
    default_urls = ["https://www.clustercollaboration.eu/robots.txt"]
