"""Forecasts of theme shares scored against what happened, on the shared corpora at their natural cadence.

Series are words and two-word phrases (documents containing them per period, the volume being all
documents of the period), built once per corpus with a binary CountVectorizer. At every cutoff the
series with at least `MIN_DOCS` documents in the window up to the cutoff (chosen without look-ahead;
at most `--series` of them, sampled) are forecast 4 periods ahead with `nlp.forecast.ThemeForecaster`,
the naive last value and Holt's linear smoothing, and the lasting-growth probability (share one year
ahead >= 1.5 x the share of the window's baseline periods) is scored with Brier. Writes
benchmarks/out/forecast-eval.json and one fan chart per corpus into docs/img/.

    .venv/bin/python benchmarks/forecast_eval.py [--series N] [--every K] [--rising] [cordis] [patents] [arxiv] [acl]

`--rising`: at every cutoff the N eligible series whose share rose most (recent periods of the window over its
baseline periods, half a document added to both) instead of a sample: the kind of series the product forecasts
for its flagged terms, chosen for a rise and prone to fall back. Writes forecast-eval-rising.json, no chart.

(from a worktree whose package is installed elsewhere: PYTHONPATH=. so that its nlp/ is the one scored)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from backtest_data import OUT, SHARED, acl_corpus, cordis_corpus, patents_corpus  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402

from nlp.forecast import PERIODS_PER_YEAR, ForecastBacktest, ThemeForecaster  # noqa: E402
from nlp.trends import period_start  # noqa: E402
from pipelines.settings import ForecastSettings  # noqa: E402

IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
MIN_DOCS = 20


def arxiv_corpus() -> Path:
    return SHARED / "arxiv-archive-2007-2019" / "papers.parquet"


# window = baseline + recent periods of the detection at that cadence; chart: the first of these themes in the
# vocabulary, forecast at a cutoff before its rise
RUNS = {
    "cordis": {"corpus": cordis_corpus, "period": "quarter", "window": 10, "baseline": 7,
               "chart": [("generative ai", "2023-06-30")]},
    "patents": {"corpus": patents_corpus, "period": "year", "window": 7, "baseline": 5,
                "chart": [("deep learning", "2013-12-31"), ("neural networks", "1987-12-31")]},
    "arxiv": {"corpus": arxiv_corpus, "period": "month", "window": 15, "baseline": 12,
              "chart": [("deep learning", "2014-06-30")]},
    "acl": {"corpus": acl_corpus, "period": "quarter", "window": 15, "baseline": 12,
            "chart": [("llms", "2022-09-30"), ("large language", "2022-09-30"), ("bert", "2018-09-30")]},
}


def term_series(name: str, spec: dict) -> tuple[sparse.csr_matrix, np.ndarray, list[pd.Timestamp], pd.Series]:
    """Documents per term and period (terms x periods), the vocabulary and the periods, the volume per period."""
    docs = pd.read_parquet(spec["corpus"](), columns=["title", "text", "date"]).dropna(subset=["date"])
    docs["period"] = period_start(pd.to_datetime(docs["date"], errors="coerce"), spec["period"])
    docs = docs.dropna(subset=["period"])
    periods = pd.period_range(docs["period"].min(), docs["period"].max(), freq=docs["period"].dt.to_period(
        {"month": "M", "quarter": "Q", "year": "Y"}[spec["period"]]).dt.freq).start_time
    volumes = docs.groupby("period").size().reindex(periods, fill_value=0)
    while volumes.iloc[-1] < 0.5 * volumes.iloc[-9:-1].median():  # the data's last period is incomplete
        volumes = volumes.iloc[:-1]
    vectorizer = CountVectorizer(binary=True, ngram_range=(1, 2), stop_words="english", min_df=MIN_DOCS,
                                 max_df=0.15, dtype=np.float32)
    x = vectorizer.fit_transform(docs["title"].fillna("") + ". " + docs["text"].fillna(""))
    index = pd.Index(volumes.index).get_indexer(docs["period"])
    inside = index >= 0
    onehot = sparse.csr_matrix((np.ones(inside.sum()), (index[inside], np.flatnonzero(inside))),
                               shape=(len(volumes), len(docs)))
    counts = (onehot @ x).T.tocsr()
    return counts, vectorizer.get_feature_names_out(), list(volumes.index), volumes


def rising(window: sparse.csr_matrix, volumes: np.ndarray, baseline: int, eligible: np.ndarray, n: int) -> np.ndarray:
    """The `n` eligible series with the largest growth of share, recent periods over baseline periods."""
    base = np.asarray(window[eligible, :baseline].sum(axis=1)).ravel()
    recent = np.asarray(window[eligible, baseline:].sum(axis=1)).ravel()
    growth = ((recent + 0.5) / (volumes[baseline:].sum() + 1)) / ((base + 0.5) / (volumes[:baseline].sum() + 1))
    return eligible[np.argsort(-growth, kind="stable")[:n]]


def evaluate(name: str, n_series: int, every: int, settings: ForecastSettings, select_rising: bool = False) -> dict:
    spec = RUNS[name]
    started = time.monotonic()
    counts, vocab, periods, volumes = term_series(name, spec)
    lasting = PERIODS_PER_YEAR[spec["period"]]
    ahead = max(settings.horizon, lasting)
    bt = ForecastBacktest(horizon=settings.horizon, growth_factor=settings.growth_factor,
                          forecaster=settings.forecaster_options(), calibrator=settings.calibrator_options())
    rng = np.random.default_rng(0)
    w, used = spec["window"], set()
    dense_window = None
    for c in range(w - 1, len(periods) - 1, every):
        window = counts[:, c - w + 1: c + 1]
        eligible = np.flatnonzero(np.asarray(window.sum(axis=1)).ravel() >= MIN_DOCS)
        if select_rising:
            chosen = rising(window, volumes.to_numpy()[c - w + 1: c + 1], spec["baseline"], eligible, n_series)
        else:
            chosen = rng.choice(eligible, min(n_series, len(eligible)), replace=False) if len(eligible) else eligible
        used.update(chosen.tolist())
        dense_window = pd.DataFrame(window[chosen].toarray(), index=chosen, columns=range(c - w + 1, c + 1))
        bt.add(dense_window, pd.Series(volumes.to_numpy()[c - w + 1: c + 1], index=dense_window.columns),
               future=list(range(c + 1, c + 1 + ahead)), baseline_periods=spec["baseline"], lasting_periods=lasting)
    rows = sorted(used)
    outcomes = pd.DataFrame(counts[rows].toarray() / np.maximum(volumes.to_numpy(), 1), index=rows,
                            columns=range(len(periods)))
    result = bt.score(outcomes) | {"corpus": name, "period": spec["period"], "series_per_cutoff": n_series,
                                   "cutoffs": len(range(w - 1, len(periods) - 1, every)), "rising": select_rising,
                                   "seconds": round(time.monotonic() - started)}
    if not select_rising:
        chart(name, spec, counts, list(vocab), periods, volumes, settings)
    return result


def chart(name: str, spec: dict, counts, vocab: list[str], periods, volumes: pd.Series,
          settings: ForecastSettings) -> None:
    """The theme's share per period, the fan forecast at the cutoff (50 % and 80 %) and what happened."""
    known = [(theme, cutoff) for theme, cutoff in spec["chart"] if theme in vocab]  # too common a term is no series
    if not known:
        return
    theme, cutoff = known[0]
    row = counts[vocab.index(theme)].toarray().ravel()
    share = row / np.maximum(volumes.to_numpy(), 1)
    c = max(i for i, p in enumerate(periods) if p <= pd.Timestamp(cutoff))
    steps = min(8, len(periods) - 1 - c) or 8
    w = spec["window"]
    history = slice(max(0, c - w + 1), c + 1)
    model = ThemeForecaster(**settings.forecaster_options()).fit(row[history], volumes.to_numpy()[history])
    fan = model.predict(steps)
    x_future = periods[c + 1: c + 1 + steps]
    fig, ax = plt.subplots(figsize=(6, 3), dpi=90)
    shown = slice(max(0, c - w + 1), min(len(periods), c + 1 + steps))
    ax.plot(periods[: c + 1][shown.start:], share[shown.start: c + 1], color="black", lw=1.2, label="share (history)")
    ax.plot(periods[c + 1: shown.stop], share[c + 1: shown.stop], "o", color="crimson", ms=3, label="what happened")
    n = len(x_future)
    ax.fill_between(x_future, fan["q10"][:n], fan["q90"][:n], color="tab:blue", alpha=0.2, label="80 %")
    ax.fill_between(x_future, fan["q25"][:n], fan["q75"][:n], color="tab:blue", alpha=0.4, label="50 %")
    ax.plot(x_future, fan["q50"][:n], color="tab:blue", lw=1)
    ax.set_title(f"{name}: \"{theme}\", forecast at {pd.Timestamp(cutoff).date()} ({model.model_})", fontsize=9)
    ax.set_ylabel("share of documents", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / f"forecast-{name}.png")
    plt.close(fig)


def table(results: dict[str, dict]) -> str:
    keys = ["coverage_50", "coverage_80", "crps", "crps_naive", "crps_ets", "rel_rmse", "rel_rmse_naive",
            "rel_rmse_ets", "rel_rmse_mean", "brier", "brier_base_rate"]
    lines = ["| corpus (cadence) | n | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for name, r in results.items():
        values = " | ".join("-" if r.get(k) is None else f"{r[k]:.3f}" for k in keys)
        lines.append(f"| {name} ({r['period']}) | {r['n_forecasts']} | {values} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", default=list(RUNS))
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--rising", action="store_true")
    args = parser.parse_args()
    settings = ForecastSettings()
    results = {name: evaluate(name, args.series, args.every, settings, args.rising) for name in args.names}
    OUT.mkdir(exist_ok=True)
    out = "forecast-eval-rising.json" if args.rising else "forecast-eval.json"
    (OUT / out).write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
    for name, r in results.items():
        print(name, r.get("models"), r.get("points"), "lasting base rate", r.get("lasting_base_rate"),
              "seconds", r["seconds"])
        print(name, "lasting growth Brier: raw", r.get("brier_raw"), "isotonic", r.get("brier_isotonic"), "logistic",
              r.get("brier_logistic"), "calibrated forecasts", r.get("n_calibrated"), "of", r.get("n_lasting"))
        for key in ("reliability_raw", "reliability", "reliability_mapped"):
            print(name, key, json.dumps(r.get(key)))
