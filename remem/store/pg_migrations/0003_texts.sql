-- The log the derived in-memory text index (remem/store/text_index.py) follows, as in SQLite:
-- one row per indexed memory, re-inserted (a new seq) when its indexed text is written. A
-- trigger keeps it, so every writer (an older server still running during an upgrade too)
-- logs its rows in the same transaction. The trigger first takes an advisory lock per tenant,
-- so a tenant's seqs become visible in order: a reader that has seen seq n never later finds a
-- committed seq below n. remem's own writes take that lock as their first lock (PostgresStore._tx),
-- so they cannot deadlock on it; the trigger's own take is for any other writer.
-- A purge deletes the user's `text_partitions` row (no trace of the user is left); a row made
-- again gets a new generation (microseconds since the epoch), telling every server to rebuild.
CREATE TABLE texts (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rid      bigint NOT NULL UNIQUE,
    tenant   text NOT NULL,
    user_key text NOT NULL
);
CREATE INDEX ix_texts_part ON texts (tenant, user_key, seq);
CREATE TABLE text_partitions (
    tenant     text NOT NULL,
    user_key   text NOT NULL,
    generation bigint NOT NULL DEFAULT (floor(extract(epoch FROM clock_timestamp()) * 1000000))::bigint,
    PRIMARY KEY (tenant, user_key)
);
CREATE FUNCTION remem_log_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('remem-texts:' || current_schema() || ':' || NEW.tenant));
    INSERT INTO text_partitions (tenant, user_key) VALUES (NEW.tenant, coalesce(NEW.user_id, '')) ON CONFLICT DO NOTHING;
    DELETE FROM texts WHERE rid = NEW.rid;
    INSERT INTO texts (rid, tenant, user_key) VALUES (NEW.rid, NEW.tenant, coalesce(NEW.user_id, ''));
    RETURN NULL;
END
$$;
CREATE TRIGGER memories_log_text_insert AFTER INSERT ON memories
    FOR EACH ROW EXECUTE FUNCTION remem_log_text();
CREATE TRIGGER memories_log_text_update AFTER UPDATE OF index_text, user_id ON memories
    FOR EACH ROW WHEN (OLD.index_text IS DISTINCT FROM NEW.index_text OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION remem_log_text();
INSERT INTO text_partitions (tenant, user_key) SELECT DISTINCT tenant, coalesce(user_id, '') FROM memories;
INSERT INTO texts (rid, tenant, user_key) SELECT rid, tenant, coalesce(user_id, '') FROM memories ORDER BY rid;
