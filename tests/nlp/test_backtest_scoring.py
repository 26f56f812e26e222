import pandas as pd
import pytest

from nlp.backtest import Confirmer, marker, matches, read_truth, repeated, score_flags, theme_fractions

TRUTH = """theme,terms,label,expected_from,expected_to
batteries,solid-state battery|sodium-ion,emerging,2024-01-01,2024-12-31
steel,steel,not_emerging,,
"""


@pytest.fixture
def truth(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text(TRUTH)
    return read_truth(path)


def flag(cutoff, terms, fractions=None, scope="topic", label=None, confirmed=None):
    return {"cutoff": cutoff, "scope": scope, "cell": terms[0] if scope == "term" else "", "label": label,
            "terms": terms, "theme_fractions": fractions or {}, "confirmed": confirmed}


def test_theme_fractions_match_phrases_on_word_boundaries(truth):
    texts = ["New Solid-State Battery line", "steelworks news", "sodium-ion cells", "Steel prices"]
    assert theme_fractions(texts, truth) == {"batteries": 0.5, "steel": 0.25}


def test_a_flag_matches_on_half_its_documents_or_its_marker_only(truth):
    battery = truth.iloc[0]
    assert matches({"batteries": 0.5}, [], battery)
    assert not matches({"batteries": 0.49}, ["battery", "cells"], battery)
    topic = marker("topic", "", "cells · anode", ["cells", "anode", "cathode", "sodium-ion"])
    assert not matches({}, topic, battery)  # the 4th term is not part of the marker
    assert matches({}, marker("topic", "", "sodium-ion · cells", ["cells"]), battery)  # the label is
    assert matches({}, marker("term", "sodium-ion cells", None, ["sodium-ion cells"]), battery)


def test_hit_window_premature_late_unmatched_false_alarms_and_threat_score(truth):
    flags = pd.DataFrame([
        flag("2023-03-31", ["sodium-ion"]),  # before expected_from - 180 days: premature
        flag("2023-09-30", ["sodium-ion"]),  # inside the tolerance: the hit, 93 days early
        flag("2024-03-31", ["sodium-ion"]),
        flag("2025-03-31", ["sodium-ion"]),  # after expected_to: late
        flag("2024-03-31", ["steel mill"]), flag("2024-06-30", ["steel mill"]),  # two false alarms, one theme
        flag("2024-06-30", ["tourism"]), flag("2024-06-30", ["hotels"]),  # unmatched
    ])
    cutoffs = ["2023-03-31", "2023-09-30", "2024-03-31", "2024-06-30", "2025-03-31"]
    result = score_flags(flags, truth, cutoffs, tolerance_days=180)
    themes = {t["theme"]: t for t in result["themes"]}
    assert result["recall"] == 1.0 and result["hits"] == 1 and result["misses"] == 0
    assert themes["batteries"]["first_cutoff"] == "2023-09-30" and result["median_delay_days"] == -93
    assert result["premature_flags"] == 1 and result["late_flags"] == 1
    assert result["false_alarms"] == 2 and result["false_alarm_themes"] == 1 and result["unmatched_flags"] == 2
    assert result["threat_score"] == pytest.approx(1 / 2) and result["flags_per_cutoff"] == 8 / 5


def test_no_tolerance_makes_the_early_flag_premature_and_the_theme_missed_when_nothing_else(truth):
    flags = pd.DataFrame([flag("2023-09-30", ["sodium-ion"])])
    result = score_flags(flags, truth, ["2023-09-30"], tolerance_days=0)
    assert result["recall"] == 0.0 and result["premature_flags"] == 1 and result["threat_score"] == 0.0
    assert result["median_delay_days"] is None


def test_confirmed_share_counts_judged_flags_only(truth):
    flags = pd.DataFrame([flag("2024-03-31", ["x"], confirmed=True), flag("2024-03-31", ["y"], confirmed=False),
                          flag("2024-06-30", ["z"], confirmed=True), flag("2025-12-31", ["w"], confirmed=None)])
    result = score_flags(flags, truth, ["2024-03-31", "2024-06-30", "2025-12-31"], tolerance_days=180)
    assert result["confirmed_share"] == pytest.approx(2 / 3) and result["n_judged"] == 3


def corpus_with(term_counts: dict[str, list[int]]) -> Confirmer:
    """One document per (year, i): 20 a year from 2020 to 2025, `term_counts[term][year]` of them carry the term."""
    texts, dates = [], []
    for k, year in enumerate(range(2020, 2026)):
        for i in range(20):
            words = [t for t, counts in term_counts.items() if i < counts[k]]
            texts.append(" ".join(["filler", *words]))
            dates.append(pd.Timestamp(f"{year}-06-15"))
    return Confirmer(pd.Series(texts), pd.Series(dates))


def test_confirmed_when_the_share_rises_by_half_in_the_next_year_in_five_documents():
    confirmer = corpus_with({"graphene": [1, 2, 2, 8, 9, 9], "steel": [6, 6, 6, 6, 6, 6], "rare": [0, 0, 1, 3, 4, 4],
                             "anode": [1, 1, 1, 9, 9, 9], "cathode": [1, 1, 1, 9, 9, 9]})
    cutoff = "2022-12-31"  # next year 2023, the year two years back 2021
    assert confirmer.confirmed(cutoff, "term", "graphene", ["graphene"]) is True
    assert confirmer.confirmed(cutoff, "term", "steel", ["steel"]) is False  # flat
    assert confirmer.confirmed(cutoff, "term", "rare", ["rare"]) is False  # rising, but in 3 documents
    assert confirmer.confirmed(cutoff, "topic", "", ["anode", "cathode", "steel"]) is True  # 2 of the top 5 terms
    assert confirmer.confirmed("2025-03-31", "term", "graphene", ["graphene"]) is None  # next year past the data
    assert confirmer.confirmed("2020-12-31", "term", "graphene", ["graphene"]) is None  # no year two back


def test_repeated_keeps_flags_raised_at_the_previous_cutoff_too():
    flags = pd.DataFrame([flag("2024-01-31", ["llm"], scope="term"), flag("2024-02-29", ["llm"], scope="term"),
                          flag("2024-02-29", ["steel"], scope="term"),
                          flag("2024-01-31", ["a", "b", "c"]), flag("2024-02-29", ["b", "a", "z"]),
                          flag("2024-02-29", ["a", "q", "r"])])
    kept = repeated(flags, ["2024-01-31", "2024-02-29"], looks=2)
    assert [(r.cutoff, tuple(r.terms)) for r in kept.itertuples()] == [("2024-02-29", ("llm",)),
                                                                        ("2024-02-29", ("b", "a", "z"))]
    assert len(repeated(flags, ["2024-01-31", "2024-02-29"], looks=1)) == len(flags)


def test_read_truth_rejects_unknown_labels(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("theme,terms,label,expected_from,expected_to\nx,y,rising,,\n")
    with pytest.raises(ValueError, match="label"):
        read_truth(path)
