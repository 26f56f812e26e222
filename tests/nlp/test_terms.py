import numpy as np
import pytest

from nlp.terms import EmergentTermScorer, escore
from pipelines.settings import TrendSettings


def test_escore_matches_hand_computed_values():
    totals = np.full(7, 100.0)
    active = np.array([[5, 5, 5, 5, 5, 5, 5], [0, 0, 1, 2, 4, 8, 16], [16, 8, 4, 2, 1, 0, 0]])
    scores = escore(active, totals)
    # rising: 2 * (28 - 1) / 30 + 10 * (24 - 6) / 20 + 10 * (1.6 - 0.2) / 3
    assert scores == pytest.approx([0.0, 1.8 + 9 + 14 / 3, -1.8 - 1.5 - 2 / 3])


def test_emergent_term_scorer_applies_porter_criteria_and_links_topics():
    rng = np.random.default_rng(0)
    texts, periods, topics = [], [], []
    for period in range(10):
        for i in range(40):
            words = ["steel plant maintenance", "factory safety audit"][i % 2]
            topic = i % 2
            if period >= 5 and i < 3 * (period - 4):  # rising from period 5, in topic 7 (or outliers)
                words, topic = "solid state battery cell chemistry", 7 if rng.random() < 0.8 else -1
            texts.append(words)
            periods.append(period)
            topics.append(topic)
    terms = EmergentTermScorer(**TrendSettings().scorer_options()).fit(texts, periods, topics).terms_.set_index("term")
    assert "solid state battery" in terms.index and "steel plant" not in terms.index
    row = terms.loc["solid state battery"]
    assert row["n_base"] == 0 and row["esc"] > 0 and row["topic_id"] == 7
    assert 0.6 < row["topic_share"] < 0.95 and row["outlier_share"] == pytest.approx(1 - row["topic_share"])
