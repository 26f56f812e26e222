"""The nightly steps (crawl, ingest, embed, enrich, topics, detect, digest), one module each, with their helpers;
they read and write the store and never import one another."""
