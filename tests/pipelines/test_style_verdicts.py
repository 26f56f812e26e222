"""The style verdict on planted flags: machine-assisted phrasing spread over every topic vs a noun-phrase theme."""

import numpy as np
import pandas as pd

from pipelines.settings import TrendSettings
from pipelines.views.bursts import FlagJudge

FIELDS = {0: "hydrogen electrolysers for steel plants", 1: "coral reefs and marine biodiversity",
          2: "medieval manuscripts in monastic libraries", 3: "quantum sensors for gravity maps"}
SITES = [f"s{k}" for k in range(2000)]  # each document's own wording: no template
STYLE = "The project delves into these questions and offers valuable insights, and it aligns EU goals."


def recent() -> pd.DataFrame:
    """160 recent documents in four topics over three months; half of every topic's use the style phrasing,
    a third of topic 0's are about green hydrogen."""
    rng, rows = np.random.default_rng(0), []
    for i in range(160):
        topic = i % 4
        text = f"We study {FIELDS[topic]} in sites {' '.join(rng.choice(SITES, 30))}. "
        if (i // 4) % 2:
            text += STYLE
        if topic == 0 and (i // 4) % 3 == 0:
            text += " Green hydrogen replaces coal in the furnaces."
        rows.append({"doc_id": f"d{i}", "topic_id": topic, "period": pd.Timestamp("2024-01-01") + pd.DateOffset(
            months=int(rng.integers(3))), "t": text, "group": f"CALL-{i % 20}"})
    return pd.DataFrame(rows).assign(org=None)


def test_a_style_phrase_is_style_and_a_noun_phrase_theme_is_emerging(phrases):
    docs = recent()
    judge = FlagJudge(docs, TrendSettings())
    assert {"insights", "eu"} <= judge.style.generic and "hydrogen" not in judge.style.generic

    def judged(term: str) -> tuple[str, str]:
        return judge("term", -1, term, [term])

    for term in ("delves", "valuable insights", "aligns eu"):
        label, reason = judged(term)
        assert label == "style" and reason.startswith("writing style"), (term, reason)
    assert judged("delves")[1] == "writing style, no content word: delves/VERB"
    assert judged("valuable insights")[1].endswith("valuable/ADJ insights/NOUN generic")
    assert judged("green hydrogen")[0] == "emerging"
    topic_terms = ["hydrogen", "electrolysers", "steel plants"]
    assert judge("topic", 0, "", topic_terms)[0] == "emerging"
    assert FlagJudge(docs, TrendSettings(style=False))("term", -1, "delves", ["delves"])[0] == "emerging"


LAYERS = "The network holds many layers of cells."  # "network" and "layers" in every document: corpus-generic


def narrow() -> pd.DataFrame:
    """240 recent documents in six topics, all about networks with layers (a query corpus); half of every
    topic's carry the style phrasing; a third of topics 0 and 1 name the theme "network layers" outright."""
    rng, rows = np.random.default_rng(1), []
    fields = {**FIELDS, 4: "river floods in alpine valleys", 5: "battery recycling for electric cars"}
    for i in range(240):
        topic = i % 6
        text = f"We study {fields[topic]} in sites {' '.join(rng.choice(SITES, 30))}. {LAYERS} "
        if (i // 6) % 2:
            text += "The project delves into pivotal questions and offers valuable insights."
        if topic in (0, 1) and (i // 6) % 3 == 0:
            text += " Deep network layers are stacked in the model."
        rows.append({"doc_id": f"d{i}", "topic_id": topic, "period": pd.Timestamp("2024-01-01") + pd.DateOffset(
            months=int(rng.integers(3))), "t": text, "group": f"CALL-{i % 20}"})
    return pd.DataFrame(rows).assign(org=None)


def test_style_spreads_over_all_topics_while_a_theme_of_generic_words_gathers_in_two(phrases):
    """Only verbs and adjectives, or a generic noun, spread evenly: style. A noun phrase of words the corpus uses
    everywhere, rising within two of six topics: a theme (the old rule called it style: both nouns generic)."""
    docs = narrow()
    judge = FlagJudge(docs, TrendSettings())
    assert {"network", "layers", "insights"} <= judge.style.generic

    def judged(term: str) -> tuple[str, str]:
        return judge("term", -1, term, [term])

    for term in ("delves", "pivotal", "valuable insights"):
        assert judged(term)[0] == "style", term
    assert judge.style.concentrated("network layers") and not judge.style.concentrated("valuable insights")
    assert judged("network layers")[0] == "emerging"


def test_a_field_wide_theme_the_documents_abbreviate_is_a_theme_though_spread_like_style(phrases):
    """Half of every topic's documents use "large language models", spread as a style shift is and made of words
    generic to the field; where the documents define it as "(LLMs)" it names a thing, where they do not it stays
    style, and the proposals' phrasing stays style either way."""
    docs = narrow()
    wide = docs.assign(t=[t.replace("The project delves into pivotal questions and offers valuable insights.",
                                    "Large language models (LLMs) answer the network layers questions.")
                          for t in docs["t"]])
    plain = wide.assign(t=wide["t"].str.replace(" (LLMs)", "", regex=False))
    for frame, expected in ((wide, "emerging"), (plain, "style")):
        judge = FlagJudge(frame, TrendSettings())
        assert {"language", "models"} <= judge.style.generic
        assert judge("term", -1, "large language models", ["large language models"])[0] == expected


def test_the_flag_judge_finds_a_term_rising_only_with_its_programme_in_the_baseline_documents():
    """Fellowship calls grow from a quarter to a half of the documents and "career development" keeps its
    rate within them: with the baseline documents the term is a burst of the programme, a theme rising in
    every call stays emerging."""
    rng = np.random.default_rng(1)

    def window(year: int, fellowship_share: float, theme_rate: float) -> pd.DataFrame:
        rows = []
        for i in range(800):
            fellowship = rng.random() < fellowship_share
            text = f"Project {year}-{i} on {' '.join(rng.choice(SITES, 20))}."
            if fellowship and rng.random() < 0.3:
                text += " The fellow's career development plan."
            if rng.random() < theme_rate:
                text += " Green hydrogen for steel."
            rows.append({"doc_id": f"{year}-{i}", "topic_id": i % 4, "t": text,
                         "period": pd.Timestamp(f"{year}-01-01") + pd.DateOffset(months=i % 3),
                         "group": f"HORIZON-MSCA-{year}-PF-01" if fellowship else f"HORIZON-CL{i % 6}-{year}-D-01"})
        return pd.DataFrame(rows).assign(org=None)

    baseline, recent_docs = window(2022, 0.25, 0.02), window(2024, 0.5, 0.06)
    trends = TrendSettings(style=False)

    def judged(term: str, with_baseline: bool = True) -> tuple[str, str]:
        return FlagJudge(recent_docs, trends, baseline if with_baseline else None)("term", -1, term, [term])

    label, reason = judged("career development")
    assert label == "burst" and "growth of HORIZON-MSCA-PF" in reason, reason
    assert judged("career development", with_baseline=False)[0] == "emerging"
    assert judged("green hydrogen")[0] == "emerging"


def test_each_passage_votes_once_on_a_words_part_of_speech(phrases):
    """The flag's two documents use "design" as a noun, three other recent ones as a verb: tagged in the flag's
    documents and then in the other recent ones, each passage once, the verb wins (counting the flag's own
    documents again, as the other recent ones, would make it a noun)."""
    own = ["The design works well in cold water.", "A design helps the pumps in cold water."]
    others = ["We design robots for farms.", "They design tools for doctors.", "Engineers design bridges for rivers."]
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(5)], "topic_id": [0, 0, 1, 1, 1], "t": own + others,
                         "period": pd.Timestamp("2024-01-01"), "group": None, "org": None})
    judge = FlagJudge(docs, TrendSettings())
    calls, word_tags = [], judge.style.extractor.word_tags

    def spy(words, texts, **options):
        calls.append((list(texts), word_tags(words, texts, **options)))
        return calls[-1][1]

    judge.style.extractor.word_tags = spy
    judge.style.reason(["design"], np.arange(5) < 2)  # the first two are the flag's
    (texts, tags), = calls
    assert sorted(texts) == sorted(own + others)  # every recent passage, none twice
    assert tags["design"] == "VERB"
