"""Cluster and industry news from EU feeds: DG GROW, DG RTD, EISMEA, CINEA and CORDIS news."""

from __future__ import annotations

from crawlers.feeds import FeedSpider

# Feed and listing URLs from research/sources.md (§7-§9); those marked "verify" there are unconfirmed live.
DEFAULT_FEEDS = [
    "https://single-market-economy.ec.europa.eu/node/2/rss_en",  # DG GROW news
    "https://single-market-economy.ec.europa.eu/node/2046/rss_en",  # DG GROW industry
    "https://research-and-innovation.ec.europa.eu/node/2/rss_en?f%5B0%5D=topic_topic%3A150",  # DG RTD
    "https://eismea.ec.europa.eu/news_en",  # EISMEA: ECL listing page (no feed URL known)
    "https://cinea.ec.europa.eu/news-events/news_en.rss",
    "https://cordis.europa.eu/news/rss",  # CORDIS news (verify)
    "https://cordis.europa.eu/article/rss",  # CORDIS articles incl. Results in Brief (verify)
]


class ClusterNewsSpider(FeedSpider):
    """One item per article listed in the feeds; cross-posted articles are counted once by canonical URL."""

    name = "cluster_news"
    kind = "news"
    default_urls = DEFAULT_FEEDS
