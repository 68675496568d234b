-- Schema 2: archiving (maintenance) and the append-only audit log.
ALTER TABLE memories ADD COLUMN archived_at TEXT;  -- out of default search and context, restorable

-- Every operation: what, when, who (API key name or "local"), request id, versions.
-- detail (JSON: reason, via, content) is emptied when the user is purged.
CREATE TABLE IF NOT EXISTS audit (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant         TEXT NOT NULL,
    at             TEXT NOT NULL,
    op             TEXT NOT NULL,
    memory_id      TEXT,
    user_id        TEXT,
    actor          TEXT NOT NULL,
    request_id     TEXT,
    before_version INTEGER,
    after_version  INTEGER,
    detail         TEXT
);
CREATE INDEX IF NOT EXISTS ix_audit_user ON audit (tenant, user_id, seq);
CREATE INDEX IF NOT EXISTS ix_audit_memory ON audit (tenant, memory_id, seq);

-- API keys get a scope: "member" (the tenant's memories) or "admin" (also maintenance and rollback).
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'member';
