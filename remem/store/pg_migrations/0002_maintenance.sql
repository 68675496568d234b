-- remem PostgreSQL schema, migration 2: archiving (maintenance) and the append-only audit log.
ALTER TABLE memories ADD COLUMN archived_at timestamptz;  -- out of default search and context, restorable

-- Every operation: what, when, who (API key name or "local"), request id, versions.
-- detail (reason, via, content) is emptied when the user is purged.
CREATE TABLE audit (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant         text NOT NULL,
    at             timestamptz NOT NULL,
    op             text NOT NULL,
    memory_id      text,
    user_id        text,
    actor          text NOT NULL,
    request_id     text,
    before_version bigint,
    after_version  bigint,
    detail         jsonb
);
CREATE INDEX ix_audit_user ON audit (tenant, user_id, seq);
CREATE INDEX ix_audit_memory ON audit (tenant, memory_id, seq);

-- API keys get a scope: "member" (the tenant's memories) or "admin" (also maintenance and rollback).
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'member';
