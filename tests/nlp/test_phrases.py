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
