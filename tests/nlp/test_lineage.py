import numpy as np
import pytest

from nlp.lineage import link_topics, match_topics

E = np.eye(4, dtype=np.float32)  # four orthogonal unit centroids


def test_match_topics_is_one_to_one_above_threshold():
    current = np.stack([E[1], E[0], (E[2] + E[3]) / np.sqrt(2)])
    assert match_topics(E[:3], current, threshold=0.75) == {0: (1, 1.0), 1: (0, 1.0)}


def test_link_topics_keeps_ids_of_matched_topics_and_births_the_rest():
    linkage = link_topics(np.array([10, 11]), E[:2], np.stack([E[1], E[2], E[0]]), next_id=12)
    assert linkage.stable_ids == [11, 12, 10]
    assert [(e["event"], e["topic_id"]) for e in linkage.events] == [("continue", 11), ("birth", 12),
                                                                     ("continue", 10)]


@pytest.mark.parametrize(("overlap", "expected"), [
    # the new topic 1 holds 80% of documents from old topic 10, which also lives on as new topic 0: a split
    (np.array([[50, 0], [40, 0], [0, 0]]), {("split", 12, (10,)), ("death", 11, ())}),
    # old topic 11's documents went to new topic 0 (topic 10's successor): a merge
    (np.array([[50, 30], [0, 0], [0, 0]]), {("birth", 12, ()), ("birth", 13, ()), ("merge", 11, (10,))}),
])
def test_link_topics_tells_splits_and_merges_from_shared_documents(overlap, expected):
    current = np.stack([E[0], E[2], E[3]])
    linkage = link_topics(np.array([10, 11]), E[:2], current, next_id=12, overlap=overlap)
    events = {(e["event"], e["topic_id"], tuple(e["related"])) for e in linkage.events if e["event"] != "continue"}
    assert expected <= events


def test_link_topics_follows_documents_when_the_centroid_drifted():
    drifted = (E[1] + E[3]) / np.sqrt(2)  # cosine 0.71 to the old centroid: below the threshold
    linkage = link_topics(np.array([10, 11]), E[:2], np.stack([E[0], drifted]), next_id=12,
                          overlap=np.array([[30, 0], [0, 25]]), threshold=0.75)
    assert linkage.stable_ids == [10, 11]
    assert all(e["event"] == "continue" for e in linkage.events)


def test_link_topics_first_fit_is_all_births():
    linkage = link_topics(np.array([], dtype=int), np.zeros((0, 0)), E[:3], next_id=0)
    assert linkage.stable_ids == [0, 1, 2] and {e["event"] for e in linkage.events} == {"birth"}
