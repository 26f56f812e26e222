"""Feedback policy: watched themes always reported, rejected ones suppressed until their growth doubles."""

import json

import pandas as pd
import pytest

from pipelines.store import Store
from pipelines.views.feedback import apply_feedback, feedback_effects, latest_feedback, record_feedback


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        s.con.execute("INSERT INTO trend_scores (detect_id, topic_id, growth, flagged) VALUES "
                      "('d1', 1, 3.0, TRUE), ('d1', 2, 1.1, FALSE), ('d1', 3, 2.0, TRUE), ('d1', 4, 2.5, TRUE)")
        yield s


def scores(growth: dict[int, float], flagged: dict[int, bool]) -> pd.DataFrame:
    return pd.DataFrame({"topic_id": list(growth), "growth": list(growth.values()),
                         "flagged": [flagged[t] for t in growth],
                         "evidence": [json.dumps({"label": f"t{t}"}) for t in growth]})


def test_feedback_effects_returns_latest_verdict_per_topic(store):
    record_feedback(store, 1, "relevant", detect_id="d1")
    record_feedback(store, 1, "not_relevant", "not our cluster", "ana", detect_id="d1")
    record_feedback(store, 2, "watch", detect_id="d1")
    assert feedback_effects(store) == {1: "not_relevant", 2: "watch"}
    assert latest_feedback(store).set_index("topic_id").loc[1, "growth"] == 3.0  # growth when judged


@pytest.mark.parametrize("verdict, growth_now, flagged_now, expected_flag, status", [
    ("watch", 1.1, False, True, "watched"),
    ("not_relevant", 3.5, True, False, "suppressed"),
    ("not_relevant", 6.0, True, True, "revived"),  # growth doubled since the verdict (3.0)
    ("relevant", 3.0, False, False, "relevant"),
])
def test_apply_feedback_policy(store, verdict, growth_now, flagged_now, expected_flag, status):
    record_feedback(store, 1, verdict, detect_id="d1")
    out = apply_feedback(scores({1: growth_now, 5: 2.0}, {1: flagged_now, 5: True}), latest_feedback(store))
    row = out.set_index("topic_id").loc[1]
    assert bool(row["flagged"]) is expected_flag and json.loads(row["evidence"])["feedback"]["status"] == status
    assert bool(out.set_index("topic_id").loc[5, "flagged"]) and "feedback" not in out["evidence"].iloc[1]
    assert list(out.columns) == ["topic_id", "growth", "flagged", "evidence"]


def test_apply_feedback_without_feedback_table_changes_nothing():
    with Store.open(":memory:") as s:
        s.con.execute("DROP TABLE feedback")
        frame = scores({1: 2.0}, {1: True})
        assert apply_feedback(frame, latest_feedback(s)).equals(frame) and feedback_effects(s) == {}


def test_record_feedback_rejects_unknown_verdict(store):
    with pytest.raises(ValueError, match="verdict"):
        record_feedback(store, 1, "maybe")
