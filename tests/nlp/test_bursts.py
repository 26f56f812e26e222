import numpy as np
import pandas as pd
import pytest

from nlp.bursts import (
    BurstRules,
    batch,
    day_numbers,
    families,
    group_family,
    names_a_thing,
    spelled_group,
    style_reason,
    template_share,
)

PERIODS = list(pd.date_range("2024-01-01", periods=3, freq="MS"))
GENERIC = {"insights", "eu", "project", "new", "bert", "model"}
THRESHOLDS = {"max_group_share": 0.5, "min_group_lift": 3.0, "max_period_share": 0.8, "max_template_share": 0.5,
              "max_mix_share": 0.5, "min_docs": 5, "min_growth": 1.5}


def verdict(flag_docs, recent_docs, marker=(), flag_base=None, base_docs=None, **thresholds):
    """The burst rules of a detection whose recent (and baseline) documents are given, for one flag."""
    return BurstRules(recent_docs, **thresholds, base_docs=base_docs)(flag_docs, marker, flag_base)


def group_mix(flag_docs, recent_docs, flag_base, base_docs):
    return BurstRules(recent_docs, **THRESHOLDS, base_docs=base_docs).mix(families(flag_docs), families(flag_base))


def recent(seed: int = 0, n: int = 600, calls: int = 20) -> pd.DataFrame:
    """All recent documents: spread over 20 calls and three months, each with its own wording."""
    rng = np.random.default_rng(seed)
    words = [f"w{k}" for k in range(2000)]
    return pd.DataFrame({"doc_id": [f"d{i}" for i in range(n)],
                         "group": rng.choice([f"CALL-{c}" for c in range(calls)], n), "period": rng.choice(PERIODS, n),
                         "text": [" ".join(rng.choice(words, 40)) for _ in range(n)]})


def test_one_calls_burst_is_a_burst_and_a_theme_across_many_calls_is_emerging():
    docs = recent()
    across = docs.sample(60, random_state=1)  # a theme in documents of every call
    assert verdict(across, docs, **THRESHOLDS) == ("emerging", "spread over groups, periods and wordings")
    one_call = across.assign(group=["CALL-7"] * 50 + list(across["group"][50:]))
    label, reason = verdict(one_call, docs, **THRESHOLDS)
    assert label == "burst" and "group CALL-7" in reason


def test_a_term_spelling_its_documents_call_code_is_a_burst_even_when_the_call_is_large():
    calls = ["HORIZON-MSCA-2023-PF-01-01"] * 2 + ["HORIZON-CL4-2023-DIGITAL-01", "WMT"]
    docs = recent().assign(group=lambda f: [calls[i % 4] for i in range(len(f))])
    flag = docs[docs["group"] == calls[0]].head(40)  # half of all documents: no lift, so no share burst
    assert verdict(flag, docs, **THRESHOLDS)[0] == "emerging"
    label, reason = verdict(flag, docs, **THRESHOLDS, marker=["msca-pf"])
    assert label == "burst" and "HORIZON-MSCA-2023-PF-01-01" in reason
    assert verdict(flag, docs, **THRESHOLDS, marker=["quantum sensing"])[0] == "emerging"
    mixed = pd.concat([flag.head(15), docs[docs["group"] == "WMT"].head(25)])  # a venue's name on 25 of 40
    assert spelled_group("wmt", mixed["group"], 0.5) == "WMT"
    assert spelled_group("msca-pf", mixed["group"], 0.5) is None and spelled_group("", mixed["group"], 0.5) is None


def test_an_organisations_campaign_and_a_one_period_spike_are_bursts():
    docs = recent().assign(org=lambda f: [f"org-{i % 50}" for i in range(len(f))])
    flag = docs.sample(40, random_state=2)
    assert verdict(flag, docs, **THRESHOLDS)[0] == "emerging"
    label, reason = verdict(flag.assign(org="org-3"), docs, **THRESHOLDS)
    assert label == "burst" and "organisation org-3" in reason
    label, reason = verdict(flag.assign(period=PERIODS[1]), docs, **THRESHOLDS)
    assert label == "burst" and "rate in one period (2024-02-01), lower after it" in reason
    # crowding the latest period is what a fast rise looks like in a short window: not a spike (yet)
    assert verdict(flag.assign(period=PERIODS[2]), docs, **THRESHOLDS)[0] == "emerging"


def test_a_flag_crowding_the_period_all_documents_crowd_is_no_spike():
    """Papers dated by their conference's month: 80 % of all recent documents in the middle period. A theme as
    common in every period has 80 % of its documents there too, and is not a spike; a flag of 60 middle-period
    documents and one other (a rate ~7 times that of the other periods together) is."""
    rng = np.random.default_rng(4)
    docs = recent().assign(period=lambda f: rng.choice(PERIODS, len(f), p=[0.1, 0.8, 0.1]))
    theme = docs.sample(60, random_state=5)
    assert verdict(theme, docs, **THRESHOLDS)[0] == "emerging"
    middle = docs["period"] == PERIODS[1]
    spike = pd.concat([docs[middle].head(60), docs[~middle].head(1)])
    label, reason = verdict(spike, docs, **THRESHOLDS)
    assert label == "burst" and "rate in one period (2024-02-01)" in reason


def programme_window(seed: int, programme_before: float, programme_after: float, rate_in: tuple[float, float],
                     rate_out: tuple[float, float], n: int = 3000) -> tuple[pd.DataFrame, ...]:
    """Baseline and recent documents of a programme's yearly calls (HORIZON-MSCA-<year>-PF-01) and ten other
    call families, with the programme's share of documents and a term's rate inside and outside it in each
    window; returns (flag's recent docs, recent docs, flag's baseline docs, baseline docs)."""
    rng = np.random.default_rng(seed)
    frames = []
    for year, share, inside, outside in ((2022, programme_before, rate_in[0], rate_out[0]),
                                         (2024, programme_after, rate_in[1], rate_out[1])):
        in_programme = rng.random(n) < share
        group = np.where(in_programme, f"HORIZON-MSCA-{year}-PF-01",
                         [f"HORIZON-CL{k}-{year}-D{k}-01" for k in rng.integers(0, 10, n)])
        has = rng.random(n) < np.where(in_programme, inside, outside)
        frames.append(pd.DataFrame({"doc_id": [f"{year}-{i}" for i in range(n)], "group": group, "has": has,
                                    "period": [PERIODS[i % 3] for i in range(n)],
                                    "text": [f"document {year} {i} " + " ".join(map(str, rng.integers(0, 10**6, 30)))
                                             for i in range(n)]}))
    base, recent = frames
    return recent[recent["has"]], recent, base[base["has"]], base


def test_group_family_drops_the_numbers_of_a_call_code():
    assert group_family("HORIZON-MSCA-2023-PF-01-01") == group_family("HORIZON-MSCA-2024-PF-01-01") == \
        "HORIZON-MSCA-PF"
    assert group_family("ERC-2021-STG") == "ERC-STG" and group_family("HORIZON-CL4-2023-HUMAN-01-21") == \
        "HORIZON-CL4-HUMAN"
    assert group_family("lrec;coling") == "lrec;coling" and group_family("2024") == "2024"


def test_a_term_rising_with_its_programme_is_a_burst_and_one_rising_within_the_groups_is_emerging():
    # the programme grows from 30 % to 55 % of the documents; its vocabulary keeps its rate within it
    vocabulary = programme_window(4, 0.30, 0.55, rate_in=(0.10, 0.10), rate_out=(0.005, 0.005))
    share, family, before, after = group_mix(*vocabulary)
    assert share > 0.8 and family == "HORIZON-MSCA-PF" and before == pytest.approx(0.30, abs=0.03)
    assert after == pytest.approx(0.55, abs=0.03)
    label, reason = verdict(vocabulary[0], vocabulary[1], **THRESHOLDS, flag_base=vocabulary[2],
                            base_docs=vocabulary[3])
    assert label == "burst" and "growth of HORIZON-MSCA-PF (" in reason and "-> 55% of the documents" in reason
    assert verdict(vocabulary[0], vocabulary[1], **THRESHOLDS)[0] == "emerging"  # without the baseline: unchecked
    # the same programme growth, but a theme whose rate triples inside and outside the programme
    theme = programme_window(5, 0.30, 0.55, rate_in=(0.01, 0.03), rate_out=(0.01, 0.03))
    assert group_mix(*theme)[0] < 0.2
    assert verdict(theme[0], theme[1], **THRESHOLDS, flag_base=theme[2], base_docs=theme[3])[0] == "emerging"
    # a steady mix explains nothing; so does a term without baseline documents (it rose from nothing)
    steady = programme_window(6, 0.30, 0.30, rate_in=(0.05, 0.10), rate_out=(0.005, 0.01))
    assert group_mix(*steady)[0] < 0.2
    assert group_mix(steady[0], steady[1], steady[2].head(0), steady[3]) == (0.0, None, 0.0, 0.0)


def test_a_term_living_in_groups_new_to_the_corpus_and_not_rising_elsewhere_is_a_burst():
    # a new venue brings 60 % of the recent documents; its vocabulary has no baseline to rise from
    vocabulary = programme_window(7, 0.0, 0.60, rate_in=(0.0, 0.10), rate_out=(0.001, 0.001))
    label, reason = verdict(*vocabulary[:2], flag_base=vocabulary[2], base_docs=vocabulary[3], **THRESHOLDS)
    assert label == "burst" and "groups new to the corpus (HORIZON-MSCA-PF)" in reason
    # most of a theme's documents are in the new venue too, but its rate grew eightfold in the others
    theme = programme_window(8, 0.0, 0.60, rate_in=(0.0, 0.10), rate_out=(0.005, 0.04))
    rules = BurstRules(theme[1], **THRESHOLDS, base_docs=theme[3])
    assert rules.new_groups(families(theme[0]), families(theme[2])) is None
    assert rules(theme[0], [], theme[2])[0] == "emerging"
    # a venue already in the baseline is no new group
    known = programme_window(9, 0.05, 0.60, rate_in=(0.10, 0.10), rate_out=(0.005, 0.005))
    assert BurstRules(known[1], **THRESHOLDS, base_docs=known[3]).new_groups(families(known[0]),
                                                                         families(known[2])) is None


def test_a_term_gathered_in_one_group_but_rising_in_the_others_too_is_not_that_groups_burst():
    """A venue with a tenth of the papers in both windows; a term new in it (10 % of its papers), in the others
    flat at 0.5 % (a burst of the venue) or rising from 0.2 % to 0.8 % (a theme that started there: most of its
    papers are still the venue's)."""
    venue = programme_window(10, 0.10, 0.10, rate_in=(0.0, 0.10), rate_out=(0.005, 0.005))
    label, reason = verdict(venue[0], venue[1], flag_base=venue[2], base_docs=venue[3], **THRESHOLDS)
    assert label == "burst" and "in group HORIZON-MSCA-2024-PF-01" in reason
    spreading = programme_window(10, 0.10, 0.10, rate_in=(0.0, 0.10), rate_out=(0.002, 0.008))
    assert (spreading[0]["group"] == "HORIZON-MSCA-2024-PF-01").mean() > 0.5  # still gathered in the venue
    assert verdict(spreading[0], spreading[1], flag_base=spreading[2], base_docs=spreading[3],
                   **THRESHOLDS)[0] == "emerging"
    assert verdict(spreading[0], spreading[1], **THRESHOLDS)[0] == "burst"  # no baseline: not checked


def test_near_identical_call_wording_is_a_template_burst():
    docs = recent()
    flag = docs.sample(30, random_state=3).copy()
    call_text = " ".join(f"c{k}" for k in range(60))
    flag["text"] = [call_text + f" project {i}" for i in range(20)] + flag["text"].tolist()[20:]
    assert template_share(flag["text"].tolist()) == 20 / 30
    label, reason = verdict(flag, docs, **THRESHOLDS)
    assert label == "burst" and "near-identical" in reason


def test_a_series_sharing_half_its_wording_is_a_template_burst():
    """One author's series ("A short review and primer on ... in human computer interaction applications"): a
    50-word frame and 16 words of its own each, 5-word shingles shared by Jaccard ~0.53."""
    docs = recent()
    flag = docs.sample(12, random_state=6).copy()
    frame = [f"f{k}" for k in range(50)]
    flag["text"] = [" ".join(frame[:25] + [f"s{i}x{k}" for k in range(16)] + frame[25:]) for i in range(12)]
    assert template_share(flag["text"].tolist()) == 1.0
    label, reason = verdict(flag, docs, **THRESHOLDS)
    assert label == "burst" and "near-identical" in reason


def dated(docs: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """`docs` with a day in their period's month, uniformly."""
    rng = np.random.default_rng(seed)
    offsets = rng.integers(0, 28, len(docs))
    return docs.assign(day=[p + pd.Timedelta(days=int(d)) for p, d in zip(docs["period"], offsets, strict=True)])


def test_a_flag_dated_in_one_week_is_a_batch_burst_even_in_the_latest_period():
    """A group uploading its back catalogue on a few days: 12 of a flag's 20 documents dated in three days of the
    latest month, where the period rule leaves a flag to the next cutoffs."""
    docs = dated(recent())
    flag = docs.sample(20, random_state=7)
    assert verdict(flag, docs, **THRESHOLDS)[0] == "emerging"
    days = [pd.Timestamp("2024-03-11") + pd.Timedelta(days=i % 3) for i in range(12)]
    uploaded = flag.assign(period=[PERIODS[2]] * 12 + flag["period"].tolist()[12:],
                           day=days + flag["day"].tolist()[12:])
    label, reason = verdict(uploaded, docs, **THRESHOLDS)
    assert label == "burst" and "of its 20 recent documents dated 2024-03-11 .. 2024-03-17 (" in reason
    assert "of all): one batch" in reason
    assert int(reason.split()[0]) >= 12
    # two of five on one day is not yet a batch (not more than 40 %), nor is a share random sets reach anyway
    few = flag.head(5).assign(day=[pd.Timestamp("2024-03-11")] * 2 + flag["day"].tolist()[2:5])
    assert verdict(few, docs, **THRESHOLDS)[0] == "emerging"


def test_documents_crowding_the_days_all_documents_crowd_are_no_batch():
    """Papers dated by their conference's day: 80 % of all recent documents on one date. A theme as common there
    as elsewhere has 80 % of its documents on that date too; random sets of as many documents do as well. A theme
    rising fast crowds the latest conference more (all but 3 of its 30 papers where 60 % of all papers are), beyond
    the random sets' flat rate, but not by the lift a batch needs."""
    rng = np.random.default_rng(8)
    docs = dated(recent())
    docs.loc[rng.random(len(docs)) < 0.8, "day"] = pd.Timestamp("2024-02-15")
    theme = docs.sample(30, random_state=9)
    most, start, base, p = batch(day_numbers(theme["day"]), day_numbers(docs["day"]), 7)
    assert most / len(theme) > 0.6 and start <= pd.Timestamp("2024-02-15") < start + pd.Timedelta(days=7)
    assert base > 0.7 and p > 0.1
    assert verdict(theme, docs, **THRESHOLDS)[0] == "emerging"
    docs = dated(recent())
    latest = rng.random(len(docs)) < 0.6
    docs.loc[latest, ["day", "period"]] = [pd.Timestamp("2024-03-01"), PERIODS[2]]
    rising = pd.concat([docs[latest].head(27), docs[~latest].head(3)])
    assert batch(day_numbers(rising["day"]), day_numbers(docs["day"]), 7)[3] < 0.01  # beyond a flat rate ...
    assert verdict(rising, docs, **THRESHOLDS)[0] == "emerging"  # ... but 1.5 times all papers' share, not 3
    spread = dated(recent(seed=1)).sample(30, random_state=9)
    clumped = spread.assign(day=[pd.Timestamp("2024-01-03")] * 15 + spread["day"].tolist()[15:])
    pool = day_numbers(spread["day"])
    assert batch(day_numbers(clumped["day"]), pool, 7)[3] < 0.01 < batch(pool, pool, 7)[3]


@pytest.mark.parametrize("terms, pos", [
    (["delves"], {"delves": "VERB"}),
    (["valuable insights"], {"valuable": "ADJ", "insights": "NOUN"}),  # its noun is generic: in every topic
    (["model"], {"model": "NOUN"}),  # a generic common noun
    (["plays pivotal"], {"plays": "VERB", "pivotal": "ADJ"}),
    (["aligns eu"], {"aligns": "VERB", "eu": "PROPN"}),  # a proper noun, but a verb-led predicate
    (["underscores", "crucial"], {"underscores": "VERB", "crucial": "ADJ"}),  # a topic's terms: none names a thing
])
def test_a_marker_without_a_content_word_is_style(terms, pos):
    reason = style_reason(terms, pos, GENERIC)
    assert reason is not None and reason.startswith("writing style, no content word")


@pytest.mark.parametrize("terms, pos", [
    (["green hydrogen"], {"green": "ADJ", "hydrogen": "NOUN"}),
    (["large language models"], {"large": "ADJ", "language": "NOUN", "models": "NOUN"}),
    (["eu taxonomy"], {"eu": "PROPN", "taxonomy": "NOUN"}),
    (["underscores", "hydrogen"], {"underscores": "VERB", "hydrogen": "NOUN"}),  # one term names a thing
    (["bert model"], {"bert": "PROPN", "model": "NOUN"}),  # a named thing, though every topic uses it
])
def test_a_marker_with_a_specific_noun_is_a_theme(terms, pos):
    assert style_reason(terms, pos, GENERIC) is None
    assert names_a_thing(terms[-1], pos, GENERIC)


def test_topic_concentration_tells_documents_spread_like_the_corpus_from_documents_in_two_topics():
    from nlp.bursts import topic_concentration
    from nlp.term_trends import ChanceLine

    topics = np.repeat(np.arange(10), 50)  # ten topics of 50 documents
    line = ChanceLine(topics, len(topics), 0.05)
    spread = topic_concentration(topics[::5], topics)  # 10 from every topic: like the corpus
    gathered = topic_concentration(np.repeat([0, 1], 20), topics)  # 40 documents in two topics
    assert spread[0] < 0 < line([100])[0] < 1.0 < gathered[0] and spread[1] == 100 and gathered[1] == 40
    assert gathered[0] > line([40])[0]
    assert topic_concentration(np.array([], dtype=int), topics) == (0.0, 0)
    with_outliers = topic_concentration(np.array([-1, -1, 3, 3, 3]), np.append(topics, [-1, -1]))
    assert with_outliers == (topic_concentration(np.array([3, 3, 3]), topics)[0], 3) and with_outliers[0] > 0


def test_a_concentrated_term_names_a_thing_if_it_has_a_noun_or_an_adjective_at_all():
    pos = {"convolutional": "ADJ", "networks": "NOUN", "spiking": "VERB", "neurons": "NOUN", "delves": "VERB",
           "deep": "ADJ"}
    generic = {"networks"}
    assert not names_a_thing("convolutional networks", pos, generic)  # its only noun is generic
    assert names_a_thing("convolutional networks", pos, generic, {"convolutional networks"})
    assert not names_a_thing("spiking neurons", pos, generic)  # verb-led to the tagger
    assert names_a_thing("spiking neurons", pos, generic, {"spiking neurons"})
    assert not names_a_thing("delves", pos, generic, {"delves"})  # a verb alone: style wherever it occurs
    assert not names_a_thing("deep", pos, generic)  # an adjective spread like the corpus: style
    assert names_a_thing("deep", pos, generic, {"deep"})  # ... gathering in a few topics: a subject
    assert style_reason(["convolutional networks"], pos, generic, {"convolutional networks"}) is None


@pytest.mark.parametrize("text, pair", [
    ("Large language models (LLMs) are evaluated.", ("large language models", "llms")),
    ("bidirectional encoder representations from transformers (BERT)",
     ("bidirectional encoder representations transformers", "bert")),
    ("a long short-term memory (LSTM) network", ("long short-term memory", "lstm")),  # hyphens kept, as terms are
    ("with retrieval-augmented generation (RAG)", ("retrieval-augmented generation", "rag")),
    ("pre-trained language models (PLMs)", ("pre-trained language models", "plms")),  # one initial per word
    ("chain-of-thought (CoT) prompting", ("chain-of-thought", "cot")),  # ... or one per piece
])
def test_a_parenthesised_abbreviation_defines_the_words_whose_initials_it_spells(text, pair):
    from nlp.bursts import defined_abbreviations

    assert defined_abbreviations(text) == [pair]


@pytest.mark.parametrize("text", ["results (p<0.05) hold", "we propose Foo (FB)", "see the appendix (Table)",
                                  "from the (AB)", "the ELMo (ELMo) model"])
def test_a_parenthesis_that_spells_no_initials_defines_nothing(text):
    from nlp.bursts import defined_abbreviations

    assert defined_abbreviations(text) == []


def test_terms_the_documents_abbreviate_name_a_thing_even_when_spread_like_a_style_shift():
    from nlp.bursts import abbreviated

    texts = ["Multimodal large language models (MLLMs) see images."] * 3 + ["Large language models (LLMs) plan."] * 2
    terms = ["large language models", "multimodal large language", "llms", "models large language", "valuable insights",
             "models llms"]
    assert abbreviated(terms, texts, min_docs=3) == {"large language models", "multimodal large language"}
    cot = ["Chain-of-thought (CoT) prompting helps."] * 3
    assert abbreviated(["chain-of-thought", "cot", "prompting"], cot, min_docs=3) == {"chain-of-thought", "cot"}
    assert abbreviated(terms, texts, min_docs=2) == {"large language models", "multimodal large language", "llms",
                                                     "models llms"}  # "... models (LLMs)" read as the terms read it
    pos = {"large": "ADJ", "language": "NOUN", "models": "NOUN"}
    generic = {"language", "models"}  # in a language-model corpus every topic uses them
    assert style_reason(["large language models"], pos, generic) is not None
    assert style_reason(["large language models"], pos, generic, named={"large language models"}) is None
    assert not names_a_thing("models large language", pos, generic, named={"large language models"})


def test_a_compound_of_a_noun_and_a_verb_names_the_noun_while_idioms_name_nothing():
    pos = {"llm-based": "ADJ", "llm": "PROPN", "based": "VERB", "instruction-tuned": "ADJ", "instruction": "NOUN",
           "tuned": "VERB", "data-driven": "ADJ", "data": "NOUN", "driven": "VERB", "cutting-edge": "ADJ",
           "cutting": "VERB", "edge": "NOUN", "state-of-the-art": "ADJ", "state": "NOUN", "art": "NOUN",
           "user-friendly": "ADJ", "user": "NOUN", "friendly": "ADJ", "agents": "NOUN"}
    generic = {"data", "agents"}
    assert names_a_thing("llm-based", pos, generic) and names_a_thing("instruction-tuned", pos, generic)
    assert names_a_thing("llm-based agents", pos, generic)
    assert not names_a_thing("data-driven", pos, generic)  # its noun is everywhere in the corpus
    for idiom in ("cutting-edge", "state-of-the-art", "user-friendly"):  # no noun-verb compound
        assert not names_a_thing(idiom, pos, generic), idiom
    assert not names_a_thing("llm-based", {**pos, "llm": "ADJ"}, generic)  # the piece must be a noun


def test_the_pieces_of_hyphenated_words_are_tagged_too():
    from nlp.bursts import pieces, tagged_words

    assert pieces("state-of-the-art") == ["state", "art"] and pieces("llm") == []
    assert tagged_words(["llm-based agents", "agents"]) == ["llm-based", "llm", "based", "agents"]
