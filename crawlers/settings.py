"""Scrapy settings for trendscout's spiders: polite defaults, overridden per run by pipelines/steps/crawl.py."""

BOT_NAME = "trendscout"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# Identify ourselves with a contact URL; the run's settings replace it with the configured one.
USER_AGENT = "trendscout/0.1 (+https://github.com/trendscout/trendscout; cluster trend research)"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
DOWNLOAD_TIMEOUT = 60
# JSON APIs, feeds and pages: an answer over 50 MB is an error, not data. Bulk files have their own
# limit (crawlers/bulk.py), news pages a smaller one (crawlers/articles.py).
DOWNLOAD_MAXSIZE = 50 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 5.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]

HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_IGNORE_HTTP_CODES = [429, 500, 502, 503, 504]
HTTPCACHE_DIR = "httpcache"

DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.UrlSchemeMiddleware": 50,  # first: nothing else sees a file: or data: request
    "crawlers.middlewares.RobotsExemptionMiddleware": 99,  # before RobotsTxtMiddleware (100)
    # process_response runs from high to low numbers: 560 sees a 429 before RetryMiddleware (550) reschedules it
    "crawlers.middlewares.RetryAfterMiddleware": 560,
    # acts on OPS requests only (meta `ops_service`); set here, since a spider's own DOWNLOADER_MIDDLEWARES
    # would replace this whole dict and switch the scheme and credentials checks off
    "crawlers.ops.OpsTrafficMiddleware": 580,
    # after OpsTrafficMiddleware (580) has waited, so the token is read when the request leaves
    "crawlers.middlewares.CredentialsMiddleware": 590,
}

SPIDER_MIDDLEWARES = {
    "crawlers.middlewares.CallbackErrorsMiddleware": 45,  # outermost: sees every callback's exception
}

EXTENSIONS = {
    "crawlers.extensions.WriteStatsExtension": 900,  # only when TRENDSCOUT_STATS_FILE is set
}

ITEM_PIPELINES = {
    "crawlers.pipelines.ValidateDocumentPipeline": 100,
    "crawlers.pipelines.PlausibleDatesPipeline": 150,
    "crawlers.pipelines.DropDuplicateItemsPipeline": 200,
    "crawlers.pipelines.WriteRawFeedPipeline": 900,
}

# trendscout's own knobs (set per run by pipelines/steps/crawl.py)
TRENDSCOUT_MIN_TEXT_CHARS = 40
TRENDSCOUT_RAW_DIR = "data/raw"
TRENDSCOUT_RUN_ID = "manual"
TRENDSCOUT_STATE_DIR = "data/state"
# per source: URL path prefixes a human decided may be fetched although robots.txt disallows them
TRENDSCOUT_ROBOTS_EXEMPT = {}
# Archives are read one member at a time; a member or a whole archive over these is skipped and counted.
# Real CORDIS files: the Horizon Europe XML edition has 19,189 one-project members, 794 MB in all, the largest
# 0.8 MB; the CSV and JSON editions hold each table in one member (their zips are 37 MB for HE, 53 MB for H2020).
TRENDSCOUT_ARCHIVE_MEMBER_MAXSIZE = {".xml": 16 * 1024 * 1024, ".csv": 256 * 1024 * 1024, ".json": 256 * 1024 * 1024}
TRENDSCOUT_ARCHIVE_TOTAL_MAXSIZE = 4 * 1024 * 1024 * 1024

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False  # no listening ports from a nightly job
REMOTE_CONTROL_ENABLED = False
LOG_FORMATTER = "crawlers.logformatter.TextFreeLogFormatter"
