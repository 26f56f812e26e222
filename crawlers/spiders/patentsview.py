"""US patents from the PatentsView PatentSearch API (`X-Api-Key`, 45 requests per minute per key).

Arguments: `since` (patent_date watermark, default the last `window_days`), `size` (page size, at most 1000),
`query` (an extra PatentSearch filter as JSON, e.g. `{"cpc_current.cpc_subclass_id":"H01M"}`).
The key comes only from `PATENTSVIEW_API_KEY`. State: the latest patent date seen and the ids on that date,
so the next run starts there without yielding them again.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from crawlers.base import SourceSpider
from crawlers.items import DocumentItem, Organisation

logger = logging.getLogger(__name__)

FIELDS = ["patent_id", "patent_title", "patent_abstract", "patent_date", "patent_type",
          "application.filing_date", "assignees.assignee_organization", "assignees.assignee_country",
          "assignees.assignee_city", "inventors.inventor_country", "cpc_current.cpc_group_id",
          "cpc_current.cpc_subclass_id", "wipo.wipo_field_id"]


def patent_item(record: dict, *, source: str) -> DocumentItem:
    """Build an item from one `patents[]` record."""
    assignees = [a for a in record.get("assignees") or [] if a.get("assignee_organization")]
    cpc = [c.get("cpc_group_id") for c in record.get("cpc_current") or [] if c.get("cpc_group_id")]
    applications = record.get("application") or [{}]
    return DocumentItem(
        source=source,
        kind="patent",
        external_id=str(record["patent_id"]),
        url=f"https://patents.google.com/patent/US{record['patent_id']}",
        title=record.get("patent_title") or "",
        text=record.get("patent_abstract") or "",
        published_on=record.get("patent_date"),
        language="en",
        organisations=[Organisation(name=a["assignee_organization"], role="applicant",
                                    country=a.get("assignee_country"), city=a.get("assignee_city"))
                       for a in assignees],
        places=sorted({a["assignee_city"] for a in assignees if a.get("assignee_city")}),
        codes={"cpc": list(dict.fromkeys(cpc))} if cpc else {},
        meta={"patent_type": record.get("patent_type"), "filed_on": applications[0].get("filing_date"),
              "inventor_countries": sorted({i.get("inventor_country") for i in record.get("inventors") or []
                                            if i.get("inventor_country")})},
    )


class PatentsviewSpider(SourceSpider):
    """Page through patents granted since the watermark, ordered by id, with cursor (`after`) paging."""

    name = "patentsview"
    kind = "patent"
    default_urls = ["https://search.patentsview.org/api/v1/patent/"]
    requests_per_minute = 45
    credential_headers = ("X-Api-Key",)

    def __init__(self, *args, size: int = 1000, query: str | None = None, window_days: int = 30, **kwargs):
        super().__init__(*args, **kwargs)
        self.size = min(int(size), 1000)
        self.extra = json.loads(query) if query else None
        self.window_days = int(window_days)
        self.new_ids: dict[str, set[str]] = {}

    def watermark(self) -> date:
        start = self.since or datetime.now(UTC).date() - timedelta(days=self.window_days)
        stored = self.state.get("max_date")
        return max(start, date.fromisoformat(stored)) if stored else start

    async def start(self):
        if not os.environ.get("PATENTSVIEW_API_KEY"):
            self.count("errors", "missing_credentials")
            logger.error("%s: set PATENTSVIEW_API_KEY to crawl PatentsView", self.name)
            return
        for url in self.start_urls:
            yield self.page(url, None)

    def page(self, url: str, after: str | None):
        condition = {"_gte": {"patent_date": self.watermark().isoformat()}}
        options = {"size": self.size, **({"after": after} if after else {})}
        query = urlencode({"q": json.dumps({"_and": [condition, self.extra]} if self.extra else condition),
                           "f": json.dumps(FIELDS), "s": json.dumps([{"patent_id": "asc"}]),
                           "o": json.dumps(options)})
        # never cached: the request carries the key (added by CredentialsMiddleware for the API's origin only)
        return self.request(f"{url}?{query}", self.parse_page, meta={"dont_cache": True},
                            headers={"Accept": "application/json"}, cb_kwargs={"url": url})

    def credentials(self, request) -> dict[str, str]:
        return {"X-Api-Key": os.environ["PATENTSVIEW_API_KEY"]}

    def parse_page(self, response, url: str):
        data = self.json_body(response)
        if data is None:
            return
        if not isinstance(data, dict) or data.get("error") or not isinstance(data.get("patents"), list):
            self.count("errors", "api_error")
            logger.warning("%s: error payload from %s", self.name, response.url)
            return
        known = set(self.state.get("ids_at_max_date", []))
        for record in data["patents"]:
            if not isinstance(record, dict) or not record.get("patent_id"):
                self.count("dropped", "malformed_record")
                continue
            if record["patent_id"] in known:
                self.count("skipped", "already_seen")
                continue
            self.new_ids.setdefault(record.get("patent_date") or "", set()).add(record["patent_id"])
            yield patent_item(record, source=self.name)
        if len(data["patents"]) == self.size:
            yield self.page(url, data["patents"][-1].get("patent_id"))

    def closed(self, reason: str) -> None:
        previous = self.state.get("max_date") or ""
        latest = max([previous, *self.new_ids])
        if latest:
            ids = self.new_ids.get(latest, set()) | (set(self.state.get("ids_at_max_date", [])) if latest == previous
                                                     else set())
            self.state.update(max_date=latest, ids_at_max_date=sorted(ids))
        self.save_state()
