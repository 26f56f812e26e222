import numpy as np
import pytest

from nlp.embed import HashingEmbedder, embedding_input
from pipelines.logs import Bars
from pipelines.runs import StepResult
from pipelines.settings import NlpSettings
from pipelines.steps.embed import embed
from pipelines.steps.ingest import upsert_documents
from pipelines.store import Store


class CountingEmbedder(HashingEmbedder):
    """The honest hashing embedder, counting the texts it is asked to encode."""

    def __init__(self):
        super().__init__(64)
        self.name = "hashing-64"
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen += list(texts)
        return super().encode(texts)


def doc(i, text):
    return {"source": "s", "kind": "news", "external_id": str(i), "title": "T", "text": text,
            "published_on": "2025-01-01"}


@pytest.fixture
def store():
    with Store.open(":memory:") as s:
        upsert_documents(s, [doc(1, "hydrogen trucks"), doc(2, "battery recycling"), doc(3, "hydrogen trucks")],
                         StepResult("ingest"))
        yield s


def test_embed_encodes_each_text_once_and_links_every_document(store):
    embedder = CountingEmbedder()
    result = embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=embedder)
    assert sorted(embedder.seen) == ["T. battery recycling", "T. hydrogen trucks"]
    assert result.counts == {"embedded": 2, "reused": 1}
    ids, vectors = store.vectors("hashing-64")
    assert ids == ["s:1", "s:2", "s:3"] and vectors.shape == (3, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[0], vectors[2])


def test_embed_second_run_embeds_nothing(store):
    embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=CountingEmbedder())
    again = CountingEmbedder()
    result = embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=again)
    assert again.seen == [] and result.counts == {}


def test_embed_reuses_vectors_of_a_text_seen_from_another_source(store):
    embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=CountingEmbedder())
    upsert_documents(store, [doc(1, "battery recycling") | {"source": "other"}], StepResult("ingest"))
    again = CountingEmbedder()
    result = embed(store, NlpSettings(embedder="hashing-64"), Bars(enabled=False), embedder=again)
    assert again.seen == [] and result.counts == {"reused": 1} and store.count("doc_embeddings") == 4


def test_embedding_input_keeps_title_and_cuts_at_a_word():
    text = embedding_input("Title", "alpha beta gamma delta", 12)
    assert text == "Title. alpha beta"


def test_hashing_embedder_puts_related_texts_closer():
    vectors = HashingEmbedder(256).encode(["hydrogen fuel cell trucks", "hydrogen fuel cell buses",
                                           "baroque opera singers"])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_static_embedder_loads_a_saved_model2vec_model(tmp_path):
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from nlp.embed import load_embedder, resolve_model_path

    tokenizer = Tokenizer.from_file(str(resolve_model_path("all-MiniLM-L6-v2") / "tokenizer.json"))
    vectors = np.random.default_rng(0).normal(size=(tokenizer.get_vocab_size(), 16)).astype(np.float32)
    StaticModel(vectors, tokenizer).save_pretrained(str(tmp_path / "m2v"))
    embedder = load_embedder(f"static:{tmp_path / 'm2v'}")
    out = embedder.encode(["hydrogen valleys", "hydrogen valleys", "opera"])
    assert embedder.name == f"static:{tmp_path / 'm2v'}" and out.shape == (3, 16) and embedder.dim == 16
    np.testing.assert_allclose(out[0], out[1])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
