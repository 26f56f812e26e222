import numpy as np

from nlp.lineage import match_topics

E = np.eye(4, dtype=np.float32)  # four orthogonal unit centroids


def test_match_topics_is_one_to_one_above_threshold():
    current = np.stack([E[1], E[0], (E[2] + E[3]) / np.sqrt(2)])
    assert match_topics(E[:3], current, threshold=0.75) == {0: (1, 1.0), 1: (0, 1.0)}
