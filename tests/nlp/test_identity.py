import numpy as np
import pytest

from nlp.identity import link_topics, membership_jaccard, sticky_topics, term_jaccard

E = np.eye(6, dtype=np.float32)  # orthogonal unit centroids
RULES = {"threshold": 0.75, "min_jaccard": 0.3, "min_terms": 0.4, "min_share": 0.5, "mean": None}


def link(previous, current, **kwargs):
    return link_topics(np.array([10, 11])[: len(previous)], previous, current, next_id=12,
                       **({"overlap": None} | RULES | kwargs))


def test_centroids_alone_keep_ids_and_the_rest_are_births():
    linkage = link(E[:2], np.stack([E[1], E[2], E[0]]))
    assert linkage.stable_ids == [11, 12, 10] and linkage.rules == {"centroid": 2}
    assert [(e["event"], e["topic_id"]) for e in linkage.events] == [("continue", 11), ("birth", 12),
                                                                     ("continue", 10)]


def test_shared_documents_keep_the_id_of_a_topic_whose_centroid_moved():
    # the planted topic's centroid turned to a new direction, but 40 of its 50 documents are still together
    linkage = link(E[:2], np.stack([E[0], E[3]]), overlap=np.array([[45, 0], [0, 40]]),
                   current_shared=np.array([50, 45]), previous_shared=np.array([50, 50]))
    assert linkage.stable_ids == [10, 11] and linkage.rules == {"documents": 2}


def test_shared_terms_keep_the_id_when_documents_are_not_shared():
    near = (E[1] + E[4]) / np.linalg.norm(E[1] + E[4])  # cosine 0.71: below the threshold, above half of it
    terms_before = [["solar", "grid"], ["green hydrogen", "electrolyser", "ammonia"]]
    linkage = link(E[:2], np.stack([E[0], near]), current_terms=[["solar", "grid"], ["hydrogen", "electrolyser"]],
                   previous_terms=terms_before)
    assert linkage.stable_ids == [10, 11] and linkage.rules == {"terms": 2}
    unrelated = link(E[:2], np.stack([E[0], near]), current_terms=[["solar", "grid"], ["fish", "salmon"]],
                     previous_terms=terms_before)
    assert unrelated.stable_ids == [10, 12]


def test_assignment_is_one_to_one_on_the_combined_evidence():
    # both new topics look like stable topic 10 by centroid; the documents say which one it is
    linkage = link(E[:1], np.stack([E[0], E[0]]), overlap=np.array([[5], [40]]), current_shared=np.array([50, 45]),
                   previous_shared=np.array([50]))
    assert linkage.stable_ids == [12, 10]
    assert {(e["event"], e["topic_id"]) for e in linkage.events} == {("continue", 10), ("split", 12)}


@pytest.mark.parametrize(("overlap", "expected"), [
    # new topic 1 holds 80% of documents from old topic 10, which also lives on as new topic 0: a split
    (np.array([[50, 0], [40, 0], [0, 0]]), {("split", 12, (10,)), ("death", 11, ())}),
    # old topic 11's documents went to new topic 0 (topic 10's successor): a merge
    (np.array([[50, 30], [0, 0], [0, 0]]), {("birth", 12, ()), ("birth", 13, ()), ("merge", 11, (10,))}),
])
def test_splits_and_merges_come_from_shared_documents(overlap, expected):
    linkage = link(E[:2], np.stack([E[0], E[2], E[3]]), overlap=overlap)
    events = {(e["event"], e["topic_id"], tuple(e["related"])) for e in linkage.events if e["event"] != "continue"}
    assert expected <= events


def test_first_fit_is_all_births():
    linkage = link_topics(np.array([], dtype=int), np.zeros((0, 0)), E[:3], next_id=0, overlap=None, **RULES)
    assert linkage.stable_ids == [0, 1, 2] and {e["event"] for e in linkage.events} == {"birth"}


def test_jaccards():
    assert membership_jaccard(np.array([[10.0]]), np.array([20.0]), np.array([15.0]))[0, 0] == 10 / 25
    assert term_jaccard([["green hydrogen", "ammonia"]], [["hydrogen", "steel"]])[0, 0] == 1 / 4


def test_sticky_keeps_documents_whose_topic_lives_on_and_still_fits():
    topics = np.array([1, 2, 2, -1, 3, 2, 3])
    previous = np.array([1, 1, 1, 1, 9, 2, 3])  # topics 1, 2 and 3 all lived before
    sims = np.array([0.9, 0.8, 0.1, 0.7, 0.9, 0.9, 0.9])
    after, kept = sticky_topics(topics, previous, sims, {1, 2, 3}, min_similarity=0.5)
    # doc 1 goes back to topic 1; doc 2 no longer fits it; the outlier doc 3 fits; topic 9 is gone
    assert after.tolist() == [1, 1, 2, 1, 3, 2, 3]
    assert kept.tolist() == [False, True, False, True, False, False, False]


def test_sticky_leaves_a_new_topic_the_older_documents_the_refit_gave_it():
    topics = np.array([5, 5, 5, 1, 2])  # 5 is new (a birth or split): its older documents are not held back
    previous = np.array([1, 2, -1, 2, 1])
    sims = np.full(5, 0.9)
    after, kept = sticky_topics(topics, previous, sims, {1, 2, 5}, min_similarity=0.5)
    assert after.tolist() == [5, 5, 5, 2, 1] and kept.tolist() == [False, False, False, True, True]
