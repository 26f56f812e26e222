import numpy as np
import pandas as pd
import scipy.sparse as sp

from nlp.emergence import EmergenceDetector
from nlp.term_trends import (
    ChanceLine,
    TermCounts,
    TermIndex,
    carried_share,
    redundant,
    specific_terms,
    term_documents,
    term_matrix,
)
from nlp.trends import benjamini_hochberg, choose_period, discrete_bh
from pipelines.settings import TrendSettings

MONTHS = pd.date_range("2023-01-01", periods=24, freq="MS")
AS_OF = "2024-12-31"
N_TOPICS = 12
VOCAB = {t: [f"topic{t}word{k}" for k in range(5)] for t in range(N_TOPICS)}


def corpus(seed: int = 0, rising: str | None = None, rising_topics=(0, 1, 2), style: str | None = None,
           per_month: int = 60):
    """`per_month` documents a month in 12 topics with their own words; `rising` enters 3 topics in the last 3
    months, `style` every topic in the last 3 months."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, month in enumerate(MONTHS):
        for _ in range(per_month):
            topic = int(rng.integers(0, N_TOPICS))
            words = list(rng.choice(VOCAB[topic], size=6)) + [f"w{int(rng.integers(0, 300))}" for _ in range(4)]
            if rising and i >= 21 and topic in rising_topics and rng.random() < 0.25:
                words.append(rising)
            if style and i >= 21 and rng.random() < 0.25:
                words.append(style)
            rows.append({"topic_id": topic, "published_on": month + pd.Timedelta(days=int(rng.integers(0, 28))),
                         "source": "news", "text": " ".join(words)})
    docs = pd.DataFrame(rows).assign(doc_id=lambda f: [f"d{i}" for i in range(len(f))])
    return docs, docs.set_index("doc_id")["text"]


def term_rows(docs, texts, **params):
    options = {**TrendSettings().detector_options(), "period": "month", "recent_days": 91, "baseline_days": 365,
               "min_docs": 5, **params}
    detector = EmergenceDetector(**options).fit(docs, as_of=AS_OF)
    cells = detector.transform(docs, terms=TermCounts.from_texts(texts, 5))
    return cells[cells["scope"] == "term"].set_index("cell")


def test_a_phrase_rising_across_topics_is_a_term_flag_with_its_topic_link():
    docs, texts = corpus(rising="quantumsensing")
    terms = term_rows(docs, texts)
    row = terms.loc["quantumsensing"]
    assert row["flagged"] and row["q_value"] < 0.01 and row["n_baseline"] == 0 and row["rank"] == 1
    assert row["topic_id"] in (0, 1, 2)  # where most of its documents are
    assert terms["flagged"].sum() == 1  # the topics' own words and the random words do not rise


def test_a_style_word_rising_in_every_topic_is_not_tested():
    docs, texts = corpus(style="pivotal")
    terms = term_rows(docs, texts)
    assert "pivotal" not in terms.index  # spread like the corpus: specificity ~0
    assert not terms["flagged"].any()


def test_specificity_is_about_zero_for_scattered_terms_whatever_their_frequency():
    rng = np.random.default_rng(1)
    topics = rng.integers(0, 20, size=4000)
    scattered = [rng.random(4000) < rate for rate in (0.01, 0.05, 0.3)]
    concentrated = (topics == 3) & (rng.random(4000) < 0.5)
    matrix = sp.csc_matrix(np.column_stack([*scattered, concentrated]).astype(float))
    spec = specific_terms(matrix, topics, 1.0, 0.01)[1]
    assert np.all(np.abs(spec[:3]) < 0.3) and spec[3] > 10


def test_a_few_scattered_documents_in_many_small_topics_reach_a_high_specificity_but_not_the_chance_line():
    rng = np.random.default_rng(2)
    sizes = np.r_[np.full(40, 2), np.full(80, 8), np.full(30, 40)]  # 150 topics of 2 to 40 documents
    topics = np.repeat(np.arange(len(sizes)), sizes)
    topics = np.append(topics, np.full(500, -1))  # outliers: not drawn, not counted
    real = topics[topics != -1]
    scattered = np.column_stack([np.isin(np.arange(len(topics)), rng.choice(len(real), 12, replace=False))
                                 for _ in range(300)]).astype(float)  # 300 terms of 12 random documents
    gathered = np.isin(topics, [140, 141]) & (rng.random(len(topics)) < 0.3)  # ~25 documents in two topics
    matrix = sp.csc_matrix(np.column_stack([scattered, gathered]).astype(float))
    keep, spec = specific_terms(matrix, topics, 1.0, 0.01)
    n = matrix.T @ (topics != -1).astype(float)
    line = ChanceLine(topics, int(n.max()), 0.01)(n)
    assert np.array_equal(keep, (spec >= 1) & (spec > line))  # the candidates: both lines passed
    assert (spec[:300] >= 1).mean() > 0.1  # the specificity line of 1 lets many scattered terms through ...
    assert (spec[:300] > line[:300]).mean() < 0.03  # ... the chance line about its 1 %
    assert spec[300] > line[300] and spec[300] >= 1  # a term in two topics passes both
    assert np.all(np.diff(ChanceLine(topics, 1000, 0.01)([3, 10, 100, 1000])) < 0)  # fewer: wider
    assert np.isinf(ChanceLine(topics, 1000, 0.01)([0])).all() and np.isinf(ChanceLine(topics, 0, 0.01)([5])).all()


def test_redundant_terms_sharing_their_documents_collapse_into_the_best():
    a = np.array([1, 1, 1, 1, 0, 0, 0, 0], float)
    b = np.array([1, 1, 1, 0, 0, 0, 0, 0], float)  # inside a
    c = np.array([0, 0, 0, 0, 1, 1, 1, 0], float)
    matrix = sp.csc_matrix(np.column_stack([a, b, c]))
    assert redundant(matrix, np.array([0, 1, 2])).tolist() == [False, True, False]
    assert redundant(matrix, np.array([1, 0, 2])).tolist() == [False, True, False]


def carrier_window(carrier_before: float, carrier_after: float, rate_with=(0.6, 0.6), rate_without=(0.05, 0.05),
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2,000 baseline and 1,000 recent documents; the carrier in a share of each, the term in a share of the
    documents with and without the carrier, (baseline, recent)."""
    rng = np.random.default_rng(seed)
    recent = np.r_[np.zeros(2000, bool), np.ones(1000, bool)]
    carrier = rng.random(3000) < np.where(recent, carrier_after, carrier_before)
    rate = np.where(carrier, np.where(recent, rate_with[1], rate_with[0]),
                    np.where(recent, rate_without[1], rate_without[0]))
    return rng.random(3000) < rate, carrier, recent


def test_a_term_rising_only_because_its_carrier_rises_is_carried():
    assert carried_share(*carrier_window(0.05, 0.30)) > 0.9  # "input" in neural-network patents: rate kept
    assert carried_share(*carrier_window(0.05, 0.30, rate_with=(0.1, 0.6))) < 0.5  # rising within the carrier
    assert carried_share(*carrier_window(0.0, 0.30)) < 0.1  # a carrier new in the recent window explains nothing
    assert carried_share(*carrier_window(0.2, 0.2, rate_without=(0.02, 0.2))) == 0.0  # the carrier did not rise
    term, carrier, recent = carrier_window(0.05, 0.30)
    assert carried_share(term & recent, carrier, recent) == 0.0  # no baseline documents: nothing to explain


def test_a_flagged_topic_or_a_stronger_term_carries_a_term_but_a_weaker_term_does_not():
    from nlp.term_trends import carried

    term, carrier, recent = carrier_window(0.05, 0.30)
    matrix = sp.csc_matrix(np.column_stack([carrier, term]).astype(float))
    assert carried(matrix, recent, np.array([0, 1]), 0.5).tolist() == [False, True]
    assert carried(matrix, recent, np.array([1, 0]), 0.5).tolist() == [False, False]  # the carrier is weaker
    assert carried(matrix[:, [1]], recent, np.array([0]), 0.5, topics=[carrier]).tolist() == [True]  # a topic's


def test_the_detector_drops_a_flagged_term_that_rides_a_stronger_one_and_keeps_an_independent_rise():
    docs, texts = corpus(rising="quantumsensing", per_month=240)
    rng = np.random.default_rng(7)
    late = (docs["published_on"] >= MONTHS[21]).to_numpy()
    where = docs["topic_id"].isin([3, 4, 5]).to_numpy()  # not where "quantumsensing" rises
    wave = where & (rng.random(len(docs)) < np.where(late, 0.6, 0.1))  # "neural network" patents, 1990
    rider = rng.random(len(docs)) < np.where(wave, 0.6, np.where(where, 0.1, 0.0))  # "input": rate kept
    texts = texts + np.where(wave, " neuralwave", "") + np.where(rider, " inputgadget", "")
    terms = term_rows(docs, texts)
    assert terms.loc["neuralwave", "flagged"] and terms.loc["quantumsensing", "flagged"]
    assert terms.loc["inputgadget", "q_value"] <= 0.05 and terms.loc["inputgadget", "growth"] > 2
    assert not terms.loc["inputgadget", "flagged"] and terms.loc["inputgadget", "failed"] == "carried"
    alone = term_rows(docs, texts, max_carried_share=1.01)  # the rule off: both flagged
    assert alone.loc["inputgadget", "flagged"] and alone.loc["neuralwave", "flagged"]


def test_term_flags_stay_under_the_fdr_when_nothing_rises():
    """Under the complete null BH bounds the chance of any flag in a detection by the FDR (0.05)."""
    with_a_flag = [term_rows(*corpus(seed=seed))["flagged"].any() for seed in range(20)]
    assert np.mean(with_a_flag) <= 0.05


def test_discrete_bh_drops_tests_that_cannot_reach_significance():
    rng = np.random.default_rng(0)
    p = np.concatenate([[1e-5, 2e-4, 0.002], rng.uniform(0.2, 1, 50), np.ones(2000)])
    floor = np.concatenate([[1e-9] * 53, np.full(2000, 0.2)])  # 2,000 cells with 1-2 documents
    q, testable = discrete_bh(p, floor, 0.05)
    assert testable.sum() == 53 and (q[~testable] == 1).all()
    assert np.allclose(q[testable], benjamini_hochberg(p[testable]))
    assert (q[:3] <= 0.05).all() and not (benjamini_hochberg(p)[:3] <= 0.05).all()


def test_choose_period_coarsens_the_bins_for_thin_data_but_never_lengthens_the_windows():
    rng = np.random.default_rng(0)

    def docs(per_month: int) -> pd.DataFrame:
        dates = [m + pd.Timedelta(days=int(rng.integers(0, 28))) for m in MONTHS for _ in range(per_month)]
        return pd.DataFrame({"published_on": dates, "topic_id": rng.integers(0, 10, size=len(dates))})

    assert choose_period(docs(200), AS_OF, 182, 365, 5, 2) == "month"  # 20 per topic and month
    assert choose_period(docs(20), AS_OF, 182, 365, 5, 2) == "quarter"  # 2 a month, 6 a quarter
    assert choose_period(docs(2), AS_OF, 182, 365, 5, 2) == "quarter"  # a year: one period in the recent window


def test_the_term_cap_keeps_the_most_significant_terms_not_the_most_specific():
    docs, texts = corpus(rising="broadterm", rising_topics=range(4))
    rng = np.random.default_rng(5)
    late = (docs["published_on"] >= MONTHS[21]) & (docs["topic_id"] == 0) & (rng.random(len(docs)) < 0.6)
    texts = texts.where(~late.to_numpy(), texts + " narrowterm")
    terms = term_rows(docs, texts, max_term_flags=1)
    assert terms.loc["narrowterm", "specificity"] > terms.loc["broadterm", "specificity"]
    assert terms.loc["broadterm", "q_value"] < terms.loc["narrowterm", "q_value"] <= 0.05
    assert terms.loc["broadterm", "flagged"] and not terms.loc["narrowterm", "flagged"]


def test_a_corpus_term_index_gives_each_subset_the_counts_of_vectorizing_that_subset_alone():
    _, texts = corpus(seed=3, rising="quantum sensing")
    index = TermIndex(texts, 5)
    for subset in (texts.iloc[:40], texts.iloc[100:900], texts.iloc[::7], texts.iloc[-300:], texts.iloc[:3]):
        expected, got = TermCounts.from_texts(subset, 7), index.counts(subset.index, 7)
        assert got.names.tolist() == expected.names.tolist()  # kept by the subset's own document frequencies
        assert got.doc_ids.equals(expected.doc_ids) and got.matrix.shape == expected.matrix.shape
        assert (got.matrix != expected.matrix).nnz == 0


def test_term_documents_reads_given_terms_as_the_term_matrix_reads_them():
    texts = ["Quantum sensing of the gravity field", "quantum sensing", "the sensing of quantum states",
             "hydrogen valleys and quantum-sensing", "nothing here"]
    matrix, names = term_matrix(texts, 1, 1.0)
    terms = ["sensing", "quantum sensing", "quantum-sensing", "gravity field", "absent term"]
    found = term_documents(texts, terms).toarray()
    assert found.shape == (5, 5) and found[:, 4].sum() == 0
    for j, term in enumerate(terms[:4]):  # the same documents as the vectorizer that found the terms
        assert (found[:, j] == matrix[:, list(names).index(term)].toarray().ravel()).all(), term
    assert found[:, 1].tolist() == [1, 1, 0, 0, 0]  # a phrase is its words in a row (stop words dropped)


def test_term_index_counts_documents_holding_each_term_per_period():
    texts = pd.Series(["quantum sensing chips", "quantum sensing", "photonic chips", "quantum chips"],
                      index=["a", "b", "c", "d"])
    index = TermIndex(texts, min_docs=1)
    months = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-03-01"])
    frame = index.per_period(["a", "b", "c", "d"], months, ["quantum sensing", "chips", "absent", "chips"],
                             pd.to_datetime(["2024-01-01", "2024-02-01"]))  # March is not asked for
    assert frame.index.tolist() == ["quantum sensing", "chips"]
    assert frame.to_numpy().tolist() == [[1, 1], [1, 1]]
