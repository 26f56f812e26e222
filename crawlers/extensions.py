"""Extensions: write a crawl's final stats as JSON for the job runner and the tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured


class WriteStatsExtension:
    """Write the crawl's stats to the path in setting `TRENDSCOUT_STATS_FILE` when the spider closes."""

    def __init__(self, path: Path, stats):
        self.path, self.stats = path, stats

    @classmethod
    def from_crawler(cls, crawler):
        path = crawler.settings.get("TRENDSCOUT_STATS_FILE")
        if not path:
            raise NotConfigured("TRENDSCOUT_STATS_FILE is not set")
        extension = cls(Path(path), crawler.stats)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider, reason):
        stats = {**self.stats.get_stats(), "finish_reason": reason}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(stats, default=_jsonable, indent=1, sort_keys=True), encoding="utf-8")


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else str(value)
