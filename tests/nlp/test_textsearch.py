import pandas as pd

from nlp.textsearch import TextSearch, term_pattern

TEXTS = ["Large Language Models are here", "large-language models", "LARGE LANGUAGE MODEL", "ısland hopping",
         "an ISLAND", "islander", "Straße und Graph", "no such thing", "", "grafo größe", None]


def test_the_texts_holding_a_term_are_the_ones_its_pattern_matches():
    search = TextSearch(pd.Series(TEXTS))
    for term in ["large language models", "island", "graph", "größe", "straße", "such thing", "ai-driven"]:
        expected = [term_pattern(term).search(t or "") is not None for t in TEXTS]
        assert search.holding(term).tolist() == expected, term
    # "ı" matches "i" in the case-insensitive pattern but folds to itself: the pre-filter must not drop it
    assert search.holding("island").tolist()[3:6] == [True, True, False]


def test_a_term_is_searched_once_and_the_mask_lines_up_with_the_texts_whatever_their_index():
    search = TextSearch(pd.Series(["graph theory", "a Graph", "graphs"], index=[7, 3, 5]))
    first = search.holding("graph")
    assert first.tolist() == [True, True, False] and search.holding("graph") is first
    assert len(search) == 3 and not TextSearch([]).holding("graph").any()


def test_a_phrase_is_found_in_the_texts_the_term_counter_counts_it_in():
    """The counter drops stop words, numbers and one-letter words before it joins words into phrases: "WNUT-2020
    Task 2: Identification of ..." holds "task identification" for it, so the flag's documents must hold it too."""
    from nlp.term_trends import term_documents

    texts = ["WNUT-2020 Task 2: Identification of Informative Tweets", "the task of identification",
             "task x identification", "Task identification", "a task, then identification",
             "task classification identification", "identification task", "task 2b identification",
             "multitask identification", "task -- identification"]
    counted = term_documents(texts, ["task identification"]).toarray()[:, 0].astype(bool)
    assert counted.tolist() == [True, True, True, True, True, False, False, True, False, True]
    assert TextSearch(pd.Series(texts)).holding("task identification").tolist() == counted.tolist()


def test_words_the_counter_does_not_read_are_skipped_and_the_words_it_reads_are_not():
    """Words with letters outside its tokens ("données", "équivalents") are not words to the counter, so "des plus"
    is counted across them; "V-WSD" is one token ("v-wsd"), so "disambiguation wsd" is not counted across it."""
    from nlp.term_trends import term_documents

    texts = ["sur des données plus accessibles", "par des équivalents sémantiques plus simples", "des idées plus",
             "Sense Disambiguation (V-WSD) entails", "disambiguation (WSD)", "des mots plus"]
    for term in ["des plus", "disambiguation wsd"]:
        counted = term_documents(texts, [term]).toarray()[:, 0].astype(bool)
        assert TextSearch(pd.Series(texts)).holding(term).tolist() == counted.tolist(), term
    assert term_documents(texts, ["des plus"]).toarray()[:, 0].tolist() == [1, 1, 1, 0, 0, 0]
    assert term_documents(texts, ["disambiguation wsd"]).toarray()[:, 0].tolist() == [0, 0, 0, 0, 1, 0]
