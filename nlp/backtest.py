"""Backtest scoring: truth themes, matching flags to themes, recall / false alarms / delay, a naive baseline.

A flag *matches* a theme when at least `min_fraction` (default 1/3) of the flag's documents in the
detection window contain one of the theme's phrases, or when a phrase occurs in one of its top terms
(a topic flag: the topic's documents and terms; a term flag: the documents containing the term, and
the term). Phrases match case-insensitively on word boundaries.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

TRUTH_COLUMNS = ["theme", "terms", "label", "expected_from", "expected_to"]
LABELS = ("emerging", "not_emerging")


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
    return {row.theme: float(np.mean([bool(phrase_pattern(row.phrases).search(t or "")) for t in texts]))
            for row in truth.itertuples()}


def matches(fractions: dict[str, float], terms: list[str], theme: pd.Series, min_fraction: float = 1 / 3) -> bool:
    """Whether a flag (its documents' theme fractions and top terms) matches a truth theme."""
    if fractions.get(theme["theme"], 0.0) >= min_fraction:
        return True
    pattern = phrase_pattern(theme["phrases"])
    return any(pattern.search(term) for term in terms)


def score_flags(flags: pd.DataFrame, truth: pd.DataFrame, cutoffs: list, min_fraction: float = 1 / 3) -> dict:
    """Recall, false alarms and delays of flags (cutoff, topic_id, terms, theme_fractions) against truth.

    An emerging theme is detected by the first matching flag at a cutoff on or before expected_to;
    its delay is that cutoff minus expected_from, in days (negative = early). Every flag matching a
    not_emerging theme is a false alarm.
    """
    themes, delays, false_alarms = [], [], 0
    for _, theme in truth.iterrows():
        hits = flags[[matches(f, t, theme, min_fraction) for f, t in zip(flags["theme_fractions"], flags["terms"],
                                                                          strict=True)]] if len(flags) else flags
        cutoffs_hit = sorted(pd.to_datetime(hits["cutoff"])) if len(hits) else []
        row = {"theme": theme["theme"], "label": theme["label"], "n_matching_flags": len(hits),
               "detected": False, "first_cutoff": None, "delay_days": None}
        if theme["label"] == "emerging":
            in_time = [c for c in cutoffs_hit if pd.isna(theme["expected_to"]) or c <= theme["expected_to"]]
            if in_time:
                delay = (in_time[0] - theme["expected_from"]).days if pd.notna(theme["expected_from"]) else None
                row.update(detected=True, first_cutoff=in_time[0].strftime("%Y-%m-%d"), delay_days=delay)
                if delay is not None:
                    delays.append(delay)
        else:
            false_alarms += len(hits)
            row["first_cutoff"] = cutoffs_hit[0].strftime("%Y-%m-%d") if cutoffs_hit else None
        themes.append(row)
    emerging = [t for t in themes if t["label"] == "emerging"]
    return {"recall": sum(t["detected"] for t in emerging) / len(emerging) if emerging else None,
            "false_alarms": false_alarms,
            "median_delay_days": float(np.median(delays)) if delays else None,
            "flags_per_cutoff": len(flags) / max(len(cutoffs), 1),
            "n_cutoffs": len(cutoffs), "themes": themes}


def raw_growth_flags(counts: pd.DataFrame, recent: list, baseline: list, min_docs: int = 5,
                     min_growth: float = 1.5) -> pd.DataFrame:
    """The naive baseline: topics whose raw count per period grew by `min_growth`, ranked by that growth.

    Args:
        counts: topic_id, period, n_docs (outliers may be included; they are never flagged).
    Returns:
        topic_id, n_recent, n_baseline, growth, flagged, rank — no volume offset, no test, no FDR.
    """
    counts = counts[counts["topic_id"] != -1]
    periods = pd.to_datetime(counts["period"])
    n_recent = counts[periods.isin(recent)].groupby("topic_id")["n_docs"].sum()
    n_base = counts[periods.isin(baseline)].groupby("topic_id")["n_docs"].sum()
    out = pd.DataFrame({"n_recent": n_recent, "n_baseline": n_base}).fillna(0).astype(int)
    out["growth"] = ((out["n_recent"] / len(recent)) + 0.5) / ((out["n_baseline"] / len(baseline)) + 0.5)
    out["flagged"] = (out["n_recent"] >= min_docs) & (out["growth"] >= min_growth)
    out = out.sort_values(["flagged", "growth"], ascending=False).rename_axis("topic_id").reset_index()
    out["rank"] = np.arange(1, len(out) + 1)
    return out
