"""The digest's sections: each flag's sentence and components, regions, early terms, what cooled, data health."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

from nlp.trends import period_freq
from pipelines.store import Store
from pipelines.views.features import REGIONS_SQL
from pipelines.views.names import region_label, sector_label
from pipelines.views.themes import has_table

PERIOD_DAYS = {"week": 7, "month": 31, "quarter": 92, "year": 366}
PERIOD_NAMES = {"week": "weeks", "month": "months", "quarter": "quarters", "year": "years"}
MEANINGS = {  # one line per component the detector records (nlp/emergence.py)
    "growth": "log2 of the share's rate ratio, recent window over baseline (1 = the share doubled)",
    "acceleration": "log2 rate ratio of the late half of the recent window over its early half",
    "novelty": "young topics far from older ones (age and distance to the nearest older topic)",
    "persistence": "longest run of recent periods above the baseline share, over the recent window",
    "spread": "regions, sectors and organisations new to the topic (a leading indicator)",
    "active_periods": "recent periods in a row above the baseline share",
    "age_periods": "periods since the topic was born",
    "distance": "1 - cosine similarity to the nearest older topic",
    "n_regions": "NUTS-2 regions of the recent documents",
    "n_sectors": "sectors of the recent documents",
    "n_orgs": "organisations in the recent documents",
    "n_new_orgs": "organisations new to the topic in the recent window",
    "new_org_share": "share of the recent organisations that are new to the topic",
    "diversity_baseline": "diversity (entropy) of the sector mix in the baseline",
    "diversity_recent": "diversity (entropy) of the sector mix in the recent window",
    "sector_mix": "recent documents per sector",
    "bridges": "sector pairs that meet in the same recent documents",
    "emerging_regions": "regions where the topic's own cell passed the test",
    "cross_border_orgs": "organisations working with partners in other countries on the topic",
    "specificity": "how specific a term is to its topic",
    "dispersion": "how much more its counts vary between periods than chance alone would make them (1: not more)",
    "growth of share": "recent share over baseline share",
    "documents recent / baseline": "the topic's documents in the recent window and in the baseline",
    "q-value (FDR)": "chance that a flag this strong is noise, after testing every theme, region and sector",
}


def why_flagged(score: dict, params: dict, cell: dict | None) -> list[dict]:
    """The components behind a flag with a one-line meaning each: the detector's own when recorded, else the
    tests trend_scores hold."""
    if cell and cell.get("components"):
        return [{"name": name, "value": _fmt(value), "rule": "", "meaning": MEANINGS.get(name, "")}
                for name, value in cell["components"].items()]
    rows = [
        ("growth of share", f"× {score['growth']:.2f}", f"≥ × {params.get('min_growth', '')}"),
        ("documents recent / baseline", f"{score['n_recent']} / {score['n_baseline']}",
         f"≥ {params.get('min_docs', '')} recent"),
        ("q-value (FDR)", f"{score['q_value']:.2g}", f"≤ {params.get('fdr', '')}"),
    ]
    return [{"name": n, "value": v, "rule": r, "meaning": MEANINGS[n]} for n, v, r in rows]


def period_end(start: str, period: str) -> date:
    """The last day of the period beginning on `start`."""
    return pd.Timestamp(start).to_period(period_freq(period)).end_time.date()


def windows(series: list, recent: list[str], period: str, baseline_periods: int) -> dict:
    """The recent window's and the baseline's first and last day and number of periods."""
    periods = [p for p, _, _ in series]
    before = [p for p in periods if recent and p < recent[0]][-baseline_periods:]  # 0: all of them
    out = {"period": period, "period_name": PERIOD_NAMES.get(period, "periods")}
    if recent:
        out |= {"recent_from": recent[0], "recent_to": str(period_end(recent[-1], period)),
                "n_recent_periods": len(recent)}
    if before:
        out |= {"baseline_from": before[0], "baseline_to": str(date.fromisoformat(recent[0]) - timedelta(days=1)),
                "n_baseline_periods": len(before)}
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def flag_sentence(theme: dict, names: dict[str, str]) -> str:
    """The flag in one plain sentence built from its numbers: counts and windows, share growth, q, onset,
    regions by name, sectors by name."""
    w = theme["windows"]
    recent = f"{theme['n_recent']} documents"
    if w.get("recent_from"):
        recent += f" from {w['recent_from']} to {w['recent_to']}"
    base = f"{theme['n_baseline']}"
    if w.get("baseline_from"):
        base += (f" in the {w['n_baseline_periods']} {w['period_name']} before "
                 f"({w['baseline_from']} to {w['baseline_to']})")
    else:
        base += " in the baseline"
    shares = f"{100 * theme['share_baseline']:.2f}% → {100 * theme['share_recent']:.2f}% of all documents"
    parts = [f"{recent} against {base}: share × {theme['growth']:.1f} ({shares}), q = {theme['q_value']:.2g}"]
    if theme.get("onset"):
        parts.append(f"rising since {theme['onset']}")
    regions = [region_label(r["code"], names) for r in theme["regions"][:3] if r["n"] > 0]
    if regions:
        parts.append(f"most documents in {_and(regions)}")
    sectors = [sector_label(s["sector"]) for s in theme["sectors"][:2] if s["n"] > 0]
    if sectors:
        parts.append(f"across {_and(sectors)}")
    return "; ".join(parts) + "."


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def region_highlights(store: Store, detect_id: str, since: date, themes: list[dict], followed: list[str],
                      names: dict[str, str], k: int = 5) -> list[dict]:
    """Followed regions first, then the busiest ones: the shown themes active there with n and LQ."""
    labels = {t["topic_id"]: t["label"] for t in themes}
    frame = _region_topic_counts(store, detect_id, since)
    if frame.empty:
        return []
    busiest = frame.groupby("code")["n_region"].max().sort_values(ascending=False).index.tolist()
    codes = [c for c in followed if c in set(frame["code"])] + [c for c in busiest if c not in followed]
    out = []
    for code in codes[: len(followed) + k]:
        rows = frame[(frame["code"] == code) & frame["topic_id"].isin(labels)].sort_values(["n", "lq"], ascending=False)
        out.append({"code": code, "name": names.get(code), "label": region_label(code, names),
                    "is_followed": code in followed,
                    "n_docs": int(frame.loc[frame["code"] == code, "n_region"].max()),
                    "themes": [{"topic_id": int(r.topic_id), "label": labels[int(r.topic_id)], "n": int(r.n),
                                "lq": float(r.lq)} for r in rows.head(3).itertuples()]})
    return out


def _region_topic_counts(store: Store, detect_id: str, since: date) -> pd.DataFrame:
    """code, name, topic_id, n (topic's recent documents there), n_region, lq."""
    if has_table(store, "trend_cells") and store.count("trend_cells", "detect_id = ? AND scope = 'region'",
                                                       [detect_id]):
        return store.df("SELECT c.cell AS code, n.name, c.topic_id, c.n_recent AS n, "
                        "sum(c.n_recent) OVER (PARTITION BY c.cell) AS n_region, c.location_quotient AS lq "
                        "FROM trend_cells c LEFT JOIN nuts_regions n ON n.code = c.cell "
                        "WHERE c.detect_id = ? AND c.scope = 'region' AND c.n_recent > 0", [detect_id])
    frame = store.df(f"SELECT r.nuts2 AS code, n.name, a.topic_id, count(*) AS n FROM documents d "
                     f"JOIN topic_assignments a USING (doc_id) JOIN ({REGIONS_SQL}) r USING (doc_id) "
                     "LEFT JOIN nuts_regions n ON n.code = r.nuts2 WHERE d.published_on >= ? GROUP BY ALL", [since])
    if frame.empty:
        return frame
    frame["n_region"] = frame.groupby("code")["n"].transform("sum")
    topic_share = frame.groupby("topic_id")["n"].sum() / frame["n"].sum()
    frame["lq"] = (frame["n"] / frame["n_region"]) / frame["topic_id"].map(topic_share)
    return frame


def early_terms(store: Store, detect_id: str, since: date, k: int = 12) -> list[dict]:
    """Rising terms: the detector's flagged term cells, else its ESc terms no topic holds, else title-term growth."""
    if has_table(store, "trend_cells") and store.count("trend_cells", "detect_id = ? AND scope = 'term' AND flagged",
                                                       [detect_id]):
        frame = store.df("SELECT c.cell, c.score, c.growth, c.n_recent, c.q_value, t.label FROM trend_cells c "
                         "LEFT JOIN topics t USING (topic_id) WHERE c.detect_id = ? AND c.scope = 'term' AND c.flagged "
                         "ORDER BY c.rank LIMIT ?", [detect_id, k])
        return [{"term": r.cell, "score": float(r.score), "n": int(r.n_recent), "flagged": True,
                 "note": f"share × {r.growth:.1f}, q = {r.q_value:.2g}; mostly in: {r.label or 'no topic yet'}"}
                for r in frame.itertuples()]
    if has_table(store, "emergent_terms") and store.count("emergent_terms", "detect_id = ?", [detect_id]):
        frame = store.df("SELECT term, esc, n_records, topic_share FROM emergent_terms WHERE detect_id = ? "
                         "AND coalesce(topic_share, 0) < 0.5 ORDER BY esc DESC LIMIT ?", [detect_id, k])
        return [{"term": r.term, "score": float(r.esc), "n": int(r.n_records)} for r in frame.itertuples()]
    docs = store.df("SELECT title, published_on >= ? AS is_recent FROM documents WHERE title IS NOT NULL "
                    "AND published_on IS NOT NULL", [since])
    topic_terms = {t.lower() for raw in store.df("SELECT terms FROM topics")["terms"] for t in json.loads(raw or "[]")}
    if docs["is_recent"].sum() < 3 or (~docs["is_recent"]).sum() < 3:
        return []
    vectorizer = CountVectorizer(binary=True, stop_words="english", token_pattern=r"(?u)\b[^\W\d_]{4,}\b", min_df=3)
    counts = vectorizer.fit_transform(docs["title"])
    recent = docs["is_recent"].to_numpy()
    n_recent, n_base = counts[recent].sum(axis=0).A1, counts[~recent].sum(axis=0).A1
    ratio = ((n_recent + 1) / (recent.sum() + 1)) / ((n_base + 1) / ((~recent).sum() + 1))
    out = [{"term": term, "score": float(r), "n": int(n)}
           for term, r, n in zip(vectorizer.get_feature_names_out(), ratio, n_recent, strict=True)
           if n >= 3 and r > 1.5 and term not in topic_terms]
    return sorted(out, key=lambda x: -x["score"])[:k]


def cooled(store: Store, detect_id: str, min_docs: int, shown: set[int], k: int = 5) -> list[dict]:
    """The largest declines of share among topics with a real baseline, none of the `shown` (rising) ones."""
    frame = store.df("SELECT topic_id, growth, n_recent, n_baseline, evidence FROM trend_scores "
                     "WHERE detect_id = ? AND n_baseline >= ? AND growth < 1 AND NOT list_contains(?, topic_id) "
                     "ORDER BY growth, topic_id LIMIT ?", [detect_id, min_docs, sorted(shown), k])
    return [{"topic_id": int(r.topic_id), "label": json.loads(r.evidence).get("label"), "growth": float(r.growth),
             "n_recent": int(r.n_recent), "n_baseline": int(r.n_baseline)} for r in frame.itertuples()]


def health(store: Store, monday: date, sunday: date) -> dict:
    """Documents by source and kind, new this week, duplicates removed, errors and skips of this week's runs."""
    by_source = store.df("SELECT source, kind, count(*) AS n, "
                         "count(*) FILTER (WHERE first_seen_at::DATE BETWEEN ? AND ?) AS n_new "
                         "FROM documents GROUP BY ALL ORDER BY n DESC, source", [monday, sunday])
    steps = store.df("SELECT s.step, s.counts, s.errors, s.skipped FROM run_steps s JOIN runs r USING (run_id) "
                     "WHERE r.started_at::DATE BETWEEN ? AND ?", [monday, sunday])
    errors = [e for raw in steps["errors"] for e in json.loads(raw or "[]")]
    by_source_errors = Counter(e.split(":", 1)[0] if ":" in e else "other"
                               for step, raw in zip(steps["step"], steps["errors"], strict=True) if step == "crawl"
                               for e in json.loads(raw or "[]"))
    skipped: Counter = Counter()
    duplicates = 0
    for raw_skipped, raw_counts in zip(steps["skipped"], steps["counts"], strict=True):
        skipped.update(json.loads(raw_skipped or "{}"))
        duplicates += sum(n for key, n in json.loads(raw_counts or "{}").items() if "duplicate" in key)
    grouped = 0
    if store.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'doc_features' "
                    "AND column_name = 'canonical_id'"):
        grouped = store.scalar("SELECT count(*) FROM doc_features WHERE canonical_id <> doc_id")
    return {"documents_by_source": by_source.to_dict("records"), "total": int(by_source["n"].sum()),
            "new_this_week": int(by_source["n_new"].sum()), "errors": errors[:50], "n_errors": len(errors),
            "errors_by_source": dict(by_source_errors), "skipped": dict(skipped),
            "duplicates_this_week": duplicates + sum(n for r, n in skipped.items() if "duplicate" in r),
            "near_duplicates": int(grouped or 0)}
