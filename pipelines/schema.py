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
}
