"""Parse EPO OPS v3.2 XML (search results, biblio and abstract documents) by local element names.

OPS mixes a default namespace (`http://www.epo.org/exchange`) with `ops:` elements and precedes the root
with an `<?xml-stylesheet?>` instruction; matching on local names keeps the parser indifferent to both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from crawlers.items import DocumentItem, Organisation

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)
_IPCR = re.compile(r"\s*([A-H]\d\d[A-Z])\s*(\d+)\s*/\s*(\d+)")
_EPODOC_NAME = re.compile(r"^(?P<name>.*?)\s*\[(?P<cc>[A-Z]{2})\]\s*,?$")


class OpsXmlError(ValueError):
    """The body is not OPS XML (malformed, or an HTML page)."""


def parse_xml(body: bytes) -> etree._Element:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise OpsXmlError("html_instead_of_xml")
    try:
        return etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise OpsXmlError("malformed_xml") from exc


def _path(path: str) -> str:
    """`a/b` -> XPath on local names, so namespaces never matter."""
    return "/".join(part if part in (".", "..") or part.startswith("@") else f"*[local-name()='{part}']"
                    for part in path.split("/"))


def find(el, path: str) -> list:
    return el.xpath(_path(path))


def text(el, path: str) -> str | None:
    found = find(el, path)
    value = " ".join("".join(found[0].itertext()).split()) if found else ""
    return value or None


def iso_date(yyyymmdd: str | None) -> str | None:
    if not yyyymmdd or not re.fullmatch(r"\d{8}", yyyymmdd):
        return None
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def split_epodoc_name(value: str) -> tuple[str, str | None]:
    """`9SOLUTIONS OY [FI]` -> ("9SOLUTIONS OY", "FI"); names without a country keep None."""
    value = " ".join(value.split())
    match = _EPODOC_NAME.match(value)
    return (match["name"], match["cc"]) if match else (value.rstrip(", "), None)


@dataclass
class SearchPage:
    total: int
    refs: list[tuple[str, str]] = field(default_factory=list)  # (docdb number "EP.2400812.A1", family id)


def parse_search(body: bytes) -> SearchPage:
    """Total (capped by OPS) and the docdb publication references of one search page."""
    root = parse_xml(body)
    search = find(root, "biblio-search")
    if not search:
        raise OpsXmlError("not_a_search_result")
    refs = []
    for ref in find(search[0], "search-result/publication-reference"):
        number = ".".join(text(ref, f"document-id/{part}") or "" for part in ("country", "doc-number", "kind"))
        refs.append((number, ref.get("family-id") or ""))
    return SearchPage(int(search[0].get("total-result-count") or 0), refs)


def ipc_code(raw: str) -> str:
    """Fixed-width IPCR text (`H04W  84/    20   A I`) -> `H04W 84/20`."""
    match = _IPCR.match(raw)
    return f"{match[1]} {match[2]}/{match[3]}" if match else " ".join(raw.split()[:2])


def cpc_code(el) -> str:
    head = "".join(text(el, p) or "" for p in ("section", "class", "subclass"))
    return f"{head}{text(el, 'main-group') or ''}/{text(el, 'subgroup') or ''}"


def _by_lang(elements) -> dict[str, str]:
    out: dict[str, str] = {}
    for el in elements:
        value = " ".join(" ".join(el.itertext()).split())
        if value:
            out.setdefault(el.get("lang") or "und", value)
    return out


@dataclass
class PatentDoc:
    number: str  # docdb "EP.2400812.A1"
    family_id: str
    published_on: str | None
    filed_on: str | None
    titles: dict[str, str]
    abstracts: dict[str, str]
    cpc: list[str]
    ipc: list[str]
    applicants: list[tuple[str, str | None]]
    inventors: list[str]


def parse_documents(body: bytes) -> list[PatentDoc]:
    """Every `exchange-document` of a biblio or abstract response."""
    docs = []
    for doc in find(parse_xml(body), "exchange-documents/exchange-document"):
        biblio = (find(doc, "bibliographic-data") or [doc])[0]
        pub = [p for p in find(biblio, "publication-reference/document-id") if p.get("document-id-type") == "docdb"]
        filed = [d for d in find(biblio, "application-reference/document-id") if text(d, "date")]
        epodoc = [a for a in find(biblio, "parties/applicants/applicant") if a.get("data-format") == "epodoc"]
        inventors = [i for i in find(biblio, "parties/inventors/inventor") if i.get("data-format") == "epodoc"]
        docs.append(PatentDoc(
            number=".".join(doc.get(a) or "" for a in ("country", "doc-number", "kind")),
            family_id=doc.get("family-id") or "",
            published_on=iso_date(text(pub[0], "date")) if pub else None,
            filed_on=iso_date(text(filed[0], "date")) if filed else None,
            titles=_by_lang(find(biblio, "invention-title")),
            abstracts=_by_lang(find(doc, "abstract")),
            cpc=list(dict.fromkeys(cpc_code(c) for c in find(biblio, "patent-classifications/patent-classification"))),
            ipc=list(dict.fromkeys(ipc_code(t.text or "") for t in find(
                biblio, "classifications-ipcr/classification-ipcr/text"))),
            applicants=[split_epodoc_name(text(a, "applicant-name/name") or "") for a in epodoc],
            inventors=[split_epodoc_name(text(i, "inventor-name/name") or "")[0] for i in inventors],
        ))
    return docs


def _pick(by_lang: dict[str, str]) -> tuple[str | None, str]:
    for lang in ("en", *by_lang):
        if lang in by_lang:
            return lang, by_lang[lang]
    return None, ""


def patent_item(doc: PatentDoc, *, source: str) -> DocumentItem:
    """One item per patent family: the family id is the external id, the publication is kept in meta."""
    language, abstract = _pick(doc.abstracts)
    compact = doc.number.replace(".", "")
    return DocumentItem(
        source=source,
        kind="patent",
        external_id=doc.family_id or doc.number,
        url=f"https://worldwide.espacenet.com/patent/search?q=pn%3D{compact}",
        title=_pick(doc.titles)[1],
        text=abstract,
        published_on=doc.published_on,
        language=language,
        organisations=[Organisation(name=name, role="applicant", country=cc) for name, cc in doc.applicants if name],
        codes={k: v for k, v in {"cpc": doc.cpc, "ipc": doc.ipc}.items() if v},
        meta={"publication_number": doc.number, "family_id": doc.family_id, "filed_on": doc.filed_on,
              "inventors": doc.inventors, "titles": doc.titles},
    )
