"""The one item every spider yields: a document with its provenance, organisations and codes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

KINDS = ("news", "project", "patent", "paper")  # paper: publications an analyst loads (arXiv, ACL)

# Plausible document dates, shared by the crawlers and ingest: from 1900 to today plus a horizon per kind
# (a project counts from its signature or planned start date, which may lie some years ahead).
EARLIEST_DATE = date(1900, 1, 1)
FUTURE_DAYS = {"news": 366, "patent": 366, "paper": 366, "project": 3660}


def today() -> date:
    return datetime.now(UTC).date()


def date_problem(day: date, kind: str) -> str | None:
    """`date_too_early` or `date_in_future` when `day` is not a plausible date for a document of `kind`."""
    if day < EARLIEST_DATE:
        return "date_too_early"
    if day > today() + timedelta(days=FUTURE_DAYS.get(kind, 366)):
        return "date_in_future"
    return None


def plausible_updated(day: date | None) -> date | None:
    """A source's update date as a watermark may use it: none before EARLIEST_DATE, never past today."""
    return None if day is None or day < EARLIEST_DATE else min(day, today())


@dataclass
class Organisation:
    """An organisation named by a source record (participant, applicant, publisher)."""

    name: str
    role: str | None = None  # coordinator, participant, applicant, publisher, ...
    org_id: str | None = None  # source-specific stable id (CORDIS PIC, keep.eu id, ...)
    short_name: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2 as the source gives it (CORDIS writes UK)
    city: str | None = None
    nuts_code: str | None = None  # deepest NUTS code the source gives
    lat: float | None = None
    lon: float | None = None


@dataclass
class DocumentItem:
    """A crawled document, the unit of the raw feed files and of `documents` in the store.

    `codes` maps a classification scheme to its codes, e.g. {"euroscivoc": [...], "cpc": [...],
    "legal_basis": [...], "topic": [...]}; `meta` holds source-specific extras (acronym, status, ...).
    """

    source: str
    kind: str
    external_id: str
    url: str
    title: str
    text: str
    published_on: str | None = None  # ISO date: the date the document counts from
    updated_on: str | None = None  # ISO date of the source's last change, for incremental crawls
    language: str | None = None
    organisations: list[Organisation] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # free-text place names the source gives
    codes: dict[str, list[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
