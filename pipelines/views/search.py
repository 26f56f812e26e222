"""The search index's token rule and its BM25 ranking, shared by the writer (enrich) and the dashboard.

A token is a run of letters, digits and underscores (Unicode), lower-cased: `[\\pL\\pN_]+` in DuckDB's RE2
and `\\w+` in Python mean the same characters, so the index and a query split text alike.
"""

from __future__ import annotations

import re

TOKEN_SQL = r"[\pL\pN_]+"
K1, B = 1.2, 0.75  # BM25 term-frequency saturation and length normalisation
TITLE_WEIGHT = 3  # a title occurrence counts as this many text occurrences


def tokens(text: str) -> list[str]:
    """The lower-cased tokens of `text`, in order."""
    return re.findall(r"\w+", text.lower())


def index_sql(pending: str) -> str:
    """SELECT of doc_terms rows (doc_id, term, tf, in_title) for the documents of relation `pending`.

    tf counts the term's occurrences in title and text, a title one TITLE_WEIGHT times.
    """
    return f"""
        SELECT doc_id, term, sum(CASE WHEN in_title THEN {TITLE_WEIGHT} ELSE 1 END)::INTEGER AS tf,
               bool_or(in_title) AS in_title
        FROM (SELECT doc_id, unnest(regexp_extract_all(lower(coalesce(title, '')), '{TOKEN_SQL}')) AS term,
                     true AS in_title FROM {pending}
              UNION ALL
              SELECT doc_id, unnest(regexp_extract_all(lower(coalesce(text, '')), '{TOKEN_SQL}')), false
              FROM {pending})
        GROUP BY doc_id, term"""


def bm25_sql(n_words: int) -> str:
    """SELECT doc_id, relevance of the indexed documents holding all `n_words` words (the `?` parameters).

    BM25 with K1 and B over the whole index (document length from doc_lengths; idf: ln(1 + (N - df + 0.5) /
    (df + 0.5))), summed over the words.
    """
    return f"""
        WITH stats AS (SELECT count(*) AS n, avg(length) AS avgdl FROM doc_lengths),
        hits AS (SELECT doc_id, term, tf FROM doc_terms WHERE term IN ({", ".join("?" * n_words)})),
        candidates AS (SELECT doc_id FROM hits GROUP BY doc_id HAVING count(DISTINCT term) = {n_words}),
        df AS (SELECT term, count(*) AS df FROM hits GROUP BY term)
        SELECT h.doc_id, sum(ln(1 + (s.n - df.df + 0.5) / (df.df + 0.5)) * h.tf * {K1 + 1}
                             / (h.tf + {K1} * (1 - {B} + {B} * l.length / s.avgdl))) AS relevance
        FROM hits h JOIN candidates USING (doc_id) JOIN doc_lengths l USING (doc_id) JOIN df USING (term)
        CROSS JOIN stats s
        GROUP BY h.doc_id"""
