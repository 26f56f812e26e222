import numpy as np

from nlp.clustering import SizedClusterer, degenerate, wanted_topics


def blobs(n_per: int, centers: int, spread: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(rng.uniform(-20, 20, 5), spread, (n_per, 5)) for _ in range(centers)])


def test_dense_blobs_stay_with_hdbscan():
    clusterer = SizedClusterer(min_cluster_size=10, min_samples=None, min_topics_sqrt=0.25, fallback_topics_sqrt=0.1,
                               max_outlier_share=0.4, seed=0).fit(blobs(30, 8, 0.3))
    assert clusterer.method_ == "hdbscan" and clusterer.labels_.max() + 1 == 8


def test_a_degenerate_fit_falls_back_to_kmeans_sized_from_the_corpus():
    X = np.random.default_rng(1).uniform(-1, 1, (600, 5))  # no density structure: mostly noise to HDBSCAN
    clusterer = SizedClusterer(min_cluster_size=15, min_samples=None, min_topics_sqrt=0.5, fallback_topics_sqrt=0.5,
                               max_outlier_share=0.4, seed=0).fit(X)
    assert clusterer.method_ == "kmeans" and clusterer.labels_.max() + 1 == 13 and (clusterer.labels_ >= 0).all()
    again = SizedClusterer(min_cluster_size=15, min_samples=None, min_topics_sqrt=0.5, fallback_topics_sqrt=0.5,
                           max_outlier_share=0.4, seed=0).fit(X)
    assert np.array_equal(again.labels_, clusterer.labels_)


def test_the_fallback_size_comes_from_the_corpus_not_from_hdbscans_count():
    rng = np.random.default_rng(2)
    X = np.vstack([blobs(15, 20, 0.05), rng.uniform(-25, 25, (400, 5))])  # 20 dense blobs in 57 % noise
    clusterer = SizedClusterer(min_cluster_size=10, min_samples=None, min_topics_sqrt=0.25, fallback_topics_sqrt=0.25,
                               max_outlier_share=0.4, seed=0).fit(X)
    assert clusterer.hdbscan_topics_ > 7 and clusterer.hdbscan_outlier_share_ > 0.4
    assert clusterer.method_ == "kmeans" and clusterer.labels_.max() + 1 == 7  # ceil(0.25 * sqrt(700))


def test_hdbscan_is_tested_and_k_means_sized_by_separate_numbers():
    X = blobs(30, 8, 0.3)  # 8 dense blobs of 30: a fine partition for 0.25 √240 (4) but not for 1.0 √240 (16)
    strict = SizedClusterer(min_cluster_size=10, min_samples=None, min_topics_sqrt=1.0, fallback_topics_sqrt=0.25,
                            max_outlier_share=0.4, seed=0).fit(X)
    assert strict.hdbscan_topics_ == 8 and strict.method_ == "kmeans"
    assert strict.labels_.max() + 1 == wanted_topics(240, 0.25) == 4  # not the 16 the test asked of HDBSCAN


def test_degenerate():
    assert degenerate(np.array([0] * 50 + [-1] * 50), min_topics_sqrt=0.1, max_outlier_share=0.4)  # 50% outliers
    assert degenerate(np.array([0] * 40 + [1] * 40), min_topics_sqrt=0.5, max_outlier_share=0.4)  # 2 < 0.5 √80
    assert not degenerate(np.repeat(np.arange(8), 10), min_topics_sqrt=0.5, max_outlier_share=0.4)
