import numpy as np
import pytest

from nlp.coherence import CoherenceScorer, topic_diversity
from nlp.topics import nearest_topics, short_label
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
    (["hydrogen", "green hydrogen", "electrolyser", "storage"], "hydrogen · electrolyser · storage"),
    (["quantum systems", "quantum technologies", "qubits", "sensing"], "quantum systems · qubits · sensing"),
])
def test_short_label_skips_terms_sharing_a_stem_with_earlier_ones(terms, label):
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
