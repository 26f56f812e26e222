"""One typed settings object, read once from a TOML file; TRENDSCOUT_* environment variables win.

Nested values use `__` in the environment: `TRENDSCOUT_NLP__EMBEDDER=hashing`,
`TRENDSCOUT_SOURCES__CORDIS__URLS='["file:///mirror/cordis.zip"]'`. Relative paths (directories and
source paths) are resolved against the directory of the settings file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines.dashboard.settings import DashboardSettings
from pipelines.errors import ConfigError
from pipelines.mail import MailSettings
from pipelines.ops_settings import OpsSettings


class SourceSettings(BaseModel):
    """One source: on or off, where to read it, and what a human allowed for it."""

    enabled: bool = True
    urls: list[str] = []
    # robots.txt path prefixes this source may fetch anyway (an explicit, logged decision)
    robots_exempt: list[str] = []
    options: dict[str, Any] = {}  # spider-specific knobs, passed as spider arguments


class CrawlSettings(BaseModel):
    user_agent: str = "trendscout/0.1 (+https://github.com/trendscout/trendscout; cluster trend research)"
    download_delay: float = 1.0
    concurrent_per_domain: int = 1
    autothrottle: bool = True
    http_cache: bool = True
    min_text_chars: int = 40
    timeout_s: float = 60.0
    api_keys: dict[str, SecretStr] = {}  # from the environment only: TRENDSCOUT_CRAWL__API_KEYS__EPO_OPS
    requests_per_minute: dict[str, float] = {}  # per-spider API rate limit override; 0 switches it off (tests)
    redis_frontier: bool = False  # share one scrapy-redis request queue and dupefilter between crawler machines
    redis_url: str = ""  # e.g. redis://crawl-queue:6379/0 (empty: localhost:6379); used with redis_frontier


class NlpSettings(BaseModel):
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


class TopicSettings(BaseModel):
    window_months: int = 36
    min_topic_size: int = 15
    min_samples: int | None = None  # hdbscan; None: min_topic_size
    reducer: str = "umap"  # umap | pca
    clusterer: str = "hdbscan"  # hdbscan | kmeans
    n_clusters: int = 50  # kmeans only
    n_components: int = 5
    n_neighbors: int = 15
    top_n_words: int = 10
    representation: str = "mmr"  # ctfidf | mmr | keybert_mmr (terms and labels)
    mmr_diversity: float = 0.3
    seed: int = 42
    refit_days: int = 7  # refit the base model when it is older than this
    match_threshold: float = 0.75  # centred centroid cosine for a refit's topic to keep a stable id
    min_share: float = 0.5  # document share linking topics across fits; outlier share a nightly birth needs
    reduce_quantile: float = 0.02  # share of documents left as outliers after outlier reduction
    recent_days: int = 30  # window of the nightly new-documents model that finds births
    recent_min_topic_size: int = 10


class TrendSettings(BaseModel):
    period: str = "auto"  # week | month | quarter | year | auto (shortest with min_period_docs per topic and period)
    min_period_docs: float = 10.0  # "auto": median documents per topic and period the chosen period must reach
    recent_periods: int = 3
    baseline_periods: int = 12
    min_docs: int = 5
    min_growth: float = 1.5
    min_active_periods: int = 2  # recent periods in a row above the baseline share (not a one-period burst)
    fdr: float = 0.05  # Benjamini-Hochberg across all topic x region x sector x kind and term tests
    count_model: str = "quasipoisson"  # poisson | quasipoisson (counts scaled by the pooled dispersion)
    weights: dict[str, float] = {}  # score weights per component; missing ones keep their defaults
    min_diversity_gain: float = 0.05  # Rao-Stirling rise that makes a flagged theme cross-sectoral
    top_n: int = 20
    term_cells: bool = True  # test topic-specific words and phrases like topics (scope "term")
    max_term_df: float = 0.15  # terms in more of the window's documents are not tested
    min_term_specificity: float = 1.0  # excess chi-square per document of a term's topic mix; ~0 = style word
    max_term_flags: int = 10  # flagged terms kept per detection, the most significant (lowest q) first
    terms: bool = True  # Porter emergence scores for terms
    esc_period: str = "auto"  # ESc periods ("auto" = the detection's); base + active periods end at its as-of date
    esc_base_periods: int = 3
    esc_active_periods: int = 7
    esc_min_records: int = 7
    burst_max_group_share: float = 0.5  # a flag with more of its recent documents in one call / venue / organisation
    burst_min_group_lift: float = 3.0  # ... and this many times that group's share of all recent documents is a burst
    burst_max_period_share: float = 0.8  # more of its recent documents in one recent period: a one-period spike
    burst_max_template_share: float = 0.5  # more of them with near-identical wording: one call text


class BacktestSettings(BaseModel):
    early_tolerance_days: int = 180  # a matching flag this long before a theme's expected_from is still a hit
    consecutive_looks: int = 2  # "detector_repeated": a flag counts when raised at this many cutoffs in a row


class DigestSettings(BaseModel):
    weekday: int = 0  # ISO weekday 1..7 on which nightly writes the digest; 0 = never
    top_n: int = 10
    docs_per_theme: int = 5


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
    digest: DigestSettings = DigestSettings()
    dashboard: DashboardSettings = DashboardSettings()
    mail: MailSettings = MailSettings()
    ops: OpsSettings = OpsSettings()
    base_dir: Path = Field(default=Path("."), exclude=True)

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
    try:
        return Settings(**values, base_dir=base_dir).resolved()
    except ValidationError as exc:
        raise ConfigError(f"invalid settings in {path}: {exc}") from exc
