from pathlib import Path

import pytest

from crawlers.cordis_xml import RecordError, parse_project

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cordis"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_parse_project_reads_fields_organisations_and_codes():
    item = parse_project(fixture("project-101172946-SUN-PERFORM.xml"))
    assert (item.source, item.kind, item.external_id) == ("cordis", "project", "101172946")
    assert item.url == "https://cordis.europa.eu/project/id/101172946"
    assert item.published_on == "2024-08-16"  # signature date: when the project was funded
    assert item.updated_on == "2025-09-19"
    assert item.text.startswith("The advancement of direct solar fuel technologies")
    assert item.meta["acronym"] == "SUN-PERFORM" and item.meta["start_date"] == "2024-11-01"
    assert item.meta["teaser"].startswith("The advancement")
    assert "Microalgae" in item.meta["keywords"]
    assert len(item.organisations) == 7
    coordinator = next(o for o in item.organisations if o.role == "coordinator")
    assert (coordinator.name, coordinator.country, coordinator.nuts_code) == ("WAGENINGEN UNIVERSITY", "NL", "NL221")
    assert coordinator.lat == pytest.approx(51.9863279) and coordinator.city == "Wageningen"
    assert item.codes["legal_basis"] == ["HORIZON.2.5.2", "HORIZON.2.5"]
    assert item.codes["topic"] == ["HORIZON-CL5-2024-D3-01-04"]
    assert item.codes["funding_scheme"] == ["HORIZON-RIA"]
    assert "/engineering and technology/nanotechnology" in item.codes["euroscivoc"]
    assert item.meta["nuts_names"]["ITH4"] == "Friuli-Venezia Giulia"


def test_parse_project_accepts_default_namespace():
    data = fixture("project-101082059-MiTrA.xml").replace(b"<project>", b'<project xmlns="http://cordis.europa.eu">', 1)
    item = parse_project(data)
    assert item.external_id == "101082059" and item.organisations[0].nuts_code == "FR101"


@pytest.mark.parametrize("mutate, reason", [
    (lambda b: b[: len(b) // 2], "malformed_xml"),
    (lambda b: b.replace(b"<objective>", b"<objectiveX>").replace(b"</objective>", b"</objectiveX>"), "no_objective"),
    (lambda b: b.replace(b"<ecSignatureDate>2023-07-03</ecSignatureDate>", b"")
     .replace(b"<startDate>2023-10-01</startDate>", b""), "no_date"),
    (lambda b: b"<?xml version='1.0'?><html><body>error</body></html>", "not_a_project"),
])
def test_parse_project_rejects_bad_records_with_a_reason(mutate, reason):
    with pytest.raises(RecordError) as info:
        parse_project(mutate(fixture("project-101082059-MiTrA.xml")))
    assert info.value.reason == reason
