-- The log the derived in-memory text index (remem/store/text_index.py) follows, as in SQLite:
-- one row per indexed memory, re-inserted (a new seq) when its indexed text changes. Writers
-- take an advisory lock per (tenant, user) before writing it, so a partition's seqs become
-- visible in order (a reader that has seen seq n never later finds a committed seq below n). A purge deletes the user's
-- `text_partitions` row (no trace of the user is left); a row made again gets a new
-- generation (microseconds since the epoch), telling every server's index to rebuild.
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
INSERT INTO text_partitions (tenant, user_key) SELECT DISTINCT tenant, coalesce(user_id, '') FROM memories;
INSERT INTO texts (rid, tenant, user_key) SELECT rid, tenant, coalesce(user_id, '') FROM memories ORDER BY rid;
