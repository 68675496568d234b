"""The embedded default store: one SQLite file (WAL), FTS5 for text, vectors in a table.

Every write is one transaction covering the memory row, its history row, its text
index row and its vector, so a crash at any point leaves the file consistent.
The SQL it shares with PostgreSQL lives in :mod:`remem.store.sqlbase` and :mod:`remem.store.sql`;
the file itself in :mod:`remem.store.sqlite_db`, vector search in :mod:`remem.store.sqlite_vectors`,
text search in :mod:`remem.store.sqlite_text`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from remem.errors import InvalidInputError, NotFoundError, StoreError
from remem.models import MemoryRecord, Operation
from remem.store import sql
from remem.store.base import DEFAULT_TENANT, DOC_FREQ_CAP, Query, Write
from remem.store.codec import DEFAULT_CODEC
from remem.store.common import ParsedItem
from remem.store.dialect import SQLITE
from remem.store.sqlbase import SQLStoreBase, chunks, import_audit
from remem.store.sqlite_db import APPLICATION_ID, Database, Transaction
from remem.store.sqlite_text import SQLiteTextSearch
from remem.store.sqlite_vectors import EXACT_SUBSET_LIMIT, SQLiteVectorSearch
from remem.store.vector_index import VectorIndex, check_large_index

__all__ = ["APPLICATION_ID", "EXACT_SUBSET_LIMIT", "SQLiteStore", "scope_token"]


def scope_token(tenant: str, user_key: str) -> str:
    """One FTS token naming a (tenant, user) partition."""
    return "s" + hashlib.sha1(f"{tenant}\x00{user_key}".encode()).hexdigest()[:20]


class SQLiteStore(SQLiteTextSearch, SQLiteVectorSearch, SQLStoreBase):
    """A tenant-bound view of one SQLite store file."""

    dialect = SQLITE
    _EXPORT_SELECT = (
        f"m.rowid AS _rowid, m.fingerprint AS _fp, {sql.MCOLS}, f.text AS _text, v.vec AS _vec "
        "FROM memories m LEFT JOIN memories_fts f ON f.rowid = m.rowid LEFT JOIN vectors v ON v.mem_rowid = m.rowid"
    )

    def __init__(
        self,
        path: str | Path,
        *,
        tenant: str = DEFAULT_TENANT,
        hnsw_threshold: int = 20_000,
        large_partitions: str = "auto",
        pq_threshold: int | None = None,
        _db: Database | None = None,
    ) -> None:
        """A partition past ``hnsw_threshold`` vectors is searched with an HNSW graph, and past
        ``pq_threshold`` (default :data:`~remem.store.pq_index.PQ_THRESHOLD`) with product-quantized
        codes re-ranked exactly (``large_partitions="pq"``; the default ``"auto"`` is that when faiss
        is installed, as it is with remem: recall@10 0.99 at 1M where the graph keeps 0.85);
        ``large_partitions="hnsw"`` keeps the graph at any size."""
        if not tenant or not isinstance(tenant, str):
            raise InvalidInputError("tenant must be a non-empty string")
        if _db is None:
            check_large_index(large_partitions)
        self.tenant = tenant
        self._db = _db or Database(Path(path).expanduser(), hnsw_threshold, large_partitions, pq_threshold)
        self.path = self._db.path

    # -- plumbing --------------------------------------------------------------------
    def _select(self, statement: str, params: tuple[Any, ...] | list[Any]) -> list[dict[str, Any]]:
        with self._db.lock:
            try:
                cur = self._db.conn.execute(statement, params)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
            except sqlite3.OperationalError as exc:
                raise StoreError(f"{self._db.path}: {exc}") from exc

    def _write(self, what: str = "write") -> Transaction:
        """One ``BEGIN IMMEDIATE`` transaction; yields the connection."""
        return self._db.transaction()

    # -- lifecycle -------------------------------------------------------------------
    def with_tenant(self, tenant: str) -> "SQLiteStore":
        return SQLiteStore(self.path, tenant=tenant, _db=self._db)

    def close(self) -> None:
        db = self._db
        if db.index is not None:  # before db.lock: save() takes partition locks, and _partition() takes them before db.lock
            db.index.save(self._generation)
        db.text_index.save(self._generation)
        with db.lock:
            db.conn.close()

    def _generation(self, key: tuple[str, str]) -> int | None:
        """The stored generation of a (tenant, user_key) partition; None if it is gone."""
        rows = self._select("SELECT generation FROM partitions WHERE tenant = ? AND user_key = ?", key)
        return int(rows[0]["generation"]) if rows else None

    def check_embedding(self, model: str, dim: int) -> None:
        """Record the store's embedding model on first use; refuse any other later."""
        db = self._db
        with db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
            store_id = conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0]
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('embed_model','embed_dim')"))
            if not meta:
                conn.execute("INSERT INTO meta VALUES ('embed_model', ?), ('embed_dim', ?)", (model, str(dim)))
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('vector_codec', ?)", (DEFAULT_CODEC,))  # new store: int8
            else:
                sql.check_same_embedding(str(self.path), meta, model, dim)
        db.text_index.bind(Path(str(self.path) + ".idx"), store_id)
        if db.index is None:
            db.dim = dim
            db.index = VectorIndex(
                dim, cache_dir=Path(str(self.path) + ".idx"), hnsw_threshold=db.hnsw_threshold, store_id=store_id,
                hnsw_dtype=self._graph_dtype(), large_index=db.large_index, pq_threshold=db.pq_threshold,
            )

    # -- writes ----------------------------------------------------------------------
    def insert(self, writes: list[Write], *, actor: str | None = None) -> list[MemoryRecord]:
        """Insert new memories in one transaction. A write whose ``fingerprint`` is
        already stored is skipped and the stored record returned in its place."""
        if not writes:
            return []
        out: list[MemoryRecord] = []
        with self._db.transaction() as conn:
            codec_name = self._codec_name(conn)  # read once per transaction: nothing can change it meanwhile
            users: set[str] = set()
            for w in writes:
                if w.fingerprint is not None:
                    existing = conn.execute(
                        "SELECT id FROM memories WHERE tenant = ? AND fingerprint = ?", (self.tenant, w.fingerprint)
                    ).fetchone()
                    if existing is not None:
                        out.append(self._get_in(conn, existing[0]))
                        continue
                self._insert_row(conn, w.record, w.index_text, w.vector, w.fingerprint, codec_name=codec_name, users=users)
                self._history(conn, [(w.record, Operation.ADD, w.reason, actor, [])], rows={w.record.id: w.record})
                out.append(w.record)
        return out

    def _get_in(self, conn: sqlite3.Connection, memory_id: str) -> MemoryRecord:
        cur = conn.execute(f"SELECT {sql.COLS} FROM memories WHERE id = ? AND tenant = ?", (memory_id, self.tenant))
        return sql.from_row(dict(zip([d[0] for d in cur.description], cur.fetchone())), SQLITE)

    def _insert_row(
        self, conn: sqlite3.Connection, rec: MemoryRecord, index_text: str, vector: np.ndarray | None,
        fingerprint: str | None = None, *, codec_name: str | None = None, users: set[str] | None = None,
    ) -> int:
        """Insert one memory with its text and vector. ``codec_name`` (the store's vector codec) and
        ``users`` (partitions already registered in this transaction) spare a batch repeated reads."""
        row = sql.to_row(rec, SQLITE)
        row["fingerprint"] = fingerprint
        cols = ", ".join(("tenant", *row))
        marks = ", ".join("?" * (len(row) + 1))
        try:
            cur = conn.execute(f"INSERT INTO memories ({cols}) VALUES ({marks})", (self.tenant, *row.values()))
        except sqlite3.IntegrityError as exc:
            raise InvalidInputError(f"a memory with id {rec.id!r} already exists") from exc
        rowid = int(cur.lastrowid)  # type: ignore[arg-type]
        user_key = rec.user_id or ""
        if users is None or user_key not in users:
            conn.execute("INSERT OR IGNORE INTO partitions (tenant, user_key) VALUES (?, ?)", (self.tenant, user_key))
            if users is not None:
                users.add(user_key)
        self._put_text(conn, rowid, user_key, index_text, replace=False, partition_known=True)
        if vector is not None:
            self._put_vector(conn, rowid, user_key, vector, codec_name=codec_name, partition_known=True)
        return rowid

    def _put_text(
        self, conn: sqlite3.Connection, rowid: int, user_key: str, index_text: str, *, replace: bool,
        partition_known: bool = False,
    ) -> None:
        """The row's indexed text (FTS5) and its entry in the ``texts`` log the derived text index
        follows (``OR REPLACE``: a row indexed again gets a new seq, as after a delete)."""
        if replace:
            conn.execute("DELETE FROM memories_fts WHERE rowid = ?", (rowid,))
        conn.execute(
            "INSERT INTO memories_fts (rowid, text, scope) VALUES (?, ?, ?)",
            (rowid, index_text, scope_token(self.tenant, user_key)),
        )
        if not partition_known:
            conn.execute("INSERT OR IGNORE INTO partitions (tenant, user_key) VALUES (?, ?)", (self.tenant, user_key))
        conn.execute("INSERT OR REPLACE INTO texts (mem_rowid, tenant, user_key) VALUES (?, ?, ?)", (rowid, self.tenant, user_key))

    def _put_vector(
        self, conn: sqlite3.Connection, rowid: int, user_key: str, vector: np.ndarray, *,
        codec_name: str | None = None, partition_known: bool = False,
    ) -> None:
        blob = self._vector_blob(conn, vector, codec_name)  # in the store's codec (sqlite_vectors.py)
        if not partition_known:
            conn.execute("INSERT OR IGNORE INTO partitions (tenant, user_key) VALUES (?, ?)", (self.tenant, user_key))
        conn.execute(  # OR REPLACE: a new vector of the row gets a new seq, as after a delete
            "INSERT OR REPLACE INTO vectors (mem_rowid, tenant, user_key, vec) VALUES (?, ?, ?, ?)",
            (rowid, self.tenant, user_key, blob),
        )

    def _overwrite(self, conn: sqlite3.Connection, record: MemoryRecord, index_text: str | None, vector: np.ndarray | None) -> None:
        """Replace the stored row (and its text and vector, when given) with a newer version."""
        row = sql.to_row(record, SQLITE)
        row.pop("id")
        assignments = ", ".join(f"{col} = ?" for col in row)
        found = conn.execute(
            "SELECT rowid, user_id, version FROM memories WHERE id = ? AND tenant = ?", (record.id, self.tenant)
        ).fetchone()
        if found is None:
            raise NotFoundError(f"no memory with id {record.id!r}")
        rowid, user_id, version = found
        sql.check_newer(record, user_id, version)
        conn.execute(f"UPDATE memories SET {assignments} WHERE rowid = ?", (*row.values(), rowid))
        if index_text is not None:
            self._put_text(conn, rowid, user_id or "", index_text, replace=True)
        if vector is not None:
            self._put_vector(conn, rowid, user_id or "", vector)

    def purge(self, *, user_id: str) -> int:
        """Erase every trace of a user: rows, history, links, text and vector indexes."""
        if not user_id:
            raise InvalidInputError("purge needs a user_id")
        db = self._db
        with db.transaction() as conn:
            conn.execute("PRAGMA secure_delete = ON")
            ids = [r[0] for r in conn.execute("SELECT id FROM memories WHERE tenant = ? AND user_id = ?", (self.tenant, user_id))]
            conn.execute(
                "DELETE FROM memories_fts WHERE rowid IN (SELECT rowid FROM memories WHERE tenant = ? AND user_id = ?)",
                (self.tenant, user_id),
            )
            conn.execute("DELETE FROM vectors WHERE tenant = ? AND user_key = ?", (self.tenant, user_id))
            conn.execute("DELETE FROM texts WHERE tenant = ? AND user_key = ?", (self.tenant, user_id))
            conn.execute("DELETE FROM history WHERE tenant = ? AND user_id = ?", (self.tenant, user_id))
            for chunk in chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM history WHERE tenant = ? AND memory_id IN ({marks})", (self.tenant, *chunk))
                conn.execute(
                    f"DELETE FROM links WHERE tenant = ? AND (src IN ({marks}) OR dst IN ({marks}))",
                    (self.tenant, *chunk, *chunk),
                )
            conn.execute("DELETE FROM memories WHERE tenant = ? AND user_id = ?", (self.tenant, user_id))
            self._scrub_audit(conn, user_id, ids)
            conn.execute(
                "UPDATE partitions SET generation = generation + 1 WHERE tenant = ? AND user_key = ?",
                (self.tenant, user_id),
            )
        with db.lock:
            db.conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('optimize')")
            db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.conn.execute("PRAGMA secure_delete = OFF")
            if db.index is not None:
                db.index.drop(self.tenant, user_id)
            db.text_index.drop(self.tenant, user_id)
        return len(ids)

    # -- reads -----------------------------------------------------------------------
    # -- import / stats ------------------------------------------------------------
    def _dim(self) -> int | None:
        if self._db.dim is None:
            rows = self._select("SELECT value FROM meta WHERE key = 'embed_dim'", ())
            return int(rows[0]["value"]) if rows else None
        return self._db.dim

    def _import_one(self, conn: sqlite3.Connection, p: ParsedItem) -> bool:
        rec = p.record
        if conn.execute(
            "SELECT 1 FROM memories WHERE tenant = ? AND (id = ? OR fingerprint = ?)", (self.tenant, rec.id, p.fingerprint)
        ).fetchone():
            return False
        self._insert_row(conn, rec, p.index_text, p.vector, p.fingerprint)
        self._history(
            conn, [(h.record, h.op, h.reason, h.actor, h.changed_fields) for h in p.history], audited=False, rows={rec.id: rec}
        )
        self._audit(conn, [import_audit(rec)])
        if p.links:
            self._put_links(conn, p.links)
        return True

    def stats(self) -> dict[str, Any]:
        """The tenant's counts, the embedding model, and the file's size on disk (WAL and index caches too)."""
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {"path": str(self.path), "backend": "sqlite", "tenant": self.tenant, **self._counts(), "size_bytes": size}
