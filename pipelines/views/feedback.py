"""Analysts' verdicts on themes: stored in `feedback`, applied to the detector's flags, shown in digests.

Policy: the latest verdict per topic counts. A watched theme is always reported (flagged); a theme marked
not relevant is suppressed until its growth reaches `REVIVE_FACTOR` times the growth it had when the
verdict was given; a relevant one keeps the detector's decision.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import pandas as pd

from pipelines.store import Store
from pipelines.views.themes import has_table

VERDICTS = ("relevant", "not_relevant", "watch")
REVIVE_FACTOR = 2.0
_COLUMNS = ["topic_id", "verdict", "note", "detect_id", "growth", "user", "created_at"]


def record_feedback(store: Store, topic_id: int, verdict: str, note: str = "", user: str = "analyst",
                    detect_id: str | None = None) -> str:
    """Store one verdict on a topic, with the topic's growth in `detect_id`; return the feedback id."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    growth = store.scalar("SELECT growth FROM trend_scores WHERE detect_id = ? AND topic_id = ?",
                          [detect_id, topic_id]) if detect_id else None
    feedback_id = secrets.token_hex(8)
    with store.transaction() as con:
        con.execute("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [feedback_id, topic_id, verdict, note[:2000], detect_id, growth, user[:100],
                     datetime.now(UTC).replace(tzinfo=None)])
    return feedback_id


def latest_feedback(store: Store) -> pd.DataFrame:
    """The latest verdict per topic: topic_id, verdict, note, detect_id, growth, user, created_at."""
    if not has_table(store, "feedback"):
        return pd.DataFrame(columns=_COLUMNS)
    return store.df(f"SELECT {', '.join(_COLUMNS)} FROM feedback "
                    "QUALIFY row_number() OVER (PARTITION BY topic_id ORDER BY created_at DESC, feedback_id) = 1")


def feedback_history(store: Store, topic_id: int) -> pd.DataFrame:
    if not has_table(store, "feedback"):
        return pd.DataFrame(columns=_COLUMNS)
    return store.df(f"SELECT {', '.join(_COLUMNS)} FROM feedback WHERE topic_id = ? ORDER BY created_at DESC",
                    [topic_id])


def feedback_effects(store: Store) -> dict[int, str]:
    """The verdict in force per topic id, for the detect step."""
    latest = latest_feedback(store)
    return {int(t): v for t, v in zip(latest["topic_id"], latest["verdict"], strict=True)}


def feedback_status(verdict: str | None, growth_then: float | None, growth_now: float | None) -> str | None:
    """What a verdict does to a theme now: watched, relevant, suppressed or revived (None: no verdict)."""
    if verdict == "watch":
        return "watched"
    if verdict == "relevant":
        return "relevant"
    if verdict == "not_relevant":
        is_marked_change = (growth_then is not None and growth_now is not None and not pd.isna(growth_then)
                            and not pd.isna(growth_now) and growth_now >= REVIVE_FACTOR * max(growth_then, 1e-9))
        return "revived" if is_marked_change else "suppressed"
    return None


def apply_feedback(scores: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Apply the verdicts to a detector's scores; return a copy with the same columns.

    Args:
        scores: one row per topic with topic_id, growth, flagged (and optionally an `evidence` JSON string,
            which gains a "feedback" entry so a stored flag says why it changed).
        feedback: `latest_feedback(store)`.
    """
    out = scores.copy()
    if out.empty or feedback.empty:
        return out
    by_topic = feedback.set_index("topic_id")
    for i, row in out.iterrows():
        topic = int(row["topic_id"])
        if topic not in by_topic.index:
            continue
        verdict = by_topic.loc[topic]
        status = feedback_status(verdict["verdict"], verdict["growth"], row["growth"])
        if status == "watched":
            out.at[i, "flagged"] = True
        elif status == "suppressed":
            out.at[i, "flagged"] = False
        if "evidence" in out.columns and isinstance(row["evidence"], str):
            evidence = json.loads(row["evidence"])
            evidence["feedback"] = {"verdict": verdict["verdict"], "status": status,
                                    "since": str(pd.Timestamp(verdict["created_at"]).date())}
            out.at[i, "evidence"] = json.dumps(evidence)
    return out
