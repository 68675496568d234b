"""Vector search for :class:`~remem.store.sqlite.SQLiteStore`: the derived usearch/numpy index,
one partition per (tenant, user), with an exact scan of small filtered candidate sets; and how
vectors are encoded in the ``vectors`` table (the store's codec, :mod:`remem.store.codec`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlite3

import numpy as np

from remem.errors import InvalidInputError, StoreError
from remem.store import codec
from remem.store.base import Query, VectorPartition
from remem.store.sqlbase import chunks
from remem.store.sqlite_db import Database

EXACT_SUBSET_LIMIT = 50_000


class SQLiteVectorSearch:
    """``vector_search`` and its helpers; the store provides ``_db``, ``tenant``, ``_select``, ``_where``."""

    _db: Database
    tenant: str

    if TYPE_CHECKING:  # provided by the store
        def _select(self, sql: str, params: Any) -> list[dict[str, Any]]: ...
        def _where(self, query: Query) -> tuple[str, list[Any]]: ...
        def _dim(self) -> int | None: ...

    # -- encoding ----------------------------------------------------------------------
    def _codec_name(self, conn: sqlite3.Connection) -> str:
        """The store's vector codec, read inside the caller's transaction (so a conversion by
        another process is seen at once); a store without one is float32."""
        row = conn.execute("SELECT value FROM meta WHERE key = 'vector_codec'").fetchone()
        return row[0] if row else codec.FLOAT32

    def _vector_blob(self, conn: sqlite3.Connection, vector: np.ndarray, codec_name: str | None = None) -> bytes:
        """``vector`` as a blob in the store's codec (``codec_name``, else read in ``conn``'s transaction)."""
        vec = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        dim = self._db.dim
        if dim is not None and vec.shape[0] != dim:
            raise InvalidInputError(f"vector has {vec.shape[0]} dims, store expects {dim}")
        return codec.encode(vec, codec_name or self._codec_name(conn))

    def _graph_dtype(self) -> str:
        """What this store's HNSW graphs hold: int8 for an int8 store, float16 for a float32 one."""
        rows = self._select("SELECT value FROM meta WHERE key = 'vector_codec'", ())
        return codec.GRAPH_DTYPE.get(rows[0]["value"] if rows else codec.FLOAT32, "f16")

    def _decode_vector(self, blob: bytes) -> np.ndarray:
        """A stored blob as float32 (either format)."""
        dim = self._dim()
        return np.frombuffer(blob, dtype=np.float32) if dim is None else codec.decode(blob, dim)

    def vector_search(self, vector: np.ndarray, query: Query, limit: int) -> list[tuple[str, float]]:
        """Cosine similarity, best first, over the partitions the query's scope allows."""
        db = self._db
        if db.index is None:
            raise StoreError("check_embedding() must be called before vector search")
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        results: list[tuple[int, float]] = []
        if not query.only_scope and not query.scope_and_validity:
            # filtered: a small candidate set is scanned exactly, partition by partition
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
        found: list[tuple[str, float]] = []
        for user_key in keys:
            part = self._partition(user_key)
            if part is not None:
                found.extend(self._index_search(part, user_key, vector, query, limit))
        found.sort(key=lambda kv: -kv[1])
        return found[:limit]

    def _index_search(
        self, part: VectorPartition, user_key: str, vector: np.ndarray, query: Query, limit: int
    ) -> list[tuple[str, float]]:
        # ask the index for enough hits that the filters leave ``limit``: archived and deleted rows
        # stay in the derived index, so a partition that is mostly archived needs a deeper walk
        key = (self.tenant, user_key)
        share = self._db.alive.get(key, 1.0)
        want = min(int((limit * 2 + 10) / max(share, 0.02)), 100_000)
        while True:
            found = part.impl.search(vector, want)
            alive = self._alive_ids([k for k, _ in found], query)
            kept = [(alive[k], s) for k, s in found if k in alive]
            if found:
                self._db.alive[key] = max(len(kept) / len(found), 0.02)
            if len(kept) >= limit or len(found) < want:
                return kept[:limit]
            want *= 4

    def _partition(self, user_key: str) -> VectorPartition | None:
        """The up-to-date index partition of one user of this tenant (None if it has no vectors)."""
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

        def vectors_of(keys: list[int]) -> list[tuple[int, bytes]]:
            rows: list[tuple[int, bytes]] = []
            with db.lock:
                for chunk in chunks(keys, 500):
                    rows.extend(db.conn.execute(  # by the mem_rowid index (``+``: not the partition's, a scan of it)
                        f"SELECT mem_rowid, vec FROM vectors WHERE mem_rowid IN ({','.join('?' * len(chunk))}) "
                        "AND +tenant = ? AND +user_key = ?",
                        (*chunk, self.tenant, user_key),
                    ))
            return rows

        assert db.index is not None
        return db.index.partition((self.tenant, user_key), (state[0], state[1] or 0), delta, row_at, vectors_of)

    def _user_keys(self) -> list[str]:
        return [r["user_key"] for r in self._select("SELECT user_key FROM partitions WHERE tenant = ?", (self.tenant,))]

    def _candidate_rowids(self, query: Query, cap: int) -> list[tuple[int, str]]:
        """(rowid, partition user_key) of up to ``cap`` rows the query allows."""
        where, params = self._where(query)
        rows = self._select(
            f"SELECT m.rowid AS rowid, coalesce(m.user_id, '') AS k FROM memories m WHERE {where} LIMIT ?", (*params, cap)
        )
        return [(r["rowid"], r["k"]) for r in rows]

    def _alive_ids(self, rowids: list[int], query: Query) -> dict[int, str]:
        """{rowid: memory id} of the rows the query's filters keep (one statement per 500)."""
        if not rowids:
            return {}
        where, params = self._where(query)
        alive: dict[int, str] = {}
        for chunk in chunks(rowids, 500):
            marks = ",".join("?" * len(chunk))
            alive.update(
                (r["rowid"], r["id"])
                # NOT INDEXED: look the few candidate rows up by rowid instead of letting the
                # planner walk the user's whole (tenant, user_id) index range
                for r in self._select(
                    f"SELECT m.rowid AS rowid, m.id AS id FROM memories m NOT INDEXED WHERE m.rowid IN ({marks}) AND {where}",
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
