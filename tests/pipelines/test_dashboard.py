"""The dashboard in-process (Starlette TestClient): pages, filters, escaping, CSRF, paths, a busy store."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipelines.dashboard import app as dashboard_app
from pipelines.dashboard.app import create_app
from pipelines.dashboard.security import CSRF_COOKIE
from pipelines.settings import DashboardSettings, Settings
from pipelines.steps.digest import write_digest
from pipelines.steps.enrich import index_terms
from pipelines.store import Store
from tests.conftest import THIS_WEEK
from tests.pipelines.test_digest_sections import PAYLOAD, build_store


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("dashboard")
    settings = Settings(data_dir=root / "data", reports_dir=root / "reports")
    with Store.open(settings.store_path) as store:
        build_store(store)
        index_terms(store)  # the search tests below run through the inverted index
        write_digest(store, settings, THIS_WEEK)
    (root / "secret.txt").write_text("TOP SECRET")
    (settings.reports_dir / "2026-W01").symlink_to(root)  # a week folder pointing outside the reports
    return settings


@pytest.fixture
def client(site) -> TestClient:
    with TestClient(create_app(site), base_url="http://127.0.0.1") as c:
        yield c


def csrf_of(client: TestClient, path: str = "/themes/1") -> str:
    page = client.get(path).text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_home_lists_themes_and_filters_by_region(client):
    home = client.get("/")
    assert home.status_code == 200 and "hydrogen valleys" in home.text and "solid-state batteries" in home.text
    filtered = client.get("/", params={"region": "DE92"}).text
    assert "solid-state batteries" in filtered and "hydrogen valleys" not in filtered
    assert "steel recycling" in client.get("/", params={"sector": "steel"}).text
    assert "hydrogen valleys" not in client.get("/", params={"sector": "steel"}).text


@pytest.mark.parametrize("path", ["/", "/themes/1", "/search?q=hydrogen", f"/digests/{THIS_WEEK}/html"])
def test_pages_show_hostile_text_as_text(client, path):
    page = client.get(path)
    assert page.status_code == 200
    data = re.findall(r'<script type="application/json" id="[\w-]+">(.*?)</script>', page.text, re.S)
    assert not any(c in block for block in data for c in "<>'")  # chart data: JSON that cannot close its tag
    text = re.sub(r'<script type="application/json".*?</script>', "", page.text, flags=re.S)
    assert "<script>window" not in text and "<img src=x" not in text
    assert 'href="javascript' not in text and "onerror=" not in text.replace("onerror=&#34;", "")
    assert "script-src" in page.headers["content-security-policy"]


def test_theme_page_shows_series_regions_and_escaped_documents(client):
    page = client.get("/themes/1").text
    assert 'src="/themes/1/chart.png"' in page and "Region DE71 (DE71)" in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    assert client.get("/themes/999").status_code == 404


def test_feedback_needs_post_and_session_csrf_token(client, site):
    assert client.get("/themes/2/feedback").status_code == 405
    token = csrf_of(client)
    assert client.post("/themes/2/feedback", data={"verdict": "watch"}).status_code == 403
    assert client.post("/themes/2/feedback", data={"verdict": "watch", "csrf": "x" * 43}).status_code == 403
    stranger = TestClient(create_app(site), base_url="http://127.0.0.1")  # another session, same token
    assert stranger.post("/themes/2/feedback", data={"verdict": "watch", "csrf": token}).status_code == 403
    saved = client.post("/themes/2/feedback", data={"verdict": "watch", "note": PAYLOAD, "csrf": token},
                        headers={"Origin": "http://127.0.0.1"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/themes/2?saved=1"
    with Store.open(site.store_path, read_only=True) as store:
        assert store.df("SELECT verdict, note FROM feedback WHERE topic_id = 2").values.tolist() == [["watch", PAYLOAD]]
    page = client.get("/themes/2?saved=1").text
    assert 'id="saved"' in page and "watched" in page and "<script>window" not in page


def test_feedback_refuses_a_made_up_pair_and_a_foreign_origin(site):
    with TestClient(create_app(site), base_url="http://127.0.0.1") as attacker:  # plants its own cookie
        forged = "f" * 43 + "." + "0" * 64
        attacker.cookies.set(CSRF_COOKIE, forged)
        assert attacker.post("/themes/2/feedback", data={"verdict": "watch", "csrf": forged}).status_code == 403
    with TestClient(create_app(site), base_url="http://127.0.0.1") as c:
        token = csrf_of(c)
        for origin in ("http://127.0.0.1:9999", "http://localhost:8765", "null"):
            refused = c.post("/themes/2/feedback", data={"verdict": "watch", "csrf": token}, headers={"Origin": origin})
            assert refused.status_code == 403, origin
    with Store.open(site.store_path, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM feedback WHERE topic_id = 2 AND note = ''") == 0


def test_search_and_theme_pages_show_a_document_without_url(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    with Store.open(settings.store_path) as store:
        build_store(store)
        store.con.execute("UPDATE documents SET url = NULL WHERE doc_id = (SELECT min(doc_id) FROM documents "
                          "WHERE text ILIKE '%electrolyser%')")
        assert store.scalar("SELECT count(*) FROM documents WHERE url IS NULL") == 1
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        found = c.get("/search", params={"q": "electrolyser"})
        assert found.status_code == 200 and "<mark>" in found.text
        assert c.get("/themes/1").status_code == 200


def test_csrf_cookie_is_httponly_and_strict(client):
    cookie = client.get("/").headers["set-cookie"]
    assert cookie.startswith(CSRF_COOKIE) and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_search_finds_text_and_treats_wildcards_literally(client):
    page = client.get("/search", params={"q": '"electrolyser body"'}).text
    assert "<mark>electrolyser body</mark>" in page and "&lt;script&gt;" in page
    assert 'id="results">\n</ul>' in client.get("/search", params={"q": "%%"}).text


@pytest.mark.parametrize("path", [
    "/digests/..%2F..%2Fsecret.txt/html", f"/digests/{THIS_WEEK}/..%2F..%2Fsecret.txt", "/digests/../secret.txt",
    f"/digests/{THIS_WEEK}/txt", "/digests/2026-W01/html", "/digests/%2e%2e/html",
    f"/digests/{THIS_WEEK}%2F..%2F..%2Fsecret.txt/md",
])
def test_digest_files_are_served_only_from_reports_dir(client, path):
    response = client.get(path)
    assert response.status_code == 404 and "TOP SECRET" not in response.text


def test_digests_page_lists_written_weeks(client):
    page = client.get("/digests").text
    assert f'href="/digests/{THIS_WEEK}/html"' in page and f'href="/digests/{THIS_WEEK}/md"' in page
    assert client.get(f"/digests/{THIS_WEEK}/md").headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("query", ["region=DE71%27--", "kind=blog", "start=yesterday"])
def test_bad_filters_are_refused(client, query):
    assert client.get(f"/?{query}").status_code == 400


def test_foreign_host_header_is_refused(client):
    assert client.get("/", headers={"host": "evil.test"}).status_code == 400


def test_feedback_while_another_process_writes_reports_busy(site, monkeypatch):
    monkeypatch.setattr(dashboard_app, "dashboard_of", lambda _: DashboardSettings(write_retries=2, retry_wait_s=0.05))
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); time.sleep(60)", str(site.store_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with TestClient(create_app(site), base_url="http://127.0.0.1") as c:
            assert c.get("/").status_code == 503
            busy = c.post("/themes/1/feedback", data={"verdict": "relevant", "csrf": c.cookies[CSRF_COOKIE]})
        assert busy.status_code == 503 and "nothing was saved" in busy.text
    finally:
        holder.kill()
        holder.wait()


def test_dashboard_without_store_says_what_to_do(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "none", reports_dir=tmp_path / "reports")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        page = c.get("/")
        assert page.status_code == 503 and "trendscout nightly" in page.text
        assert "No digest written yet" in c.get("/digests").text


def test_cli_analyst_registers_serve_and_mail_digest(site):
    import typer
    from typer.testing import CliRunner

    from pipelines.cli import analyst as cli_analyst

    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = {"settings": site, "quiet": True}

    cli_analyst.register(app)
    runner = CliRunner()
    assert "127.0.0.1" in runner.invoke(app, ["serve", "--help"]).output
    missing = runner.invoke(app, ["mail-digest", "--week", "2026-W40"])
    assert missing.exit_code == 1 and "no digest for 2026-W40" in missing.output


def test_themes_sort_by_growth_q_recent_and_onset(client):
    def column(params, name):
        page = client.get("/", params=params).text
        return re.findall(rf'<td class="{name}">([^<]*)</td>', page)

    assert column({"sort": "growth"}, "growth") == ["× 4.00", "× 3.00", "× 1.00", "× 0.10"]
    assert column({"sort": "growth", "order": "asc"}, "growth") == ["× 0.10", "× 1.00", "× 3.00", "× 4.00"]
    assert column({"sort": "q"}, "q") == ["1e-05", "0.001", "0.6", "0.9"]
    assert column({"sort": "recent"}, "recent") == ["16", "6", "3", "0"]
    onsets = column({"sort": "onset"}, "onset")
    assert onsets[0] == "2026-09-01" and onsets == sorted(o for o in onsets if o != "–") + ["–"] * onsets.count("–")
    assert 'aria-sort="descending"' in client.get("/", params={"sort": "growth"}).text


def test_filters_show_region_names_and_iso_dates(client):
    home = client.get("/").text
    assert re.search(r'<option value="DE92" >Region DE92 \(DE92\) · \d+ documents</option>', home)
    assert 'type="date"' not in home and 'placeholder="YYYY-MM-DD"' in home
    assert client.get("/", params={"start": "11/20/2026"}).status_code == 400


def test_search_needs_every_word_ranks_titles_first_counts_and_pages(site):
    small = site.model_copy(update={"dashboard": DashboardSettings(page_size=5)})
    with TestClient(create_app(small), base_url="http://127.0.0.1") as c:
        page = c.get("/search", params={"q": "hydrogen project"}).text
        total = int(re.search(r'id="result-count">(\d+) documents contain “hydrogen” and “project”', page).group(1))
        assert total == 35 and page.count('class="result"') == 5 and "page 1 of 7" in page
        assert 'href="?q=hydrogen%20project&amp;page=2"' in page
        last = c.get("/search", params={"q": "hydrogen project", "page": 7}).text
        assert last.count('class="result"') == 5 and 'id="next-page"' not in last
        assert "0 documents contain" in c.get("/search", params={"q": "hydrogen steel"}).text  # AND, not OR
        phrase = c.get("/search", params={"q": '"valleys valley"'}).text
        assert re.search(r'id="result-count">(\d+) document', phrase).group(1) == "3"
        first = re.search(r'class="result"><a href="[^"]*"[^>]*>([^<]*)</a>', page).group(1)
        assert "Hydrogen" in first  # title matches rank above text-only ones


def test_theme_documents_are_newest_first_and_paged(site):
    small = site.model_copy(update={"dashboard": DashboardSettings(page_size=10)})
    with TestClient(create_app(small), base_url="http://127.0.0.1") as c:
        page = c.get("/themes/1").text
        dates = re.findall(r'<span class="doc-date">([^<]*)</span>', page)
        assert len(dates) == 10 and dates == sorted(dates, reverse=True) and dates[0] == "2026-11-20"
        assert 'id="next-page"' in page and 'id="document-count">' in page


def test_home_chart_is_plotly_served_from_the_package(client):
    home = client.get("/").text
    data = json.loads(re.search(r'<script type="application/json" id="home-data">(.*?)</script>', home, re.S).group(1))
    assert [t["name"] for t in data][:2] == ["hydrogen valleys", "solid-state batteries"]  # flagged first
    assert data[0]["x"][0] == "2025-01-01" and data[0]["y"][0] == 25.0
    script = client.get("/static/plotly.min.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert b"plotly" in script.content[:2000].lower()
    assert 'src="/static/plotly.min.js"' in home and "cdn" not in home


def test_charts_are_png(client):
    for path in ("/charts/themes.png", "/themes/1/chart.png", f"/digests/{THIS_WEEK}/chart-topic-1.png"):
        response = client.get(path)
        assert response.status_code == 200 and response.content[:8] == b"\x89PNG\r\n\x1a\n", path
    assert client.get("/themes/999/chart.png").status_code == 404
    assert client.get(f"/digests/{THIS_WEEK}/chart-topic-x.png").status_code == 404


def figure_of(page: str, figure_id: str) -> dict:
    return json.loads(re.search(rf'<script type="application/json" id="{figure_id}-data">(.*?)</script>', page,
                                re.S).group(1))


def test_home_regions_chart_counts_the_flagged_themes_recent_documents_by_region_name(client):
    home = client.get("/").text
    regions = figure_of(home, "regions-plot")
    assert [t["name"] for t in regions["data"]] == ["hydrogen valleys", "solid-state batteries"]  # flagged only
    hydrogen, batteries = regions["data"]
    assert hydrogen["y"] == batteries["y"] and hydrogen["y"][0] == "Region DE71 (DE71)"
    totals = [h + b for h, b in zip(hydrogen["x"], batteries["x"], strict=True)]
    assert totals == sorted(totals, reverse=True) and "Region DE92 (DE92)" in hydrogen["y"]
    assert regions["layout"]["barmode"] == "stack" and 'class="plot" id="regions-plot"' in home
    steel = client.get("/", params={"sector": "steel"}).text  # no flagged theme listed: no chart, a sentence
    assert 'id="regions-plot-empty"' in steel and 'id="regions-plot-data"' not in steel


def test_theme_page_charts_regions_and_the_sector_mix_before_and_recent(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    with Store.open(settings.store_path) as store:
        build_store(store)
        store.con.execute("INSERT INTO doc_sectors SELECT a.doc_id, 'biopharmaceuticals', 0.42, 'zero-shot' "
                          "FROM topic_assignments a JOIN documents d USING (doc_id) WHERE a.topic_id = 1 "
                          "AND d.published_on >= '2026-09-01' AND d.title NOT LIKE '%<script>%'")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        page = c.get("/themes/1").text
    regions = figure_of(page, "regions-plot")
    assert len(regions["data"]) == 1 and regions["data"][0]["y"][0] == "Region DE71 (DE71)"
    in_table = int(re.search(r'>Region DE71 \(DE71\)</a></td><td>(\d+)</td>', page).group(1))
    assert regions["data"][0]["x"][0] == in_table > 0 and float(regions["data"][0]["customdata"][0]) > 1  # LQ
    sectors = figure_of(page, "sectors-plot")
    before, recent = sectors["data"]
    assert before["name"] == "before: 2025-01-01 to 2026-08-31" and recent["name"] == "recent: 2026-09-01 to 2026-11-30"
    assert recent["y"][:3] == ["chemicals", "energy", "Biopharmaceuticals"]  # most recent documents first
    pharma = recent["y"].index("Biopharmaceuticals")  # the taxonomy's name
    assert recent["x"][pharma] == 93.75 and before["x"][pharma] == 0.0 and recent["customdata"][pharma][1] == "0.42"
    energy = recent["y"].index("energy")  # a source's own sector name, as it is, without a confidence
    assert before["x"][energy] == 100.0 and recent["customdata"][energy] == [15, "–"]
    assert page.count('src="/static/plotly.min.js"') == 1


def test_nuts_table_names_regions_in_their_national_language_with_the_code():
    from pipelines.views.names import packaged_nuts_names, region_label

    names = packaged_nuts_names()
    assert region_label("DE21", names) == "Oberbayern (DE21)" and region_label("BG31", names) == "Северозападен (BG31)"
    assert names["EL"] == "Greece" and region_label("XX99", names) == "XX99"  # countries in English; unknown: code
