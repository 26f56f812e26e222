"""The regional brief and a theme's collaboration areas in a real browser (see test_browser.py: skips without
chromium). The store is the browser tests' one plus a few projects that relate hydrogen and batteries."""

import pytest

from pipelines.settings import Settings
from pipelines.steps.digest import write_digest
from pipelines.store import Store
from tests.conftest import THIS_WEEK
from tests.integration import test_browser  # SHOTS is set by its browser fixture, so read it when used
from tests.integration.test_browser import browser, page, server  # noqa: F401 (fixtures)
from tests.pipelines.test_digest_sections import build_store
from tests.pipelines.test_regions import add_geography

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-regions")
    settings = Settings(data_dir=root / "data", reports_dir=root / "reports", dashboard={"regions": ["DE71"]})
    with Store.open(settings.store_path) as store:
        add_geography(build_store(store))
        write_digest(store, settings, THIS_WEEK)
    return settings


def test_analyst_opens_a_regional_brief_and_follows_a_partner(page, server):  # noqa: F811
    page.goto(server + "/regions")
    with page.expect_navigation():
        page.click("a.region-link[href='/regions/DE71']")
    assert page.locator("#region-name").inner_text().startswith("DE71")
    assert "hydrogen valleys" in page.locator("#specialisations").inner_text()
    adjacent = page.locator("#adjacent-possible").inner_text()
    assert "solid-state batteries" in adjacent and "rising" in adjacent
    rows = page.locator("#cross-border tr").all_inner_texts()
    assert any("FRK2" in r and "yes, 1 shared project" in r for r in rows)
    assert any("ES21" in r and "not yet" in r for r in rows)
    assert page.evaluate("typeof window.__xss") == "undefined" and page.dialogs == []  # organisation names are text
    page.screenshot(path=str(test_browser.SHOTS / "7-region-brief.png"), full_page=True)
    with page.expect_navigation():
        page.click("#cross-border a[href='/regions/FRK2']")
    assert page.locator("#region-name").inner_text().startswith("FRK2")


def test_theme_page_shows_collaboration_areas_and_non_eu_partners(page, server):  # noqa: F811
    page.goto(server + "/themes/1")
    areas = page.locator("#collaboration-areas").inner_text()
    assert "DE71" in areas and "FRK2" in areas and "yes, 1 shared" in areas
    assert "US (1)" in page.locator("#theme-geography").inner_text()
    page.screenshot(path=str(test_browser.SHOTS / "8-theme-geography.png"), full_page=True)


def test_digest_has_the_followed_regions_brief(page, site):  # noqa: F811
    page.goto((site.reports_dir / THIS_WEEK / "digest.html").as_uri())
    brief = page.locator("#brief-DE71").inner_text()
    assert "hydrogen valleys" in brief and "solid-state batteries" in brief and "FRK2" in brief
