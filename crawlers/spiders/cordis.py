"""CORDIS projects from the official bulk XML distribution (Horizon Europe by default; H2020, FP7 too)."""

from __future__ import annotations

import logging

from crawlers.bulk import BulkFileSpider
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

    def parse_record(self, name: str, data: bytes, response):
        try:
            item = parse_project(data, source=self.name)
        except RecordError as exc:
            self.count("dropped", exc.reason)
            logger.warning("cordis: skipped %s in %s: %s", name, response.url, exc)
            return
        yield item
