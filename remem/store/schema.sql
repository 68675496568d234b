-- remem SQLite schema, version 1; sqlite_migrations/ takes it on from there. PRAGMA user_version holds the version.
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memories (
    rowid            INTEGER PRIMARY KEY,
    id               TEXT NOT NULL,
    tenant           TEXT NOT NULL,
    user_id          TEXT,
    agent_id         TEXT,
    session_id       TEXT,
    kind             TEXT NOT NULL,
    role             TEXT,
    speaker          TEXT,
    content          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    event_time       TEXT,
    valid_from       TEXT,
    valid_to         TEXT,
    deleted_at       TEXT,
    version          INTEGER NOT NULL DEFAULT 1,
    importance       REAL NOT NULL DEFAULT 0.5,
    strength         REAL NOT NULL DEFAULT 1.0,
    last_accessed_at TEXT,
    access_count     INTEGER NOT NULL DEFAULT 0,
    metadata         TEXT NOT NULL DEFAULT '{}',
    source           TEXT NOT NULL DEFAULT '[]',
    keywords         TEXT NOT NULL DEFAULT '[]',
    tags             TEXT NOT NULL DEFAULT '[]',
    context          TEXT,
    fingerprint      TEXT  -- identifies a source message, so re-adding it is a no-op
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_memories_fingerprint ON memories (tenant, fingerprint);
CREATE UNIQUE INDEX IF NOT EXISTS ix_memories_id ON memories (tenant, id);
CREATE INDEX IF NOT EXISTS ix_memories_user ON memories (tenant, user_id, created_at);
CREATE INDEX IF NOT EXISTS ix_memories_event ON memories (tenant, user_id, event_time);
CREATE INDEX IF NOT EXISTS ix_memories_session ON memories (tenant, session_id);
CREATE INDEX IF NOT EXISTS ix_memories_agent ON memories (tenant, agent_id);

-- Full text: `text` is what gets indexed (may add speaker, date, captions);
-- `scope` holds one token per (tenant, user) so a user's search never ranks others' rows.
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
    text, scope, tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Vectors: the source of truth for the in-memory indexes. `seq` only grows.
CREATE TABLE IF NOT EXISTS vectors (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    mem_rowid INTEGER NOT NULL UNIQUE,
    tenant    TEXT NOT NULL,
    user_key  TEXT NOT NULL,
    vec       BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_vectors_part ON vectors (tenant, user_key, seq);

-- A partition's generation moves on purge, telling indexes to rebuild.
CREATE TABLE IF NOT EXISTS partitions (
    tenant     TEXT NOT NULL,
    user_key   TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, user_key)
);

CREATE TABLE IF NOT EXISTS history (
    hid            INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id      TEXT NOT NULL,
    tenant         TEXT NOT NULL,
    user_id        TEXT,
    version        INTEGER NOT NULL,
    op             TEXT NOT NULL,
    changed_at     TEXT NOT NULL,
    reason         TEXT,
    actor          TEXT,
    changed_fields TEXT NOT NULL DEFAULT '[]',
    snapshot       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_history_memory ON history (memory_id, version);
CREATE INDEX IF NOT EXISTS ix_history_user ON history (tenant, user_id);

CREATE TABLE IF NOT EXISTS links (
    tenant     TEXT NOT NULL,
    src        TEXT NOT NULL,
    dst        TEXT NOT NULL,
    relation   TEXT NOT NULL DEFAULT 'related',
    weight     REAL NOT NULL DEFAULT 1.0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant, src, dst, relation)
);
CREATE INDEX IF NOT EXISTS ix_links_dst ON links (tenant, dst);

-- API keys for the server: only a hash is stored; each key is bound to one tenant.
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash   TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    name       TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
