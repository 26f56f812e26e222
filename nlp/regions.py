"""NUTS 2021 regions for documents: code helpers, structured organisations and a text tagger.

Evidence, strongest first: "structured" (a NUTS code or country the source gives), "coordinates"
(an organisation's lat/lon placed in a NUTS polygon, else near registry organisations), "organisation"
(an organisation named in the text or given without a NUTS code) and "place" (a city, or a country,
named in the text).

Policies for bad input, each with a defined result:
- empty text, text in a script the gazetteer does not cover, a place name matching nothing: no tags;
- a NUTS code that is malformed or outside the NUTS countries: ignored (the org's country is used
  if it has one); a well-formed code the registry does not know: cut back to its deepest known parent;
- coordinates outside every NUTS polygon (or without boundaries) and with no registry organisation
  within `max_km` (e.g. outside Europe): not placed;
- a name that fits several regions or countries: `nlp.places.resolve`'s ambiguity policy. Places
  whose name is also a common English word ("Split", "Reading", "Bath"; nlp/data/ambiguous_places.txt)
  only count when the document names, or its structured data gives, a country.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from nlp.gazetteer import (
    PhraseIndex,
    ambiguous_places,
    capitalised_spans,
    country_names,
    fold,
    is_acronym,
    nuts_country,
)
from nlp.places import Candidate, PlaceRegistry, resolve, strip_legal_form, strip_written_legal_form

_CODE = re.compile(r"^[A-Z]{2}[A-Z0-9]{0,3}$")
EVIDENCE_STRENGTH = {"structured": 1.0, "coordinates": 0.9, "organisation": 1.0, "place": 0.8, "country": 0.3}


def nuts_level(code: str) -> int:
    """Return the NUTS level of a code: 0 for a country (2 chars) up to 3 (5 chars)."""
    if not isinstance(code, str) or not _CODE.match(code.strip().upper()):
        raise ValueError(f"not a NUTS code: {code!r} (expected 2 letters and up to 3 letters/digits)")
    return len(code.strip()) - 2


def nuts_parents(code: str) -> list[str]:
    """Return the codes above `code`, nearest first: "ES523" -> ["ES52", "ES5", "ES"]."""
    code = code.strip().upper()
    return [code[:n] for n in range(2 + nuts_level(code) - 1, 1, -1)]


def is_nuts_code(code: object) -> bool:
    """True for a well-formed code in a NUTS country (ISO GR/GB are not NUTS spellings)."""
    return isinstance(code, str) and bool(_CODE.match(code)) and code[:2] == nuts_country(code[:2])


def org_code(org: Mapping, known_codes: set[str] | None = None) -> str | None:
    """The NUTS code an organisation record gives (cut back to a known code), else its country."""
    code = str(org.get("nuts_code") or "").strip().upper()
    code = code if is_nuts_code(code) else nuts_country(org.get("country")) or ""
    while known_codes and len(code) > 2 and code not in known_codes:
        code = code[:-1]
    return code or None


def structured_regions(orgs: Iterable[Mapping], coordinator_weight: float = 2.0,
                       known_codes: set[str] | None = None) -> list[dict]:
    """Regions a document's own organisations give: code, level, evidence="structured", weight.

    Each organisation votes for its NUTS code (or, lacking one, its country); the coordinator
    counts `coordinator_weight` times. Weights sum to 1, strongest first.
    """
    votes: Counter[str] = Counter()
    for org in orgs:
        code = org_code(org, known_codes)
        if code:
            votes[code] += coordinator_weight if org.get("role") == "coordinator" else 1.0
    total = sum(votes.values())
    return [{"code": code, "level": len(code) - 2, "evidence": "structured", "weight": round(n / total, 4)}
            for code, n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))]


class RegionTagger:
    """Tag texts (and their structured organisations) with weighted NUTS codes via a PlaceRegistry."""

    def __init__(self, registry: PlaceRegistry, *, fuzzy_cutoff: float | None = 92.0, max_alias_df: int = 20,
                 text_weight: float = 0.25, max_km: float = 25.0):
        self.registry = registry
        self.fuzzy_cutoff = fuzzy_cutoff
        self.text_weight = text_weight
        self.max_km = max_km
        self._ambiguous = ambiguous_places()
        self.index = PhraseIndex(max_tokens=12)
        for name, code in country_names().items():
            self.index.add(name, ("country", code))
        for code, name in registry.nuts_names.items():
            for alias in name.split("/"):
                if len(code) > 2 and len(alias.strip()) >= 4:
                    self.index.add(alias.strip(), ("region", code))
        for key in registry.places:
            if len(key) >= 3 and key not in ENGLISH_STOP_WORDS:
                self.index.add(key, ("place", key))
        df = Counter(w for name in set(registry.orgs["name"]) for w in set(fold(name).split()))
        for row in registry.orgs.itertuples():
            for alias in {row.name, row.short_name} - {""}:
                key = strip_legal_form(alias)
                for written in {alias, strip_written_legal_form(alias)}:
                    if is_acronym(written) and len(written) >= 3:
                        self.index.add(written, ("organisation", key))
                if " " in key or (len(key) >= 4 and df[key] <= max_alias_df and key not in registry.places):
                    self.index.add(key, ("organisation", key))
        self._fuzzy_by_length: dict[int, list[str]] = {}
        fuzzy_keys = [k for k in registry.names if " " in k and len(k) >= 8]
        fuzzy_keys += [k for k in registry.places if len(k) >= 7]
        for key in fuzzy_keys:
            self._fuzzy_by_length.setdefault(len(key), []).append(key)
        self._fuzzy_cache: dict[str, str | None] = {}
        self._keys_by_query_length: dict[int, list[str]] = {}

    def tag(self, texts: Sequence[str | None], organisations: Sequence[Iterable[Mapping] | None] | None = None
            ) -> list[list[dict]]:
        """Return per text a list of dict(code, name, level, evidence, weight), strongest first.

        Args:
            organisations: per text, the document's structured organisations (nuts_code, country,
                role, lat, lon, name, city); their regions come first, text mentions add `text_weight`.
        """
        organisations = organisations if organisations is not None else [None] * len(texts)
        return [self._tag_one(text or "", list(orgs or [])) for text, orgs in zip(texts, organisations,
                                                                                   strict=True)]

    def _tag_one(self, text: str, orgs: list[Mapping]) -> list[dict]:
        structured = self._structured(orgs)
        mentions = self.mentions(text, {code[:2] for code in structured})
        parts = [(structured, 1 - self.text_weight), (mentions, self.text_weight)] if structured and mentions \
            else [(structured or mentions, 1.0)]
        weights: Counter[str] = Counter()
        evidence: dict[str, str] = {}
        for found, scale in parts:
            for code, (weight, kind) in found.items():
                weights[code] += scale * weight
                evidence.setdefault(code, kind)
        return [{"code": code, "name": self.registry.region_name(code), "level": len(code) - 2,
                 "evidence": evidence[code], "weight": round(weight, 4)}
                for code, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))]

    def _structured(self, orgs: list[Mapping]) -> dict[str, tuple[float, str]]:
        """Code -> (weight, evidence) from organisations: NUTS code, else coordinates, else name/city."""
        weights: Counter[str] = Counter()
        evidence: dict[str, str] = {}
        for org in orgs:
            code, kind = org_code(org, self.registry.known_codes), "structured"
            if not is_nuts_code(str(org.get("nuts_code") or "").strip().upper()):
                found = self._place_org(org)
                code, kind = (found["code"], found["evidence"]) if found else (code, kind)
            if code:
                weights[code] += 2.0 if org.get("role") == "coordinator" else 1.0
                evidence.setdefault(code, kind)
        total = sum(weights.values())
        return {code: (w / total, evidence[code]) for code, w in weights.items()}

    def _place_org(self, org: Mapping) -> dict | None:
        lat, lon = org.get("lat"), org.get("lon")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            found = self.registry.locate(lat, lon, org.get("country"), max_km=self.max_km)
            if found is not None:
                return found
        return self.place_organisation(org.get("name"), org.get("city"), org.get("country"))

    def place_organisation(self, name: str | None, city: str | None = None,
                           country: str | None = None) -> dict | None:
        """Place an organisation: the registry's name/city lookup, else places its name mentions."""
        found = self.registry.place(name, city, country)
        if found is not None or not name:
            return found
        countries = {nuts_country(country)} - {None} if country else set()
        mentions = self.mentions(name.title() if name.isupper() else name, countries)
        if countries:
            mentions = {code: v for code, v in mentions.items() if code[:2] in countries}
        if not mentions:
            return None
        code, (weight, evidence) = max(mentions.items(), key=lambda kv: kv[1][0])
        return {"code": code, "name": self.registry.region_name(code), "level": len(code) - 2,
                "evidence": evidence, "score": round(weight, 4)}

    def mentions(self, text: str, countries: set[str] | None = None) -> dict[str, tuple[float, str]]:
        """Code -> (weight, evidence) for organisations, cities and countries named in a text."""
        matches = self.index.find(text)
        named = {p[1] for m in matches for p in m.payloads if p[0] == "country"}
        context = set(countries or ()) | named
        found: list[tuple[str, float, str]] = []
        for match in matches:
            if not context and {fold(match.text)} <= self._ambiguous and \
                    all(kind == "place" for kind, _ in match.payloads):
                continue
            found.extend(self._resolve(match.payloads, context))
        if self.fuzzy_cutoff is not None:
            covered = [(m.start, m.end) for m in matches]
            for start, end, span in capitalised_spans(text):
                if len(span) >= 7 and not any(s < end and start < e for s, e in covered):
                    found.extend(self._fuzzy(span, context))
        weights: Counter[str] = Counter()
        evidence: dict[str, str] = {}
        for code, share, kind in found:
            weights[code] += EVIDENCE_STRENGTH[kind] * share
            evidence.setdefault(code, "place" if kind == "country" else kind)
        total = sum(weights.values())
        return {code: (w / total, evidence[code]) for code, w in weights.items()}

    def _resolve(self, payloads: tuple, context: set[str]) -> list[tuple[str, float, str]]:
        for kind in ("organisation", "place", "region", "country"):
            keys = {key for k, key in payloads if k == kind}
            if not keys:
                continue
            if kind in ("region", "country"):
                hit = resolve([Candidate(code, 1.0, kind) for code in keys], context)
                return [] if hit is None else [(hit[0], hit[1], "place" if kind == "region" else kind)]
            table = self.registry.names if kind == "organisation" else self.registry.places
            hit = resolve([c for key in keys for c in table.get(key, [])], context)
            if hit is not None:
                return [(hit[0], hit[1], kind)]
        return []

    def _fuzzy_key(self, span: str) -> str | None:
        """The registry key closest to `span` (ratio >= fuzzy_cutoff), memoised: abstracts repeat spans.

        Only keys of compatible length are compared (`_keys_near`).
        """
        query = strip_legal_form(span)
        if query not in self._fuzzy_cache:
            hit = process.extractOne(query, self._keys_near(len(query)), scorer=fuzz.ratio,
                                     score_cutoff=self.fuzzy_cutoff)
            self._fuzzy_cache[query] = hit[0] if hit else None
        return self._fuzzy_cache[query]

    def _keys_near(self, length: int) -> list[str]:
        """Registry keys whose length allows fuzz.ratio >= fuzzy_cutoff with a query of `length` characters.

        ratio = 2M / (a + b) >= c needs |a - b| <= (1 - c)(a + b).
        """
        if length not in self._keys_by_query_length:
            slack = (100 - self.fuzzy_cutoff) / 100
            low, high = int(length * (1 - slack) / (1 + slack)), int(length * (1 + slack) / (1 - slack)) + 1
            self._keys_by_query_length[length] = [k for n in range(low, high + 1)
                                                  for k in self._fuzzy_by_length.get(n, ())]
        return self._keys_by_query_length[length]

    def _fuzzy(self, span: str, context: set[str]) -> list[tuple[str, float, str]]:
        key = self._fuzzy_key(span)
        if key is None:
            return []
        candidates: list[Candidate] = self.registry.names.get(key) or self.registry.places.get(key, [])
        found = resolve(candidates, context)
        return [] if found is None else [(found[0], found[1], candidates[0].kind)]
