"""Interreg projects from keep.eu's public browse API (no key): search pages, then one record per project.

The index lists projects by id, newest first, 6 per page, and has no date filter, so the incremental
watermark is the highest id seen (state `max_id`): a run walks pages until it meets a known id.
`since` is accepted for the common spider contract, but project dates say nothing about when a record
was imported, so it filters nothing here. Projects whose record failed are retried on the next run.
"""

from __future__ import annotations

import json
import logging

from crawlers.base import SourceSpider
from crawlers.items import DocumentItem, Organisation

logger = logging.getLogger(__name__)

SEARCH_BODY = {"projects": {}, "programmes": {}, "partners": {}, "search": {}}
TEXT_FIELDS = ("description", "expected_results", "achievements")


def _country(value) -> str | None:
    if isinstance(value, dict):
        return value.get("code") or value.get("name")
    return value or None


def _location(value) -> tuple[float | None, float | None]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, None
    if not isinstance(value, dict) or value.get("lat") in (None, "") or value.get("lng") in (None, ""):
        return None, None
    try:
        lat, lng = float(value["lat"]), float(value["lng"])
    except (TypeError, ValueError):
        return None, None
    return (lat, lng) if -90 <= lat <= 90 and -180 <= lng <= 180 else (None, None)


def partner_organisation(partnership: dict) -> Organisation:
    """Organisation from one `partnerships[]` entry: lead or partner, with town, country and coordinates."""
    partner = partnership.get("partner") or {}
    translated = ((partner.get("translations") or {}).get("en") or {}).get("name_translated")
    lat, lon = _location(partnership.get("location_json"))
    return Organisation(
        name=(translated or partner.get("name") or "").strip(),
        role="lead" if partnership.get("type") == "lead" else "partner",
        org_id=str(partnership.get("pic") or partner.get("id") or "") or None,
        country=_country(partnership.get("country")), city=partnership.get("town") or None, lat=lat, lon=lon,
    )


def names(values) -> list[str]:
    """Theme/programme names whether the API gives strings or {name|title: ...} objects."""
    return [v if isinstance(v, str) else (v.get("name") or v.get("title") or "") for v in values or [] if v]


def project_item(data: dict, *, base: str, source: str) -> DocumentItem:
    """Build a project item from a `/api/project/<id>/` record."""
    english = (data.get("translations") or {}).get("en") or {}
    programme = data.get("programme") or {}
    texts = [english.get(field) or data.get(field) for field in TEXT_FIELDS]
    partners = [partner_organisation(p) for p in data.get("partnerships") or []]
    return DocumentItem(
        source=source,
        kind="project",
        external_id=str(data["id"]),
        url=f"{base}/projects/{data['id']}/{data.get('seo_name') or ''}".rstrip("/") + "/",
        title=english.get("name") or data.get("acronym") or "",
        text="\n\n".join(t.strip() for t in texts if t and t.strip()),
        published_on=data.get("start_date"),
        language="en",
        organisations=[p for p in partners if p.name],
        places=sorted({p.city for p in partners if p.city}),
        codes={k: v for k, v in {"keep_theme": names(data.get("themes")),
                                 "programme": names([programme])}.items() if v},
        meta={"acronym": data.get("acronym"), "status": data.get("status"), "end_date": data.get("end_date"),
              "programme_period": programme.get("period"), "total_budget": data.get("total_budget"),
              "eu_funding": data.get("eu_funding"), "project_id": data.get("project_id")},
    )


class KeepEuSpider(SourceSpider):
    """Walk the id-descending project index until a known id; fetch each new project's record."""

    name = "keep_eu"
    kind = "project"
    default_urls = ["https://keep.eu"]

    def __init__(self, *args, max_pages: str | int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_pages = int(max_pages) if max_pages else None
        self.highest_id = 0
        self.walk_complete = False
        self.failed_ids: set[int] = set()

    async def start(self):
        self.highest_id = self.state.get("max_id", 0)
        for base in self.start_urls:
            base = base.rstrip("/")
            yield self.search_page(base, 1)
            for keep_id in self.state.get("retry_ids", []):
                yield self.project(base, keep_id)

    def search_page(self, base: str, page: int):
        # the index must be fresh on every run: never answered from the HTTP cache
        return self.request(f"{base}/api/search/projects/?page={page}", self.parse_search, method="POST",
                            body=json.dumps(SEARCH_BODY), headers={"Content-Type": "application/json"},
                            meta={"dont_cache": True}, cb_kwargs={"base": base, "page": page})

    def project(self, base: str, keep_id: int):
        return self.request(f"{base}/api/project/{keep_id}/", self.parse_project,
                            cb_kwargs={"base": base, "keep_id": keep_id})

    def parse_search(self, response, base: str, page: int):
        data = self.json_body(response)
        if data is None:
            return
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            self.count("errors", "unexpected_json")
            return
        known = self.state.get("max_id", 0)
        new_ids = [r["id"] for r in results if isinstance(r, dict) and isinstance(r.get("id"), int) and r["id"] > known]
        self.highest_id = max([self.highest_id, *new_ids])
        for keep_id in new_ids:
            yield self.project(base, keep_id)
        reached_known = len(new_ids) < len(results)
        if reached_known or page >= int(data.get("total_pages") or page):
            self.walk_complete = True
        elif self.max_pages is None or page < self.max_pages:
            yield self.search_page(base, page + 1)

    def parse_project(self, response, base: str, keep_id: int):
        data = self.json_body(response)
        if not isinstance(data, dict) or "id" not in data:
            if data is not None:
                self.count("dropped", "malformed_record")
            self.failed_ids.add(keep_id)
            return
        yield project_item(data, base=base, source=self.name)

    def callback_failed(self, response, exc: BaseException) -> None:
        self._retry_later(response.request)

    def failed(self, failure):
        super().failed(failure)
        self._retry_later(failure.request)

    def _retry_later(self, request) -> None:
        """Remember a lost project's id: retried next run (the id watermark may pass it)."""
        keep_id = request.cb_kwargs.get("keep_id") if request else None
        if keep_id is not None:
            self.failed_ids.add(keep_id)

    def closed(self, reason: str) -> None:
        self.state["retry_ids"] = sorted(self.failed_ids)  # earlier failures were requested again this run
        if self.walk_complete and reason == "finished":  # a walk cut short must start again from the top
            self.state["max_id"] = self.highest_id
        self.save_state()
