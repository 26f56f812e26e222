"""Item pipelines: validate and normalise, check dates, drop repeats, write the immutable raw feed file."""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import date
from pathlib import Path

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawlers.items import KINDS, DocumentItem, date_problem, plausible_updated

logger = logging.getLogger(__name__)

_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def normalise_text(text: str | None) -> str:
    """Collapse runs of spaces and blank lines; strip."""
    if not text:
        return ""
    text = _SPACES.sub(" ", text.replace("\u00a0", " "))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _drop(stats, reason: str, source: str, message: str):
    stats.inc_value(f"trendscout/dropped/{reason}/{source}")
    raise DropItem(message)


class ValidateDocumentPipeline:
    """Require an id, a known kind, a title or text, and enough text; normalise whitespace."""

    def __init__(self, stats, min_chars: int):
        self.stats, self.min_chars = stats, min_chars

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats, crawler.settings.getint("TRENDSCOUT_MIN_TEXT_CHARS", 40))

    def process_item(self, item, spider=None):
        if not isinstance(item, DocumentItem):
            raise TypeError(f"spiders must yield DocumentItem, got {type(item).__name__}")
        item.title = normalise_text(item.title)
        item.text = normalise_text(item.text)
        if not item.external_id:
            _drop(self.stats, "no_id", item.source, f"no external id: {item.url}")
        if item.kind not in KINDS:
            _drop(self.stats, "bad_kind", item.source, f"unknown kind {item.kind!r}: {item.url}")
        if len(item.text) < self.min_chars:
            _drop(self.stats, "short_text", item.source,
                  f"text under {self.min_chars} chars: {item.source}:{item.external_id}")
        self.stats.inc_value(f"trendscout/items/{item.source}")
        return item


def _iso_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


class PlausibleDatesPipeline:
    """Drop items dated outside the plausible range; never let `updated_on` pass today.

    A document's `published_on` places it in time: one dated 2099 (or 0001) would anchor the topic
    window, so it is dropped and counted (`dropped/date_in_future`, `date_too_early`, `unreadable_date`).
    `updated_on` becomes the source's watermark (the newest one is the next crawl's `since`): a future
    value is set to today and counted (`clamped/updated_on_future`), so one bad item cannot silence a source.
    """

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item, spider=None):
        published = _iso_date(item.published_on)
        if item.published_on and published is None:
            _drop(self.stats, "unreadable_date", item.source, f"unreadable date {item.published_on!r}")
        problem = published and date_problem(published, item.kind)
        if problem:
            _drop(self.stats, problem, item.source, f"{item.source}:{item.external_id} dated {published}")
        item.published_on = published.isoformat() if published else None
        given = _iso_date(item.updated_on)
        updated = plausible_updated(given)
        if updated is not None and updated < given:
            self.stats.inc_value(f"trendscout/clamped/updated_on_future/{item.source}")
        item.updated_on = updated.isoformat() if updated else None
        return item


class DropDuplicateItemsPipeline:
    """Drop an item whose id or canonical URL was already yielded in this crawl."""

    def __init__(self, stats):
        self.stats = stats
        self.seen: set[tuple[str, str]] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item, spider=None):
        keys = {(item.source, "id:" + item.external_id)}
        canonical = item.meta.get("canonical_url")
        if canonical:
            keys.add(("*", "url:" + canonical))
        if keys & self.seen:
            self.stats.inc_value(f"trendscout/duplicates/{item.source}")
            raise DropItem(f"duplicate in this crawl: {item.source}:{item.external_id}")
        self.seen |= keys
        return item


class WriteRawFeedPipeline:
    """Append items as JSON lines to `<raw_dir>/<source>/<run_id>.jsonl.part`; rename when finished.

    Only a crawl that closed leaves a `.jsonl` file, which ingest reads and never changes; a crawl
    killed hard leaves a `.part` file that ingest ignores (the next crawl fetches its items again).
    """

    def __init__(self, raw_dir: Path, run_id: str):
        self.raw_dir, self.run_id = raw_dir, run_id
        self.files: dict[str, object] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(Path(crawler.settings.get("TRENDSCOUT_RAW_DIR", "data/raw")),
                   crawler.settings.get("TRENDSCOUT_RUN_ID", "manual"))

    def _path(self, source: str) -> Path:
        return self.raw_dir / source / f"{self.run_id}.jsonl"

    def process_item(self, item, spider=None):
        handle = self.files.get(item.source)
        if handle is None:
            path = self._path(item.source)
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.files[item.source] = open(f"{path}.part", "w", encoding="utf-8")
        handle.write(json.dumps(ItemAdapter(item).asdict(), ensure_ascii=False) + "\n")
        return item

    def close_spider(self, spider=None):
        for source, handle in self.files.items():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            Path(f"{self._path(source)}.part").replace(self._path(source))
        self.files.clear()
