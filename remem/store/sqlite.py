"""The embedded default store: one SQLite file (WAL), FTS5 for text, vectors in a table.

Every write is one transaction covering the memory row, its history row, its text
index row and its vector, so a crash at any point leaves the file consistent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import uuid
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from remem.errors import EmbeddingMismatchError, InvalidInputError, NotFoundError, StoreError
from remem.models import HistoryEntry, MemoryRecord, Operation, parse_time
from remem.store.base import DEFAULT_TENANT, DOC_FREQ_CAP, SCHEMA_VERSION, Link, Query, Write
from remem.store.common import ParsedItem, encode_vector, parse_export_items
from remem.store.filters import Condition, format_time, parse_filters, read_time
from remem.store.text import fts_query, stem
from remem.store.vector_index import VectorIndex

log = logging.getLogger("remem.store")

APPLICATION_ID = 0x52454D4D  # "REMM"
EXACT_SUBSET_LIMIT = 50_000
_TIME_FIELDS = ("created_at", "updated_at", "event_time", "valid_from", "valid_to", "deleted_at", "last_accessed_at")
_JSON_FIELDS = ("metadata", "source", "keywords", "tags")
_FIELDS = (
    "id", "user_id", "agent_id", "session_id", "kind", "role", "speaker", "content",
    *_TIME_FIELDS, "version", "importance", "strength", "access_count", *_JSON_FIELDS, "context",
)


def scope_token(tenant: str, user_key: str) -> str:
    """One FTS token naming a (tenant, user) partition."""
    return "s" + hashlib.sha1(f"{tenant}\x00{user_key}".encode()).hexdigest()[:20]


class _Database:
    """The connection, its lock and the vector index, shared by all tenant views."""

    def __init__(self, path: Path, hnsw_threshold: int) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.vocab_ready = False  # temp.remem_vocab (fts5vocab over the text index) made on this connection
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                str(path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._open_schema()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable remem store: {exc}") from exc
        self.dim: int | None = None
        self.index: VectorIndex | None = None
        self.hnsw_threshold = hnsw_threshold

    def _open_schema(self) -> None:
        conn = self.conn
        conn.execute("PRAGMA busy_timeout = 30000")
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and tables > 0:
            raise StoreError(f"{self.path} is an SQLite file but not a remem store")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer remem (schema {version} > {SCHEMA_VERSION})")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if tables == 0:
            script = resources.files("remem.store").joinpath("schema.sql").read_text()
            with self.transaction():
                for statement in _split_sql(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        # future: run migrations for version < SCHEMA_VERSION here, in one transaction each

    def transaction(self) -> "_Transaction":
        return _Transaction(self)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception."""

    def __init__(self, db: _Database) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.lock.acquire()
        try:
            self.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            self.db.lock.release()
            raise _store_error(self.db.path, exc) from exc
        except BaseException:
            self.db.lock.release()
            raise
        return self.db.conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.db.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except sqlite3.DatabaseError as err:
            if exc_type is None:
                raise _store_error(self.db.path, err) from err
        finally:
            self.db.lock.release()
        if exc_type is not None and issubclass(exc_type, sqlite3.DatabaseError):
            raise _store_error(self.db.path, exc) from exc  # rolled back: nothing was written


def _store_error(path: Path, exc: BaseException) -> StoreError:
    """A database failure (read-only file, disk full, locked too long) as remem's error."""
    return StoreError(f"{path}: {exc} (nothing was written)")


def _split_sql(script: str) -> list[str]:
    body = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


class SQLiteStore:
    """A tenant-bound view of one SQLite store file."""

    def __init__(
        self,
        path: str | Path,
        *,
        tenant: str = DEFAULT_TENANT,
        hnsw_threshold: int = 20_000,
        _db: _Database | None = None,
    ) -> None:
        if not tenant or not isinstance(tenant, str):
            raise InvalidInputError("tenant must be a non-empty string")
        self.tenant = tenant
        self._db = _db or _Database(Path(path).expanduser(), hnsw_threshold)
        self.path = self._db.path

    # -- lifecycle -------------------------------------------------------------------
    def with_tenant(self, tenant: str) -> "SQLiteStore":
        return SQLiteStore(self.path, tenant=tenant, _db=self._db)

    def close(self) -> None:
        db = self._db
        if db.index is not None:  # before db.lock: save() takes partition locks, and _partition() takes them before db.lock
            db.index.save(self._generation)
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
            elif meta.get("embed_model") != model or int(meta.get("embed_dim", -1)) != dim:
                raise EmbeddingMismatchError(
                    f"{self.path} was built with embedding model {meta.get('embed_model')!r} "
                    f"({meta.get('embed_dim')} dims); this Memory uses {model!r} ({dim} dims). "
                    "Use the same embedder, or export and re-import into a new store."
                )
        if db.index is None:
            db.dim = dim
            db.index = VectorIndex(
                dim, cache_dir=Path(str(self.path) + ".idx"), hnsw_threshold=db.hnsw_threshold, store_id=store_id
            )

    # -- writes ----------------------------------------------------------------------
    def insert(self, writes: list[Write], *, actor: str | None = None) -> list[MemoryRecord]:
        """Insert new memories in one transaction. A write whose ``fingerprint`` is
        already stored is skipped and the stored record returned in its place."""
        if not writes:
            return []
        out: list[MemoryRecord] = []
        with self._db.transaction() as conn:
            for w in writes:
                if w.fingerprint is not None:
                    existing = conn.execute(
                        "SELECT id FROM memories WHERE tenant = ? AND fingerprint = ?", (self.tenant, w.fingerprint)
                    ).fetchone()
                    if existing is not None:
                        out.append(self._get_in(conn, existing[0]))
                        continue
                self._insert_row(conn, w.record, w.index_text, w.vector, w.fingerprint)
                self._history(conn, w.record, Operation.ADD, w.reason, actor, [])
                out.append(w.record)
        return out

    def _get_in(self, conn: sqlite3.Connection, memory_id: str) -> MemoryRecord:
        cur = conn.execute(f"SELECT {', '.join(_FIELDS)} FROM memories WHERE id = ? AND tenant = ?", (memory_id, self.tenant))
        return _from_row(dict(zip([d[0] for d in cur.description], cur.fetchone())))

    def _insert_row(
        self, conn: sqlite3.Connection, rec: MemoryRecord, index_text: str, vector: np.ndarray | None,
        fingerprint: str | None = None,
    ) -> int:
        row = _to_row(rec)
        row["fingerprint"] = fingerprint
        cols = ", ".join(("tenant", *row))
        marks = ", ".join("?" * (len(row) + 1))
        try:
            cur = conn.execute(f"INSERT INTO memories ({cols}) VALUES ({marks})", (self.tenant, *row.values()))
        except sqlite3.IntegrityError as exc:
            raise InvalidInputError(f"a memory with id {rec.id!r} already exists") from exc
        rowid = int(cur.lastrowid)  # type: ignore[arg-type]
        user_key = rec.user_id or ""
        conn.execute(
            "INSERT INTO memories_fts (rowid, text, scope) VALUES (?, ?, ?)",
            (rowid, index_text, scope_token(self.tenant, user_key)),
        )
        if vector is not None:
            self._put_vector(conn, rowid, user_key, vector)
        return rowid

    def _put_vector(self, conn: sqlite3.Connection, rowid: int, user_key: str, vector: np.ndarray) -> None:
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        if self._db.dim is not None and len(blob) != 4 * self._db.dim:
            raise InvalidInputError(f"vector has {len(blob) // 4} dims, store expects {self._db.dim}")
        conn.execute("INSERT OR IGNORE INTO partitions (tenant, user_key) VALUES (?, ?)", (self.tenant, user_key))
        conn.execute("DELETE FROM vectors WHERE mem_rowid = ?", (rowid,))
        conn.execute(
            "INSERT INTO vectors (mem_rowid, tenant, user_key, vec) VALUES (?, ?, ?, ?)",
            (rowid, self.tenant, user_key, blob),
        )

    def _history(
        self,
        conn: sqlite3.Connection,
        rec: MemoryRecord,
        op: Operation,
        reason: str | None,
        actor: str | None,
        changed: list[str],
    ) -> None:
        conn.execute(
            "INSERT INTO history (memory_id, tenant, user_id, version, op, changed_at, reason, actor, "
            "changed_fields, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rec.id, self.tenant, rec.user_id, rec.version, op.value, format_time(rec.updated_at),
                reason, actor, json.dumps(changed), rec.model_dump_json(),
            ),
        )

    def save_version(
        self,
        record: MemoryRecord,
        *,
        op: Operation,
        reason: str | None = None,
        changed_fields: list[str] | None = None,
        index_text: str | None = None,
        vector: np.ndarray | None = None,
        actor: str | None = None,
    ) -> MemoryRecord:
        """Overwrite the current row with ``record`` (a new version) and log it in history."""
        row = _to_row(record)
        row.pop("id")
        assignments = ", ".join(f"{col} = ?" for col in row)
        with self._db.transaction() as conn:
            found = conn.execute(
                "SELECT rowid, user_id, version FROM memories WHERE id = ? AND tenant = ?", (record.id, self.tenant)
            ).fetchone()
            if found is None:
                raise NotFoundError(f"no memory with id {record.id!r}")
            rowid, user_id, version = found
            if user_id != record.user_id:
                raise InvalidInputError("a memory cannot move to another user")
            if record.version <= version:
                raise InvalidInputError(f"version {record.version} is not newer than stored version {version}")
            conn.execute(f"UPDATE memories SET {assignments} WHERE rowid = ?", (*row.values(), rowid))
            if index_text is not None:
                conn.execute("DELETE FROM memories_fts WHERE rowid = ?", (rowid,))
                conn.execute(
                    "INSERT INTO memories_fts (rowid, text, scope) VALUES (?, ?, ?)",
                    (rowid, index_text, scope_token(self.tenant, user_id or "")),
                )
            if vector is not None:
                self._put_vector(conn, rowid, user_id or "", vector)
            self._history(conn, record, op, reason, actor, changed_fields or [])
        return record

    def touch(self, ids: list[str], when: datetime) -> None:
        """Count an access (no new version: access stats are not content)."""
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        with self._db.transaction() as conn:
            conn.execute(
                f"UPDATE memories SET access_count = access_count + 1, last_accessed_at = ? "
                f"WHERE tenant = ? AND id IN ({marks})",
                (format_time(when), self.tenant, *ids),
            )

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
            conn.execute("DELETE FROM history WHERE tenant = ? AND user_id = ?", (self.tenant, user_id))
            for chunk in _chunks(ids, 500):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM history WHERE tenant = ? AND memory_id IN ({marks})", (self.tenant, *chunk))
                conn.execute(
                    f"DELETE FROM links WHERE tenant = ? AND (src IN ({marks}) OR dst IN ({marks}))",
                    (self.tenant, *chunk, *chunk),
                )
            conn.execute("DELETE FROM memories WHERE tenant = ? AND user_id = ?", (self.tenant, user_id))
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
        return len(ids)

    def add_links(self, links: list[Link]) -> None:
        if not links:
            return
        now = format_time(datetime.now().astimezone())
        with self._db.transaction() as conn:
            for link in links:
                conn.execute(
                    "INSERT OR REPLACE INTO links (tenant, src, dst, relation, weight, created_at) VALUES (?,?,?,?,?,?)",
                    (self.tenant, link.src, link.dst, link.relation, link.weight, now),
                )

    # -- reads -----------------------------------------------------------------------
    def _select(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[dict[str, Any]]:
        with self._db.lock:
            try:
                cur = self._db.conn.execute(sql, params)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
            except sqlite3.OperationalError as exc:
                raise StoreError(f"{self._db.path}: {exc}") from exc

    def get(self, memory_id: str) -> MemoryRecord | None:
        rows = self._select(f"SELECT {', '.join(_FIELDS)} FROM memories WHERE id = ? AND tenant = ?", (memory_id, self.tenant))
        return _from_row(rows[0]) if rows else None

    def get_many(self, ids: list[str]) -> list[MemoryRecord]:
        found: dict[str, MemoryRecord] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for row in self._select(
                f"SELECT {', '.join(_FIELDS)} FROM memories WHERE tenant = ? AND id IN ({marks})", (self.tenant, *chunk)
            ):
                found[row["id"]] = _from_row(row)
        return [found[i] for i in ids if i in found]

    def list(self, query: Query, *, limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[MemoryRecord]:
        where, params = self._where(query)
        order = "DESC" if newest_first else "ASC"
        rows = self._select(
            f"SELECT {', '.join('m.' + f for f in _FIELDS)} FROM memories m WHERE {where} "
            f"ORDER BY coalesce(m.event_time, m.created_at) {order}, m.rowid {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_from_row(r) for r in rows]

    def count(self, query: Query) -> int:
        where, params = self._where(query)
        return int(self._select(f"SELECT count(*) AS n FROM memories m WHERE {where}", params)[0]["n"])

    def history(self, memory_id: str) -> list[HistoryEntry]:
        rows = self._select(
            "SELECT * FROM history WHERE memory_id = ? AND tenant = ? ORDER BY hid", (memory_id, self.tenant)
        )
        return [
            HistoryEntry(
                memory_id=r["memory_id"], version=r["version"], op=Operation(r["op"]),
                changed_at=read_time(r["changed_at"]), reason=r["reason"], actor=r["actor"],
                changed_fields=json.loads(r["changed_fields"]), record=MemoryRecord.model_validate_json(r["snapshot"]),
            )
            for r in rows
        ]

    def links(self, memory_id: str) -> list[Link]:
        rows = self._select(
            "SELECT src, dst, relation, weight FROM links WHERE tenant = ? AND (src = ? OR dst = ?)",
            (self.tenant, memory_id, memory_id),
        )
        return [Link(**r) for r in rows]

    # -- search ----------------------------------------------------------------------
    def text_search(self, text: str, query: Query, limit: int) -> list[tuple[str, float]]:
        """BM25 over the indexed text (FTS5), best first; scores are positive.

        FTS5 ranks its matches first (scoped to the user's partition token when there is
        a user), then the best few are joined to the filters; the window widens when
        filters drop too many.
        """
        match = fts_query(text)
        if not match:
            return []
        if query.user_id is not None:
            match = f"text : ({match}) AND scope : {scope_token(self.tenant, query.user_id)}"
        else:
            match = f"text : ({match})"
        where, params = self._where(query)
        window = limit * 4 if query.only_scope else limit * 16
        while True:
            rows = self._select(
                "SELECT m.id AS id, f.s AS s FROM (SELECT rowid, bm25(memories_fts, 1.0, 0.0) AS s FROM memories_fts "
                "WHERE memories_fts MATCH ? ORDER BY s LIMIT ?) AS f "
                f"JOIN memories m ON m.rowid = f.rowid WHERE {where} ORDER BY f.s LIMIT ?",
                (match, window, *params, limit),
            )
            if len(rows) >= limit or window >= 1_000_000 or not self._more_matches(match, window):
                return [(r["id"], -float(r["s"])) for r in rows]
            window *= 8

    def index_entries(self, ids: list[str], vectors_for: set[str] | None = None) -> dict[str, tuple[str, np.ndarray | None]]:
        out: dict[str, tuple[str, np.ndarray | None]] = {}
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            rows = self._select(
                "SELECT m.id AS id, f.text AS text FROM memories m LEFT JOIN memories_fts f ON f.rowid = m.rowid "
                f"WHERE m.tenant = ? AND m.id IN ({marks})",
                (self.tenant, *chunk),
            )
            for r in rows:
                out[r["id"]] = (r["text"] or "", None)
        wanted = [i for i in ids if i in out and (vectors_for is None or i in vectors_for)]
        for chunk in _chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            for r in self._select(
                f"SELECT m.id AS id, v.vec AS vec FROM memories m JOIN vectors v ON v.mem_rowid = m.rowid WHERE m.tenant = ? AND m.id IN ({marks})",
                (self.tenant, *chunk),
            ):
                out[r["id"]] = (out[r["id"]][0], np.frombuffer(r["vec"], dtype=np.float32))
        return out

    def doc_freqs(self, words: list[str]) -> tuple[int, dict[str, int]]:
        """From FTS5's own vocabulary (fts5vocab, one index lookup per word): rows holding each
        word's Porter stem, over the whole table as FTS5's bm25() counts them."""
        top = self._select("SELECT rowid AS n FROM memories_fts ORDER BY rowid DESC LIMIT 1", ())
        n_docs = int(top[0]["n"]) if top else 0
        stems = {w: stem(w) for w in words}
        db = self._db
        if not db.vocab_ready:
            with db.lock:
                db.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.remem_vocab USING fts5vocab(main, memories_fts, 'row')")
            db.vocab_ready = True
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(stems.values()))
        for chunk in _chunks(unique, 500):
            marks = ",".join("?" * len(chunk))
            for r in self._select(f"SELECT term, doc FROM temp.remem_vocab WHERE term IN ({marks})", chunk):
                found[r["term"]] = min(int(r["doc"]), DOC_FREQ_CAP)
        return n_docs, {w: found.get(s, 0) for w, s in stems.items()}

    def _more_matches(self, match: str, window: int) -> bool:
        rows = self._select("SELECT count(*) AS n FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH ? LIMIT ?)", (match, window + 1))
        return int(rows[0]["n"]) > window

    def vector_search(self, vector: np.ndarray, query: Query, limit: int) -> list[tuple[str, float]]:
        """Cosine similarity, best first, over the partitions the query's scope allows."""
        db = self._db
        if db.index is None:
            raise StoreError("check_embedding() must be called before vector search")
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        results: list[tuple[int, float]] = []
        if not query.only_scope:  # filtered: a small candidate set is scanned exactly, partition by partition
            subset = self._candidate_rowids(query, EXACT_SUBSET_LIMIT + 1)
            if len(subset) <= EXACT_SUBSET_LIMIT:
                by_user: dict[str, list[int]] = {}
                for rowid, user_key in subset:
                    by_user.setdefault(user_key, []).append(rowid)
                for user_key, rowids in by_user.items():
                    part = self._partition(user_key)
                    if part is not None:
                        results.extend(part.impl.search_subset(vector, rowids, limit))
                results.sort(key=lambda kv: -kv[1])
                return self._ids_for(results[:limit])
        keys = [query.user_id] if query.user_id is not None else self._user_keys()
        for user_key in keys:
            part = self._partition(user_key)
            if part is not None:
                results.extend(self._index_search(part, vector, query, limit))
        results.sort(key=lambda kv: -kv[1])
        return self._ids_for(results[:limit])

    def _index_search(self, part: Any, vector: np.ndarray, query: Query, limit: int) -> list[tuple[int, float]]:
        want = limit * 2 + 10
        while True:
            found = part.impl.search(vector, want)
            alive = self._filter_rowids([k for k, _ in found], query)
            kept = [(k, s) for k, s in found if k in alive]
            if len(kept) >= limit or len(found) < want:
                return kept[:limit]
            want *= 4

    def _partition(self, user_key: str) -> Any:
        db = self._db
        with db.lock:
            state = db.conn.execute(
                "SELECT p.generation, (SELECT max(seq) FROM vectors v WHERE v.tenant = p.tenant AND v.user_key = p.user_key) "
                "FROM partitions p WHERE p.tenant = ? AND p.user_key = ?",
                (self.tenant, user_key),
            ).fetchone()
        if state is None:
            return None

        def delta(after: int) -> list[tuple[int, int, bytes]]:
            with db.lock:
                return db.conn.execute(
                    "SELECT seq, mem_rowid, vec FROM vectors WHERE tenant = ? AND user_key = ? AND seq > ? ORDER BY seq",
                    (self.tenant, user_key, after),
                ).fetchall()

        def row_at(seq: int) -> tuple[int, bytes] | None:
            with db.lock:
                row = db.conn.execute(
                    "SELECT mem_rowid, vec FROM vectors WHERE tenant = ? AND user_key = ? AND seq = ?",
                    (self.tenant, user_key, seq),
                ).fetchone()
            return (row[0], row[1]) if row else None

        assert db.index is not None
        return db.index.partition((self.tenant, user_key), (state[0], state[1] or 0), delta, row_at)

    def _user_keys(self) -> list[str]:
        return [r["user_key"] for r in self._select("SELECT user_key FROM partitions WHERE tenant = ?", (self.tenant,))]

    def _candidate_rowids(self, query: Query, cap: int) -> list[tuple[int, str]]:
        """(rowid, partition user_key) of up to ``cap`` rows the query allows."""
        where, params = self._where(query)
        rows = self._select(
            f"SELECT m.rowid AS rowid, coalesce(m.user_id, '') AS k FROM memories m WHERE {where} LIMIT ?", (*params, cap)
        )
        return [(r["rowid"], r["k"]) for r in rows]

    def _filter_rowids(self, rowids: list[int], query: Query) -> set[int]:
        if not rowids:
            return set()
        where, params = self._where(query)
        alive: set[int] = set()
        for chunk in _chunks(rowids, 500):
            marks = ",".join("?" * len(chunk))
            alive.update(
                r["rowid"]
                # NOT INDEXED: look the few candidate rows up by rowid instead of letting the
                # planner walk the user's whole (tenant, user_id) index range
                for r in self._select(
                    f"SELECT m.rowid AS rowid FROM memories m NOT INDEXED WHERE m.rowid IN ({marks}) AND {where}",
                    (*chunk, *params),
                )
            )
        return alive

    def _ids_for(self, scored: list[tuple[int, float]]) -> list[tuple[str, float]]:
        if not scored:
            return []
        marks = ",".join("?" * len(scored))
        ids = {r["rowid"]: r["id"] for r in self._select(f"SELECT rowid, id FROM memories WHERE rowid IN ({marks})", [k for k, _ in scored])}
        return [(ids[k], s) for k, s in scored if k in ids]

    def _where(self, query: Query) -> tuple[str, list[Any]]:
        clauses = ["m.tenant = ?"]
        params: list[Any] = [self.tenant]
        for column in ("user_id", "agent_id", "session_id"):
            value = getattr(query, column)
            if value is not None:
                clauses.append(f"m.{column} = ?")
                params.append(value)
        if not query.include_deleted:
            clauses.append("m.deleted_at IS NULL")
        if query.kinds:
            clauses.append(f"m.kind IN ({','.join('?' * len(query.kinds))})")
            params.extend(k.value for k in query.kinds)
        if query.ids is not None:
            clauses.append(f"m.id IN ({','.join('?' * len(query.ids))})" if query.ids else "0")
            params.extend(query.ids)
        if query.time_range:
            start, end = query.time_range
            if start is not None:
                clauses.append("m.event_time >= ?")
                params.append(format_time(start))
            if end is not None:
                clauses.append("m.event_time <= ?")
                params.append(format_time(end))
        if query.not_ended_at is not None:
            clauses.append("(m.valid_to IS NULL OR m.valid_to > ?)")
            params.append(format_time(query.not_ended_at))
        if query.valid_at is not None:
            at = format_time(query.valid_at)
            clauses.append("(m.valid_from IS NULL OR m.valid_from <= ?) AND (m.valid_to IS NULL OR m.valid_to > ?)")
            params.extend([at, at])
        for cond in parse_filters(query.filters):
            sql, values = _condition_sql(cond)
            clauses.append(sql)
            params.extend(values)
        return " AND ".join(clauses), params

    # -- API keys (admin: not tenant-bound; the key decides the tenant) ------------------
    def create_api_key(self, key_hash: str, tenant: str, name: str | None = None) -> None:
        with self._db.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO api_keys (key_hash, tenant, name, created_at) VALUES (?, ?, ?, ?)",
                    (key_hash, tenant, name, format_time(datetime.now().astimezone())),
                )
            except sqlite3.IntegrityError:
                raise InvalidInputError("that API key already exists") from None

    def import_api_key(self, row: dict[str, Any]) -> bool:
        """Copy one :meth:`list_api_keys` row verbatim (timestamps kept); False if present."""
        created = parse_time(row["created_at"], field="created_at")
        revoked = parse_time(row.get("revoked_at"), field="revoked_at")
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO api_keys (key_hash, tenant, name, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)",
                (row["key_hash"], row["tenant"], row.get("name"), format_time(created), format_time(revoked)),
            )
            return cur.rowcount > 0

    def tenants(self) -> list[str]:
        """Every tenant with memories or API keys in this store (admin operation)."""
        rows = self._select(
            "SELECT tenant FROM memories UNION SELECT tenant FROM history UNION SELECT tenant FROM links "
            "UNION SELECT tenant FROM api_keys ORDER BY 1", ())
        return [r["tenant"] for r in rows]

    def resolve_api_key(self, key_hash: str) -> str | None:
        rows = self._select("SELECT tenant FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,))
        return rows[0]["tenant"] if rows else None

    def list_api_keys(self) -> list[dict[str, Any]]:
        return self._select("SELECT key_hash, tenant, name, created_at, revoked_at FROM api_keys ORDER BY created_at", ())

    def revoke_api_key(self, key_hash: str) -> bool:
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL",
                (format_time(datetime.now().astimezone()), key_hash),
            )
            return cur.rowcount > 0

    # -- export / import / stats -----------------------------------------------------
    def export(self, query: Query) -> Iterator[dict[str, Any]]:
        """Every matching memory (deleted ones too) with its history, index text, vector and links."""
        q = Query(**{**query.__dict__, "include_deleted": True})
        where, params = self._where(q)
        last = 0
        while True:
            rows = self._select(
                f"SELECT m.rowid AS _rowid, m.fingerprint AS _fp, {', '.join('m.' + f for f in _FIELDS)}, f.text AS _text, v.vec AS _vec "
                "FROM memories m LEFT JOIN memories_fts f ON f.rowid = m.rowid LEFT JOIN vectors v ON v.mem_rowid = m.rowid "
                f"WHERE {where} AND m.rowid > ? ORDER BY m.rowid LIMIT 500",
                (*params, last),
            )
            if not rows:
                return
            for row in rows:
                last = row.pop("_rowid")
                text, vec, fingerprint = row.pop("_text"), row.pop("_vec"), row.pop("_fp")
                record = _from_row(row)
                yield {
                    "record": record.model_dump(mode="json"),
                    "index_text": text,
                    "fingerprint": fingerprint,
                    "vector": encode_vector(vec),
                    "history": [h.model_dump(mode="json") for h in self.history(record.id)],
                    "links": [link.__dict__ for link in self.links(record.id) if link.src == record.id],
                }

    def import_item(self, item: dict[str, Any]) -> bool:
        """Insert one exported item verbatim; False if its id or fingerprint is already here."""
        return self.import_items([item])[0] == 1

    def import_items(self, items: list[dict[str, Any]]) -> tuple[int, int]:
        """Insert exported items verbatim in one transaction; returns (added, skipped).

        Every item is checked before anything is written, so a bad one changes nothing.
        An item whose id or fingerprint is already in this tenant is skipped.
        """
        parsed = parse_export_items(items, dim=self._dim())
        added = 0
        with self._db.transaction() as conn:
            for p in parsed:
                added += self._import_one(conn, p)
        return added, len(parsed) - added

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
        for h in p.history:
            self._history(conn, h.record, h.op, h.reason, h.actor, h.changed_fields)
        now = format_time(datetime.now().astimezone())
        for link in p.links:
            conn.execute(
                "INSERT OR REPLACE INTO links (tenant, src, dst, relation, weight, created_at) VALUES (?,?,?,?,?,?)",
                (self.tenant, link.src, link.dst, link.relation, link.weight, now),
            )
        return True

    def stats(self) -> dict[str, Any]:
        t = (self.tenant,)
        by_kind = {r["kind"]: r["n"] for r in self._select(
            "SELECT kind, count(*) AS n FROM memories WHERE tenant = ? AND deleted_at IS NULL GROUP BY kind", t)}
        one = self._select(
            "SELECT count(*) AS total, sum(deleted_at IS NOT NULL) AS deleted, count(DISTINCT user_id) AS users, "
            "count(DISTINCT session_id) AS sessions FROM memories WHERE tenant = ?", t)[0]
        meta = dict((r["key"], r["value"]) for r in self._select("SELECT key, value FROM meta", ()))
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {
            "path": str(self.path),
            "backend": "sqlite",
            "tenant": self.tenant,
            "memories": int(one["total"] or 0) - int(one["deleted"] or 0),
            "deleted": int(one["deleted"] or 0),
            "users": int(one["users"] or 0),
            "sessions": int(one["sessions"] or 0),
            "by_kind": by_kind,
            "history_entries": self._select("SELECT count(*) AS n FROM history WHERE tenant = ?", t)[0]["n"],
            "links": self._select("SELECT count(*) AS n FROM links WHERE tenant = ?", t)[0]["n"],
            "embed_model": meta.get("embed_model"),
            "embed_dim": int(meta["embed_dim"]) if "embed_dim" in meta else None,
            "schema_version": SCHEMA_VERSION,
            "size_bytes": size,
        }


def _condition_sql(cond: Condition) -> tuple[str, list[Any]]:
    if cond.column is not None:
        expr = f"m.{cond.column}"
    else:
        path = "$" + "".join(f'."{p}"' for p in cond.path)
        expr = f"json_extract(m.metadata, '{path}')"
    if cond.op in ("IN", "NOT IN"):
        return f"{expr} {cond.op} ({','.join('?' * len(cond.value))})", list(cond.value)
    if cond.value is None:
        return (f"{expr} IS NULL" if cond.op == "=" else f"{expr} IS NOT NULL"), []
    return f"{expr} {cond.op} ?", [cond.value]


def _to_row(rec: MemoryRecord) -> dict[str, Any]:
    data = rec.model_dump()
    row: dict[str, Any] = {}
    for field in _FIELDS:
        value = data[field]
        if field in _TIME_FIELDS:
            value = format_time(value)
        elif field in _JSON_FIELDS:
            value = json.dumps(value, ensure_ascii=False, default=str)
        elif field == "kind":
            value = rec.kind.value
        row[field] = value
    return row


def _from_row(row: dict[str, Any]) -> MemoryRecord:
    data = dict(row)
    for field in _TIME_FIELDS:
        data[field] = read_time(data[field])
    for field in _JSON_FIELDS:
        data[field] = json.loads(data[field])
    return MemoryRecord.from_store(data)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

