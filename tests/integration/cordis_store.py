"""A store built from real CORDIS Horizon Europe projects (the shared Parquet copy), for the browser tests.

Projects whose title names one of a few technologies form the topics (assigned by keyword, so no model is
needed); their organisations keep CORDIS's NUTS codes; the real `detect` step scores them by quarter.
"""

from __future__ import annotations

import json
import re

import duckdb

from pipelines.runs import StepResult
from pipelines.settings import TrendSettings
from pipelines.steps.detect import detect
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store
from tests.conftest import SHARED_DATA

CORDIS = SHARED_DATA / "cordis-horizon-europe"
TOPICS = {  # topic id -> (label, pattern, sector slug); the first that matches wins (topic 1: title or objective)
    1: ("generative AI and language models", r"generative AI|large language model|\bLLMs?\b", "digital-industries"),
    2: ("quantum technologies", r"quantum", "information-technology-and-analytical-instruments"),
    3: ("cancer", r"cancer|tumou?r|oncolog", "biopharmaceuticals"),
    4: ("batteries", r"batter", "automotive"),
    5: ("hydrogen and electrolysers", r"hydrogen|electroly", "energy"),
    6: ("oceans and seas", r"ocean|marine|\bsea\b", "fishing-and-fishing-products"),
    7: ("soils", r"\bsoils?\b", "agricultural-inputs-and-services"),
}


def projects() -> list[dict]:
    """Real projects signed 2022-01 .. 2025-11 whose title matches a topic (first topic that matches)."""
    con = duckdb.connect()
    frame = con.execute(f"""
        SELECT p.id, p.title, p.text, p.date, p.acronym,
               list({{'name': o.legal_name, 'nuts_code': o.nuts_code, 'country': o.country,
                     'org_id': o.org_id}}) FILTER (WHERE o.legal_name IS NOT NULL) AS orgs
        FROM '{CORDIS / "projects.parquet"}' p LEFT JOIN '{CORDIS / "organizations.parquet"}' o ON o.project_id = p.id
        WHERE p.date BETWEEN '2022-01-01' AND '2025-11-30' GROUP BY ALL ORDER BY p.id""").df()
    out = []
    for row in frame.itertuples():
        topic = next((t for t, (_, pattern, _) in TOPICS.items()
                      if re.search(pattern, row.title if t > 1 else f"{row.title} {row.text}", re.IGNORECASE)), None)
        if topic is None:
            continue
        out.append({"source": "cordis", "kind": "project", "external_id": str(row.id), "title": row.title,
                    "text": row.text or row.title, "published_on": str(row.date)[:10],
                    "url": f"https://cordis.europa.eu/project/id/{row.id}",
                    "codes": {"sector": [TOPICS[topic][2]]},
                    "organisations": [o for o in (row.orgs if row.orgs is not None else []) if o["name"]][:12],
                    "_topic": topic})
    return out


def build_cordis_store(store: Store) -> int:
    """Fill `store` with the matching projects, their topics and a quarterly detection; return the documents."""
    docs = projects()
    upsert_documents(store, docs, StepResult("ingest"))
    for topic, (label, _, _) in TOPICS.items():
        store.con.execute("INSERT INTO topics VALUES (?, ?, ?, 0, '2022-01-01', 'v1', 'active', NULL)",
                          [topic, label, json.dumps(label.split(" and ")[:3])])
    store.con.executemany("INSERT INTO topic_assignments VALUES (?, ?, 'v1', 1.0, now())",
                          [[f"cordis:{d['external_id']}", d["_topic"]] for d in docs])
    trends = TrendSettings(period="quarter", recent_days=365, baseline_days=730, min_docs=5, terms=False)
    detect(store, trends, "cordis-q")
    return len(docs)
