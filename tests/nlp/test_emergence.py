import numpy as np
import pandas as pd
import pytest

from nlp.emergence import EmergenceDetector
from pipelines.settings import TrendSettings

MONTHS = pd.date_range("2023-01-01", periods=24, freq="MS")
REGIONS = {"DE11": "DE", "DE21": "DE", "FR10": "FR", "ITC4": "IT", "ES30": "ES", "NL32": "NL"}
SECTORS = ["energy", "health", "mobility", "agrifood"]
AS_OF = "2024-12-31"  # the last synthetic month is complete


def synthetic_docs(rates: dict[int, list[float]], seed: int = 0, volume: list[float] | None = None,
                   sources: tuple[str, ...] = ("news",)) -> pd.DataFrame:
    """Documents per topic and month drawn from Poisson(rate x volume); topic -1 is the background."""
    rng = np.random.default_rng(seed)
    volume = volume or [1.0] * len(MONTHS)
    rows = []
    for topic, topic_rates in rates.items():
        for month, rate, scale in zip(MONTHS, topic_rates, volume, strict=True):
            for _ in range(rng.poisson(rate * scale)):
                day = month + pd.Timedelta(days=int(rng.integers(0, 28)))
                rows.append({"topic_id": topic, "published_on": day, "source": rng.choice(sources)})
    frame = pd.DataFrame(rows)
    frame["doc_id"] = [f"d{i}" for i in range(len(frame))]
    return frame


def detector(**params) -> EmergenceDetector:
    return EmergenceDetector(**{**TrendSettings().detector_options(), "period": "month", "recent_days": 91,
                                "baseline_days": 365, "min_docs": 5, **params})


def test_emergence_detector_flags_planted_rise_not_flat_topic():
    rates = {-1: [200.0] * 24, 0: [10.0] * 24, 1: [4.0] * 18 + [8, 10, 12, 16, 20, 24]}
    docs = synthetic_docs(rates)
    cells = detector().fit(docs, as_of=AS_OF).transform(docs).set_index("topic_id")
    assert cells.loc[1, "flagged"] and not cells.loc[0, "flagged"]
    assert cells.loc[1, "failed"] == "" and "fdr" in cells.loc[0, "failed"].split(",")
    assert cells.loc[1, "q_value"] < 0.01 and cells.loc[1, "growth"] > 2
    assert cells.loc[1, "persistence"] == 1.0 and cells.loc[1, "rank"] == 1
    assert pd.Timestamp("2024-05-01") <= cells.loc[1, "onset"] <= pd.Timestamp("2024-10-01")


def test_a_corpus_that_starts_inside_the_window_gets_a_shortened_baseline_and_the_onset_is_the_rise():
    empty = [0.0] * 12  # the window would start in 2023-10; the corpus starts in 2024-01
    rates = {-1: empty + [200.0] * 12, 1: empty + [4.0] * 6 + [8, 10, 12, 16, 20, 24]}
    docs = synthetic_docs(rates)
    fitted = detector().fit(docs, as_of=AS_OF)
    history = fitted.history_
    start = history.start  # the first document's date but a 0.5 % early tail: 2024-01-01 or -02
    assert history.shortened and start in (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02"))
    assert history.baseline_days == (pd.Timestamp("2024-10-01") - start).days + 1  # up to the recent window
    assert history.note == f"baseline shortened to {history.baseline_days} days: the corpus starts on {start.date()}"
    assert fitted.baseline_periods_[0] == pd.Timestamp("2024-01-01") and len(fitted.baseline_periods_) == 9
    cells = fitted.transform(docs).set_index("topic_id")
    assert cells.loc[1, "flagged"] and not np.isnan(cells.loc[1, "index_series"]).any()
    assert pd.Timestamp("2024-05-01") <= cells.loc[1, "onset"] <= pd.Timestamp("2024-10-01")


def test_too_little_history_is_an_answer_not_a_crash_and_a_long_corpus_keeps_its_whole_baseline():
    from nlp.trends import TooLittleHistory

    short = synthetic_docs({-1: [0.0] * 19 + [200.0] * 5, 1: [0.0] * 19 + [4.0] * 5})  # 2024-08 .. 2024-12
    with pytest.raises(TooLittleHistory, match=r"too little history: the corpus spans \d+ days \(from 2024-08-"
                                               r"\d\d\), the windows need 182 \(91 recent \+ 91 baseline\)"):
        detector().fit(short, as_of=AS_OF)
    whole = detector().fit(synthetic_docs({-1: [200.0] * 24}), as_of=AS_OF)
    assert not whole.history_.shortened and whole.history_.note is None and len(whole.baseline_periods_) == 12


def test_emergence_detector_ignores_a_busy_week_of_one_source():
    """A crawl that triples one source's volume must not make its topics look emerging."""
    rng = np.random.default_rng(3)
    rows = []
    for i, month in enumerate(MONTHS):
        busy = 3.0 if i >= 21 else 1.0
        for source, topic_share in (("crawl", 0.3), ("wire", 0.02)):
            n = rng.poisson(300 * (busy if source == "crawl" else 1.0))
            topics = rng.choice([0, -1], size=n, p=[topic_share, 1 - topic_share])
            rows += [{"topic_id": t, "published_on": month, "source": source} for t in topics]
    docs = pd.DataFrame(rows).assign(doc_id=lambda f: [f"d{i}" for i in range(len(f))])
    cells = detector().fit(docs, as_of=AS_OF).transform(docs).set_index("topic_id")
    assert not cells.loc[0, "flagged"] and 0.8 < cells.loc[0, "growth"] < 1.25


def test_emergence_detector_needs_persistence_not_one_burst():
    rates = {-1: [200.0] * 24, 2: [4.0] * 23 + [40.0]}
    docs = synthetic_docs(rates, seed=1)
    cells = detector(min_active_periods=2).fit(docs, as_of=AS_OF).transform(docs).set_index("topic_id")
    assert cells.loc[2, "q_value"] < 0.01 and cells.loc[2, "active_periods"] == 1
    assert not cells.loc[2, "flagged"] and cells.loc[2, "failed"] == "persistence"


@pytest.mark.parametrize("count_model", ["poisson", "quasipoisson"])
def test_emergence_detector_false_flags_stay_under_fdr_for_flat_topics(count_model):
    """Null: 30 flat topics with Poisson noise and a corpus volume that swings 0.5x..2x; 20 replicates."""
    fdr, replicates, any_flag, flags, tests = 0.1, 20, 0, 0, 0
    for seed in range(replicates):
        rng = np.random.default_rng(100 + seed)
        volume = list(rng.uniform(0.5, 2.0, size=len(MONTHS)))
        rates = {-1: [100.0] * 24} | {t: [float(rng.uniform(2, 15))] * 24 for t in range(30)}
        docs = synthetic_docs(rates, seed=seed, volume=volume)
        model = detector(fdr=fdr, min_growth=1.0, min_active_periods=1, count_model=count_model)
        cells = model.fit(docs, as_of=AS_OF).transform(docs)
        n_false = int((cells["q_value"] <= fdr).sum())
        any_flag += n_false > 0
        flags += int(cells["flagged"].sum())
        tests += int(cells["tested"].sum())
    # under the complete null every rejection is false, so the FDR equals P(any rejection)
    assert any_flag / replicates <= fdr
    assert flags / tests <= fdr / 10


def _planted_corpus(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A theme rising in the recent window in DE11 and FR10 only, moving from one sector into three."""
    rng = np.random.default_rng(seed)
    docs, groups, orgs = [], [], []
    for i, month in enumerate(MONTHS):
        n_theme = 2 if i < 21 else 8 + 4 * (i - 21)
        for _ in range(rng.poisson(150)):
            region = rng.choice(list(REGIONS))
            topic = int(rng.integers(0, 8)) if rng.random() < 0.7 else -1
            docs.append((topic, month, region, rng.choice(SECTORS), f"org-{region}-{rng.integers(0, 20)}"))
        for _ in range(n_theme):
            region = rng.choice(["DE11", "FR10"])
            sector = "energy" if i < 21 else rng.choice(SECTORS[:3])
            docs.append((9, month, region, sector, f"{'early' if i < 21 else 'new'}-{region}-{rng.integers(0, 5)}"))
    for k, (_, _, region, sector, org) in enumerate(docs):
        doc = f"d{k}"
        groups += [(doc, "region", region), (doc, "sector", sector)]
        orgs.append((doc, org, region, REGIONS[region]))
    frame = pd.DataFrame([(f"d{k}", t, m, "cordis") for k, (t, m, *_) in enumerate(docs)],
                         columns=["doc_id", "topic_id", "published_on", "source"])
    return (frame, pd.DataFrame(groups, columns=["doc_id", "scope", "cell"]),
            pd.DataFrame(orgs, columns=["doc_id", "org", "region", "country"]))


def test_emergence_detector_flags_planted_cross_border_cross_sectoral_theme():
    docs, groups, orgs = _planted_corpus()
    cells = detector().fit(docs, as_of=AS_OF).transform(docs, groups=groups, orgs=orgs)
    theme = cells[(cells["topic_id"] == 9) & (cells["scope"] == "topic")].iloc[0]
    assert theme["flagged"] and theme["rank"] == 1
    assert theme["is_cross_sectoral"] and theme["diversity_change"] > 0.3 and theme["n_sectors"] == 3
    assert theme["is_cross_border"] and sorted(theme["emerging_regions"]) == ["DE11", "FR10"]
    assert all(name.startswith(("new-DE11", "new-FR10")) for name in theme["cross_border_orgs"])
    assert theme["new_org_share"] == 1.0 and theme["spread"] > 0.5
    regions = cells[(cells["scope"] == "region") & cells["flagged"]]
    assert set(regions["cell"]) == {"DE11", "FR10"} and (regions["location_quotient"] > 1.5).all()
    others = cells[(cells["scope"] == "topic") & (cells["topic_id"] != 9)]
    assert not others["flagged"].any() and not others["is_cross_border"].fillna(False).astype(bool).any()


def test_emergence_detector_rejects_unknown_count_model():
    with pytest.raises(ValueError, match="count_model"):
        detector(count_model="gaussian").fit(synthetic_docs({0: [1.0] * 24}))


def test_fit_exposes_the_window_documents_with_their_period_and_part():
    rates = {-1: [20.0] * 24, 0: [5.0] * 24}
    docs = synthetic_docs(rates)
    fitted = detector().fit(docs, as_of=AS_OF)
    window = fitted.window_
    assert set(window["period"]) == set(fitted.periods_) and len(fitted.periods_) == 15
    assert set(window.loc[window["recent"], "period"]) == set(fitted.recent_periods_)
    in_window = pd.to_datetime(docs["published_on"]) >= fitted.baseline_periods_[0]
    assert set(window["doc_id"]) == set(docs.loc[in_window, "doc_id"])


def test_a_year_of_weekly_looks_at_flat_topics_flags_at_most_the_fdr_share_of_looks():
    """Null: flat topics, documents every day; the detector looks every week of 2024, its windows moving with
    each look (a nightly job's looks in between test nearly the same data). The share of looks with any
    (false) flag stays at or below the FDR, with one look and with two in a row."""
    from nlp.backtest import repeated

    fdr, looks, rows, with_flag = 0.1, pd.date_range("2024-01-07", "2024-12-31", freq="7D"), [], []
    for seed in range(3):
        rng = np.random.default_rng(200 + seed)
        days = pd.date_range("2022-01-01", "2024-12-31", freq="D")
        rates = {-1: 8.0} | {t: float(rng.uniform(0.1, 0.5)) for t in range(20)}
        docs = pd.DataFrame([{"topic_id": t, "published_on": day} for day in days for t, rate in rates.items()
                             for _ in range(rng.poisson(rate))]).assign(source="news")
        docs["doc_id"] = [f"d{i}" for i in range(len(docs))]
        windows = set()
        for look in looks:
            seen = docs[docs["published_on"] <= look]
            fitted = detector(fdr=fdr, min_growth=1.0, min_active_periods=1).fit(seen, as_of=look)
            windows.add(tuple(fitted.periods_))
            cells = fitted.transform(seen)
            flagged = cells.loc[cells["flagged"], "topic_id"].tolist()
            with_flag.append(bool(flagged))
            rows += [{"cutoff": look, "scope": "term", "cell": f"{seed}-{t}", "terms": []} for t in flagged]
        assert len(windows) == len(looks)  # every look tests other data
    flags = pd.DataFrame(rows, columns=["cutoff", "scope", "cell", "terms"])
    twice = repeated(flags, list(looks), looks=2)
    looks_flagged_twice = twice.assign(seed=twice["cell"].str.split("-").str[0])[["seed", "cutoff"]].drop_duplicates()
    assert np.mean(with_flag) <= fdr
    assert len(looks_flagged_twice) / len(with_flag) <= np.mean(with_flag)


def thin_docs(rise_from: str, seed: int = 0) -> pd.DataFrame:
    """Thin data, 2021-01 to 2025-03: twelve topics with two documents a month each (too few to read month by
    month); topic 5 has eight a month from `rise_from` on."""
    rng = np.random.default_rng(seed)
    rows = []
    for month in pd.date_range("2021-01-01", "2025-03-01", freq="MS"):
        for topic in range(-1, 12):
            rate = 6.0 if topic == -1 else 8.0 if topic == 5 and month >= pd.Timestamp(rise_from) else 2.0
            rows += [{"topic_id": topic, "published_on": month + pd.Timedelta(days=int(rng.integers(0, 28))),
                      "source": "papers"} for _ in range(rng.poisson(rate))]
    return pd.DataFrame(rows).assign(doc_id=lambda f: [f"d{i}" for i in range(len(f))])


def flagged_topics(docs: pd.DataFrame, as_of: str) -> tuple[EmergenceDetector, set]:
    """The detector with the default settings (windows, auto period) fitted at `as_of`, and its flagged topics."""
    seen = docs[docs["published_on"] <= as_of]
    fitted = EmergenceDetector(**TrendSettings().detector_options()).fit(seen, as_of=as_of)
    cells = fitted.transform(seen)
    return fitted, set(cells.loc[cells["flagged"] & (cells["scope"] == "topic"), "topic_id"])


def test_thin_data_flags_a_theme_visible_since_last_quarter_at_the_next_quarterly_cutoff():
    """The rise starts in July 2024. Thin data gets quarterly bins inside the six-month window, not years: by
    the end of 2024 (one quarter after the rise showed) topic 5 is flagged, and already at the end of November,
    as the bins move with the cutoff; before the rise nothing is."""
    docs = thin_docs("2024-07-01")
    before, flagged_before = flagged_topics(docs, "2024-06-30")
    assert before.period_ == "quarter" and not flagged_before
    for as_of in ("2024-11-30", "2024-12-31"):
        fitted, flagged = flagged_topics(docs, as_of)
        assert fitted.period_ == "quarter" and flagged == {5}
        assert fitted.recent_periods_[-1] + pd.DateOffset(months=3) == pd.Timestamp(as_of) + pd.Timedelta(days=1)


def test_consecutive_cutoffs_test_different_windows():
    docs = thin_docs("2024-07-01")
    october, november = (detector(period="auto").fit(docs, as_of=d) for d in ("2024-10-31", "2024-11-30"))
    assert october.recent_periods_ != november.recent_periods_
    assert october.periods_[0] < november.periods_[0]
    late_november = docs.loc[docs["published_on"].between("2024-11-01", "2024-11-30"), "doc_id"]
    recent = november.window_.loc[november.window_["recent"], "doc_id"]
    assert late_november.isin(recent).all() and not late_november.isin(october.window_["doc_id"]).any()


def test_fit_exposes_the_esc_term_window_ending_at_as_of():
    docs = synthetic_docs({-1: [20.0] * 24, 0: [5.0] * 24})
    fitted = detector(esc_period="quarter", esc_periods=4).fit(docs, as_of=AS_OF)
    window = fitted.esc_window_
    inside = pd.to_datetime(docs["published_on"]) >= pd.Timestamp("2024-01-01")  # the 4 quarters of 2024
    assert set(window["doc_id"]) == set(docs.loc[inside, "doc_id"])
    assert sorted(window["t"].unique()) == [0, 1, 2, 3]
    first = window.merge(docs, on="doc_id")
    assert (pd.to_datetime(first.loc[first["t"] == 0, "published_on"]) < pd.Timestamp("2024-04-01")).all()


def test_periods_without_documents_neither_break_nor_extend_persistence():
    """Conference-dated papers: documents only every other month. A topic above its baseline share in both
    recent conference months is persistent; the empty month between them is no observation."""
    conference = [1.0 if i % 2 else 0.0 for i in range(24)]
    rates = {-1: [200.0 * c for c in conference], 0: [20.0 * c for c in conference],
             1: [10.0 * c for c in conference[:20]] + [0.0, 30.0, 0.0, 30.0]}
    docs = synthetic_docs(rates)
    cells = detector().fit(docs, as_of=AS_OF).transform(docs).set_index("topic_id")
    assert cells.loc[1, "active_periods"] == 2 and cells.loc[1, "flagged"]
    assert not cells.loc[0, "flagged"]


def test_topics_whose_rates_wander_between_months_are_not_flagged_for_it_at_any_size():
    """Null: 90 flat topics of 2..80 documents a month whose monthly rate wanders by a gamma factor of variance
    0.1 (a call cycle): variance / mean is 1.2 for the small ones, 9 for the large. One pooled dispersion (about
    3 here) leaves the large topics' tests too sure; the dispersion that grows with the count keeps false flags
    at the FDR, large topics included."""
    fdr, replicates, any_flag, large_flags = 0.1, 8, 0, 0
    for seed in range(replicates):
        rng = np.random.default_rng(300 + seed)
        sizes = np.exp(rng.uniform(np.log(2.0), np.log(80.0), size=90))
        rates = {-1: [100.0] * 24} | {t: list(size * rng.gamma(10.0, 0.1, size=24)) for t, size in enumerate(sizes)}
        docs = synthetic_docs(rates, seed=seed)
        model = detector(fdr=fdr, min_growth=1.0, min_active_periods=1)
        cells = model.fit(docs, as_of=AS_OF).transform(docs)
        topics = cells[cells["scope"] == "topic"].set_index("topic_id")
        any_flag += bool(topics["flagged"].any())
        large_flags += int(topics.loc[[t for t in topics.index if sizes[t] > 30], "flagged"].sum())
        assert model.dispersion_(40.0) > 2 * model.dispersion_(3.0)
    assert any_flag <= 1  # at the FDR of 0.1, one of 8 replicates with a flag is within chance (pooled: 2)
    assert large_flags <= 1  # pooled: 3 false flags on topics of more than 30 a month
