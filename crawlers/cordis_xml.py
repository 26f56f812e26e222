"""Parse one CORDIS project XML record (FP7, H2020 and Horizon Europe share the schema).

Elements are found by local name, so the namespaced per-project endpoint and the bare bulk files
both parse. The project counts from its EC signature date (when it was funded), else its start date.
"""

from __future__ import annotations

from lxml import etree

from crawlers.items import DocumentItem, Organisation

PROJECT_URL = "https://cordis.europa.eu/project/id/{id}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)


class RecordError(ValueError):
    """A record that is not a usable CORDIS project; `reason` names the stats key."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child(el, name: str):
    for child in el:
        if _local(child) == name:
            return child
    return None


def _children(el, name: str):
    return [child for child in el if _local(child) == name]


def _text(el, *path: str) -> str | None:
    for name in path:
        if el is None:
            return None
        el = _child(el, name)
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def iso_date(value: str | None) -> str | None:
    """Keep the YYYY-MM-DD part of a CORDIS date or timestamp."""
    if not value or len(value) < 10 or value[4] != "-" or value[7] != "-":
        return None
    return value[:10]


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _organisation(el) -> Organisation:
    address = _child(el, "address")
    lat = lon = None
    geo = _text(address, "geolocation") if address is not None else None
    if geo and "," in geo:
        lat, lon = (_float(part.strip()) for part in geo.split(",", 1))
    nuts = None
    regions = _child(_child(el, "relations") if _child(el, "relations") is not None else el, "regions")
    if regions is not None:
        for region in _children(regions, "region"):
            if region.get("type") == "relatedNutsCode":
                nuts = _text(region, "nutsCode")
                break
    return Organisation(
        name=_text(el, "legalName") or _text(el, "shortName") or "",
        role=el.get("type"),
        org_id=_text(el, "id"),
        short_name=_text(el, "shortName"),
        country=_text(address, "country") if address is not None else None,
        city=_text(address, "city") if address is not None else None,
        nuts_code=nuts,
        lat=lat,
        lon=lon,
    )


def _region_names(org_el) -> dict[str, str]:
    """NUTS code -> name for the region chain an organisation carries (NUTS3 up to the country)."""
    names: dict[str, str] = {}
    for region in org_el.iter():
        if _local(region) == "region":
            code, name = _text(region, "nutsCode"), _text(region, "name")
            if code and name:
                names[code] = name
    return names


def parse_project(data: bytes, *, source: str = "cordis") -> DocumentItem:
    """Turn one project XML document into a DocumentItem; raise RecordError when unusable."""
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise RecordError("malformed_xml", f"malformed XML: {exc}") from exc
    if root is None or _local(root) != "project":
        raise RecordError("not_a_project", "root element is not <project>")
    grant_id = _text(root, "id")
    if not grant_id:
        raise RecordError("no_id", "project without <id>")
    objective = _text(root, "objective")
    if not objective:
        raise RecordError("no_objective", f"project {grant_id} has no objective")
    published = iso_date(_text(root, "ecSignatureDate")) or iso_date(_text(root, "startDate"))
    if not published:
        raise RecordError("no_date", f"project {grant_id} has no signature or start date")

    codes: dict[str, list[str]] = {"legal_basis": [], "topic": [], "euroscivoc": [], "call": [],
                                   "funding_scheme": [], "policy_priority": []}
    organisations: list[Organisation] = []
    region_names: dict[str, str] = {}
    meta: dict[str, object] = {}
    associations = _child(_child(root, "relations"), "associations") if _child(root, "relations") is not None \
        else None
    for el in (associations if associations is not None else []):
        kind, type_ = _local(el), el.get("type")
        if kind == "organization":
            organisations.append(_organisation(el))
            region_names.update(_region_names(el))
        elif kind == "programme" and type_ == "relatedLegalBasis":
            code = _text(el, "code")
            if code:
                codes["legal_basis"].append(code)
                if el.get("uniqueProgrammePart") == "true":
                    meta["legal_basis"] = code
                    meta["legal_basis_title"] = _text(el, "title")
                    meta["framework_programme"] = _text(el, "frameworkProgramme")
        elif kind == "programme" and type_ == "relatedTopic":
            if code := _text(el, "code"):
                codes["topic"].append(code)
        elif kind == "call" and type_ == "relatedMasterCall":
            if ident := _text(el, "identifier"):
                codes["call"].append(ident)
        elif kind == "article":
            meta.setdefault("articles", []).append({"id": _text(el, "id"), "title": _text(el, "title")})
    categories = _child(_child(root, "relations"), "categories") if _child(root, "relations") is not None \
        else None
    for cat in (categories if categories is not None else []):
        scheme = cat.get("classification")
        if scheme == "euroSciVoc" and (path := _text(cat, "displayCode")):
            codes["euroscivoc"].append(path)
        elif scheme == "projectFundingSchemeCategory" and (code := _text(cat, "code")):
            codes["funding_scheme"].append(code.lstrip("/"))
        elif scheme == "policyPriorities" and (code := _text(cat, "code")) and cat.get("weight", "0") != "0":
            codes["policy_priority"].append(code.lstrip("/"))

    keywords = _text(root, "keywords")
    meta.update({
        "acronym": _text(root, "acronym"), "teaser": _text(root, "teaser"), "status": _text(root, "status"),
        "rcn": _text(root, "rcn"), "keywords": [k.strip() for k in keywords.split(",") if k.strip()]
        if keywords else [], "start_date": iso_date(_text(root, "startDate")),
        "end_date": iso_date(_text(root, "endDate")), "signature_date": iso_date(_text(root, "ecSignatureDate")),
        "total_cost": _float(_text(root, "totalCost")),
        "ec_max_contribution": _float(_text(root, "ecMaxContribution")),
        "grant_doi": _text(root, "identifiers", "grantDoi"), "nuts_names": region_names,
    })
    return DocumentItem(
        source=source, kind="project", external_id=grant_id, url=PROJECT_URL.format(id=grant_id),
        title=_text(root, "title") or _text(root, "acronym") or grant_id, text=objective,
        published_on=published,
        updated_on=iso_date(_text(root, "lastUpdateDate")) or iso_date(_text(root, "contentUpdateDate")),
        language=_text(root, "language"), organisations=organisations,
        codes={k: v for k, v in codes.items() if v}, meta=meta,
    )
