import numpy as np
import pytest
from sklearn.base import clone

from nlp.embed import HashingEmbedder
from nlp.sectors import SectorClassifier, code_scores, load_taxonomy, wipo_field


def test_load_taxonomy_has_51_traded_and_10_emerging_with_descriptions():
    taxonomy = load_taxonomy()
    assert (taxonomy["kind"] == "traded").sum() == 51 and (taxonomy["kind"] == "emerging").sum() == 10
    assert taxonomy["slug"].is_unique and taxonomy["description"].str.len().min() > 40


@pytest.mark.parametrize(("code", "field"), [("H01M 10/052", "1"), ("H04N 21/234", "4"), ("H04N5/225", "2"),
                                             ("A61K 8/02", "14"), ("A61K 39/00", "16"), ("G06Q 10/08", "7"),
                                             ("Z99Z", None), ("", None)])
def test_wipo_field_uses_longest_prefix(code, field):
    assert wipo_field(code) == field


def test_code_scores_maps_legal_basis_topics_euroscivoc_and_cpc():
    scores = code_scores({"legal_basis": ["HORIZON.2.1"], "cpc": ["A61B 5/00"], "unknown": ["x"],
                          "euroscivoc": ["/engineering and technology/medical engineering/implants"]})
    assert scores["biopharmaceuticals"] == 1.0 and scores["medical-devices"] == 1.0
    assert code_scores({"topic": ["HORIZON-CL5-2022-D3-01-02"]})["electric-power-generation-and-transmission"] == 1.0
    assert code_scores({"legal_basis": ["HORIZON.2.10"]}) == {} and code_scores(None) == {}


def words_of(text, rng, share=0.6):
    words = text.split()
    return " ".join(w for w in words if rng.random() < share)


def fake_sample(per_sector=4, seed=0):
    """Documents made of random subsets of each description's words, labelled with that sector."""
    rng = np.random.default_rng(seed)
    embedder, taxonomy = HashingEmbedder(256), load_taxonomy()
    rows = [(words_of(row.description, rng), row.slug) for row in taxonomy.itertuples() for _ in range(per_sector)]
    return embedder, embedder.encode([r[0] for r in rows]), [[r[1]] for r in rows]


def test_sector_classifier_follows_sklearn_contract():
    embedder, X, labels = fake_sample()
    model = SectorClassifier(embedder, max_labels=2)
    assert clone(model).get_params()["max_labels"] == 2 and not hasattr(model, "thresholds_")
    assert model.fit(X, labels) is model and model.thresholds_.shape == (61,)


def test_sector_classifier_calibrates_thresholds_from_labels_and_finds_planted_sector():
    embedder, X, labels = fake_sample()
    model = SectorClassifier(embedder, min_positives=3).fit(X, labels)
    assert model.is_calibrated_.all()
    _, held_out, truth = fake_sample(per_sector=1, seed=1)
    top = [labels[0][0] if labels else None for labels in model.predict(held_out)]
    assert np.mean([t == y[0] for t, y in zip(top, truth, strict=True)]) > 0.8


def test_sector_classifier_uses_quantile_rule_without_labels():
    embedder, X, _ = fake_sample()
    model = SectorClassifier(embedder, quantile=0.9).fit(X)
    assert not model.is_calibrated_.any()
    assert np.allclose(model.thresholds_, np.quantile(X @ model.category_embeddings_.T, 0.9, axis=0))


def test_sector_classifier_prefers_codes_and_sorts_scores():
    embedder, X, labels = fake_sample()
    model = SectorClassifier(embedder).fit(X, labels)
    out = model.predict(X[:2], codes=[{"legal_basis": ["HORIZON.2.6"]}, None])
    assert len(out[0]) == 3 and {slug for slug, _ in out[0]} <= set(code_scores({"legal_basis": ["HORIZON.2.6"]}))
    assert all(a[1] >= b[1] for a, b in zip(out[0], out[0][1:], strict=False))
    assert out[1][0][0] == labels[1][0]  # no codes: zero-shot finds the sector the words came from


def test_sector_classifier_rejects_wrong_dimension_and_missing_embedder():
    embedder, X, labels = fake_sample()
    with pytest.raises(ValueError, match="embeddings must be"):
        SectorClassifier(embedder).fit(X, labels).predict(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="embedder"):
        SectorClassifier().fit(X)
