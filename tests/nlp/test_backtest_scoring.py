import pandas as pd
import pytest

from nlp.backtest import matches, raw_growth_flags, read_truth, score_flags, theme_fractions

TRUTH = """theme,terms,label,expected_from,expected_to
batteries,solid-state battery|sodium-ion,emerging,2024-01-01,2024-12-31
steel,steel,not_emerging,,
"""


@pytest.fixture
def truth(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text(TRUTH)
    return read_truth(path)


def test_theme_fractions_match_phrases_on_word_boundaries(truth):
    texts = ["New Solid-State Battery line", "steelworks news", "sodium-ion cells", "Steel prices"]
    assert theme_fractions(texts, truth) == {"batteries": 0.5, "steel": 0.25}


def test_matches_by_document_share_or_top_term(truth):
    battery = truth.iloc[0]
    assert matches({"batteries": 0.34}, [], battery)
    assert not matches({"batteries": 0.2}, ["battery", "cells"], battery)
    assert matches({"batteries": 0.0}, ["sodium-ion cells"], battery)


def test_score_flags_counts_recall_delay_and_false_alarms(truth):
    flags = pd.DataFrame({
        "cutoff": ["2023-12-31", "2024-03-31", "2025-03-31", "2024-03-31", "2024-06-30"],
        "topic_id": [1, 1, 1, 2, 2],
        "terms": [["battery"], ["sodium-ion"], ["sodium-ion"], ["steel mill"], ["steel mill"]],
        "theme_fractions": [{"batteries": 0.1}, {"batteries": 0.5}, {"batteries": 0.6}, {}, {}],
    })
    result = score_flags(flags, truth, cutoffs=["2023-12-31", "2024-03-31", "2024-06-30", "2025-03-31"])
    themes = {t["theme"]: t for t in result["themes"]}
    assert result["recall"] == 1.0 and result["false_alarms"] == 2 and result["median_delay_days"] == 90
    assert themes["batteries"]["first_cutoff"] == "2024-03-31" and themes["batteries"]["n_matching_flags"] == 2
    assert result["flags_per_cutoff"] == 5 / 4


def test_score_flags_misses_a_theme_flagged_only_after_expected_to(truth):
    flags = pd.DataFrame({"cutoff": ["2025-06-30"], "topic_id": [1], "terms": [["sodium-ion"]],
                          "theme_fractions": [{}]})
    result = score_flags(flags, truth, cutoffs=["2025-06-30"])
    assert result["recall"] == 0.0 and result["median_delay_days"] is None


def test_read_truth_rejects_unknown_labels(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("theme,terms,label,expected_from,expected_to\nx,y,rising,,\n")
    with pytest.raises(ValueError, match="label"):
        read_truth(path)


def test_raw_growth_flags_ignore_volume(truth):
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    counts = pd.DataFrame({"topic_id": [0] * 6, "period": months, "n_docs": [10, 10, 10, 10, 30, 30]})
    flags = raw_growth_flags(counts, recent=list(months[4:]), baseline=list(months[:4]))
    assert flags.loc[0, "flagged"] and flags.loc[0, "growth"] == pytest.approx(30.5 / 10.5)
