"""Documents per stable topic x period x kind x NUTS-2 region x sector, for the trend detector.

`topic_period_counts` holds one row per grouping: '*' in kind, nuts2 or sector means all of them,
'unknown' means the document has none. A document with several regions or sectors counts once in each
(and once in '*'). `n_docs` counts topics as assigned (outliers under -1); `n_docs_reduced` counts them
with outliers reduced to their nearest topic. The period containing `as_of` (the newest canonical
document's date) is partial unless it ends that day.
"""

from __future__ import annotations

from pipelines.store import Store
from pipelines.views.features import CANONICAL_DOCUMENTS_SQL, REGIONS_SQL, SECTORS_SQL

UNITS = ("week", "month")


def refresh_topic_counts(store: Store) -> int:
    """Rebuild `topic_period_counts` from the current assignments; return the number of rows."""
    sql = f"""
    WITH docs AS ({CANONICAL_DOCUMENTS_SQL}),
    base AS (
        SELECT d.doc_id, d.kind, d.published_on, a.topic_id, coalesce(s.reduced_topic_id, a.topic_id) AS reduced
        FROM docs d JOIN topic_assignments a USING (doc_id) LEFT JOIN topic_similarities s USING (doc_id)
        WHERE d.published_on IS NOT NULL),
    regions AS (SELECT doc_id, nuts2 FROM ({REGIONS_SQL})),
    sectors AS (SELECT doc_id, sector FROM ({SECTORS_SQL})),
    topic_rows AS (
        SELECT doc_id, kind, published_on, topic_id, 1 AS is_assigned, 0 AS is_reduced FROM base
        UNION ALL
        SELECT doc_id, kind, published_on, reduced, 0, 1 FROM base),
    units AS (SELECT unnest(?::VARCHAR[]) AS period_unit),
    exploded AS (
        SELECT t.*, u.period_unit, date_trunc(u.period_unit, t.published_on)::DATE AS period,
               coalesce(r.nuts2, 'unknown') AS nuts2, coalesce(s.sector, 'unknown') AS sector
        FROM topic_rows t CROSS JOIN units u LEFT JOIN regions r USING (doc_id) LEFT JOIN sectors s USING (doc_id)),
    grouped AS (
        SELECT topic_id, period_unit, period, coalesce(kind, '*') AS kind, coalesce(nuts2, '*') AS nuts2,
               coalesce(sector, '*') AS sector,
               count(DISTINCT CASE WHEN is_assigned = 1 THEN doc_id END) AS n_docs,
               count(DISTINCT CASE WHEN is_reduced = 1 THEN doc_id END) AS n_docs_reduced
        FROM exploded
        GROUP BY GROUPING SETS ((topic_id, period_unit, period), (topic_id, period_unit, period, kind),
                               (topic_id, period_unit, period, nuts2), (topic_id, period_unit, period, sector),
                               (topic_id, period_unit, period, kind, nuts2, sector))),
    as_of AS (SELECT max(published_on) AS as_of FROM base)
    SELECT g.*, (g.period + CASE g.period_unit WHEN 'week' THEN INTERVAL 7 DAY ELSE INTERVAL 1 MONTH END
                 - INTERVAL 1 DAY)::DATE > as_of.as_of AS is_partial, as_of.as_of
    FROM grouped g CROSS JOIN as_of
    """
    with store.transaction() as con:
        con.execute("DELETE FROM topic_period_counts")
        con.execute(f"INSERT INTO topic_period_counts BY NAME ({sql})", [list(UNITS)])
    return store.count("topic_period_counts")
