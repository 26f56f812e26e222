"""Language identification: ISO 639-1 codes from lingua, one shared detector per process."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from lingua import LanguageDetector, LanguageDetectorBuilder


@lru_cache(maxsize=2)
def build_detector(low_accuracy: bool = False) -> LanguageDetector:
    """Build (once) a detector over every language lingua knows; its models load lazily."""
    builder = LanguageDetectorBuilder.from_all_languages()
    if low_accuracy:
        builder = builder.with_low_accuracy_mode()
    return builder.build()


def detect_languages(texts: Sequence[str | None], *, max_chars: int = 1000, min_letters: int = 3,
                     low_accuracy: bool = False) -> list[str | None]:
    """Return the ISO 639-1 code of each text, or None when it is empty or undetectable.

    Args:
        max_chars: only the start of each text is read; a paragraph decides the language.
        min_letters: texts with fewer letters are not guessed at (lingua would still answer).
    """
    heads = [(text or "")[:max_chars] for text in texts]
    usable = [i for i, head in enumerate(heads) if sum(ch.isalpha() for ch in head) >= min_letters]
    codes: list[str | None] = [None] * len(heads)
    if not usable:
        return codes
    found = build_detector(low_accuracy).detect_languages_in_parallel_of([heads[i] for i in usable])
    for i, language in zip(usable, found, strict=True):
        codes[i] = language.iso_code_639_1.name.lower() if language is not None else None
    return codes
