"""Join the tables of a CORDIS CSV or JSON bulk edition into the DocumentItems that `cordis_xml` makes.

Both editions hold one table per file (project, organization, euroSciVoc, legalBasis, topics); the CSV
files are `;`-delimited and double-quoted, and their money columns have used a decimal comma. Columns are
found by header name, never by position, because their order differs between releases.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator

from crawlers.cordis_xml import PROJECT_URL, RecordError, iso_date
from crawlers.items import DocumentItem, Organisation

# table name (file stem, lower case) -> the tables this module reads
TABLES = ("project", "organization", "euroscivoc", "legalbasis", "topics")


def read_table(name: str, data: bytes) -> list[dict[str, str]]:
    """Rows of one `.csv` or `.json` member as dicts of stripped strings (empty values dropped).

    Raises ValueError for a table that cannot be read (bad CSV, JSON that is not a list of records).
    """
    if name.lower().endswith(".json"):
        rows = json.loads(data)
        if isinstance(rows, dict):  # tolerate {"<table>": [...]} wrappers
            rows = next((v for v in rows.values() if isinstance(v, list)), [])
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ValueError(f"{name} is not a list of records")
    else:
        text = data.decode("utf-8-sig")
        try:
            rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";", quotechar='"'))
        except csv.Error as exc:  # e.g. a field over the csv module's limit (128 kB)
            raise ValueError(f"{name}: {exc}") from exc
    return [{k.strip(): str(v).strip() for k, v in row.items() if k and v not in (None, "")} for row in rows]


def number(value: str | None) -> float | None:
    """Parse an amount written with a decimal point or a decimal comma ("3499076,25")."""
    if not value:
        return None
    if "," in value and "." not in value:
        value = value.replace(",", ".")
    try:
        return float(value.replace(",", ""))
    except ValueError:
        return None


def _geolocation(value: str | None) -> tuple[float | None, float | None]:
    parts = (value or "").split(",")
    if len(parts) != 2:
        return None, None
    return number(parts[0].strip()), number(parts[1].strip())


def _organisation(row: dict[str, str]) -> Organisation:
    lat, lon = _geolocation(row.get("geolocation"))
    return Organisation(
        name=row.get("name") or row.get("shortName") or "", role=row.get("role"), org_id=row.get("organisationID"),
        short_name=row.get("shortName"), country=row.get("country"), city=row.get("city"),
        nuts_code=row.get("nutsCode"), lat=lat, lon=lon,
    )


def _by_project(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        grouped[row.get("projectID", "")].append(row)
    return grouped


def _split(value: str | None, sep: str) -> list[str]:
    return [part.strip() for part in (value or "").split(sep) if part.strip()]


def _order(row: dict[str, str]) -> int:
    return int(row["order"]) if row.get("order", "").isdigit() else 1 << 30


def parse_tables(tables: dict[str, list[dict[str, str]]], *,
                 source: str = "cordis") -> Iterator[DocumentItem | RecordError]:
    """Yield one DocumentItem per project row, or a RecordError for a row that is not usable."""
    organisations = _by_project(tables.get("organization", []))
    categories = _by_project(tables.get("euroscivoc", []))
    legal_bases = _by_project(tables.get("legalbasis", []))
    topics = _by_project(tables.get("topics", []))
    for row in tables.get("project", []):
        try:
            yield _project(row, organisations, categories, legal_bases, topics, source)
        except RecordError as exc:
            yield exc


def _project(row, organisations, categories, legal_bases, topics, source) -> DocumentItem:
    grant_id = row.get("id")
    if not grant_id:
        raise RecordError("no_id", "project row without id")
    objective = row.get("objective")
    if not objective:
        raise RecordError("no_objective", f"project {grant_id} has no objective")
    published = iso_date(row.get("ecSignatureDate")) or iso_date(row.get("startDate"))
    if not published:
        raise RecordError("no_date", f"project {grant_id} has no signature or start date")

    meta: dict[str, object] = {}
    legal = [r for r in legal_bases.get(grant_id, []) if r.get("legalBasis")]
    for r in legal:
        if r.get("uniqueProgrammePart", "").lower() == "true":
            meta.update(legal_basis=r["legalBasis"], legal_basis_title=r.get("title"))
    if "legal_basis" not in meta and row.get("legalBasis"):
        meta["legal_basis"] = row["legalBasis"]
    meta["framework_programme"] = row.get("frameworkProgramme")
    codes = {
        "legal_basis": [r["legalBasis"] for r in legal] or _split(row.get("legalBasis"), ";"),
        "topic": [r["topic"] for r in topics.get(grant_id, []) if r.get("topic")] or _split(row.get("topics"), ";"),
        "euroscivoc": [r["euroSciVocPath"] for r in categories.get(grant_id, []) if r.get("euroSciVocPath")],
        "call": _split(row.get("masterCall"), ";"),
        "funding_scheme": _split(row.get("fundingScheme"), ";"),
    }
    meta.update({
        "acronym": row.get("acronym"), "status": row.get("status"), "rcn": row.get("rcn"),
        "keywords": _split(row.get("keywords"), ","), "start_date": iso_date(row.get("startDate")),
        "end_date": iso_date(row.get("endDate")), "signature_date": iso_date(row.get("ecSignatureDate")),
        "total_cost": number(row.get("totalCost")), "ec_max_contribution": number(row.get("ecMaxContribution")),
        "grant_doi": row.get("grantDoi"),
    })
    members = sorted(organisations.get(grant_id, []), key=_order)
    return DocumentItem(
        source=source, kind="project", external_id=grant_id, url=PROJECT_URL.format(id=grant_id),
        title=row.get("title") or row.get("acronym") or grant_id, text=objective, published_on=published,
        updated_on=iso_date(row.get("contentUpdateDate")), organisations=[_organisation(r) for r in members],
        codes={k: v for k, v in codes.items() if v}, meta=meta,
    )
