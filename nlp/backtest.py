"""Strict backtest scoring: truth themes, matching flags to themes, hits in a window, precision against the future.

Rules (docs/backtest.md):

- A flag's *marker* is its term (a term flag) or its label and top 3 terms (a topic flag). A flag
  *matches* a theme when a theme phrase occurs in its marker, or when at least half of the flag's
  window documents contain a theme phrase. Phrases match case-insensitively on word boundaries.
- An emerging theme is *hit* by the first matching flag at a cutoff in
  [expected_from - tolerance, expected_to]; matching flags before that window are *premature*
  (neither hit nor false alarm), after it *late*. A flag matching a not_emerging theme is a false
  alarm; a flag matching no theme is *unmatched*.
- A flag at cutoff c is *confirmed* when its marker (a term flag: the term; a topic flag: at least 2
  of its top 5 terms in one document) occurs in a share of the documents dated in (c, c + 1 year]
  at least `CONFIRM_RATIO` times its share of those dated in (c - 2 years, c - 1 year], and in at
  least `CONFIRM_MIN_DOCS` documents of the following year. Flags whose following year runs past
  the data, or whose earlier year starts before it, are not judged.
- Threat score (Klavans & Boyack) = hits / (hits + misses + false-alarm themes).
- *Evidence*: the first cutoff of an emerging theme's hit window at which its own phrases' documents rose
  in the detector's recent window against its baseline window (as many documents and as much growth as a
  flag needs, a one-sided binomial test at the FDR level over the hit window's cutoffs): about the delay
  the data and the windows allow a detector that knew the theme's words. Beyond it the delay is the detector's.
- Every miss is explained: flagged but labelled burst / style, or the closest tested cell naming the
  theme with the rules it failed (q-value, support, growth, persistence), or no cell names it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from nlp.textsearch import TextSearch
from nlp.trends import rose

TRUTH_COLUMNS = ["theme", "terms", "label", "expected_from", "expected_to"]
LABELS = ("emerging", "not_emerging")
MIN_FRACTION = 0.5  # share of a flag's window documents that must contain a theme phrase
MARKER_TERMS = 3  # a topic flag's top terms that count as its marker for matching
CONFIRM_TERMS, CONFIRM_CO = 5, 2  # a topic flag is present in a document holding 2 of its top 5 terms
CONFIRM_RATIO, CONFIRM_MIN_DOCS = 1.5, 5
YEAR = pd.DateOffset(years=1)


def read_truth(path: Path) -> pd.DataFrame:
    """Read a truth CSV (theme,terms,label,expected_from,expected_to); terms become a list of phrases."""
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = set(TRUTH_COLUMNS) - set(truth.columns)
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
    bad = set(truth["label"]) - set(LABELS)
    if bad:
        raise ValueError(f"{path}: label must be emerging or not_emerging, not {', '.join(sorted(bad))}")
    truth = truth[TRUTH_COLUMNS].copy()
    truth["phrases"] = truth["terms"].map(lambda s: [p.strip() for p in s.split("|") if p.strip()])
    for column in ("expected_from", "expected_to"):
        truth[column] = pd.to_datetime(truth[column].replace("", None))
    return truth


def phrase_pattern(phrases: list[str]) -> re.Pattern:
    """One case-insensitive regex matching any phrase on word boundaries."""
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)


def theme_fractions(texts: list[str], truth: pd.DataFrame) -> dict[str, float]:
    """Per theme: the share of `texts` containing at least one of its phrases."""
    if not texts:
        return {theme: 0.0 for theme in truth["theme"]}
    patterns = {row.theme: phrase_pattern(row.phrases) for row in truth.itertuples()}
    return {theme: float(np.mean([bool(pattern.search(t or "")) for t in texts]))
            for theme, pattern in patterns.items()}


def marker(scope: str, cell: str, label: str | None, terms: list[str]) -> list[str]:
    """The words a flag is matched on: a term flag's term; a topic flag's label and top 3 terms."""
    if scope == "term":
        return [cell]
    return [label or "", *terms[:MARKER_TERMS]]


def matches(fractions: dict[str, float], markers: list[str], theme: pd.Series, pattern: re.Pattern | None = None
            ) -> bool:
    """Whether a flag (its documents' theme fractions and its marker) matches a truth theme (`pattern`: its
    `phrase_pattern`, when already compiled)."""
    if fractions.get(theme["theme"], 0.0) >= MIN_FRACTION:
        return True
    pattern = pattern or phrase_pattern(theme["phrases"])
    return any(pattern.search(m or "") for m in markers)


def match_matrix(flags: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """flags x themes: which flag matches which theme (no flags: an empty matrix)."""
    out = np.zeros((len(flags), len(truth)), dtype=bool)
    if flags.empty:
        return out
    themes = [(theme, phrase_pattern(theme["phrases"])) for _, theme in truth.iterrows()]
    for i, flag in enumerate(flags.itertuples()):
        markers = marker(getattr(flag, "scope", "topic"), getattr(flag, "cell", ""), getattr(flag, "label", None),
                         list(flag.terms))
        for j, (theme, pattern) in enumerate(themes):
            out[i, j] = matches(flag.theme_fractions, markers, theme, pattern)
    return out


def score_flags(flags: pd.DataFrame, truth: pd.DataFrame, cutoffs: list, *, tolerance_days: int) -> dict:
    """Strict scores of one method's flags (cutoff, scope, cell, label, terms, theme_fractions[, confirmed]).

    Returns recall, hits, misses, false_alarms (flags), false_alarm_themes, premature_flags, late_flags,
    unmatched_flags, threat_score, confirmed_share (with n_judged), median_delay_days, flags_per_cutoff
    and one row per theme.
    """
    flags = flags.reset_index(drop=True)
    matched = match_matrix(flags, truth)
    when = pd.to_datetime(flags["cutoff"]) if len(flags) else pd.Series([], dtype="datetime64[ns]")
    themes, delays, false_alarms, premature, late = [], [], 0, 0, 0
    for j, (_, theme) in enumerate(truth.iterrows()):
        hit_cutoffs = sorted(when[matched[:, j]])
        row = {"theme": theme["theme"], "label": theme["label"], "n_matching_flags": len(hit_cutoffs),
               "detected": False, "first_cutoff": None, "delay_days": None, "premature_flags": 0, "late_flags": 0}
        if theme["label"] == "emerging":
            opens, closes = hit_window(theme, tolerance_days)
            in_time = [c for c in hit_cutoffs if opens <= c <= closes]
            row["premature_flags"] = sum(c < opens for c in hit_cutoffs)
            row["late_flags"] = sum(c > closes for c in hit_cutoffs)
            premature, late = premature + row["premature_flags"], late + row["late_flags"]
            if in_time:
                delay = (in_time[0] - theme["expected_from"]).days if pd.notna(theme["expected_from"]) else None
                row.update(detected=True, first_cutoff=in_time[0].strftime("%Y-%m-%d"), delay_days=delay)
                if delay is not None:
                    delays.append(delay)
        else:
            false_alarms += len(hit_cutoffs)
            row["first_cutoff"] = hit_cutoffs[0].strftime("%Y-%m-%d") if hit_cutoffs else None
        themes.append(row)
    emerging = [t for t in themes if t["label"] == "emerging"]
    hits = sum(t["detected"] for t in emerging)
    false_themes = sum(t["n_matching_flags"] > 0 for t in themes if t["label"] == "not_emerging")
    judged = flags["confirmed"].dropna() if "confirmed" in flags and len(flags) else pd.Series([], dtype=bool)
    denominator = hits + (len(emerging) - hits) + false_themes
    return {"recall": hits / len(emerging) if emerging else None, "hits": hits, "misses": len(emerging) - hits,
            "false_alarms": false_alarms, "false_alarm_themes": false_themes, "premature_flags": premature,
            "late_flags": late, "unmatched_flags": int((~matched.any(axis=1)).sum()),
            "threat_score": hits / denominator if denominator else None,
            "confirmed_share": float(judged.astype(bool).mean()) if len(judged) else None, "n_judged": len(judged),
            "median_delay_days": float(np.median(delays)) if delays else None,
            "flags_per_cutoff": len(flags) / max(len(cutoffs), 1), "n_flags": len(flags),
            "n_cutoffs": len(cutoffs), "themes": themes}


def hit_window(theme: pd.Series, tolerance_days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The cutoffs at which a flag on an emerging theme counts as a hit: [expected_from - tolerance, expected_to]."""
    opens = theme["expected_from"] - pd.Timedelta(days=tolerance_days) if pd.notna(theme["expected_from"]) \
        else pd.Timestamp.min
    return opens, theme["expected_to"] if pd.notna(theme["expected_to"]) else pd.Timestamp.max


def closest_cells(cells: pd.DataFrame, topics: pd.DataFrame, truth: pd.DataFrame, cutoff, *,
                  tolerance_days: int) -> list[dict]:
    """Per emerging theme whose hit window holds `cutoff`: the topic or term cell whose marker names it that
    came closest to a flag (flagged first, then the smallest q-value), with the rules it failed.

    `cells` are the detector's (scope, cell, topic_id, n_recent, n_baseline, growth, q_value, flagged,
    failed); `topics` holds label and terms (JSON) by topic_id. What explains a miss (`explain_misses`).
    """
    c = pd.Timestamp(cutoff)
    candidates = cells[cells["scope"].isin(["topic", "term"])]
    if candidates.empty:
        return []
    markers = {tid: " | ".join(marker("topic", "", row.label, json.loads(row.terms or "[]")))
               for tid, row in topics.iterrows()}
    text = np.where(candidates["scope"] == "term", candidates["cell"],
                    candidates["topic_id"].map(markers).fillna("")).astype(str)
    text = pd.Series(text, index=candidates.index)
    rows = []
    for _, theme in truth[truth["label"] == "emerging"].iterrows():
        opens, closes = hit_window(theme, tolerance_days)
        named = candidates[text.str.contains(phrase_pattern(theme["phrases"]))] if opens <= c <= closes else None
        if named is None or named.empty:
            continue
        best = named.sort_values(["flagged", "q_value", "growth"], ascending=[False, True, False]).iloc[0]
        rows.append({"theme": theme["theme"], "cutoff": c.strftime("%Y-%m-%d"), "scope": best["scope"],
                     "marker": text[best.name], "n_recent": int(best["n_recent"]),
                     "n_baseline": int(best["n_baseline"]), "growth": _number(best["growth"]),
                     "q_value": _number(best["q_value"]), "failed": best["failed"] or ""})
    return rows


def explain_misses(themes: list[dict], flags: pd.DataFrame, closest: list[dict], truth: pd.DataFrame, *,
                   tolerance_days: int) -> list[dict]:
    """Why each missed emerging theme was missed: flagged in its hit window but labelled burst or style (the
    first such flag and its reason), else the closest cell naming it (`closest_cells`: the smallest q-value
    over the window's cutoffs and the rules it failed), else no tested topic or term names it."""
    matched = match_matrix(flags, truth)
    when = pd.to_datetime(flags["cutoff"]) if len(flags) else pd.Series([], dtype="datetime64[ns]")
    near = pd.DataFrame(closest, columns=["theme", "cutoff", "scope", "marker", "n_recent", "n_baseline", "growth",
                                          "q_value", "failed"])
    out = []
    for j, (_, theme) in enumerate(truth.iterrows()):
        row = next(t for t in themes if t["theme"] == theme["theme"])
        if theme["label"] != "emerging" or row["detected"]:
            continue
        opens, closes = hit_window(theme, tolerance_days)
        labelled = flags[matched[:, j] & when.between(opens, closes).to_numpy() & (flags["verdict"] != "emerging")]
        if len(labelled):
            first = labelled.sort_values("cutoff").iloc[0]
            out.append({"theme": theme["theme"], "why": f"labelled {first['verdict']}",
                        "cutoff": str(first["cutoff"]), "marker": first["label"], "reason": first["verdict_reason"]})
            continue
        mine = near[near["theme"] == theme["theme"]]
        if mine.empty:
            out.append({"theme": theme["theme"], "why": "no tested topic or term names it"})
            continue
        best = mine.assign(q=mine["q_value"].fillna(1.0)).sort_values(["q", "growth"], ascending=[True, False])
        out.append({"theme": theme["theme"], "why": "not flagged", **best.iloc[0].drop("q").to_dict()})
    return out


def _number(value) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)


class Confirmer:
    """Judges flags against what happened next: does the marker's document share keep rising?

    Holds every document of the corpus (dates and texts, the future included): only the scorer uses
    it, never the detector.
    """

    def __init__(self, texts: pd.Series, dates: pd.Series):
        self.search = TextSearch(texts)
        self.dates = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
        self.first, self.last = self.dates.min(), self.dates.max()
        self._years: dict[pd.Timestamp, tuple[np.ndarray, np.ndarray]] = {}

    def _years_around(self, c: pd.Timestamp) -> tuple[np.ndarray, np.ndarray]:
        """The documents dated in (c, c + 1 year] and in (c - 2 years, c - 1 year], once per cutoff."""
        if c not in self._years:
            self._years[c] = (((self.dates > c) & (self.dates <= c + YEAR)).to_numpy(),
                              ((self.dates > c - 2 * YEAR) & (self.dates <= c - YEAR)).to_numpy())
        return self._years[c]

    def presence(self, scope: str, cell: str, terms: list[str]) -> np.ndarray:
        """Documents carrying a flag's marker: the term, or 2 of a topic's top 5 terms."""
        if scope == "term":
            return self.search.holding(cell)
        top = [t for t in terms[:CONFIRM_TERMS] if t]
        if not top:
            return np.zeros(len(self.search), dtype=bool)
        return np.sum([self.search.holding(t) for t in top], axis=0) >= min(CONFIRM_CO, len(top))

    def confirmed(self, cutoff, scope: str, cell: str, terms: list[str]) -> bool | None:
        """True / False, or None when the following year runs past the data or the earlier year starts before
        it (a share of the handful of documents a young corpus has there says nothing)."""
        c = pd.Timestamp(cutoff)
        if c + YEAR > self.last or c - 2 * YEAR < self.first:
            return None
        after, before = self._years_around(c)
        if not before.any() or not after.any():
            return None
        present = self.presence(scope, cell, terms)
        n_after = int(present[after].sum())
        share_after, share_before = n_after / after.sum(), present[before].sum() / before.sum()
        return bool(n_after >= CONFIRM_MIN_DOCS and share_after >= CONFIRM_RATIO * share_before)


class Evidence:
    """When the data first showed each emerging theme rising, read with the theme's own phrases
    (`phrase_pattern`): documents dated in the recent window (c - `recent_days`, c] against the baseline
    window of `baseline_days` before it, at least `min_docs` of them, a share `min_growth` times the
    baseline's, and a one-sided binomial p-value below `alpha` over the cutoffs looked at (the theme's
    documents of both windows split as the windows' documents are). About the earliest delay a detector with
    these windows could reach."""

    def __init__(self, texts: pd.Series, dates: pd.Series, *, recent_days: int, baseline_days: int, min_docs: int,
                 min_growth: float, alpha: float):
        dates = pd.to_datetime(pd.Series(dates)).to_numpy()
        order = np.argsort(dates, kind="stable")
        self.dates = dates[order]
        self.texts = pd.Series(texts).fillna("").to_numpy()[order]
        self.recent, self.baseline = pd.Timedelta(days=recent_days), pd.Timedelta(days=baseline_days)
        self.min_docs, self.min_growth, self.alpha = min_docs, min_growth, alpha

    def _count(self, cumulative: np.ndarray, start: pd.Timestamp, end: pd.Timestamp) -> tuple[int, int]:
        """(documents, theme documents) dated in (start, end]."""
        lo, hi = np.searchsorted(self.dates, [np.datetime64(start), np.datetime64(end)], side="right")
        return int(hi - lo), int(cumulative[hi] - cumulative[lo])

    def rising(self, k1: int, n1: int, k0: int, n0: int, looks: int = 1) -> bool:
        """Whether k1 theme documents of n1 recent ones rose against k0 of n0 baseline ones, at `alpha` / `looks`
        (`nlp.trends.rose`)."""
        return rose(k1, n1, k0, n0, min_docs=self.min_docs, min_growth=self.min_growth, alpha=self.alpha / looks)

    def first(self, phrases: list[str], cutoffs: list) -> pd.Timestamp | None:
        """The first of `cutoffs` at which the documents holding one of `phrases` rose; None: at none. Each of
        the cutoffs is a look: the level is `alpha` over their number (with dates shuffled, a theme then shows
        at most the `alpha` share of the time at any of them)."""
        pattern = phrase_pattern(phrases)
        cumulative = np.concatenate([[0], np.cumsum([bool(pattern.search(t)) for t in self.texts])])
        for c in sorted(pd.Timestamp(c) for c in cutoffs):
            n1, k1 = self._count(cumulative, c - self.recent, c)
            n0, k0 = self._count(cumulative, c - self.recent - self.baseline, c - self.recent)
            if self.rising(k1, n1, k0, n0, looks=len(cutoffs)):
                return c
        return None

    def per_theme(self, truth: pd.DataFrame, cutoffs: list, tolerance_days: int) -> dict[str, dict]:
        """Per emerging theme: the first cutoff of its hit window (`hit_window`) at which it rose and the delay
        from its expected_from, as the scorer measures a hit's."""
        out = {}
        for _, theme in truth[truth["label"] == "emerging"].iterrows():
            opens, closes = hit_window(theme, tolerance_days)
            first = self.first(theme["phrases"], [c for c in cutoffs if opens <= pd.Timestamp(c) <= closes])
            delay = (first - theme["expected_from"]).days if first is not None and pd.notna(theme["expected_from"]) \
                else None
            out[theme["theme"]] = {"evidence_cutoff": first and first.strftime("%Y-%m-%d"),
                                   "evidence_delay_days": delay}
        return out


def repeated(flags: pd.DataFrame, cutoffs: list, looks: int) -> pd.DataFrame:
    """The flags also raised at each of the `looks - 1` cutoffs before theirs (the same term, or a topic
    sharing 2 of its top 3 terms): a rule against repeated looks at the same data."""
    if looks <= 1 or flags.empty:
        return flags
    order = {pd.Timestamp(c): i for i, c in enumerate(sorted(pd.to_datetime(cutoffs)))}
    keys = [_key(f) for f in flags.itertuples()]
    at = pd.to_datetime(flags["cutoff"]).map(order).to_numpy()
    by_cutoff: dict[int, list] = {}
    for i, key in zip(at, keys, strict=True):
        by_cutoff.setdefault(i, []).append(key)
    keep = [all(any(_same(key, other) for other in by_cutoff.get(i - back, [])) for back in range(1, looks))
            for i, key in zip(at, keys, strict=True)]
    return flags[np.asarray(keep, dtype=bool)]


def _key(flag) -> tuple[str, object]:
    if getattr(flag, "scope", "topic") == "term":
        return "term", flag.cell
    return "topic", frozenset(list(flag.terms)[:MARKER_TERMS])


def _same(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    return a[1] == b[1] if a[0] == "term" else len(a[1] & b[1]) >= min(2, len(a[1]), len(b[1]))
