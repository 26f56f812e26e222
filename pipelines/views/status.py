"""What the store holds and how the last runs went, as data (`--json`) or as text."""

from __future__ import annotations

import json

import pandas as pd

from pipelines.settings import Settings
from pipelines.store import Store

TABLES = ("documents", "document_organisations", "embeddings", "doc_embeddings", "topics",
          "topic_assignments", "trend_scores", "raw_files", "runs")


def _run(store: Store, row) -> dict:
    steps = store.df("SELECT step, status, duration_s, counts, skipped, errors FROM run_steps "
                     "WHERE run_id = ? ORDER BY started_at", [row["run_id"]])
    return {
        "run_id": row["run_id"], "command": row["command"], "status": row["status"],
        "exit_code": None if pd.isna(row["exit_code"]) else int(row["exit_code"]),  # unfinished: no code
        "started_at": str(row["started_at"]), "finished_at": str(row["finished_at"]),
        "steps": [{"step": s.step, "status": s.status, "duration_s": s.duration_s,
                   "counts": json.loads(s.counts or "{}"), "skipped": json.loads(s.skipped or "{}"),
                   "errors": json.loads(s.errors or "[]")} for s in steps.itertuples()],
    }


def collect_status(store: Store, settings: Settings, n_runs: int = 5) -> dict:
    by_source = store.df("SELECT source, count(*) AS n FROM documents GROUP BY source ORDER BY source")
    model = settings.nlp.embedder
    runs = store.df("SELECT * FROM runs ORDER BY started_at DESC LIMIT ?", [n_runs])
    runs_list = [_run(store, r) for _, r in runs.iterrows()]
    return {
        "store": str(store.path),
        "documents": store.count("documents"),
        "documents_by_source": {r.source: int(r.n) for r in by_source.itertuples()},
        "embeddings": store.count("doc_embeddings", "model = ?", [model]),
        "embedder": model,
        "topics": store.count("topics", "status = 'active' AND topic_id >= 0"),
        "topic_assignments": store.count("topic_assignments"),
        "flagged_themes": int(store.scalar("SELECT count(*) FROM trend_scores WHERE flagged AND detect_id = "
                                           "(SELECT detect_id FROM detections ORDER BY created_at DESC LIMIT 1)")),
        "tables": {t: store.count(t) for t in TABLES},
        "last_run": runs_list[0] if runs_list else None,
        "runs": runs_list,
    }


def render_status(info: dict) -> str:
    lines = [f"store: {info['store']}",
             f"documents: {info['documents']:,}  " + "  ".join(f"{k}={v:,}" for k, v in
                                                               info["documents_by_source"].items()),
             f"embeddings ({info['embedder']}): {info['embeddings']:,}   topics: {info['topics']}   "
             f"flagged themes: {info['flagged_themes']}"]
    for run in info["runs"]:
        lines.append(f"run {run['run_id']} {run['command']}: {run['status']} (exit {run['exit_code']})")
        for step in run["steps"]:
            problems = step["errors"][:3]
            lines.append(f"  {step['step']:<8} {step['status']:<7} {step['duration_s'] or 0:7.1f}s  "
                         f"{json.dumps(step['counts'])}" + (f"  errors: {problems}" if problems else ""))
    return "\n".join(lines)
