"""Which of a fixed list of texts hold a term: its words on word boundaries with only non-word characters and the
words the term counter drops between them, case-insensitive (`term_pattern`), the way the backtest, the verdicts and
the confirmation rule find a flag's documents — the documents it was counted in.

The pattern runs only on the texts holding the term's longest word as a case-folded substring, with the same
texts found: 4-5x faster than the pattern on every text on the 19k CORDIS projects, 7x on the 183k arXiv abstracts
(`benchmarks/confirmer_speed.py --corpus cordis|arxiv`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from nlp.topics import TOKEN_WORD

# what the term counter (`nlp.term_trends`) drops between a phrase's words: English stop words and every word that
# is not one of its tokens (`nlp.topics.TOKEN_WORD`): one-letter words, numbers ("Task 2: Identification" holds
# "task identification"), words with letters it does not read ("café")
SKIPPED = r"(?:" + "|".join(sorted(ENGLISH_STOP_WORDS, key=len, reverse=True)) + rf"|(?!{TOKEN_WORD}\b)\w[\w\-]*)\b"


def term_pattern(term: str) -> re.Pattern:
    """A term's words on word boundaries, case-insensitive, with non-word characters between them and any of the
    words the term counter drops (`SKIPPED`): a phrase is found where it was counted."""
    gap = r"\W+(?:" + SKIPPED + r"\W+)*"
    return re.compile(r"\b" + gap.join(re.escape(word) for word in term.split()) + r"\b", re.IGNORECASE)


class TextSearch:
    """The texts holding each term (`holding`), each term searched once."""

    def __init__(self, texts):
        self.texts = pd.Series(texts, dtype=object).fillna("").astype(str).reset_index(drop=True)
        # what `term_pattern` matches, case-folded: an ASCII word it finds is a substring here ("ı" is the one
        # character that matches an ASCII letter, "i", and folds to something else)
        self._folded = self.texts.str.casefold().str.replace("ı", "i", regex=False)
        self._masks: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def holding(self, term: str) -> np.ndarray:
        """A boolean mask of the texts `term_pattern(term)` matches."""
        if term not in self._masks:
            longest = max(term.split() or [""], key=len).casefold()
            holds = self._folded.str.contains(longest, regex=False).to_numpy() if longest and longest.isascii() \
                else np.ones(len(self.texts), dtype=bool)
            mask = np.zeros(len(self.texts), dtype=bool)
            mask[holds] = self.texts[holds].str.contains(term_pattern(term)).to_numpy()
            self._masks[term] = mask
        return self._masks[term]
