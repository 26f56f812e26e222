import numpy as np
import pytest

from nlp.coherence import CoherenceScorer, topic_diversity
from nlp.labels import short_label
from nlp.topics import nearest_topics
from pipelines.settings import TopicSettings

DOCS = ["solar panel", "solar panel", "solar grid", "fish farm", "fish farm", "fish stock", "panel fish"]


def test_npmi_ranks_co_occurring_words_above_unrelated_ones():
    scorer = CoherenceScorer().fit(DOCS)
    together, apart, unknown = scorer.npmi([["solar", "panel"], ["solar", "fish"], ["solar", "wind"]])
    # P(solar)=3/7, P(panel)=3/7, P(solar, panel)=2/7
    assert together == pytest.approx(np.log((2 / 7) / (9 / 49)) / -np.log(2 / 7))
    assert apart == -1.0 and np.isnan(unknown)


def test_topic_diversity_counts_unique_words():
    assert topic_diversity([["a", "b"], ["b", "c"]]) == 0.75


def test_nearest_topics_picks_most_similar_centroid():
    centroids = np.eye(3, dtype=np.float32)
    best, sims = nearest_topics(np.array([[0.1, 2.0, 0.0], [3.0, 0.0, 4.0]]), centroids)
    assert best.tolist() == [1, 2] and sims == pytest.approx([2.0 / np.sqrt(4.01), 0.8])


@pytest.mark.parametrize(("terms", "label"), [
    (["quantum systems", "quantum technologies", "qubits", "sensing"], "quantum systems · qubits · sensing"),
])
def test_short_label_skips_terms_sharing_a_stem_with_earlier_ones(terms, label):
    assert short_label(terms) == label


@pytest.mark.parametrize(("terms", "label"), [
    (["hydrogen", "green hydrogen", "electrolyser", "storage"], "green hydrogen · electrolyser · storage"),
    (["recycling", "materials", "plastics", "products", "plastic waste"], "recycling · materials · plastic waste"),
    (["energy", "materials", "batteries", "energy storage"], "energy storage · materials · batteries"),
    (["ai", "robots", "systems", "sensors", "sensor networks"], "ai · robots · systems"),  # not a label word
    (["quantum systems", "quantum sensing", "qubits"], "quantum systems · qubits"),  # a phrase stays
])
def test_a_phrase_extending_a_label_word_takes_its_place(terms, label):
    assert short_label(terms) == label


@pytest.mark.parametrize("representation", ["ctfidf", "mmr", "keybert_mmr"])
def test_topic_model_terms_come_from_each_theme_with_a_lexical_embedder(representation):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    from nlp.embed import HashingEmbedder
    from nlp.topics import build_topic_model, fit_topics, topic_table

    rng = np.random.default_rng(0)
    themes = {"energy": "hydrogen electrolyser turbine grid battery solar",
              "sea": "fish salmon oyster cage feed hatchery"}
    docs = [" ".join(rng.choice(words.split(), 12)) for words in themes.values() for _ in range(30)]
    embedder = HashingEmbedder(64)
    options = TopicSettings().model_options(reducer=PCA(3), clusterer=KMeans(2, n_init=2, random_state=0),
                                            min_topic_size=5, top_n_words=4, representation=representation)
    model = build_topic_model(**options, min_df=1, embedder=embedder)
    labels = fit_topics(model, docs, embedder.encode(docs))
    table = topic_table(model, labels, embedder.encode(docs))
    vocab = [set(words.split()) for words in themes.values()]
    assert sorted(len(t) for t in table["terms"]) == [4, 4]
    assert all(any(set(" ".join(terms).split()) <= v for v in vocab) for terms in table["terms"])


def test_generic_words_are_common_in_every_topic_alike():
    from nlp.labels import generic_words
    from nlp.topics import TOKEN_PATTERN

    rng = np.random.default_rng(0)
    themes = ["hydrogen electrolyser ammonia", "salmon hatchery oyster", "qubit photon cryogenic"]
    docs = [" ".join([*rng.choice(words.split(), 3), *rng.choice(["project", "novel", "aims"], 2)])
            for words in themes for _ in range(20)]
    topics = np.repeat([0, 1, 2], 20)
    assert set(generic_words(docs, topics, min_df=0.05, max_lift=2.0, token_pattern=TOKEN_PATTERN)) == {
        "project", "novel", "aims"}


def test_labels_are_unique_and_never_taken():
    from nlp.labels import unique_labels

    terms = [["energy", "hydrogen", "storage", "grid"], ["energy", "hydrogen", "storage", "ammonia"],
             ["energy", "hydrogen", "storage"]]
    labels = unique_labels(terms, taken={"solar · wind · grid"})
    assert labels == ["energy · hydrogen · storage", "energy · hydrogen · ammonia",
                      "energy · hydrogen · storage (2)"]
