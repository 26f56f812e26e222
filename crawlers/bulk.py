"""Base spider for bulk open-data files (zip or tar of per-record files, or one record file).

A bulk file is fetched with a conditional request (ETag / Last-Modified from the spider's state
file) and its SHA-256 is compared with the last one parsed, so an unchanged monthly file is neither
downloaded nor parsed again. Content is sniffed, never trusted from the URL: an HTML error page
served with status 200, a truncated archive or a bad member is counted and skipped.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import scrapy

logger = logging.getLogger(__name__)


def parse_url_list(value) -> list[str]:
    """Accept a JSON list, a comma-separated string or a list of URLs (spider argument forms)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    value = str(value).strip()
    if value.startswith("["):
        return [str(v) for v in json.loads(value)]
    return [v.strip() for v in value.split(",") if v.strip()]


def sniff(body: bytes) -> str:
    """Name the container format of a body: zip, tar, xml, html or unknown."""
    head = body[:512].lstrip()
    if body[:4] == b"PK\x03\x04" or body[:4] == b"PK\x05\x06":
        return "zip"
    if head[:1] == b"<":
        lowered = head[:200].lower()
        return "html" if (b"<!doctype html" in lowered or b"<html" in lowered) else "xml"
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:*"):
            return "tar"
    except (tarfile.TarError, EOFError, zlib.error, OSError):
        return "unknown"


class BulkFileSpider(scrapy.Spider):
    """Fetch bulk files, yield one record's bytes at a time to `parse_record`."""

    kind = "project"
    member_suffixes: tuple[str, ...] = (".xml",)
    default_urls: list[str] = []
    custom_settings = {"DOWNLOAD_TIMEOUT": 600}

    def __init__(self, urls=None, since: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = parse_url_list(urls) or list(self.default_urls)
        self.since = since or None
        self.new_state: dict[str, dict] = {}

    # state ---------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return Path(self.settings.get("TRENDSCOUT_STATE_DIR", "data/state")) / f"{self.name}.json"

    def load_state(self) -> dict[str, dict]:
        try:
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            logger.warning("unreadable crawl state %s; fetching everything again", self.state_path)
            return {}

    def closed(self, reason: str) -> None:
        if not self.new_state:
            return
        state = self.load_state() | self.new_state
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.state_path)

    # requests ------------------------------------------------------------------------------
    async def start(self):
        state = self.load_state()
        for url in self.start_urls:
            headers = {}
            previous = state.get(url, {})
            if url.startswith("http") and previous.get("etag"):
                headers["If-None-Match"] = previous["etag"]
            if url.startswith("http") and previous.get("last_modified"):
                headers["If-Modified-Since"] = previous["last_modified"]
            yield scrapy.Request(url, headers=headers, callback=self.parse_bulk, errback=self.failed,
                                 meta={"dont_cache": True, "handle_httpstatus_list": [304]},
                                 cb_kwargs={"previous": previous}, dont_filter=True)

    def count(self, what: str, why: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"trendscout/{what}/{why}/{self.name}", n)

    def failed(self, failure):
        reason = type(failure.value).__name__
        status = getattr(getattr(failure.value, "response", None), "status", None)
        self.count("errors", f"http_{status}" if status else reason.lower())
        logger.error("%s: could not fetch %s: %s", self.name, failure.request.url, failure.value)

    # parsing -------------------------------------------------------------------------------
    def parse_bulk(self, response, previous: dict):
        if response.status == 304:
            self.count("unchanged", "not_modified")
            logger.info("%s: %s not modified since the last crawl", self.name, response.url)
            return
        digest = hashlib.sha256(response.body).hexdigest()
        if digest == previous.get("sha256"):
            self.count("unchanged", "same_content")
            logger.info("%s: %s has the content already parsed; skipping", self.name, response.url)
            return
        fmt = sniff(response.body)
        if fmt in ("html", "unknown"):
            self.count("errors", f"not_an_archive_{fmt}")
            logger.error("%s: %s is %s, not a bulk file (first bytes %r); skipped", self.name,
                         response.url, fmt, response.body[:40])
            return
        n_ok, self.damaged = 0, False
        for name, data in self.members(response.body, fmt):
            n_ok += 1
            yield from self.parse_record(name, data, response)
        if n_ok == 0 and not self.damaged:
            self.count("errors", "empty_archive")
        if n_ok == 0 or self.damaged:
            return  # not remembered as parsed: the next crawl tries this file again
        headers = response.headers
        self.new_state[response.url] = {
            "sha256": digest,
            "etag": (headers.get(b"ETag") or b"").decode("latin-1") or None,
            "last_modified": (headers.get(b"Last-Modified") or b"").decode("latin-1") or None,
            "parsed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "records": n_ok,
        }

    def members(self, body: bytes, fmt: str) -> Iterator[tuple[str, bytes]]:
        """Yield (name, bytes) of each record file; count and skip unreadable parts."""
        if fmt == "xml":
            yield "record.xml", body
            return
        try:
            if fmt == "zip":
                archive = zipfile.ZipFile(io.BytesIO(body))
                names = [n for n in archive.namelist() if n.lower().endswith(self.member_suffixes)]
                for name in names:
                    try:
                        yield name, archive.read(name)
                    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                        self.count("dropped", "bad_member")
                        logger.warning("%s: unreadable member %s: %s", self.name, name, exc)
            else:
                with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
                    for info in archive:
                        if info.isfile() and info.name.lower().endswith(self.member_suffixes):
                            handle = archive.extractfile(info)
                            if handle is not None:
                                yield info.name, handle.read()
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError) as exc:
            self.damaged = True
            self.count("errors", "bad_archive")
            logger.error("%s: damaged archive (%s); records read so far are kept", self.name, exc)

    def parse_record(self, name: str, data: bytes, response):
        raise NotImplementedError
