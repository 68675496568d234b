"""Compression: int8 vectors (codec, old float32 stores, mixed partitions, the conversion) and
compact history snapshots."""

from __future__ import annotations

import base64
import os
import signal
import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime  # noqa: F401  (first: with usearch 2.26.6 loaded before it, onnxruntime 1.32's import segfaults)
import pytest

from remem.errors import StoreError
from remem.models import MemoryRecord, Operation
from remem.store import Query, SQLiteStore, Write, open_store
from remem.store import codec
from remem.store.compress import compress_vectors

ROOT = Path(__file__).resolve().parents[1]
DIM = 48
EVERYTHING = Query(include_deleted=True)


def unit(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def open_sqlite(path: Path, *, float32: bool = False, threshold: int = 20_000) -> SQLiteStore:
    """A store; ``float32``: as remem wrote them before int8 (no ``vector_codec`` in meta)."""
    store = SQLiteStore(path, hnsw_threshold=threshold)
    store.check_embedding("test-model", DIM)
    if float32:
        with store._db.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = 'vector_codec'")
    return store


def add(store: Any, vectors: np.ndarray, user: str = "u1", prefix: str = "m") -> list[str]:
    writes = []
    for i, v in enumerate(vectors):
        rec = MemoryRecord(id=f"{prefix}{i}", content=f"memory {prefix}{i}", user_id=user)
        writes.append(Write(record=rec, index_text=rec.content, vector=v))
    return [r.id for r in store.insert(writes)]


def top1(store: Any, vector: np.ndarray, user: str = "u1") -> str:
    return store.vector_search(vector, Query(user_id=user), 5)[0][0]


def blob_lengths(path: Path) -> set[int]:
    conn = sqlite3.connect(path)
    try:
        return {n for (n,) in conn.execute("SELECT DISTINCT length(vec) FROM vectors")}
    finally:
        conn.close()


# -- the codec ---------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1.0, 1e-3, 50.0])
def test_int8_round_trip_stays_within_half_a_step(scale: float) -> None:
    x = unit(200, seed=1) * scale
    blobs = codec.encode_int8(x)
    assert {len(b) for b in blobs} == {DIM + 4}
    y = codec.decode_many(blobs, DIM)
    step = np.abs(x).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(y - x) <= step / 2 + 1e-6 * scale)
    cos = np.sum(x * y, axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    assert cos.min() > 0.999


def test_int8_reencoding_is_exact() -> None:
    """An exported int8 vector (float32 of the decoded values) imports into an int8 store as the
    very same blob: copies between int8 stores, and migrations through PostgreSQL, are lossless."""
    for scale in (1.0, 1e-3, 37.0):
        blobs = codec.encode_int8(unit(5000, seed=9) * scale)
        assert codec.encode_int8(codec.decode_many(blobs, DIM)) == blobs


def test_codec_edge_cases() -> None:
    zero = np.zeros(DIM, np.float32)
    assert np.array_equal(codec.decode(codec.encode(zero, codec.INT8), DIM), zero)
    x = unit(1, seed=2)[0]
    assert np.array_equal(codec.decode(codec.encode(x, codec.FLOAT32), DIM), x)  # float32 is exact
    mixed = [codec.encode(v, c) for v, c in zip(unit(6, seed=3), [codec.INT8, codec.FLOAT32] * 3)]
    out = codec.decode_many(mixed, DIM)
    assert np.allclose(out, unit(6, seed=3), atol=0.01)  # order kept across formats
    with pytest.raises(StoreError):
        codec.decode(b"\x00" * 17, DIM)
    with pytest.raises(StoreError):
        codec.encode(x, "pq")


# -- stores: new int8, old float32, mixed ---------------------------------------------------
def test_new_store_writes_int8_and_finds_exact_probes(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "m.db")
    vectors = unit(300, seed=4)
    ids = add(store, vectors)
    assert blob_lengths(tmp_path / "m.db") == {DIM + 4}
    assert all(top1(store, vectors[i]) == ids[i] for i in range(0, 300, 7))
    [(text, vec)] = store.index_entries([ids[0]]).values()
    assert vec is not None and vec.dtype == np.float32 and np.dot(vec, vectors[0]) > 0.999
    store.close()


@pytest.mark.parametrize("threshold", [20_000, 100])  # exact matrix, then HNSW
def test_old_float32_store_stays_float32_and_searchable(tmp_path: Path, threshold: int) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, float32=True, threshold=threshold)
    vectors = unit(400, seed=5)
    ids = add(store, vectors)
    store.close()
    store = open_sqlite(db, threshold=threshold)  # reopened by this version: still float32, still found
    add(store, unit(10, seed=6), prefix="new")
    assert blob_lengths(db) == {4 * DIM}
    assert all(top1(store, vectors[i]) == ids[i] for i in range(0, 400, 9))
    store.close()


@pytest.mark.parametrize("threshold", [20_000, 100])
def test_mixed_partition_is_searched_as_one(tmp_path: Path, threshold: int) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, float32=True, threshold=threshold)
    old, new = unit(250, seed=7), unit(250, seed=8)
    old_ids = add(store, old, prefix="old")
    with store._db.transaction() as conn:  # as a conversion by another process would leave it
        conn.execute("INSERT INTO meta VALUES ('vector_codec', 'int8')")
    new_ids = add(store, new, prefix="new")
    assert blob_lengths(db) == {4 * DIM, DIM + 4}
    for i in range(0, 250, 11):
        assert top1(store, old[i]) == old_ids[i]
        assert top1(store, new[i]) == new_ids[i]
    store.close()


# -- the conversion -----------------------------------------------------------------------
def test_compress_converts_a_real_store_and_keeps_top1(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, float32=True, threshold=200)
    vectors = {u: unit(300, seed=10 + k) for k, u in enumerate(("alice", "bob"))}
    ids = {u: add(store, v, user=u, prefix=u) for u, v in vectors.items()}
    probes = range(0, 300, 13)
    assert all(top1(store, vectors["alice"][i], "alice") == ids["alice"][i] for i in probes)
    store.close()  # writes the HNSW caches
    assert list((tmp_path / "m.db.idx").glob("*.usearch"))

    store = open_sqlite(db, threshold=200)
    top1(store, vectors["bob"][0], "bob")  # this process holds an index built from float32
    report = compress_vectors(store, batch_size=64)
    assert report["converted"] == 600 and report["partitions_converted"] == 2 and report["vectors"] == 600
    assert report["vector_bytes_after"] == 600 * (DIM + 4) < report["vector_bytes_before"] / 3
    assert blob_lengths(db) == {DIM + 4}
    assert not list((tmp_path / "m.db.idx").glob("*.usearch"))  # stale caches are gone
    for user, vecs in vectors.items():
        assert all(top1(store, vecs[i], user) == ids[user][i] for i in probes)
    add(store, unit(5, seed=20), user="alice", prefix="later")
    assert blob_lengths(db) == {DIM + 4}  # the store now writes int8
    assert compress_vectors(store)["converted"] == 0  # nothing left: a rerun is a no-op
    store.close()

    store = open_sqlite(db, threshold=200)  # another process: rebuilds from the int8 rows
    assert all(top1(store, vectors["alice"][i], "alice") == ids["alice"][i] for i in probes)
    store.close()


def test_compress_rebuild_saves_fresh_caches(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, float32=True, threshold=100)
    vectors = unit(300, seed=21)
    ids = add(store, vectors)
    compress_vectors(store, rebuild=True, vacuum=False)
    caches = list((tmp_path / "m.db.idx").glob("*.json"))
    assert len(caches) == 1
    store.close()
    store = open_sqlite(db, threshold=100)
    assert top1(store, vectors[3]) == ids[3]
    store.close()


def graph(store: SQLiteStore, user: str = "u1") -> Any:
    assert store._db.index is not None
    return store._db.index._parts[(store.tenant, user)].impl


def test_graph_dtype_follows_the_codec_and_old_caches_still_load(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, float32=True, threshold=100)
    store.close()
    store = open_sqlite(db, threshold=100)  # an old store, reopened: float16 graphs as before
    vectors = unit(300, seed=27)
    ids = add(store, vectors)
    assert top1(store, vectors[1]) == ids[1] and graph(store).dtype == "f16"
    store.close()
    store = open_sqlite(db, threshold=100)
    assert top1(store, vectors[2]) == ids[2] and graph(store).dtype == "f16"  # from the cache
    compress_vectors(store)
    subset = Query(user_id="u1", ids=ids[:60])  # a filtered search: the candidates are scored exactly
    for i in range(0, 60, 7):
        assert top1(store, vectors[i]) == ids[i]
        assert store.vector_search(vectors[i], subset, 3)[0][0] == ids[i]
    assert graph(store).dtype == "i8"
    store.close()


def test_purge_erases_compressed_vectors(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, threshold=100)
    vectors = unit(200, seed=22)
    add(store, vectors, user="gone")
    add(store, unit(50, seed=23), user="kept", prefix="k")
    top1(store, vectors[0], "gone")
    store.close()
    store = open_sqlite(db, threshold=100)
    blobs = codec.encode_int8(vectors[:20])
    assert store.purge(user_id="gone") == 200
    assert store.vector_search(vectors[0], Query(user_id="gone"), 5) == []
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.rglob("m.db*") if p.is_file())
    assert not any(b[4:] in raw for b in blobs), "a purged int8 vector is still on disk"


def test_export_after_compression_is_float32_and_reimports(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "a.db", float32=True)
    vectors = unit(60, seed=24)
    ids = add(store, vectors)
    compress_vectors(store)
    items = list(store.export(EVERYTHING))
    for item, v in zip(items, vectors):
        raw = base64.b64decode(item["vector"])
        assert len(raw) == 4 * DIM
        assert np.dot(np.frombuffer(raw, np.float32), v) > 0.995  # 48 dims: coarse steps
    for target, float32 in (("b.db", False), ("c.db", True)):
        other = open_sqlite(tmp_path / target, float32=float32)
        assert other.import_items(items) == (60, 0)
        assert blob_lengths(tmp_path / target) == ({4 * DIM} if float32 else {DIM + 4})
        assert top1(other, vectors[7]) == ids[7]
        assert [i["history"] for i in other.export(EVERYTHING)] == [i["history"] for i in items]
        other.close()
    store.close()


KILLED_CONVERSION = """
import sys, time
from remem.store import SQLiteStore
from remem.store.compress import compress_vectors
store = SQLiteStore(sys.argv[1])
store.check_embedding("test-model", int(sys.argv[2]))
def slow(done):
    print(done, flush=True)
    time.sleep(0.05)
compress_vectors(store, batch_size=25, on_batch=slow)
print("finished", flush=True)
"""


def test_sigkill_during_conversion_leaves_a_consistent_store(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, float32=True)
    vectors = unit(600, seed=25)
    ids = add(store, vectors)
    store.close()
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_CONVERSION), str(db), str(DIM)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait for a few committed batches, then kill mid-way
        if line.strip().isdigit() and int(line) >= 100:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM vectors").fetchone()[0] == 600
    conn.close()
    assert blob_lengths(db) == {4 * DIM, DIM + 4}  # partly converted: mixed, and readable
    store = open_sqlite(db)
    assert all(top1(store, vectors[i]) == ids[i] for i in range(0, 600, 17))
    report = compress_vectors(store)
    assert 0 < report["converted"] < 600
    assert blob_lengths(db) == {DIM + 4}
    assert all(top1(store, vectors[i]) == ids[i] for i in range(0, 600, 17))
    store.close()


def test_compress_compacts_old_full_history_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = open_sqlite(db, float32=True)
    ids = add(store, unit(40, seed=26))
    v2 = store.get(ids[0]).model_copy(update={"content": "changed", "version": 2})  # type: ignore[union-attr]
    store.save_version(v2, op=Operation.UPDATE, changed_fields=["content"])
    store.touch(ids[:5], datetime.now(timezone.utc))
    with store._db.transaction() as conn:  # as older versions stored them: every snapshot whole
        for mid in ids:
            for h in store.history(mid):
                conn.execute("UPDATE history SET snapshot = ? WHERE memory_id = ? AND version = ?",
                             (h.record.model_dump_json(), mid, h.version))
    before = {mid: store.history(mid) for mid in ids}
    report = compress_vectors(store, batch_size=7)
    assert report["history_compacted"] == 40  # the newest version of each; v1 of ids[0] stays whole
    assert {mid: store.history(mid) for mid in ids} == before
    assert sum(snap.startswith('{"$row') for _, snap in history_snapshots(db)) == 40
    assert compress_vectors(store)["history_compacted"] == 0
    store.close()


def test_compress_refuses_what_it_cannot_convert(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "m.db")
    with pytest.raises(StoreError):
        compress_vectors(store)  # no embedding recorded: no dimension to read blobs with
    store.close()


# -- compact history ----------------------------------------------------------------------
def history_snapshots(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT version, snapshot FROM history ORDER BY hid"))
    finally:
        conn.close()


def test_add_history_does_not_duplicate_the_row(tmp_path: Path) -> None:
    store = open_sqlite(tmp_path / "m.db")
    rec = MemoryRecord(content="the cat is called Tom " * 5, user_id="u1", metadata={"k": [1, 2]}, tags=["pets"])
    store.insert([Write(record=rec, index_text=rec.content, vector=unit(1)[0])])
    [(version, snapshot)] = history_snapshots(tmp_path / "m.db")
    assert version == 1 and "Tom" not in snapshot and len(snapshot) < len(rec.model_dump_json()) / 2
    assert store.history(rec.id)[0].record == rec
    store.close()


def test_history_stays_complete_through_updates_touches_and_deletes(store_location: str) -> None:
    store = open_store(store_location)
    store.check_embedding("test-model", DIM)
    v1 = MemoryRecord(content="I live in Paris", user_id="u1", metadata={"city": "Paris"})
    store.insert([Write(record=v1, index_text=v1.content, vector=unit(1, 30)[0])])
    store.touch([v1.id], datetime.now(timezone.utc))  # access stats: not a version
    v2 = v1.model_copy(update={"content": "I live in Berlin", "metadata": {"city": "Berlin"}, "version": 2})
    store.save_version(v2, op=Operation.UPDATE, changed_fields=["content"], index_text=v2.content)
    store.touch([v1.id], datetime.now(timezone.utc))
    v3 = v2.model_copy(update={"version": 3, "deleted_at": datetime.now(timezone.utc)})
    store.save_version(v3, op=Operation.DELETE)
    history = store.history(v1.id)
    assert [h.record for h in history] == [v1, v2, v3]
    assert [h.op for h in history] == [Operation.ADD, Operation.UPDATE, Operation.DELETE]
    items = list(store.export(EVERYTHING))
    store.purge(user_id="u1")
    assert store.history(v1.id) == []
    assert store.import_items(items) == (1, 0)
    assert [h.record for h in store.history(v1.id)] == [v1, v2, v3]
    assert list(store.export(EVERYTHING)) == items
    store.close()


def test_cli_compress_converts_every_tenant(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from remem.cli.main import app

    db = tmp_path / "cli.db"
    store = open_sqlite(db, float32=True)
    add(store, unit(40, seed=3), user="a")
    add(store.with_tenant("other"), unit(20, seed=4), user="b", prefix="o")
    store.close()
    assert blob_lengths(db) == {4 * DIM}
    result = CliRunner().invoke(app, ["compress", "--path", str(db), "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["converted"] == 60 and blob_lengths(db) == {DIM + 4}
    missing = CliRunner().invoke(app, ["compress", "--path", str(tmp_path / "nope.db")])
    assert missing.exit_code == 1 and "no store at" in missing.output
