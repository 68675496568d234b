-- Schema 3 adds SQLite's `texts` log for its derived text index; PostgreSQL ranks text in SQL
-- over its GIN-indexed tsvector, so nothing changes here (kept so both stores share the number).
SELECT 1;
