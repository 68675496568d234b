-- The log the derived in-memory text index (remem/store/text_index.py) follows, as the
-- vector index follows `vectors`: one row per indexed memory, re-inserted (a new seq) when its
-- indexed text changes; the text itself stays in memories_fts.
CREATE TABLE IF NOT EXISTS texts (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    mem_rowid INTEGER NOT NULL UNIQUE,
    tenant    TEXT NOT NULL,
    user_key  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_texts_part ON texts (tenant, user_key, seq);
INSERT OR IGNORE INTO partitions (tenant, user_key)
    SELECT DISTINCT m.tenant, coalesce(m.user_id, '') FROM memories_fts f JOIN memories m ON m.rowid = f.rowid;
INSERT OR IGNORE INTO texts (mem_rowid, tenant, user_key)
    SELECT f.rowid, m.tenant, coalesce(m.user_id, '') FROM memories_fts f JOIN memories m ON m.rowid = f.rowid ORDER BY f.rowid;
