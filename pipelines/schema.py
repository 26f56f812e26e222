"""The store's schema as numbered migrations; `Store.open` applies the ones a file has not seen.

Add a migration under the next free number; never edit one that has shipped.
"""

MIGRATIONS: dict[int, str] = {
    # the walking skeleton: documents, vectors, topics, trend scores, runs
    1: """
    CREATE TABLE documents (
        doc_id VARCHAR PRIMARY KEY,          -- '<source>:<external_id>'
        source VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,               -- news | project | patent
        external_id VARCHAR NOT NULL,
        url VARCHAR,
        title VARCHAR,
        text VARCHAR,
        published_on DATE,
        updated_on DATE,
        language VARCHAR,
        content_hash VARCHAR NOT NULL,       -- of title, text and metadata: changes trigger re-work
        codes JSON,
        meta JSON,
        places JSON,
        raw_file VARCHAR,
        first_seen_at TIMESTAMP NOT NULL,
        ingested_at TIMESTAMP NOT NULL
    );
    CREATE TABLE document_organisations (
        doc_id VARCHAR NOT NULL,
        position INTEGER NOT NULL,
        name VARCHAR, role VARCHAR, org_id VARCHAR, short_name VARCHAR,
        country VARCHAR, city VARCHAR, nuts_code VARCHAR, lat DOUBLE, lon DOUBLE,
        PRIMARY KEY (doc_id, position)
    );
    CREATE TABLE nuts_regions (code VARCHAR PRIMARY KEY, name VARCHAR, level INTEGER);
    CREATE TABLE embeddings (                -- one vector per model and embedded text
        model VARCHAR NOT NULL,
        input_hash VARCHAR NOT NULL,
        vector FLOAT[] NOT NULL,
        created_at TIMESTAMP NOT NULL,
        PRIMARY KEY (model, input_hash)
    );
    CREATE TABLE doc_embeddings (
        doc_id VARCHAR NOT NULL, model VARCHAR NOT NULL, input_hash VARCHAR NOT NULL,
        PRIMARY KEY (doc_id, model)
    );
    CREATE TABLE topic_models (
        version VARCHAR PRIMARY KEY, created_at TIMESTAMP, path VARCHAR, embedder VARCHAR,
        n_docs INTEGER, window_start DATE, window_end DATE, params JSON, metrics JSON,
        is_current BOOLEAN DEFAULT FALSE
    );
    CREATE TABLE topics (                    -- stable topic identities across refits
        topic_id INTEGER PRIMARY KEY, label VARCHAR, terms JSON, size INTEGER,
        born_on DATE, model_version VARCHAR, status VARCHAR, centroid FLOAT[]
    );
    CREATE TABLE model_topics (
        model_version VARCHAR NOT NULL, local_topic INTEGER NOT NULL, topic_id INTEGER NOT NULL,
        similarity DOUBLE, PRIMARY KEY (model_version, local_topic)
    );
    CREATE TABLE topic_assignments (
        doc_id VARCHAR PRIMARY KEY, topic_id INTEGER NOT NULL, model_version VARCHAR NOT NULL,
        probability DOUBLE, assigned_at TIMESTAMP NOT NULL
    );
    CREATE TABLE detections (
        detect_id VARCHAR PRIMARY KEY, run_id VARCHAR, as_of DATE, period VARCHAR,
        created_at TIMESTAMP, params JSON
    );
    CREATE TABLE trend_scores (
        detect_id VARCHAR NOT NULL, topic_id INTEGER NOT NULL, rank INTEGER,
        n_recent INTEGER, n_baseline INTEGER, share_recent DOUBLE, share_baseline DOUBLE,
        growth DOUBLE, p_value DOUBLE, q_value DOUBLE, score DOUBLE, flagged BOOLEAN, evidence JSON,
        PRIMARY KEY (detect_id, topic_id)
    );
    CREATE TABLE raw_files (
        path VARCHAR PRIMARY KEY, source VARCHAR, run_id VARCHAR, n_items INTEGER, n_new INTEGER,
        n_updated INTEGER, n_unchanged INTEGER, n_skipped INTEGER, ingested_at TIMESTAMP
    );
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY, command VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
        status VARCHAR, exit_code INTEGER, versions JSON
    );
    CREATE TABLE run_steps (
        run_id VARCHAR NOT NULL, step VARCHAR NOT NULL, started_at TIMESTAMP, finished_at TIMESTAMP,
        status VARCHAR, duration_s DOUBLE, counts JSON, skipped JSON, errors JSON,
        PRIMARY KEY (run_id, step)
    );
    CREATE TABLE source_state (
        source VARCHAR PRIMARY KEY, last_crawl_run VARCHAR, last_crawl_at TIMESTAMP
    );
    """,
    # topic identity over time: lineage, nearest-topic scores, the counts the detector reads, the outlier pool
    2: """
    ALTER TABLE topic_models ADD COLUMN kind VARCHAR DEFAULT 'base';   -- base | recent (adds births to a base)
    ALTER TABLE topic_models ADD COLUMN base_version VARCHAR;          -- recent: the base model it extends
    CREATE TABLE topic_lineage (
        event VARCHAR NOT NULL,              -- birth | continue | split | merge | death
        topic_id INTEGER NOT NULL,
        related_topic_ids INTEGER[],         -- split: the parent topic; merge: the topic it went into
        from_version VARCHAR,                -- the base model matched against (NULL on the first fit)
        to_version VARCHAR NOT NULL,
        occurred_on DATE NOT NULL,           -- data date: the newest document the fit saw
        similarity DOUBLE,                   -- centroid cosine to the matched, related or nearest topic
        recorded_at TIMESTAMP NOT NULL
    );
    CREATE TABLE topic_similarities (        -- each assigned document's nearest stable topic
        doc_id VARCHAR PRIMARY KEY,
        nearest_topic_id INTEGER,
        similarity DOUBLE,                   -- cosine to that topic's centroid
        reduced_topic_id INTEGER NOT NULL,   -- the topic with outliers reduced (-1: still an outlier)
        model_version VARCHAR NOT NULL
    );
    CREATE TABLE topic_period_counts (       -- canonical documents per stable topic and period; '*' = all
        topic_id INTEGER NOT NULL,
        period_unit VARCHAR NOT NULL,        -- week | month
        period DATE NOT NULL,                -- first day of the period
        kind VARCHAR NOT NULL,               -- news | project | patent
        nuts2 VARCHAR NOT NULL,              -- first 4 characters of an organisation's NUTS code
        sector VARCHAR NOT NULL,
        n_docs INTEGER NOT NULL,             -- as assigned (outliers under topic -1)
        n_docs_reduced INTEGER NOT NULL,     -- with outliers reduced to their nearest topic
        is_partial BOOLEAN NOT NULL,         -- the period ends after as_of
        as_of DATE NOT NULL
    );
    CREATE VIEW outlier_pool AS
        SELECT a.doc_id, d.published_on, d.kind, d.source, s.nearest_topic_id, s.similarity,
               s.reduced_topic_id, a.model_version
        FROM topic_assignments a JOIN documents d USING (doc_id) LEFT JOIN topic_similarities s USING (doc_id)
        WHERE a.topic_id = -1;
    """,
    # emergence (issue: scored, explained, controlled, cross-sectoral, regional, backtested); trend_scores unchanged
    3: """
    CREATE TABLE trend_cells (               -- every tested topic x sub-corpus cell of a detection
        detect_id VARCHAR NOT NULL,
        topic_id INTEGER NOT NULL,
        scope VARCHAR NOT NULL,              -- topic | region | sector | kind
        cell VARCHAR NOT NULL,               -- '' (scope topic), NUTS-2 code, sector label or kind
        country VARCHAR,                     -- regions: the NUTS code's country
        rank INTEGER,                        -- within the scope
        n_recent INTEGER, n_baseline INTEGER, expected_recent DOUBLE,
        growth DOUBLE,                       -- rate ratio recent / baseline, volume-normalised per source
        p_value DOUBLE, q_value DOUBLE,      -- one-sided rate test; BH across all cells of the detection
        score DOUBLE, flagged BOOLEAN,
        location_quotient DOUBLE, growth_vs_eu DOUBLE,
        onset DATE,                          -- change point of the relative share (flagged cells)
        is_cross_sectoral BOOLEAN, is_cross_border BOOLEAN,
        components JSON,                     -- growth, acceleration, novelty, persistence, spread and their inputs
        PRIMARY KEY (detect_id, topic_id, scope, cell)
    );
    CREATE TABLE emergent_terms (            -- Porter et al.'s emergence score per term
        detect_id VARCHAR NOT NULL, term VARCHAR NOT NULL, esc DOUBLE,
        n_records INTEGER, n_base INTEGER, n_active INTEGER,
        topic_id INTEGER,                    -- the topic holding most of the term's active-period documents
        topic_share DOUBLE, outlier_share DOUBLE,
        PRIMARY KEY (detect_id, term)
    );
    CREATE TABLE backtests (
        backtest_id VARCHAR PRIMARY KEY, created_at TIMESTAMP, truth_file VARCHAR,
        params JSON, metrics JSON            -- metrics per method: detector | baseline
    );
    CREATE TABLE backtest_flags (            -- every flag raised at every cutoff of a backtest
        backtest_id VARCHAR NOT NULL, method VARCHAR NOT NULL, cutoff DATE NOT NULL, topic_id INTEGER NOT NULL,
        rank INTEGER, score DOUBLE, growth DOUBLE, q_value DOUBLE, n_recent INTEGER, label VARCHAR,
        terms JSON, theme_fractions JSON,    -- share of the topic's window documents matching each truth theme
        PRIMARY KEY (backtest_id, method, cutoff, topic_id)
    );
    """,
    # enrichment: language, near-duplicate groups, NUTS regions and sectors per document
    4: """
    CREATE TABLE doc_features (
        doc_id VARCHAR PRIMARY KEY,
        language VARCHAR,                    -- ISO 639-1, NULL when undetectable
        canonical_id VARCHAR NOT NULL,       -- the document counted for its near-duplicate group
        dup_similarity DOUBLE,               -- estimated Jaccard to the document it was linked through
        signature UBIGINT[],                 -- MinHash of the normalised text, for later nights
        n_regions INTEGER, n_sectors INTEGER,
        enriched_at TIMESTAMP NOT NULL
    );
    CREATE TABLE doc_regions (
        doc_id VARCHAR NOT NULL, code VARCHAR NOT NULL, level INTEGER, name VARCHAR,
        evidence VARCHAR,                    -- structured | coordinates | organisation | place
        weight DOUBLE, PRIMARY KEY (doc_id, code)
    );
    CREATE TABLE doc_sectors (
        doc_id VARCHAR NOT NULL, sector VARCHAR NOT NULL, score DOUBLE,
        evidence VARCHAR,                    -- codes | zero-shot | given
        PRIMARY KEY (doc_id, sector)
    );
    CREATE VIEW canonical_documents AS
        SELECT d.* FROM documents d LEFT JOIN doc_features f USING (doc_id)
        WHERE f.doc_id IS NULL OR f.canonical_id = d.doc_id;
    CREATE VIEW syndication_groups AS
        SELECT f.canonical_id, count(*) AS n_docs, count(DISTINCT d.source) AS n_sources,
               list(d.doc_id ORDER BY d.published_on) AS doc_ids, list(DISTINCT d.source) AS sources
        FROM doc_features f JOIN documents d USING (doc_id) GROUP BY f.canonical_id HAVING count(*) > 1;
    """,
    # analysts' feedback on flagged themes (the dashboard writes it; detect and the digest read the latest per topic)
    5: """
    CREATE TABLE feedback (
        feedback_id VARCHAR PRIMARY KEY,     -- random hex
        topic_id INTEGER NOT NULL,
        verdict VARCHAR NOT NULL,            -- relevant | not_relevant | watch
        note VARCHAR,
        detect_id VARCHAR,                   -- the detection the analyst was looking at
        growth DOUBLE,                       -- the theme's growth then: a rejected theme returns when it doubles
        user VARCHAR,
        created_at TIMESTAMP NOT NULL
    );
    """,
    # operations (issue: scheduled runs that survive faults): what retention deleted, kept for the record
    6: """
    CREATE TABLE removed_files (             -- what retention deleted; the rows that point at it stay
        path VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,               -- raw | part | model | backup
        bytes BIGINT,
        reason VARCHAR,
        removed_at TIMESTAMP NOT NULL
    );
    """,
    # emergence (issue: term-level flags): term cells are flags too; a backtest flag is a topic or a term
    7: """
    CREATE TABLE backtest_flags_v7 (
        backtest_id VARCHAR NOT NULL, method VARCHAR NOT NULL, cutoff DATE NOT NULL,
        scope VARCHAR NOT NULL,              -- topic | term (trend_cells rows of scope 'term' hold the term in cell)
        cell VARCHAR NOT NULL,               -- '' for topics, the word or phrase for terms
        topic_id INTEGER NOT NULL,           -- the flagged topic, or the topic holding most of the term's documents
        rank INTEGER, score DOUBLE, growth DOUBLE, q_value DOUBLE, n_recent INTEGER, label VARCHAR,
        terms JSON, theme_fractions JSON,    -- share of the flag's window documents matching each truth theme
        PRIMARY KEY (backtest_id, method, cutoff, scope, cell, topic_id)
    );
    INSERT INTO backtest_flags_v7 SELECT backtest_id, method, cutoff, 'topic', '', topic_id, rank, score, growth,
        q_value, n_recent, label, terms, theme_fractions FROM backtest_flags;
    DROP TABLE backtest_flags;
    ALTER TABLE backtest_flags_v7 RENAME TO backtest_flags;
    """,
    # topic_period_counts was rebuilt every night and read by nothing: the detector counts per source itself
    8: """
    DROP TABLE topic_period_counts;
    """,
    # backtests scored strictly (issue 13): each flag judged against the year after its cutoff
    9: """
    ALTER TABLE backtest_flags ADD COLUMN confirmed BOOLEAN;  -- marker's share rose 1.5x next year; NULL: not judged
    ALTER TABLE backtest_flags ADD COLUMN verdict VARCHAR;    -- emerging | burst | style (detector; NULL: baselines)
    ALTER TABLE backtest_flags ADD COLUMN verdict_reason VARCHAR;
    """,
    # foresight (issue 17): each topic's share forecast per period ahead, with intervals and lasting growth
    10: """
    CREATE TABLE theme_forecasts (
        detect_id VARCHAR NOT NULL, topic_id INTEGER NOT NULL,
        step INTEGER NOT NULL,               -- periods after the detection's last complete period
        period DATE NOT NULL,                -- the start of that period (the detection's period length)
        model VARCHAR NOT NULL,              -- naive | level | trend (nlp.forecast.ThemeForecaster)
        mean DOUBLE, q10 DOUBLE, q25 DOUBLE, q50 DOUBLE, q75 DOUBLE, q90 DOUBLE,  -- share of documents
        p_lasting DOUBLE,                    -- P(share one year ahead >= growth_factor x baseline share)
        PRIMARY KEY (detect_id, topic_id, step)
    );
    """,
    # bursts in production: each flagged topic and term is emerging, a burst or style (nlp.bursts), with the reason
    11: """
    ALTER TABLE trend_scores ADD COLUMN verdict VARCHAR;  -- emerging | burst | style (flagged topics; NULL: emerging)
    ALTER TABLE trend_scores ADD COLUMN verdict_reason VARCHAR;
    ALTER TABLE trend_cells ADD COLUMN verdict VARCHAR;   -- emerging | burst | style (flagged topic and term rows)
    ALTER TABLE trend_cells ADD COLUMN verdict_reason VARCHAR;
    """,
    # noun phrases per document (nlp.phrases), parsed once: every topic refit reads them instead of parsing again
    12: """
    CREATE TABLE doc_noun_phrases (
        doc_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,              -- the spaCy pipeline that parsed it ([nlp] spacy_model)
        phrases VARCHAR[] NOT NULL,          -- nlp.phrases.PhraseExtractor.noun_phrases of title and text
        PRIMARY KEY (doc_id, model)
    );
    """,
    # lasting growth calibrated across topics on earlier detections' resolved forecasts (issue 17)
    13: """
    ALTER TABLE theme_forecasts ADD COLUMN p_lasting_raw DOUBLE;  -- the topic's own forecast; p_lasting: calibrated
    """,
    # the dashboard search's inverted index (issue 16), written by enrich (pipelines.views.search.index_sql)
    14: """
    CREATE TABLE doc_terms (
        doc_id VARCHAR NOT NULL,
        term VARCHAR NOT NULL,               -- a lower-cased token of title or text (pipelines.views.search)
        tf INTEGER NOT NULL,                 -- occurrences, a title one counted TITLE_WEIGHT times
        in_title BOOLEAN NOT NULL,
        PRIMARY KEY (doc_id, term)
    );
    CREATE INDEX doc_terms_term ON doc_terms (term);  -- a search looks its words up (a scan: 30 ms per 800k rows)
    CREATE TABLE doc_lengths (
        doc_id VARCHAR PRIMARY KEY,          -- every indexed document, also one without tokens
        length INTEGER NOT NULL              -- sum of its tf (BM25's document length)
    );
    """,
    # foresight per theme series (issue 17): terms and topic x region / sector cells are forecast too, keyed as in
    # trend_cells; each row keeps its series' baseline and last shares (the lasting-growth threshold, the origin)
    15: """
    CREATE TABLE theme_forecasts_v15 (
        detect_id VARCHAR NOT NULL,
        scope VARCHAR NOT NULL,              -- topic | term | region | sector (the trend_scores / trend_cells row)
        topic_id INTEGER NOT NULL,           -- the topic; a term: the topic holding most of its documents
        cell VARCHAR NOT NULL,               -- '' (topic), the word or phrase, NUTS-2 code or sector label
        step INTEGER NOT NULL,               -- periods after the detection's last complete period
        period DATE NOT NULL,                -- the start of that period (the detection's period length)
        model VARCHAR NOT NULL,              -- naive | level | trend (nlp.forecast.ThemeForecaster)
        mean DOUBLE, q10 DOUBLE, q25 DOUBLE, q50 DOUBLE, q75 DOUBLE, q90 DOUBLE,  -- share of the series' sub-corpus
        p_lasting DOUBLE,                    -- P(share one year ahead >= growth_factor x share_baseline), calibrated
        p_lasting_raw DOUBLE,                -- the series' own forecast
        share_baseline DOUBLE,               -- the series' share in the detection's baseline window
        share_last DOUBLE,                   -- its share in the last complete period (the forecast's origin)
        PRIMARY KEY (detect_id, scope, topic_id, cell, step)
    );
    INSERT INTO theme_forecasts_v15 SELECT f.detect_id, 'topic', f.topic_id, '', f.step, f.period, f.model, f.mean,
        f.q10, f.q25, f.q50, f.q75, f.q90, f.p_lasting, f.p_lasting_raw, s.share_baseline, NULL
        FROM theme_forecasts f LEFT JOIN trend_scores s USING (detect_id, topic_id);
    DROP TABLE theme_forecasts;
    ALTER TABLE theme_forecasts_v15 RENAME TO theme_forecasts;
    """,
}
