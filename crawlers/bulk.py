"""Base spider for bulk open-data files (zip or tar of per-record files, or one record file).

A bulk file is fetched with a conditional request (ETag / Last-Modified from the spider's state
file) and its SHA-256 is compared with the last one parsed, so an unchanged monthly file is neither
downloaded nor parsed again. Content is sniffed, never trusted from the URL: an HTML error page
served with status 200, a truncated archive or a bad member is counted and skipped.

Members are read one at a time and never past `TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE` for their suffix (a 1 MB
zip can hold a 1 GB member); reading stops at `TRENDSCOUT_ARCHIVE_TOTAL_MAXSIZE` uncompressed bytes per archive.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import PurePosixPath

from crawlers.base import SourceSpider

logger = logging.getLogger(__name__)


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


class BulkFileSpider(SourceSpider):
    """Fetch bulk files, yield one record's bytes at a time to `parse_record`.

    State: per URL, the validators and SHA-256 of the last file parsed, saved when the spider closes.
    """

    kind = "project"
    member_suffixes: tuple[str, ...] = (".xml",)
    # The body is held in memory: room for the largest official distribution (H2020 XML), not more.
    custom_settings = {"DOWNLOAD_TIMEOUT": 600, "DOWNLOAD_MAXSIZE": 512 * 1024 * 1024}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.new_state: dict[str, dict] = {}
        self.damaged = False

    @cached_property
    def _member_limits(self) -> dict[str, int]:
        """`TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE` by lower-case suffix, read once (settings are frozen by then)."""
        return {k.lower(): int(v) for k, v in self.settings.getdict("TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE").items()}

    def member_maxsize(self, name: str) -> int:
        """The size limit for a member, by its suffix (`TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE`; the largest if unlisted)."""
        limits = self._member_limits
        return limits.get(PurePosixPath(name).suffix.lower(), max(limits.values(), default=256 * 1024 * 1024))

    @cached_property
    def total_maxsize(self) -> int:
        return self.settings.getint("TRENDSCOUT_ARCHIVE_TOTAL_MAXSIZE", 4 * 1024 * 1024 * 1024)

    def closed(self, reason: str) -> None:
        if self.new_state:
            self.state.update(self.new_state)
            self.save_state()

    async def start(self):
        for url in self.start_urls:
            headers = {}
            previous = self.state.get(url, {})
            if url.startswith("http") and previous.get("etag"):
                headers["If-None-Match"] = previous["etag"]
            if url.startswith("http") and previous.get("last_modified"):
                headers["If-Modified-Since"] = previous["last_modified"]
            yield self.request(url, self.parse_bulk, headers=headers, cb_kwargs={"previous": previous},
                               meta={"dont_cache": True, "handle_httpstatus_list": [304]})

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

        def counted():
            nonlocal n_ok
            for member in self.members(response.body, fmt):
                n_ok += 1
                yield member

        yield from self.parse_archive(counted(), response)
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
        """Yield (name, bytes) of each record file; count and skip unreadable or oversized parts."""
        if fmt == "xml":
            yield "record.xml", body
            return
        budget = self.total_maxsize
        try:
            for name, size, open_member in self._entries(body, fmt):
                limit = self.member_maxsize(name)
                if size > limit:
                    self.count("dropped", "member_too_large")
                    logger.warning("%s: member %s is %d bytes uncompressed, over the limit of %d; skipped",
                                   self.name, name, size, limit)
                    continue
                if size > budget:
                    self.damaged = True
                    self.count("errors", "archive_too_large")
                    logger.error("%s: archive expands past %d bytes; stopped before %s", self.name,
                                 self.total_maxsize, name)
                    return
                try:
                    with open_member() as handle:
                        data = handle.read(limit + 1)  # a lying header cannot make it read more
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    self.count("dropped", "bad_member")
                    logger.warning("%s: unreadable member %s: %s", self.name, name, exc)
                    continue
                if len(data) > limit:
                    self.count("dropped", "member_too_large")
                    continue
                budget -= len(data)
                yield name, data
        except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError) as exc:
            self.damaged = True
            self.count("errors", "bad_archive")
            logger.error("%s: damaged archive (%s); records read so far are kept", self.name, exc)

    def _entries(self, body: bytes, fmt: str):
        """(name, declared uncompressed size, opener) of each member with a record suffix."""
        if fmt == "zip":
            archive = zipfile.ZipFile(io.BytesIO(body))
            for info in archive.infolist():
                if not info.is_dir() and info.filename.lower().endswith(self.member_suffixes):
                    yield info.filename, info.file_size, lambda info=info: archive.open(info)
            return
        # streamed (no member list kept), in 1 MiB blocks: with the default 10 KiB each block re-slices all that is
        # decompressed, so skipping a member xz expands a thousandfold cost 27 s per 64 MB
        with tarfile.open(fileobj=io.BytesIO(body), mode="r|*", bufsize=1 << 20) as archive:
            for info in archive:
                if info.isfile() and info.name.lower().endswith(self.member_suffixes):
                    yield info.name, info.size, lambda info=info: archive.extractfile(info)

    def parse_archive(self, members: Iterator[tuple[str, bytes]], response):
        """Yield the items of one bulk file's members; by default each member is one record."""
        for name, data in members:
            yield from self.parse_record(name, data, response)

    def parse_record(self, name: str, data: bytes, response):
        raise NotImplementedError
