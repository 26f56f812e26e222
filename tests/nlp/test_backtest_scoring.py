import numpy as np
import pandas as pd
import pytest

from nlp.backtest import (
    Confirmer,
    Evidence,
    closest_cells,
    explain_misses,
    marker,
    matches,
    read_truth,
    repeated,
    score_flags,
    theme_fractions,
)

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
    assert confirmer.confirmed("2021-12-31", "term", "graphene", ["graphene"]) is None  # it starts before the data


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


def cell(scope, name, q, flagged=False, failed="fdr", topic_id=0, growth=3.0):
    return {"scope": scope, "cell": name, "topic_id": topic_id, "n_recent": 20, "n_baseline": 4, "growth": growth,
            "q_value": q, "flagged": flagged, "failed": "" if flagged else failed}


TOPICS = pd.DataFrame({"topic_id": [0, 1], "label": ["grid · storage", "sodium-ion · cells"],
                       "terms": ['["grid", "storage"]', '["sodium-ion", "cells"]']}).set_index("topic_id")


def test_closest_cells_keep_the_cell_naming_a_theme_with_the_smallest_q_inside_its_hit_window(truth):
    cells = pd.DataFrame([cell("term", "sodium-ion", 0.2), cell("term", "sodium-ion battery", 0.08),
                          cell("topic", "", 0.5, topic_id=1), cell("term", "steel", 0.01, flagged=True),
                          cell("region", "DE11", 0.001, topic_id=1)])
    rows = closest_cells(cells, TOPICS, truth, "2024-03-31", tolerance_days=180)
    assert [(r["theme"], r["marker"], r["q_value"], r["failed"]) for r in rows] == [
        ("batteries", "sodium-ion battery", 0.08, "fdr")]  # controls and region cells are not explained
    assert closest_cells(cells, TOPICS, truth, "2022-03-31", tolerance_days=180) == []  # before the window
    topic_only = pd.DataFrame([cell("topic", "", 0.3, topic_id=1, failed="fdr,persistence")])
    assert closest_cells(topic_only, TOPICS, truth, "2024-03-31", tolerance_days=180)[0]["marker"] == \
        "sodium-ion · cells | sodium-ion | cells"


def test_a_miss_is_explained_by_its_labelled_flag_else_its_closest_cell_else_nothing(truth):
    themes = [{"theme": "batteries", "label": "emerging", "detected": False},
              {"theme": "steel", "label": "not_emerging", "detected": False}]
    labelled = pd.DataFrame([flag("2024-06-30", ["sodium-ion"], scope="term", label="sodium-ion")
                             | {"verdict": "burst", "verdict_reason": "62% in one call"}])
    near = [{"theme": "batteries", "cutoff": c, "scope": "term", "marker": "sodium-ion", "n_recent": 9,
             "n_baseline": 2, "growth": 4.0, "q_value": q, "failed": "fdr"}
            for c, q in (("2024-03-31", 0.3), ("2024-06-30", 0.09))]
    assert explain_misses(themes, labelled, near, truth, tolerance_days=180) == [
        {"theme": "batteries", "why": "labelled burst", "cutoff": "2024-06-30", "marker": "sodium-ion",
         "reason": "62% in one call"}]
    early = labelled.assign(cutoff="2022-06-30")  # a labelled flag outside the hit window does not explain it
    [miss] = explain_misses(themes, early, near, truth, tolerance_days=180)
    assert (miss["why"], miss["cutoff"], miss["q_value"]) == ("not flagged", "2024-06-30", 0.09)
    assert explain_misses(themes, early.iloc[:0], [], truth, tolerance_days=180) == [
        {"theme": "batteries", "why": "no tested topic or term names it"}]
    assert explain_misses([{**themes[0], "detected": True}, themes[1]], early, near, truth,
                          tolerance_days=180) == []


def monthly_corpus(theme_per_month: dict[str, int], months: int = 48, per_month: int = 100) -> tuple[list, list]:
    """`per_month` documents on the 15th of each month from 2018-01; a month holds as many documents with
    "graphene" as the value of the last key ('YYYY-MM') at or before it, the rest "steel"."""
    texts, dates = [], []
    for month in pd.date_range("2018-01-01", periods=months, freq="MS") + pd.Timedelta(days=14):
        k = [v for key, v in sorted(theme_per_month.items()) if pd.Timestamp(key) <= month][-1]
        texts += ["a graphene film"] * k + ["a steel beam"] * (per_month - k)
        dates += [month] * per_month
    return texts, dates


def test_evidence_is_the_first_cutoff_at_which_the_themes_own_phrases_rose():
    texts, dates = monthly_corpus({"2018-01": 1, "2020-01": 6})  # 1 % of the documents, then 6 % from 2020
    evidence = Evidence(pd.Series(texts), pd.Series(dates), recent_days=182, baseline_days=730, min_docs=5,
                        min_growth=1.5, alpha=0.05)
    quarters = list(pd.date_range("2019-03-31", "2021-09-30", freq="QE"))
    assert evidence.first(["graphene"], quarters) == pd.Timestamp("2020-03-31")  # its first quarter at 6 %
    assert evidence.first(["steel"], quarters) is None  # falls, never rises
    truth = pd.DataFrame({"theme": ["graphene", "steel"], "phrases": [["graphene"], ["steel"]],
                          "label": ["emerging", "not_emerging"], "expected_from": pd.to_datetime(["2020-01-01", None]),
                          "expected_to": pd.to_datetime(["2021-12-31", None])})
    assert evidence.per_theme(truth, quarters, tolerance_days=0) == {
        "graphene": {"evidence_cutoff": "2020-03-31", "evidence_delay_days": 90}}
    # the hit window closes before the rise: no evidence in it
    late = truth.assign(expected_from=pd.to_datetime(["2019-01-01", None]),
                        expected_to=pd.to_datetime(["2019-12-31", None]))
    assert evidence.per_theme(late, quarters, tolerance_days=0)["graphene"]["evidence_cutoff"] is None


def test_evidence_needs_as_many_documents_and_as_much_growth_as_a_flag():
    evidence = Evidence(pd.Series(["x"]), pd.Series([pd.Timestamp("2020-01-01")]), recent_days=182,
                        baseline_days=730, min_docs=5, min_growth=1.5, alpha=0.05)
    assert evidence.rising(12, 600, 8, 2400)  # 2 % against 0.33 %
    assert not evidence.rising(4, 600, 0, 2400)  # from nothing, but 4 documents
    assert not evidence.rising(14, 600, 40, 2400)  # 1.4x: too little growth
    assert not evidence.rising(6, 600, 12, 2400)  # 2x, but 6 of 18 theme documents in a quarter of the volume
    assert not evidence.rising(5, 600, 0, 0)  # no baseline


def test_evidence_on_a_flat_theme_shows_at_most_the_alpha_share_of_the_time_over_all_looks():
    """A theme at 3 % of every month's documents, binomial noise: the line looks at 24 monthly cutoffs, each at
    alpha / 24; uncorrected (alpha at every look) it would find a rise in a third of the corpora."""
    cutoffs = list(pd.date_range("2020-01-31", "2021-12-31", freq="ME"))

    def shows(seed: int, alpha: float) -> bool:
        rng = np.random.default_rng(seed)
        months = pd.date_range("2018-01-01", periods=48, freq="MS") + pd.Timedelta(days=14)
        counts = rng.binomial(100, 0.03, size=len(months))
        texts = [t for k in counts for t in ["a graphene film"] * k + ["a steel beam"] * (100 - k)]
        dates = np.repeat(months, 100)
        return Evidence(pd.Series(texts), pd.Series(dates), recent_days=182, baseline_days=730, min_docs=5,
                        min_growth=1.5, alpha=alpha).first(["graphene"], cutoffs) is not None

    corrected = sum(shows(seed, 0.05) for seed in range(100))
    uncorrected = sum(shows(seed, 0.05 * len(cutoffs)) for seed in range(100))
    assert corrected <= 8 < 20 <= uncorrected  # 5 % expected, with a margin; 39 of 100 uncorrected
