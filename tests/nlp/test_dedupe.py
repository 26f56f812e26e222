import numpy as np
import pandas as pd
import pytest

from nlp.dedupe import find_canonical, minhash_signatures, normalise, similarity, syndication_groups

BASE = ("The regional cluster opened a pilot plant for recycling lithium batteries from electric vehicles, "
        "with twelve partners from industry and research testing new hydrometallurgical processes over "
        "the next three years and sharing their results with small and medium-sized companies.")
OTHER = ("A new digital innovation hub supports farmers with drones and satellite data to reduce fertiliser "
         "use, helping cooperatives in the south of the country measure soil moisture in real time.")


def frame(docs):
    return pd.DataFrame({"doc_id": [d[0] for d in docs], "published_on": [d[2] for d in docs],
                         "signature": list(minhash_signatures([d[1] for d in docs]))})


def test_minhash_signatures_shape_dtype_and_determinism():
    sigs = minhash_signatures([BASE, OTHER, ""], num_perm=64)
    assert sigs.shape == (3, 64) and sigs.dtype == np.uint64
    assert np.array_equal(sigs, minhash_signatures([BASE, OTHER, ""], num_perm=64))


def test_normalise_drops_case_punctuation_and_urls():
    assert normalise("Read MORE: https://x.org/a?b=1 -- the  Cluster!") == ["read", "more", "the", "cluster"]


def test_similarity_high_for_reposts_low_for_distinct_and_zero_for_empty():
    base, repost, other, empty = minhash_signatures(
        [BASE, "SHARE THIS | " + BASE.upper() + " Subscribe to our newsletter.", OTHER, "  "])
    assert similarity(base, repost) > 0.7 and similarity(base, other) < 0.1 and similarity(empty, empty) == 0.0


def test_find_canonical_groups_new_docs_under_earliest():
    new = frame([("b", BASE + " Share this.", "2026-01-02"), ("a", BASE, "2026-01-01"), ("c", OTHER, "2026-01-01")])
    out = find_canonical(new, threshold=0.7).set_index("doc_id")
    assert out.loc["b", "canonical_id"] == "a" and out.loc["a", "canonical_id"] == "a"
    assert out.loc["c", "canonical_id"] == "c" and out.loc["a", "similarity"] == 1.0


def test_find_canonical_keeps_existing_canonical_across_nights():
    night1 = frame([("x", BASE, "2026-01-01")]).assign(canonical_id="x")
    night2 = frame([("y", "Read more. " + BASE, "2025-12-31"), ("z", BASE + " [...]", "2026-01-05")])
    out = find_canonical(night2, night1, threshold=0.7).set_index("doc_id")
    assert out["canonical_id"].tolist() == ["x", "x"] and (out["similarity"] >= 0.7).all()


def test_find_canonical_never_groups_empty_texts():
    out = find_canonical(frame([("e1", "", "2026-01-01"), ("e2", "...", "2026-01-01")]))
    assert out["canonical_id"].tolist() == ["e1", "e2"]


def test_find_canonical_rejects_duplicate_ids():
    with pytest.raises(ValueError, match="unique"):
        find_canonical(frame([("a", BASE, "2026-01-01"), ("a", OTHER, "2026-01-01")]))


def test_syndication_groups_counts_docs_and_sources():
    docs = pd.DataFrame({"doc_id": ["a", "b", "c", "d"], "canonical_id": ["a", "a", "a", "d"],
                         "source": ["s1", "s2", "s1", "s3"]})
    out = syndication_groups(docs)
    assert out.to_dict("records") == [{"canonical_id": "a", "n_docs": 3, "n_sources": 2, "doc_ids": ["a", "b", "c"]}]
