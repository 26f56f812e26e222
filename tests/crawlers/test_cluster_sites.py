import pytest

from tests.crawlers.conftest import fixture_bytes, run_crawl

pytestmark = pytest.mark.integration


def test_cluster_sites_crawl_follows_sitemaps_by_lastmod_and_adds_nothing_on_rerun(bare_site, tmp_path):
    site = bare_site
    base = site.url_for("").rstrip("/")
    site.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap-index.xml\n", content_type="text/plain")
    html = "text/html; charset=utf-8"
    for path, name, content_type in [
        ("/sitemap-index.xml", "sitemap-index.xml", "application/xml"),
        ("/sitemap.xml", "sitemap-page-1.xml", "application/xml"),  # ?page=1; page 2 is older than since
        ("/community-news/hydrogen-valleys-clusters-join-forces", "article-hydrogen.html", html),
        ("/community-news/textile-recycling-demonstrator", "article-textile.html", html),
        ("/news/hydrogen-valleys-clusters-join-forces_en", "article-hydrogen.html", html),
    ]:
        site.expect_request(path).respond_with_data(
            fixture_bytes(f"cluster_news/{name}").replace(b"{base}", base.encode()), content_type=content_type)

    first = run_crawl("cluster_sites", tmp_path, [f"{base}/robots.txt"], args={"since": "2026-01-01"})
    assert sorted(i["url"] for i in first.items) == [
        f"{base}/community-news/textile-recycling-demonstrator",
        f"{base}/news/hydrogen-valleys-clusters-join-forces_en",  # its rel=canonical original
    ]
    assert {i["source"] for i in first.items} == {"cluster_sites"}
    assert first.stat("trendscout/skipped/before_since/cluster_sites") == 2  # old sub-sitemap, old article
    # robots.txt twice (robots middleware, start URL), index, sitemap page 1, two articles, one canonical original;
    # never the non-article listing page nor the old sub-sitemap
    assert first.stat("downloader/request_count") == 7

    second = run_crawl("cluster_sites", tmp_path, [f"{base}/robots.txt"], args={"since": "2026-01-01"},
                       run_id="run2")
    assert second.items == [] and second.stat("trendscout/skipped/already_seen/cluster_sites") == 2
