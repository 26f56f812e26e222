import json
import re

import pytest

from pipelines.errors import TrendscoutError
from pipelines.runs import StepResult
from pipelines.settings import Settings, TrendSettings
from pipelines.steps.detect import detect
from pipelines.steps.digest import md_escape, md_prose, parse_week, safe_url, write_digest
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from tests.conftest import THIS_WEEK

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        docs = [{"source": "news", "kind": "news", "external_id": str(i), "title": f"{HOSTILE} story {i}",
                 "text": f"{HOSTILE} body", "url": "javascript:alert(3)" if i == 0 else f"https://x.test/{i}",
                 "published_on": f"2025-{1 + i % 12:02d}-10"} for i in range(40)]
        upsert_documents(s, docs, StepResult("ingest"))
        s.con.execute("INSERT INTO topics VALUES (0, ?, ?, 40, '2025-01-01', 'v', 'active', NULL)",
                      [HOSTILE, json.dumps([HOSTILE, "steel"])])
        s.con.execute("INSERT INTO topic_assignments SELECT doc_id, 0, 'v', 1.0, now() FROM documents")
        detect(s, TrendSettings(recent_days=61, baseline_days=182, min_docs=1), "run1")
        yield s


def test_digest_escapes_crawled_text_in_html_and_markdown(store, tmp_path):
    settings = Settings(reports_dir=tmp_path)
    _, folder = write_digest(store, settings, THIS_WEEK)
    html = (folder / "digest.html").read_text()
    md = (folder / "digest.md").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert all(tag.startswith('<img class="chart" src="chart-topic-') for tag in re.findall(r"<img[^>]*", html))
    assert "javascript:" not in html and 'href="https://x.test/' in html
    assert not re.search(r"(?<!\\)<", md) and "\\<script\\>" in md  # every < escaped
    data = json.loads((folder / "digest.json").read_text())
    assert data["week"] == THIS_WEEK and (data["themes"] + data["watch_list"])[0]["label"] == HOSTILE


@pytest.mark.parametrize("url, expected", [
    ("https://a.test/x", "https://a.test/x"), ("javascript:alert(1)", None), ("data:text/html,x", None),
    ("//evil.test", None), (None, None), (float("nan"), None),
])
def test_safe_url_keeps_only_http_links(url, expected):
    assert safe_url(url) == expected


def test_md_escape_neutralises_markup():
    assert md_escape("[x](javascript:1) <b>") == "\\[x\\]\\(javascript:1\\) \\<b\\>"


def test_md_prose_neutralises_links_and_html_but_keeps_numbers_readable():
    assert md_prose("39 docs [x](javascript:1) <b> *a* 2026-09-01 (q = 0.001).") == \
        "39 docs \\[x\\](javascript:1) \\<b\\> \\*a\\* 2026-09-01 (q = 0.001)."


def test_parse_week_accepts_iso_weeks_only():
    assert parse_week("2026-W48")[1:] == (parse_week("2026-W48")[1], parse_week("2026-W48")[2])
    assert str(parse_week("2026-W48")[1]) == "2026-11-23"
    with pytest.raises(TrendscoutError):
        parse_week("2026-48")
