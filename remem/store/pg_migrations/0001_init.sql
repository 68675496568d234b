-- remem PostgreSQL schema, migration 1. Runs inside the store's schema (search_path),
-- in one transaction; remem_migrations records that it ran.
CREATE TABLE remem_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE memories (
    rid              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order
    id               text NOT NULL,
    tenant           text NOT NULL,
    user_id          text,
    agent_id         text,
    session_id       text,
    kind             text NOT NULL,
    role             text,
    speaker          text,
    content          text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    event_time       timestamptz,
    valid_from       timestamptz,
    valid_to         timestamptz,
    deleted_at       timestamptz,
    version          bigint NOT NULL DEFAULT 1,
    importance       double precision NOT NULL DEFAULT 0.5,
    strength         double precision NOT NULL DEFAULT 1.0,
    last_accessed_at timestamptz,
    access_count     bigint NOT NULL DEFAULT 0,
    metadata         jsonb NOT NULL DEFAULT '{}',
    source           jsonb NOT NULL DEFAULT '[]',
    keywords         jsonb NOT NULL DEFAULT '[]',
    tags             jsonb NOT NULL DEFAULT '[]',
    context          text,
    fingerprint      text,  -- identifies a source message, so re-adding it is a no-op
    -- what full-text search sees (may add speaker, date, captions) and its tsvector
    index_text       text NOT NULL,
    tsv              tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, index_text)) STORED,
    -- the embedding; its dimension and HNSW index are set by the first check_embedding()
    embedding        vector
);
CREATE UNIQUE INDEX ix_memories_fingerprint ON memories (tenant, fingerprint);
CREATE UNIQUE INDEX ix_memories_id ON memories (tenant, id);
CREATE INDEX ix_memories_user ON memories (tenant, user_id, created_at);
CREATE INDEX ix_memories_event ON memories (tenant, user_id, event_time);
CREATE INDEX ix_memories_session ON memories (tenant, session_id);
CREATE INDEX ix_memories_agent ON memories (tenant, agent_id);
CREATE INDEX ix_memories_tsv ON memories USING gin (tsv);

CREATE TABLE history (
    hid            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    memory_id      text NOT NULL,
    tenant         text NOT NULL,
    user_id        text,
    version        bigint NOT NULL,
    op             text NOT NULL,
    changed_at     timestamptz NOT NULL,
    reason         text,
    actor          text,
    changed_fields jsonb NOT NULL DEFAULT '[]',
    snapshot       jsonb NOT NULL
);
CREATE INDEX ix_history_memory ON history (memory_id, version);
CREATE INDEX ix_history_user ON history (tenant, user_id);

CREATE TABLE links (
    tenant     text NOT NULL,
    src        text NOT NULL,
    dst        text NOT NULL,
    relation   text NOT NULL DEFAULT 'related',
    weight     double precision NOT NULL DEFAULT 1.0,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, src, dst, relation)
);
CREATE INDEX ix_links_dst ON links (tenant, dst);

-- API keys for the server: only a hash is stored; each key is bound to one tenant.
CREATE TABLE api_keys (
    key_hash   text PRIMARY KEY,
    tenant     text NOT NULL,
    name       text,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
