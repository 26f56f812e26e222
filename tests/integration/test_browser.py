"""The dashboard and the digest in a real browser (Debian's chromium via Playwright) on 127.0.0.1.

Two stores: a small hand-built one (escaping, feedback) and one built from real CORDIS projects (the
analyst's first screen, sorting, region names, search, paging). Skips when chromium or Playwright is
missing or the browser cannot start. Screenshots go to the pytest temporary directory (`screenshots*/`,
path printed); a reference set is in docs/img/ (docs/dashboard.md).
"""

import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from pipelines.dashboard.app import create_app
from pipelines.settings import Settings
from pipelines.steps.digest import write_digest
from pipelines.store import Store
from tests.conftest import SHARED_DATA, THIS_WEEK
from tests.integration.cordis_store import build_cordis_store
from tests.pipelines.test_digest_sections import PAYLOAD, build_store

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS: Path = Path()  # set by the browser fixture: a folder under the pytest temporary directory


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=root / "data", reports_dir=root / "reports")
    with Store.open(settings.store_path) as store:
        build_store(store)
        write_digest(store, settings, THIS_WEEK)
    return settings


@pytest.fixture(scope="module")
def cordis_site(tmp_path_factory):
    if not (SHARED_DATA / "cordis-horizon-europe" / "projects.parquet").exists():
        pytest.skip("shared CORDIS corpus not found")
    root = tmp_path_factory.mktemp("cordis")
    settings = Settings(data_dir=root / "data", reports_dir=root / "reports")
    with Store.open(settings.store_path) as store:
        build_cordis_store(store)
        _, folder = write_digest(store, settings)
    return settings, folder


def serve(settings):
    """Run the dashboard for `settings` on a free loopback port; yield its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(site):
    yield from serve(site)


@pytest.fixture(scope="module")
def cordis_server(cordis_site):
    yield from serve(cordis_site[0])


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        try:
            context = pw.chromium.launch_persistent_context(
                str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True, args=ARGS)
        except Exception as exc:  # any launch failure means "no usable browser here", not a failed test
            pytest.skip(f"chromium cannot be launched: {exc}")
        global SHOTS
        SHOTS = tmp_path_factory.mktemp("screenshots")
        print(f"screenshots: {SHOTS}")
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    page.close()


def test_analyst_filters_opens_a_theme_and_gives_feedback(page, server, site):
    page.goto(server + "/")
    assert page.locator("tr.theme-row").count() == 4
    page.screenshot(path=str(SHOTS / "1-home.png"), full_page=True)
    with page.expect_navigation():
        page.select_option("#filter-region", "DE92")  # the inline script submits the form on change
    assert "region=DE92" in page.url
    assert page.locator("a.theme-link").all_inner_texts() == ["solid-state batteries"]
    page.screenshot(path=str(SHOTS / "2-filtered-by-region.png"), full_page=True)
    page.click("a.theme-link")
    assert page.locator("#theme-label").inner_text().startswith("solid-state batteries")
    page.screenshot(path=str(SHOTS / "3-theme.png"), full_page=True)
    page.check("input[name=verdict][value=watch]")
    page.fill("textarea[name=note]", "follow for the battery cluster")
    page.click("#feedback-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert page.locator("#feedback-status").inner_text() == "watched"
    page.screenshot(path=str(SHOTS / "4-feedback-saved.png"), full_page=True)
    with Store.open(site.store_path, read_only=True) as store:
        rows = store.df("SELECT topic_id, verdict, note FROM feedback").values.tolist()
    assert rows == [[4, "watch", "follow for the battery cluster"]]


@pytest.mark.parametrize("path, selector", [
    ("/themes/1", "#documents"), ("/search?q=electrolyser", "#results"), (f"/digests/{THIS_WEEK}/html", "body"),
])
def test_hostile_document_shows_as_text_and_runs_nothing(page, server, path, selector):
    page.goto(server + path)
    assert PAYLOAD.split(" onerror")[0] in page.locator(selector).inner_text()
    assert page.evaluate("typeof window.__xss") == "undefined" and page.dialogs == []
    assert page.evaluate("[...document.images].every(i => /chart(-topic-\\d+)?\\.png$/.test(i.src))")  # charts only
    page.screenshot(path=str(SHOTS / f"5-hostile-{path.strip('/').replace('/', '-').split('?')[0]}.png"))


def test_digest_opens_offline_without_loading_anything(page, site):
    html, md = (site.reports_dir / THIS_WEEK / "digest.html"), (site.reports_dir / THIS_WEEK / "digest.md")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri())
    assert page.locator("img.chart").count() == 2 and page.locator("h2").count() >= 8
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth == 640)")
    charts = sorted(p.as_uri() for p in html.parent.glob("chart-topic-*.png"))
    assert requests[0] == html.as_uri() and sorted(requests[1:]) == charts  # nothing beside its own files
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.screenshot(path=str(SHOTS / "6-digest.png"), full_page=True)
    page.goto(md.as_uri())
    assert "\\<script\\>window" in page.locator("body").inner_text() and page.dialogs == []


def test_digest_first_screen_shows_the_summary_and_the_first_cards_sentence(browser, cordis_site):
    settings, folder = cordis_site
    page = browser.new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto((folder / "digest.html").as_uri())
    summary, sentence = page.locator("#summary"), page.locator("section.theme .sentence").first
    assert "1 theme passed the test" in summary.inner_text() and "Stale data" in summary.inner_text()
    # counts and dates come from the detection's windows (days back from the as-of date, 2025-09-30)
    assert re.match(r"\d+ documents from \d{4}-\d\d-\d\d to 2025-09-30 against \d+ in the \d+ quarters before "
                    r"\(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d\): share × [\d.]+", sentence.inner_text())
    for element in (summary, sentence, page.locator("section.theme img.chart").first):
        box = element.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 900, element  # on the first screen
    assert page.evaluate("document.querySelector('img.chart').naturalWidth") == 640
    assert page.locator("section.theme h3").first.inner_text().startswith("generative AI and language models")
    page.screenshot(path=str(SHOTS / "digest-first-screen.png"))
    page.close()


def watched_page(browser):
    """A 1366x900 page and the list its script errors and failed requests are written to."""
    page, errors = browser.new_page(), []
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico") and errors.append(r.url))
    page.set_viewport_size({"width": 1366, "height": 900})
    return page, errors


def test_dashboard_sorts_filters_by_region_name_searches_and_pages(browser, cordis_server):
    page, errors = watched_page(browser)
    page.dialogs = []
    page.goto(cordis_server + "/")
    page.wait_for_selector("#home-plot .main-svg")  # Plotly, served by the dashboard itself
    assert page.locator("#home-plot .scatterlayer .trace").count() == 6 and page.dialogs == []
    top_layer = page.locator("#home-plot .main-svg").last  # transparent, or it hides the lines beneath
    assert top_layer.evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
    with page.expect_navigation():
        page.click("a.sort[data-sort=growth]")
    growth = [float(t.split()[-1]) for t in page.locator("td.growth").all_inner_texts()]
    assert len(growth) == 7 and growth == sorted(growth, reverse=True)
    page.wait_for_selector("#home-plot .main-svg")
    page.screenshot(path=str(SHOTS / "dashboard-sorted.png"), full_page=True)
    with page.expect_navigation():
        page.click("a.sort[data-sort=growth]")  # again: ascending
    assert [float(t.split()[-1]) for t in page.locator("td.growth").all_inner_texts()] == sorted(growth)
    label = page.locator("#filter-region option").nth(1).inner_text()
    name, code = label.split(" (")[0], label.split("(")[-1].split(")")[0]
    assert name and name != code  # a region by name, with its code
    with page.expect_navigation():
        page.select_option("#filter-region", label=label)
    assert f"region={code}" in page.url and page.locator("tr.theme-row").count() >= 1
    page.screenshot(path=str(SHOTS / "dashboard-region.png"), full_page=True)
    page.goto(cordis_server + "/search")
    page.fill("input[name=q]", "hydrogen production")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    count = page.locator("#result-count").inner_text()
    total = int(count.split()[0])
    assert total > 100 and "“hydrogen” and “production”" in count and page.locator("li.result").count() == 50
    assert "hydrogen production" in page.locator("li.result a").first.inner_text().lower()  # title first
    page.screenshot(path=str(SHOTS / "dashboard-search.png"), full_page=True)
    with page.expect_navigation():
        page.click("#next-page")
    assert "page=2" in page.url and f"page 2 of {-(-total // 50)}" in page.locator("#result-count").inner_text()
    assert errors == []  # no script or CSP error on any page
    page.close()


def test_dashboard_charts_regions_and_the_sector_mix(browser, cordis_server):
    page, errors = watched_page(browser)
    page.goto(cordis_server + "/")
    page.wait_for_selector("#regions-plot .main-svg")
    flagged = page.locator("tr.theme-row .badge.flag").count()
    assert flagged >= 1 and page.locator("#regions-plot .barlayer .trace").count() == flagged
    assert " (" in page.locator("#regions-plot .ytick").first.text_content()  # "Name (CODE)"
    with page.expect_navigation():
        page.locator("tr.theme-row:has(.badge.flag) a.theme-link").first.click()
    page.wait_for_selector("#sectors-plot .main-svg")
    assert page.locator("#regions-plot .barlayer .trace").count() == 1
    assert page.locator("#sectors-plot .barlayer .trace").count() == 2  # before, recent
    assert page.locator("#sectors-plot .legendtext").first.text_content().startswith("before: ")
    page.locator("#theme-plots").screenshot(path=str(SHOTS / "dashboard-theme-charts.png"))
    assert errors == [] and page.evaluate("typeof window.__xss") == "undefined"
    page.close()
