"""The dashboard and the digest in a real browser (Debian's chromium via Playwright) on 127.0.0.1.

Skips when chromium or Playwright is missing or the browser cannot start. Screenshots go to
test-artifacts/browser/ (git-ignored).
"""

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
from tests.conftest import REPO
from tests.pipelines.test_digest_sections import PAYLOAD, build_store

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = REPO / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=root / "data", reports_dir=root / "reports")
    with Store.open(settings.store_path) as store:
        build_store(store)
        write_digest(store, settings, "2026-W48")
    return settings


@pytest.fixture(scope="module")
def server(site):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(site), host="127.0.0.1", port=port, log_level="warning"))
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
        SHOTS.mkdir(parents=True, exist_ok=True)
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
    ("/themes/1", "#documents"), ("/search?q=electrolyser", "#results"), ("/digests/2026-W48/html", "body"),
])
def test_hostile_document_shows_as_text_and_runs_nothing(page, server, path, selector):
    page.goto(server + path)
    assert PAYLOAD.split(" onerror")[0] in page.locator(selector).inner_text()
    assert page.evaluate("typeof window.__xss") == "undefined" and page.dialogs == []
    assert page.locator("img").count() == 0
    page.screenshot(path=str(SHOTS / f"5-hostile-{path.strip('/').replace('/', '-').split('?')[0]}.png"))


def test_digest_opens_offline_without_loading_anything(page, site):
    html, md = (site.reports_dir / "2026-W48" / "digest.html"), (site.reports_dir / "2026-W48" / "digest.md")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri())
    assert page.locator("svg polyline").count() >= 1 and page.locator("h2").count() >= 8
    assert requests == [html.as_uri()] and page.evaluate("typeof window.__xss") == "undefined"
    page.screenshot(path=str(SHOTS / "6-digest.png"), full_page=True)
    page.goto(md.as_uri())
    assert "\\<script\\>window" in page.locator("body").inner_text() and page.dialogs == []
