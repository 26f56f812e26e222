"""European patents from EPO Open Patent Services (OPS v3.2): CQL search by CPC class and publication date.

Arguments: `cpc` (comma-separated CPC classes), `since`/`until` (publication dates; default the last
`window_days`), `slice_days` (first slice length), `max_results` (how deep OPS lets a query be paged),
`weekly_budget_mb` (bytes this spider may use per ISO week, persisted). Credentials come only from
`EPO_OPS_KEY` and `EPO_OPS_SECRET`. State: seen family ids and the week's byte count.
"""

from __future__ import annotations

import base64
import logging
import os
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from scrapy.exceptions import CloseSpider

from crawlers.base import SourceSpider
from crawlers.epo_xml import OpsXmlError, parse_documents, parse_search, patent_item

logger = logging.getLogger(__name__)

PAGE = 100  # OPS returns at most 100 references per search request
DEFAULT_CPC = "Y02E,Y02P,H01M,B33Y,G06N"  # clean energy, clean production, batteries, 3D printing, AI


class EpoOpsSpider(SourceSpider):
    """Search each CPC class in publication-date slices, then fetch biblio (and abstracts) per family."""

    name = "epo_ops"
    kind = "patent"
    default_urls = ["https://ops.epo.org/3.2"]
    credential_headers = ("Authorization",)

    def __init__(self, *args, cpc: str = DEFAULT_CPC, until: str | None = None, window_days: int = 7,
                 slice_days: int = 7, max_results: int = 2000, weekly_budget_mb: float = 3500, **kwargs):
        super().__init__(*args, **kwargs)
        self.cpc = [c.strip() for c in cpc.split(",") if c.strip()]
        self.until = date.fromisoformat(until) if until else datetime.now(UTC).date()
        self.start_day = self.since or self.until - timedelta(days=int(window_days))
        self.slice_days, self.max_results = int(slice_days), int(max_results)
        self.budget_bytes = float(weekly_budget_mb) * 1024 * 1024
        self.access_token: str | None = None
        self.seen_families: set[str] = set()  # yielded in this or an earlier crawl (persisted)
        self.requested_families: set[str] = set()  # asked for in this crawl

    @property
    def base(self) -> str:
        return self.start_urls[0].rstrip("/")

    async def start(self):
        self.seen_families = set(self.state.get("families", []))
        week = datetime.now(UTC).strftime("%G-W%V")
        if self.state.get("budget_week") != week:
            self.state.update(budget_week=week, bytes_used=0)
        if not (os.environ.get("EPO_OPS_KEY") and os.environ.get("EPO_OPS_SECRET")):
            self.count("errors", "missing_credentials")
            logger.error("%s: set EPO_OPS_KEY and EPO_OPS_SECRET to crawl OPS", self.name)
            return
        if self.state["bytes_used"] > self.budget_bytes:
            self.count("errors", "weekly_budget")
            logger.error("%s: this week's OPS byte budget is used up", self.name)
            return
        yield self.token_request()

    # auth ------------------------------------------------------------------------------------
    def token_request(self, retry=None):
        return self.request(f"{self.base}/auth/accesstoken", self.parse_token, method="POST",
                            body="grant_type=client_credentials", meta={"dont_cache": True, "ops_auth": "basic"},
                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                            cb_kwargs={"retry": retry})

    def credentials(self, request) -> dict[str, str]:
        """Basic auth for the token request, the current bearer token for the rest (set as the request leaves)."""
        if request.meta.get("ops_auth") == "basic":
            key, secret = os.environ["EPO_OPS_KEY"], os.environ["EPO_OPS_SECRET"]
            return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}
        if not self.access_token:
            return {}
        request.meta["ops_token"] = self.access_token
        return {"Authorization": f"Bearer {self.access_token}"}

    def parse_token(self, response, retry):
        data = self.json_body(response)
        if not isinstance(data, dict) or not data.get("access_token"):
            self.count("errors", "auth_failed")
            raise CloseSpider("OPS gave no access token")
        self.access_token = data["access_token"]
        if retry is not None:
            yield retry
            return
        for cpc in self.cpc:
            day = self.start_day
            while day <= self.until:
                end = min(day + timedelta(days=self.slice_days - 1), self.until)
                yield self.search(cpc, day, end, 1)
                day = end + timedelta(days=1)

    def ops_request(self, url: str, callback, service: str, **kwargs):
        # Never cached: the request carries a bearer token, and OPS answers are not revalidatable.
        meta = {"ops_service": service, "dont_cache": True, "handle_httpstatus_list": [400, 403],
                **kwargs.pop("meta", {})}
        return self.request(url, callback, meta=meta, headers={"Accept": "application/xml"}, **kwargs)

    def checked(self, response) -> bool:
        """Spend the byte budget; handle expired tokens (400) and quota rejections (403)."""
        used = self.state.get("bytes_used", 0) + len(response.body)
        self.state["bytes_used"] = max(used, int(response.headers.get(b"X-RegisteredQuotaPerWeek-Used") or 0))
        if response.status == 403:
            reason = (response.headers.get(b"X-Rejection-Reason") or b"forbidden").decode("latin-1")
            self.count("errors", f"quota_{reason}")
            raise CloseSpider(f"OPS rejected the request: {reason}")
        if self.state["bytes_used"] > self.budget_bytes:
            self.count("errors", "weekly_budget")
            raise CloseSpider("weekly OPS byte budget used up")
        return response.status != 400

    def retry_with_new_token(self, response):
        """An expired token answers 400: refresh it (once per request) and send the request again."""
        request = response.request
        if request.meta.get("token_refreshed"):
            self.count("errors", "http_400")
            return
        retry = request.replace(meta={**request.meta, "token_refreshed": True})
        if request.meta.get("ops_token") != self.access_token:
            yield retry  # another request has already refreshed the token
        else:
            self.count("auth", "token_refreshed")
            yield self.token_request(retry=retry)

    # search ----------------------------------------------------------------------------------
    def search(self, cpc: str, start: date, end: date, begin: int):
        cql = f'cpc={cpc} and pd within "{start:%Y%m%d} {end:%Y%m%d}"'
        query = urlencode({"q": cql, "Range": f"{begin}-{begin + PAGE - 1}"})
        return self.ops_request(f"{self.base}/rest-services/published-data/search?{query}", self.parse_search,
                                "search", cb_kwargs={"cpc": cpc, "start": start, "end": end, "begin": begin})

    def read(self, response, parser):
        """(parsed body, []) for a good answer; (None, requests to yield) for an expired token or a bad body."""
        if not self.checked(response):
            return None, list(self.retry_with_new_token(response))
        try:
            return parser(response.body), []
        except OpsXmlError as exc:
            self.count("errors", str(exc))
            return None, []

    def parse_search(self, response, cpc: str, start: date, end: date, begin: int):
        page, retries = self.read(response, parse_search)
        if page is None:
            yield from retries
            return
        if begin == 1 and page.total >= self.max_results:
            if end > start:  # too many hits to page through: split the slice in two
                self.count("slices", "halved")
                middle = start + (end - start) // 2
                yield self.search(cpc, start, middle, 1)
                yield self.search(cpc, middle + timedelta(days=1), end, 1)
                return
            self.count("truncated", "result_cap")
            logger.warning("%s: cpc=%s on %s has %d hits; only %d are reachable", self.name, cpc, start,
                           page.total, self.max_results)
        numbers = []
        for number, family in page.refs:
            if family in self.seen_families or family in self.requested_families:
                self.count("skipped", "family_seen")
            else:
                self.requested_families.add(family)
                numbers.append(number)
        if numbers:
            yield self.ops_request(f"{self.base}/rest-services/published-data/publication/docdb/biblio",
                                   self.parse_biblio, "retrieval", method="POST", body="\n".join(numbers))
        if len(page.refs) == PAGE and begin + PAGE <= min(page.total, self.max_results):
            yield self.search(cpc, start, end, begin + PAGE)

    # retrieval -------------------------------------------------------------------------------
    def parse_biblio(self, response):
        docs, retries = self.read(response, parse_documents)
        if docs is None:
            yield from retries
            return
        for doc in docs:
            if doc.family_id in self.seen_families:  # another publication of a family already counted
                self.count("skipped", "family_seen")
            elif doc.abstracts:
                yield self.family_item(doc)
            else:  # biblio without the abstract constituent: fetch it per number
                yield self.ops_request(f"{self.base}/rest-services/published-data/publication/docdb/{doc.number}"
                                       "/abstract", self.parse_abstract, "retrieval", cb_kwargs={"doc": doc})

    def parse_abstract(self, response, doc):
        found, retries = self.read(response, parse_documents)
        if found is None:
            yield from retries
            return
        doc.abstracts = found[0].abstracts if found else {}
        yield self.family_item(doc)

    def family_item(self, doc):
        self.seen_families.add(doc.family_id)
        return patent_item(doc, source=self.name)

    def closed(self, reason: str) -> None:
        self.state["families"] = sorted(self.seen_families)
        self.save_state()
