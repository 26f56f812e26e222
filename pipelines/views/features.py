"""The document features every reader shares: which documents count, their NUTS-2 regions, their sectors.

Enriched documents use their tagged regions and sectors; documents enrichment has not reached yet fall
back to their organisations' NUTS codes and the sectors their source gave (`codes.sector`).
"""

_NOT_ENRICHED = "doc_id NOT IN (SELECT doc_id FROM doc_features)"

# doc_id, code: every NUTS code of every document, at the level it was found (country .. NUTS-3)
REGION_CODES_SQL = ("SELECT doc_id, code FROM doc_regions UNION SELECT doc_id, nuts_code FROM "
                    f"document_organisations WHERE length(nuts_code) >= 2 AND {_NOT_ENRICHED}")

# doc_id, nuts2, country
REGIONS_SQL = ("SELECT DISTINCT doc_id, left(code, 4) AS nuts2, left(code, 2) AS country "
               f"FROM ({REGION_CODES_SQL}) WHERE length(code) >= 4")

# The organisations behind documents: doc_id, org (id, else name), region (NUTS-2), country
ORGANISATIONS_SQL = ("SELECT DISTINCT doc_id, coalesce(nullif(org_id, ''), nullif(name, '')) AS org, "
                     "left(nuts_code, 4) AS region, country FROM document_organisations "
                     "WHERE coalesce(nullif(org_id, ''), nullif(name, '')) IS NOT NULL")

# doc_id, sector
SECTORS_SQL = ("SELECT DISTINCT doc_id, sector FROM doc_sectors UNION "
               "SELECT DISTINCT doc_id, unnest(CASE json_type(codes, '$.sector') "
               "WHEN 'ARRAY' THEN json_extract_string(codes, '$.sector[*]') "
               "WHEN 'VARCHAR' THEN [json_extract_string(codes, '$.sector')] END) AS sector "
               f"FROM documents WHERE {_NOT_ENRICHED}")
