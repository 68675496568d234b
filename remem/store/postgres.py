"""The server store: PostgreSQL with pgvector (HNSW, cosine) and tsvector full text.

Same semantics as :class:`~remem.store.sqlite.SQLiteStore`; only the location changes::

    Memory(url="postgresql://user:pass@host:5432/db")
    Memory(url="postgresql://host/db?schema=remem&pool_max=20&ef_search=100")

URL query parameters read by remem (the rest go to libpq): ``schema`` (default: the
role's current schema, usually ``public``), ``pool_min``/``pool_max`` (connection pool,
default 1/10), ``ef_search`` (HNSW candidate list, default 100), ``purge_vacuum``
(``true``: VACUUM the tables after a purge so erased rows leave the heap and indexes).

The schema is created on first connect by a small versioned-SQL runner (files in
``remem/store/pg_migrations``, recorded in ``remem_migrations``). Every statement is
scoped by ``tenant = %s``; every write is one transaction. The SQL it shares with
SQLite lives in :mod:`remem.store.sqlbase` and :mod:`remem.store.sql`; the server
connection in :mod:`remem.store.pg_db`.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from remem.errors import InvalidInputError, NotFoundError, StoreError
from remem.models import MemoryRecord, Operation
from remem.store import sql as core
from remem.store.base import DEFAULT_TENANT, Query, Write
from remem.store.common import ParsedItem
from remem.store.dialect import POSTGRES
from remem.store.pg_db import Database, dict_row, pg_error, psycopg, redact, split_url, sql
from remem.store.pg_text import TEXTS_LOCK, PostgresTextSearch
from remem.store.sqlbase import SQLStoreBase, import_audit

__all__ = ["EXACT_SUBSET_LIMIT", "PostgresStore", "redact", "split_url"]

log = logging.getLogger("remem.store")

EXACT_SUBSET_LIMIT = 2_000  # at most this many candidate rows: exact scan instead of HNSW (measured: ~10 µs a row)


class PostgresStore(PostgresTextSearch, SQLStoreBase):
    """A tenant-bound view of one PostgreSQL schema."""

    dialect = POSTGRES
    _EXPORT_SELECT = f"m.rid AS _rowid, m.fingerprint AS _fp, m.index_text AS _text, m.embedding AS _vec, {core.MCOLS} FROM memories m"

    def __init__(self, url: str, *, tenant: str = DEFAULT_TENANT, _db: Database | None = None) -> None:
        if not tenant or not isinstance(tenant, str):
            raise InvalidInputError("tenant must be a non-empty string")
        self.tenant = tenant
        self.url = url
        self._db = _db or Database(url)
        self.path = self._db.display  # what messages and stats call the store

    # -- plumbing --------------------------------------------------------------------
    # writes that insert memories or change their indexed text (and so append to the texts log)
    _LOGGED_WRITES = frozenset({"insert", "save_version", "save_versions", "import", "purge"})

    @contextmanager
    def _tx(self, what: str = "write") -> Iterator["psycopg.Cursor[dict[str, Any]]"]:
        """One transaction on a pooled connection; psycopg errors become remem errors. A write
        that appends to the texts log takes the tenant's log lock first, before any row lock,
        so two such writes can never deadlock on it (see pg_migrations/0003_texts.sql)."""
        try:
            with self._db.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                if what in self._LOGGED_WRITES:
                    cur.execute(TEXTS_LOCK, (self.tenant,))
                yield cur
        except psycopg.Error as exc:
            raise pg_error(exc, what) from exc

    _write = _tx

    def _select(self, query: Any, params: Any = ()) -> list[dict[str, Any]]:
        try:
            with self._db.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                cur.execute(query, params)
                return cur.fetchall()
        except psycopg.Error as exc:
            raise pg_error(exc, "read") from exc

    # -- lifecycle -------------------------------------------------------------------
    def with_tenant(self, tenant: str) -> "PostgresStore":
        return PostgresStore(self.url, tenant=tenant, _db=self._db)

    def close(self) -> None:
        self._db.close()

    def check_embedding(self, model: str, dim: int) -> None:
        """Record the store's embedding model on first use (and size the vector column
        and its HNSW index); refuse any other model later."""
        with self._tx("check_embedding") as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('remem-embed:' || current_schema()))")
            cur.execute("SELECT key, value FROM remem_meta WHERE key IN ('embed_model', 'embed_dim')")
            meta = {r["key"]: r["value"] for r in cur.fetchall()}
            if not meta:
                cur.execute("INSERT INTO remem_meta VALUES ('embed_model', %s), ('embed_dim', %s)", (model, str(dim)))
                cur.execute(sql.SQL("ALTER TABLE memories ALTER COLUMN embedding TYPE vector({})").format(sql.Literal(int(dim))))
                cur.execute(
                    "CREATE INDEX IF NOT EXISTS ix_memories_embedding ON memories "
                    "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
                )
            else:
                core.check_same_embedding(self.path, meta, model, dim)
        self._db.dim = dim

    # -- writes ----------------------------------------------------------------------
    def _vector(self, vector: np.ndarray | None) -> np.ndarray | None:
        if vector is None:
            return None
        vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if self._db.dim is not None and vec.shape[0] != self._db.dim:
            raise InvalidInputError(f"vector has {vec.shape[0]} dims, store expects {self._db.dim}")
        return vec

    def _row(self, rec: MemoryRecord, index_text: str, vector: np.ndarray | None, fingerprint: str | None) -> dict[str, Any]:
        row = core.to_row(rec, POSTGRES)
        row.update(tenant=self.tenant, fingerprint=fingerprint, index_text=index_text, embedding=self._vector(vector))
        return row

    _INSERT = (
        f"INSERT INTO memories (tenant, {core.COLS}, fingerprint, index_text, embedding) VALUES "
        f"(%(tenant)s, {', '.join(f'%({f})s' for f in core.FIELDS)}, %(fingerprint)s, %(index_text)s, %(embedding)s) "
    )

    def insert(self, writes: list[Write], *, actor: str | None = None) -> list[MemoryRecord]:
        """Insert new memories in one transaction. A write whose ``fingerprint`` is
        already stored is skipped and the stored record returned in its place."""
        if not writes:
            return []
        rows = [self._row(w.record, w.index_text, w.vector, w.fingerprint) for w in writes]
        out: list[MemoryRecord] = []
        try:
            with self._tx("insert") as cur:
                # ON CONFLICT keeps the fingerprint check race-free across concurrent writers
                cur.executemany(
                    self._INSERT + "ON CONFLICT (tenant, fingerprint) DO NOTHING RETURNING rid", rows, returning=True
                )
                rids: list[int | None] = []
                while True:
                    got = cur.fetchone()
                    rids.append(None if got is None else got["rid"])
                    if not cur.nextset():
                        break
                inserted = [rid is not None for rid in rids]
                for w, new in zip(writes, inserted):
                    if new:
                        out.append(w.record)
                    else:
                        cur.execute(
                            f"SELECT {core.COLS} FROM memories WHERE tenant = %s AND fingerprint = %s",
                            (self.tenant, w.fingerprint),
                        )
                        out.append(core.from_row(cur.fetchone(), POSTGRES))
                fresh = [w for w, new in zip(writes, inserted) if new]
                self._history(
                    cur, [(w.record, Operation.ADD, w.reason, actor, []) for w in fresh], rows={w.record.id: w.record for w in fresh}
                )
        except InvalidInputError as exc:
            if "ix_memories_id" in str(exc):
                raise InvalidInputError(f"a memory with id {self._clashing_id(writes)!r} already exists") from exc
            raise
        return out

    def _clashing_id(self, writes: list[Write]) -> str:
        """Which id of a refused batch is taken (stored already, or twice in the batch)."""
        ids = [w.record.id for w in writes]
        stored = self._select("SELECT id FROM memories WHERE tenant = %s AND id = ANY(%s) LIMIT 1", (self.tenant, ids))
        if stored:
            return stored[0]["id"]
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                return i
            seen.add(i)
        return ids[0]

    def _overwrite(self, cur: Any, record: MemoryRecord, index_text: str | None, vector: np.ndarray | None) -> None:
        """Replace the stored row (and its text and vector, when given) with a newer version."""
        row = self._row(record, index_text or "", vector, None)
        sets = [f"{f} = %({f})s" for f in core.FIELDS if f != "id"]
        if index_text is not None:
            sets.append("index_text = %(index_text)s")
        if vector is not None:
            sets.append("embedding = %(embedding)s")
        cur.execute(
            "SELECT rid, user_id, version FROM memories WHERE id = %s AND tenant = %s FOR UPDATE", (record.id, self.tenant)
        )
        found = cur.fetchone()
        if found is None:
            raise NotFoundError(f"no memory with id {record.id!r}")
        core.check_newer(record, found["user_id"], found["version"])
        cur.execute(f"UPDATE memories SET {', '.join(sets)} WHERE rid = %(rid)s", {**row, "rid": found["rid"]})

    def purge(self, *, user_id: str) -> int:
        """Erase every trace of a user: rows, history, links, text and vectors (and,
        with ``purge_vacuum``, VACUUM so the dead tuples leave heap and indexes)."""
        if not user_id:
            raise InvalidInputError("purge needs a user_id")
        with self._tx("purge") as cur:
            cur.execute("SELECT id FROM memories WHERE tenant = %s AND user_id = %s", (self.tenant, user_id))
            ids = [r["id"] for r in cur.fetchall()]
            cur.execute(
                "DELETE FROM history WHERE tenant = %s AND (user_id = %s OR memory_id = ANY(%s))",
                (self.tenant, user_id, ids),
            )
            cur.execute(
                "DELETE FROM links WHERE tenant = %s AND (src = ANY(%s) OR dst = ANY(%s))", (self.tenant, ids, ids)
            )
            cur.execute("DELETE FROM texts WHERE tenant = %s AND user_key = %s", (self.tenant, user_id))
            cur.execute("DELETE FROM text_partitions WHERE tenant = %s AND user_key = %s", (self.tenant, user_id))
            cur.execute("DELETE FROM memories WHERE tenant = %s AND user_id = %s", (self.tenant, user_id))
            self._scrub_audit(cur, user_id, ids)
        self._db.text_index.drop(self.tenant, user_id)
        if self._db.purge_vacuum and ids:
            try:
                with self._db.pool.connection() as conn:
                    conn.execute("VACUUM memories, history, links, audit")
            except psycopg.Error as exc:  # the rows are gone either way; VACUUM only reclaims space
                log.warning("VACUUM after purge failed: %s", exc)
        return len(ids)

    # -- search ----------------------------------------------------------------------
    def _corpus(self) -> tuple[float, float]:
        """(N, mean document length) for BM25: exact for small tables, else the planner's
        row estimate and a 1,000-row sample, cached for a minute."""
        db = self._db
        cached = db.corpus
        if cached is not None and cached[0] >= 1000 and time.monotonic() - cached[2] < 60:
            return cached[0], cached[1]
        row = self._select(
            "SELECT CASE WHEN c.reltuples >= 1000 THEN c.reltuples::float8 "
            "ELSE (SELECT count(*) FROM memories)::float8 END AS n, "
            "(SELECT avg(length(s.tsv)) FROM (SELECT tsv FROM memories LIMIT 1000) s)::float8 AS avgdl "
            "FROM pg_class c WHERE c.oid = 'memories'::regclass"
        )[0]
        n, avgdl = float(row["n"]), max(float(row["avgdl"] or 1.0), 1.0)
        db.corpus = (n, avgdl, time.monotonic())
        return n, avgdl

    def vector_search(self, vector: np.ndarray, query: Query, limit: int) -> list[tuple[str, float]]:
        """Cosine similarity, best first. Small candidate sets (≤ EXACT_SUBSET_LIMIT rows)
        are scanned exactly; larger ones go through the HNSW index (iterative scan), with
        an exact scan as fallback when the filters leave the index short of ``limit``."""
        if self._db.dim is None:
            raise StoreError("check_embedding() must be called before vector search")
        vec = self._vector(vector)
        where, params = self._where(query)
        try:
            with self._db.pool.connection() as conn, conn.cursor() as cur:
                cur.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM memories m WHERE {where} LIMIT %s) s",
                    (*params, EXACT_SUBSET_LIMIT + 1),
                )
                n = cur.fetchone()[0]
                if n == 0:
                    return []
                base = f"SELECT m.id, m.embedding <=> %s AS d FROM memories m WHERE {where} AND m.embedding IS NOT NULL"
                rows: list[tuple[str, float]] = []
                if n > EXACT_SUBSET_LIMIT:
                    cur.execute(
                        f"SELECT id, d FROM ({base} ORDER BY m.embedding <=> %s LIMIT %s) s ORDER BY d",
                        (vec, *params, vec, limit),
                    )
                    rows = cur.fetchall()
                if len(rows) < min(limit, n):  # "+ 0" keeps the planner off the HNSW index: exact
                    cur.execute(f"{base} ORDER BY (m.embedding <=> %s) + 0 LIMIT %s", (vec, *params, vec, limit))
                    rows = cur.fetchall()
        except psycopg.Error as exc:
            raise pg_error(exc, "vector_search") from exc
        return [(i, 1.0 - float(d)) for i, d in rows]

    # -- import / stats ------------------------------------------------------------
    def _dim(self) -> int | None:
        return self._db.dim

    def _import_one(self, cur: Any, p: ParsedItem) -> bool:
        row = self._row(p.record, p.index_text, p.vector, p.fingerprint)
        # no conflict target: a clash on either unique key (id or fingerprint) skips the item, race-free
        cur.execute(self._INSERT + "ON CONFLICT DO NOTHING RETURNING rid", row)
        got = cur.fetchone()
        if got is None:
            return False
        self._history(
            cur, [(h.record, h.op, h.reason, h.actor, h.changed_fields) for h in p.history], audited=False,
            rows={p.record.id: p.record},
        )
        self._audit(cur, [import_audit(p.record)])
        if p.links:
            self._put_links(cur, p.links)
        return True

    def stats(self) -> dict[str, Any]:
        """The tenant's counts, the embedding model, and the schema's size on disk."""
        size = self._select(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm')")[0]["n"]
        return {
            "path": self.path, "tenant": self.tenant, **self._counts(), "size_bytes": int(size),
            "backend": "postgresql", "schema": self._db.schema,
        }
