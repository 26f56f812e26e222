import pandas as pd
import pytest

from nlp.baselines import top_k, topic_share_growth, topics_over_time_growth

MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")


def counts(rows: dict[int, list[int]]) -> pd.DataFrame:
    return pd.DataFrame([{"topic_id": t, "period": m, "n_docs": n} for t, ns in rows.items()
                         for m, n in zip(MONTHS, ns, strict=True)])


def test_share_growth_ignores_empty_periods_and_volume_raw_growth_does_not():
    # baseline: two empty months, two with 10 + 10 documents; recent: the volume doubled, shares did not move
    frame = counts({0: [0, 0, 10, 10, 20, 20], 1: [0, 0, 10, 10, 20, 20], -1: [0, 0, 5, 5, 10, 10]})
    recent, baseline = list(MONTHS[4:]), list(MONTHS[:4])
    share = topic_share_growth(frame, recent, baseline).set_index("topic_id")
    raw = topics_over_time_growth(frame, recent, baseline).set_index("topic_id")
    assert -1 not in share.index and -1 not in raw.index
    assert share.loc[0, "growth"] == pytest.approx(1.0, abs=0.02)
    assert raw.loc[0, "growth"] == pytest.approx(20.5 / 5.5)  # counts empty months as zeros, ignores volume


def test_top_k_takes_the_detectors_budget_among_supported_items():
    frame = pd.DataFrame({"topic_id": [1, 2, 3, 4], "n_recent": [50, 3, 20, 10], "score": [2.0, 9.0, 3.0, 1.0]})
    assert top_k(frame, "score", 2, min_docs=5)["topic_id"].tolist() == [3, 1]
    assert top_k(frame, "score", 2, min_docs=5)["rank"].tolist() == [1, 2]
    assert top_k(frame, "score", 0, min_docs=5).empty
