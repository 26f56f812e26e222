"""CORDIS projects from the official bulk distributions (Horizon Europe by default; H2020, FP7 too).

The XML edition has one file per project; the CSV and JSON editions have one table per file
(project, organization, euroSciVoc, ...), recognised by those member names and joined per project.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from crawlers.bulk import BulkFileSpider
from crawlers.cordis_tables import TABLES, parse_tables, read_table
from crawlers.cordis_xml import RecordError, parse_project

logger = logging.getLogger(__name__)

HORIZON_XML = "https://cordis.europa.eu/data/cordis-HORIZONprojects-xml.zip"


class CordisSpider(BulkFileSpider):
    """One item per project record in each configured zip (or tar, or single XML file).

    CORDIS's robots.txt disallows `/data/`, where these official open-data files live; fetching them
    needs the explicit per-source setting `robots_exempt = ["/data/"]` (logged on every request).
    A changed file is parsed whole (a new project can carry an old update date), so `since` is not
    used to filter records; ingest updates only the records whose content changed.
    """

    name = "cordis"
    kind = "project"
    default_urls = [HORIZON_XML]
    member_suffixes = (".xml", ".csv", ".json")

    def parse_archive(self, members, response):
        tables: dict[str, list[dict[str, str]]] = {}
        for name, data in members:
            path = PurePosixPath(name)
            if path.suffix.lower() == ".xml":
                yield from self.parse_record(name, data, response)
            elif path.stem.lower() in TABLES:
                try:
                    tables[path.stem.lower()] = read_table(name, data)
                except (ValueError, UnicodeDecodeError) as exc:
                    self.count("errors", "bad_table")
                    logger.error("cordis: unreadable table %s in %s: %s", name, response.url, exc)
        if tables and "project" not in tables:
            self.count("errors", "no_project_table")
            logger.error("cordis: %s has tables %s but no project table", response.url, sorted(tables))
        for result in parse_tables(tables, source=self.name):
            if isinstance(result, RecordError):
                self.count("dropped", result.reason)
                logger.warning("cordis: skipped a project row in %s: %s", response.url, result)
            else:
                yield result

    def parse_record(self, name: str, data: bytes, response):
        try:
            item = parse_project(data, source=self.name)
        except RecordError as exc:
            self.count("dropped", exc.reason)
            logger.warning("cordis: skipped %s in %s: %s", name, response.url, exc)
            return
        yield item
