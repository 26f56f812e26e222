import numpy as np

from nlp.topics import build_vectorizer, in_topics, single_words

TEXT = ("This project delves into valuable insights. We develop green hydrogen electrolysers and large "
        "language models for the EU.")


def test_noun_phrases_are_written_as_the_vectorizer_counts_them_with_every_ending(phrases):
    [found] = phrases.noun_phrases([TEXT])
    assert {"green hydrogen electrolysers", "hydrogen electrolysers", "electrolysers", "large language models",
            "language models", "models", "eu", "valuable insights", "insights", "project"} <= found
    assert not any(p.split()[0] in {"this", "the", "we"} for p in found)  # determiners and pronouns trimmed
    assert not any("delves" in p or "develop" in p for p in found)  # verbs are no noun phrase


def test_the_vocabulary_keeps_phrases_in_min_df_texts(phrases):
    texts = [TEXT, "Green hydrogen storage in salt caverns.", "Hydrogen is stored in salt caverns."]
    assert phrases.vocabulary(texts, 2) == ["caverns", "salt caverns"]


def test_a_word_is_tagged_where_it_occurs_not_alone(phrases):
    texts = ["This project delves into the history of ports.", "The study delves into trade routes."]
    assert phrases.word_tags(["delves"], [])["delves"] == "NOUN"  # alone, the tagger reads a plural noun
    assert phrases.word_tags(["delves", "ports"], texts) == {"delves": "VERB", "ports": "NOUN"}


def test_a_vectorizer_with_a_vocabulary_counts_only_its_phrases():
    vectorizer = build_vectorizer(vocabulary=["green hydrogen", "hydrogen", "large language models"])
    matrix = vectorizer.fit_transform([TEXT, "hydrogen hydrogen"])
    assert list(vectorizer.get_feature_names_out()) == ["green hydrogen", "hydrogen", "large language models"]
    assert matrix.toarray().tolist() == [[1, 1, 1], [0, 2, 0]]


def test_a_fixed_vocabulary_keeps_the_terms_of_at_least_min_topics_topics():
    docs = ["green hydrogen and salt", "green hydrogen", "salt caverns", "salt"]
    topics = np.array([0, 1, 1, -1])
    assert in_topics(["green hydrogen", "salt caverns", "salt"], docs, topics, 2) == ["green hydrogen", "salt"]
    assert single_words(docs, 2) == ["green", "hydrogen", "salt"]


def test_a_hyphenated_word_is_tagged_by_its_head_or_as_a_modifier_of_the_noun_after_it(phrases):
    texts = ["Fine-tuning improves the results.", "We report results after fine-tuning.",
             "The project builds cutting-edge tools.", "It adds in-context learning to the models."]
    tags = phrases.word_tags(["fine-tuning", "cutting-edge", "in-context"], texts)
    assert tags == {"fine-tuning": "NOUN", "cutting-edge": "ADJ", "in-context": "ADJ"}  # was ADV, NOUN, ADP


def test_compound_tag_reads_the_pieces_of_a_split_word():
    from nlp.phrases import compound_tag

    tokens = [(0, 4, "ADV"), (4, 5, "PUNCT"), (5, 11, "NOUN"), (12, 19, "VERB")]  # "fine-tuning helps"
    assert compound_tag(tokens, 0, 11) == "NOUN"
    assert compound_tag(tokens[:3] + [(12, 19, "NOUN")], 0, 11) == "ADJ"  # "fine-tuning methods"
    assert compound_tag(tokens, 12, 19) == "VERB" and compound_tag(tokens, 30, 35) is None


def test_a_gerund_in_a_nouns_place_without_an_object_is_a_noun(phrases):
    texts = ["We propose a new prompting technique for parsers.", "Prompting has reduced the data requirement.",
             "By leveraging large models we improve parsers.", "The project is leveraging local resources."]
    assert phrases.word_tags(["prompting", "leveraging"], texts) == {"prompting": "NOUN", "leveraging": "VERB"}


def test_common_and_proper_noun_readings_are_counted_together_against_the_verb_readings():
    from collections import Counter

    from nlp.phrases import commonest_tag

    assert commonest_tag(Counter({"VERB": 8, "NOUN": 7, "PROPN": 5})) == "NOUN"  # 12 noun readings against 8
    assert commonest_tag(Counter({"VERB": 11, "NOUN": 7, "PROPN": 2})) == "VERB"
    assert commonest_tag(Counter({"PROPN": 3, "NOUN": 1})) == "PROPN" and commonest_tag(Counter()) == "X"
    assert commonest_tag(Counter({"ADJ": 5, "NOUN": 2, "PROPN": 2})) == "ADJ"
