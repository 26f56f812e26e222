"""Items per second through a spider and the item pipelines, against a loopback server, throttling off.

Serves one RSS feed of N entries plus N article pages (the cluster_news fixtures) from 127.0.0.1, runs
`scrapy crawl cluster_news` in a subprocess and prints pages, items and rates from the crawl's stats.

    .venv/bin/python benchmarks/crawl_throughput.py --pages 300
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_httpserver import HTTPServer

REPO = Path(__file__).resolve().parents[1]
ARTICLE = (REPO / "tests/fixtures/cluster_news/article-textile.html").read_bytes()


def feed(base: str, n: int) -> bytes:
    items = "".join(f"<item><title>Article {i}</title><link>{base}/news/{i}</link>"
                    f"<pubDate>Mon, 16 Feb 2026 09:30:00 +0100</pubDate></item>" for i in range(n))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>{items}</channel></rss>'.encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per page otherwise
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        base = server.url_for("").rstrip("/")
        server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
        server.expect_request("/feed.xml").respond_with_data(feed(base, args.pages), content_type="application/rss+xml")
        for i in range(args.pages):  # the same article with a unique title per page
            body = ARTICLE.replace(b"Textile recycling cluster opens demonstrator", f"Textile news {i}".encode())
            server.expect_request(f"/news/{i}").respond_with_data(body, content_type="text/html; charset=utf-8")
        with tempfile.TemporaryDirectory() as tmp:
            settings = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "HTTPCACHE_ENABLED": False,
                        "COOKIES_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
                        "TRENDSCOUT_RAW_DIR": f"{tmp}/raw", "TRENDSCOUT_STATE_DIR": f"{tmp}/state",
                        "TRENDSCOUT_STATS_FILE": f"{tmp}/stats.json", "LOG_LEVEL": "WARNING"}
            command = [sys.executable, "-m", "scrapy", "crawl", "cluster_news", "-a", f"urls={base}/feed.xml"]
            for key, value in settings.items():
                command += ["-s", f"{key}={value}"]
            started = time.perf_counter()
            subprocess.run(command, cwd=REPO, check=True)
            wall = time.perf_counter() - started
            stats = json.loads(Path(f"{tmp}/stats.json").read_text())
    finally:
        server.stop()
    items, pages, crawl = stats.get("item_scraped_count", 0), stats.get("response_received_count", 0), stats[
        "elapsed_time_seconds"]
    print(f"pages={pages} items={items} crawl={crawl:.2f}s wall={wall:.2f}s (incl. process start)")
    print(f"items/s={items / crawl:.1f} pages/s={pages / crawl:.1f} concurrency={args.concurrency}")


if __name__ == "__main__":
    main()
