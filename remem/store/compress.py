"""Convert an SQLite store's float32 vectors to int8 (per-vector scale), in place and resumably.

    from remem.store.compress import compress_vectors
    report = compress_vectors(store)   # {"converted": 25000, "bytes_before": ..., ...}

The store's codec is switched to int8 first, so every vector written from then on is int8.
Then each (tenant, user) partition is converted in batches, one ``BEGIN IMMEDIATE``
transaction each: the batch's blobs are rewritten (same ``seq``), and the transaction that
leaves the partition without a float32 vector also moves its ``generation``, which makes every
process rebuild that partition's index and never load its old HNSW cache. A kill at any point
leaves whole batches: the store is consistent (a partition may be mixed, which reads fine) and
running the conversion again finishes it. Afterwards the cache files of converted partitions
are deleted and, with ``vacuum``, the file is rewritten so the freed pages leave the disk.

With ``history`` (default) it also compacts the history rows that repeat their memory's row
(the newest version of each memory: stores written before compact snapshots held it twice;
see :mod:`remem.store.sql`), in batches of their own; what ``history()`` returns is unchanged.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from remem.errors import InvalidInputError, StoreError
from remem.models import MemoryRecord
from remem.store import codec, sql
from remem.store.dialect import SQLITE

if TYPE_CHECKING:
    import sqlite3

    from remem.store.sqlite import SQLiteStore

BATCH = 2_000


def compress_vectors(
    store: "SQLiteStore",
    *,
    batch_size: int = BATCH,
    vacuum: bool = True,
    rebuild: bool = False,
    history: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Convert every tenant's float32 vectors in ``store``'s file to int8; returns a report.

    ``vacuum``: rewrite the file afterwards so it shrinks (needs free disk about the file's size).
    ``rebuild``: build and save the HNSW caches of large partitions now instead of at the next
    search. ``history``: compact the history rows that repeat their memory's row.
    ``on_batch(converted_so_far)`` is called after each committed batch of vectors.
    Safe to run again (converts only what is left) and while other processes use the store.
    """
    from remem.store.sqlite import SQLiteStore

    if not isinstance(store, SQLiteStore):
        raise InvalidInputError("vector compression is implemented for the SQLite store only")
    if batch_size < 1:
        raise InvalidInputError("batch_size must be at least 1")
    dim = store._dim()
    if dim is None:
        raise StoreError(f"{store.path}: no embedding model recorded yet; nothing to compress")
    t0 = time.perf_counter()
    before = _sizes(store, dim)
    _set_codec(store, codec.INT8)
    if store._db.index is not None:
        store._db.index.hnsw_dtype = codec.GRAPH_DTYPE[codec.INT8]  # graphs built from now on hold int8
    converted, partitions = 0, []
    for key in _partitions(store):
        n = _convert_partition(store, key, dim, batch_size, on_batch, converted)
        if n:
            converted += n
            partitions.append(key)
    _drop_indexes(store, partitions)
    compacted = _compact_history(store, batch_size) if history else 0
    if vacuum:
        _vacuum(store)
    if rebuild:
        _rebuild(store, partitions)
    after = _sizes(store, dim)
    return {
        "path": str(store.path), "codec": codec.INT8, "dim": dim, "converted": converted,
        "partitions_converted": len(partitions), "vectors": after["vectors"], "history_compacted": compacted,
        "bytes_before": before["bytes"], "bytes_after": after["bytes"],
        "vector_bytes_before": before["vector_bytes"], "vector_bytes_after": after["vector_bytes"],
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _set_codec(store: "SQLiteStore", name: str) -> None:
    with store._db.transaction() as conn:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('vector_codec', ?)", (name,))


def _partitions(store: "SQLiteStore") -> list[tuple[str, str]]:
    with store._db.lock:
        return [(t, u) for t, u in store._db.conn.execute("SELECT tenant, user_key FROM partitions ORDER BY tenant, user_key")]


def _convert_partition(
    store: "SQLiteStore", key: tuple[str, str], dim: int, batch_size: int,
    on_batch: Callable[[int], None] | None, done_before: int,
) -> int:
    """Convert one partition batch by batch; the last batch moves its generation. Returns rows converted."""
    converted = 0
    while True:
        with store._db.transaction() as conn:
            n, left = _convert_batch(conn, key, dim, batch_size)
            if n and not left:
                conn.execute("UPDATE partitions SET generation = generation + 1 WHERE tenant = ? AND user_key = ?", key)
        converted += n
        if n and on_batch is not None:
            on_batch(done_before + converted)
        if not left:
            return converted


def _convert_batch(conn: "sqlite3.Connection", key: tuple[str, str], dim: int, limit: int) -> tuple[int, bool]:
    """Rewrite up to ``limit`` float32 blobs of the partition as int8: (rows converted, any left)."""
    where = "tenant = ? AND user_key = ? AND length(vec) = ?"
    rows = conn.execute(f"SELECT seq, vec FROM vectors WHERE {where} ORDER BY seq LIMIT ?", (*key, 4 * dim, limit)).fetchall()
    if rows:
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), dim)
        blobs = codec.encode_int8(matrix)
        conn.executemany("UPDATE vectors SET vec = ? WHERE seq = ?", [(b, r[0]) for b, r in zip(blobs, rows)])
    left = conn.execute(f"SELECT 1 FROM vectors WHERE {where} LIMIT 1", (*key, 4 * dim)).fetchone() is not None
    return len(rows), left


def _compact_history(store: "SQLiteStore", batch_size: int) -> int:
    """Give every history row that is its memory's current row a compact snapshot; returns how many."""
    done, last = 0, 0
    while True:
        with store._db.transaction() as conn:
            cur = conn.execute(
                f"SELECT m.rowid AS _rowid, h.hid AS _hid, h.snapshot AS _snapshot, {sql.MCOLS} FROM memories m "
                "JOIN history h ON h.memory_id = m.id AND h.tenant = m.tenant AND h.version = m.version "
                "WHERE m.rowid > ? ORDER BY m.rowid LIMIT ?",
                (last, batch_size),
            )
            names = [c[0] for c in cur.description]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
            updates = [u for u in map(_compacted, rows) if u is not None]
            conn.executemany("UPDATE history SET snapshot = ? WHERE hid = ?", updates)
        done += len(updates)
        if len(rows) < batch_size:
            return done
        last = rows[-1]["_rowid"]


def _compacted(r: dict[str, Any]) -> tuple[str, int] | None:
    """(compact snapshot, hid) when the history row's full snapshot is exactly the memory's row."""
    if sql.load_snapshot(r["_snapshot"]) is not None:
        return None  # compact already
    row = sql.from_row(r, SQLITE)
    try:
        snapshot = MemoryRecord.model_validate_json(r["_snapshot"])
    except ValueError:
        return None  # not ours to judge: left as it is
    return (SQLITE.json(sql.compact_snapshot(snapshot)), r["_hid"]) if sql.is_row(snapshot, {row.id: row}) else None


def _drop_indexes(store: "SQLiteStore", partitions: list[tuple[str, str]]) -> None:
    """Forget this process's converted partitions and delete their HNSW cache files."""
    index = store._db.index
    if index is None:
        from remem.store.vector_index import VectorIndex

        index = VectorIndex(store._dim() or 1, cache_dir=_cache_dir(store), large_index="hnsw")  # only to find and delete cache files
    for tenant, user_key in partitions:
        index.drop(tenant, user_key)


def _vacuum(store: "SQLiteStore") -> None:
    db = store._db
    with db.lock:
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.execute("VACUUM")
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _rebuild(store: "SQLiteStore", partitions: list[tuple[str, str]]) -> None:
    """Load each converted partition now (building HNSW where large) and save the caches."""
    if store._db.index is None:
        return
    for tenant, user_key in partitions:
        store.with_tenant(tenant)._partition(user_key)
    store._db.index.save(store._generation)


def _cache_dir(store: "SQLiteStore") -> Path:
    return Path(str(store.path) + ".idx")


def _sizes(store: "SQLiteStore", dim: int) -> dict[str, int]:
    """Bytes on disk (file, WAL, index caches), vector blob bytes and the number of vectors."""
    with store._db.lock:
        n, blob_bytes = store._db.conn.execute("SELECT count(*), coalesce(sum(length(vec)), 0) FROM vectors").fetchone()
    path = Path(store.path)
    files = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
    cache = _cache_dir(store)
    if cache.is_dir():
        files += sum(p.stat().st_size for p in cache.iterdir() if p.is_file())
    return {"bytes": files, "vector_bytes": int(blob_bytes), "vectors": int(n)}
