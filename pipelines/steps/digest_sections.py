"""The digest's sections beyond the themes themselves: regions, early terms, what cooled, data health."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer

from pipelines.store import Store
from pipelines.views.features import REGIONS_SQL
from pipelines.views.themes import has_table


def why_flagged(score: dict, params: dict, cell: dict | None) -> list[dict]:
    """The components behind a flag: the detector's own when recorded, else the tests trend_scores hold."""
    if cell and cell.get("components"):
        return [{"name": name, "value": _fmt(value), "rule": ""} for name, value in cell["components"].items()]
    return [
        {"name": "growth of share", "value": f"× {score['growth']:.2f}", "rule": f"≥ × {params.get('min_growth', '')}"},
        {"name": "documents recent / baseline", "value": f"{score['n_recent']} / {score['n_baseline']}",
         "rule": f"≥ {params.get('min_docs', '')} recent"},
        {"name": "q-value (FDR)", "value": f"{score['q_value']:.2g}", "rule": f"≤ {params.get('fdr', '')}"},
    ]


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return value if isinstance(value, str) else json.dumps(value, default=str)


def region_highlights(store: Store, detect_id: str, since: date, themes: list[dict], followed: list[str],
                      k: int = 5) -> list[dict]:
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
        out.append({"code": code, "name": rows["name"].iloc[0] if len(rows) else None, "is_followed": code in followed,
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
        return [{"term": r.cell, "score": float(r.score), "n": int(r.n_recent),
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


def cooled(store: Store, detect_id: str, min_docs: int, k: int = 5) -> list[dict]:
    """The largest declines of share among topics with a real baseline."""
    frame = store.df("SELECT topic_id, growth, n_recent, n_baseline, evidence FROM trend_scores "
                     "WHERE detect_id = ? AND n_baseline >= ? AND growth < 1 ORDER BY growth, topic_id LIMIT ?",
                     [detect_id, min_docs, k])
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
