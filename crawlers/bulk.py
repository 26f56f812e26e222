"""Base spider for bulk open-data files (zip or tar of per-record files, or one record file).

A bulk file is fetched with a conditional request (ETag / Last-Modified from the spider's state
file) and its SHA-256 is compared with the last one parsed, so an unchanged monthly file is neither
downloaded nor parsed again. Content is sniffed, never trusted from the URL: an HTML error page
served with status 200, a truncated archive or a bad member is counted and skipped.
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
    custom_settings = {"DOWNLOAD_TIMEOUT": 600}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.new_state: dict[str, dict] = {}
        self.damaged = False

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

    def parse_archive(self, members: Iterator[tuple[str, bytes]], response):
        """Yield the items of one bulk file's members; by default each member is one record."""
        for name, data in members:
            yield from self.parse_record(name, data, response)

    def parse_record(self, name: str, data: bytes, response):
        raise NotImplementedError
