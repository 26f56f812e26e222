"""The CORDIS CSV and JSON editions give the same items as the XML edition for the same projects.

The CSV/JSON zips are format-faithful synthetic fixtures: the real projects of the shared corpus
(projects.parquet, organizations.parquet, exported from the XML edition) written back under the official
camelCase headers of SOURCES.md, with the CSV's decimal-comma money columns and a non-documented column order.
"""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawlers.cordis_tables import number, parse_tables, read_table
from crawlers.cordis_xml import parse_project
from crawlers.spiders.cordis import CordisSpider
from tests.conftest import SHARED_DATA, cordis_xml_records, make_zip, needs_shared

pytestmark = needs_shared(SHARED_DATA / "cordis-horizon-europe" / "projects.parquet")

N_PROJECTS = 4
PROJECT_COLUMNS = {  # official header -> shared parquet column (None: not in the shared data)
    "id": "id", "acronym": "acronym", "status": "status", "title": "title", "startDate": "start_date",
    "endDate": "end_date", "totalCost": "total_cost", "ecMaxContribution": "ec_max_contribution",
    "legalBasis": "legal_basis", "topics": "topic_codes", "ecSignatureDate": "ec_signature_date",
    "frameworkProgramme": "framework_programme", "masterCall": "master_call", "subCall": None,
    "fundingScheme": "funding_scheme", "nature": None, "objective": "text",
    "contentUpdateDate": "content_update_date", "rcn": "rcn", "grantDoi": "grant_doi", "keywords": "keywords",
}
ORGANIZATION_COLUMNS = {
    "projectID": "project_id", "projectAcronym": None, "organisationID": "org_id", "vatNumber": "vat_number",
    "name": "legal_name", "shortName": "short_name", "SME": "sme", "activityType": "activity_type", "street": None,
    "postCode": "postal_code", "city": "city", "country": "country", "nutsCode": "nuts_code",
    "geolocation": "geolocation", "organizationURL": None, "contactForm": None, "contentUpdateDate": None,
    "rcn": None, "order": "order", "role": "role", "ecContribution": "ec_contribution",
    "netEcContribution": "net_ec_contribution", "totalCost": "total_cost", "endOfParticipation": "terminated",
    "active": None,
}
MONEY = {"totalCost", "ecMaxContribution", "ecContribution", "netEcContribution"}


def _split(value) -> list[str]:
    return [v for v in (value or "").split(";") if v]


def shared_tables(ids: list[str]) -> dict[str, list[dict]]:
    """The official tables (header -> value) for these projects, rebuilt from the shared parquet files."""
    folder = SHARED_DATA / "cordis-horizon-europe"
    projects = pd.read_parquet(folder / "projects.parquet").set_index("id").loc[ids].reset_index()
    orgs = pd.read_parquet(folder / "organizations.parquet", filters=[("project_id", "in", ids)])

    def rows(frame, columns):
        return [{name: (None if col is None or pd.isna(rec[col]) else rec[col]) for name, col in columns.items()}
                for rec in frame.to_dict("records")]

    tables = {"project": rows(projects, PROJECT_COLUMNS), "organization": rows(orgs, ORGANIZATION_COLUMNS),
              "euroSciVoc": [], "legalBasis": [], "topics": []}
    for p in projects.to_dict("records"):
        for code, path in zip(_split(p["euroscivoc_codes"]), _split(p["euroscivoc_paths"]), strict=True):
            tables["euroSciVoc"].append({"projectID": p["id"], "euroSciVocCode": code, "euroSciVocPath": path,
                                         "euroSciVocTitle": path.rsplit("/", 1)[-1], "euroSciVocDescription": None})
        for part in _split(p["legal_basis_all"]):
            code, _, title = part.partition("|")
            tables["legalBasis"].append({"projectID": p["id"], "legalBasis": code, "title": title,
                                         "uniqueProgrammePart": str(code == p["legal_basis"]).lower()})
        for topic, title in zip(_split(p["topic_codes"]), _split(p["topic_titles"]), strict=False):
            tables["topics"].append({"projectID": p["id"], "topic": topic, "title": title})
    return tables


def csv_bytes(rows: list[dict]) -> bytes:
    """`;`-delimited, all fields quoted, columns in reverse order, money with a decimal comma."""
    header = list(reversed(rows[0]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([(str(row[h]).replace(".", ",") if h in MONEY and row[h] else row[h] or "") for h in header])
    return buffer.getvalue().encode("utf-8")


def edition_zip(tables: dict[str, list[dict]], fmt: str) -> bytes:
    if fmt == "csv":
        return make_zip([(f"{name}.csv", csv_bytes(rows)) for name, rows in tables.items() if rows])
    return make_zip([(f"{name}.json", json.dumps(rows).encode()) for name, rows in tables.items()])


@pytest.fixture(scope="module")
def xml_items():
    return {item.external_id: item for item in (parse_project(data) for _, data in cordis_xml_records(N_PROJECTS))}


@pytest.fixture
def spider(tmp_path):
    crawler = get_crawler(CordisSpider, {"TRENDSCOUT_STATE_DIR": str(tmp_path)})
    return CordisSpider.from_crawler(crawler, urls='["https://cordis.test/data/he-csv.zip"]')


def crawl(spider, body: bytes) -> list:
    return list(spider.parse_bulk(Response("https://cordis.test/data/he-csv.zip", body=body), previous={}))


def key_fields(item) -> dict:
    meta_keys = ("acronym", "status", "rcn", "keywords", "start_date", "end_date", "signature_date", "total_cost",
                 "ec_max_contribution", "grant_doi", "legal_basis", "legal_basis_title", "framework_programme")
    return {
        "head": (item.source, item.kind, item.external_id, item.url, item.title, item.text, item.published_on),
        "organisations": sorted((vars(o) for o in item.organisations), key=lambda o: (o["org_id"], o["role"])),
        "codes": {k: sorted(item.codes.get(k, [])) for k in ("legal_basis", "topic", "euroscivoc", "call",
                                                              "funding_scheme")},
        "meta": {k: item.meta.get(k) for k in meta_keys},
    }


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cordis_spider_reads_table_editions_like_the_xml_edition(spider, xml_items, fmt):
    body = edition_zip(shared_tables(list(xml_items)), fmt)
    items = {item.external_id: item for item in crawl(spider, body)}
    assert sorted(items) == sorted(xml_items)
    for grant_id, xml_item in xml_items.items():
        assert key_fields(items[grant_id]) == key_fields(xml_item)
    assert any(item.organisations and item.organisations[0].lat for item in items.values())
    assert "https://cordis.test/data/he-csv.zip" in spider.new_state


def test_cordis_spider_drops_a_table_row_without_objective(spider, xml_items):
    tables = shared_tables(list(xml_items))
    tables["project"][0]["objective"] = ""
    items = crawl(spider, edition_zip(tables, "csv"))
    assert len(items) == N_PROJECTS - 1
    assert spider.crawler.stats.get_value("trendscout/dropped/no_objective/cordis") == 1


def test_cordis_spider_counts_tables_without_a_project_table(spider, xml_items):
    tables = shared_tables(list(xml_items))
    del tables["project"]
    assert crawl(spider, edition_zip(tables, "csv")) == []
    assert spider.crawler.stats.get_value("trendscout/errors/no_project_table/cordis") == 1


def test_read_table_finds_columns_by_header_and_keeps_quoted_separators():
    data = b'"objective";"id"\n"Line one;\nline two";"42"\n'
    assert read_table("project.csv", data) == [{"objective": "Line one;\nline two", "id": "42"}]


@pytest.mark.parametrize(("value", "expected"), [("3499076,25", 3499076.25), ("2073781.25", 2073781.25),
                                                 ("0", 0.0), ("", None), ("n/a", None)])
def test_number_reads_decimal_comma_and_point(value, expected):
    assert number(value) == expected


def test_parse_tables_joins_rows_by_project_id():
    tables = {"project": [{"id": "7", "objective": "Text", "startDate": "2024-01-01", "totalCost": "1,5"}],
              "organization": [{"projectID": "7", "name": "B", "order": "2", "geolocation": "1.5,2.5"},
                               {"projectID": "7", "name": "A", "order": "1", "role": "coordinator"},
                               {"projectID": "8", "name": "Other"}]}
    (item,) = parse_tables(tables)
    assert [o.name for o in item.organisations] == ["A", "B"] and item.organisations[1].lat == 1.5
    assert item.published_on == "2024-01-01" and item.meta["total_cost"] == 1.5
