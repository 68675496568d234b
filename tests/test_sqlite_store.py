"""SQLite-specific guarantees: files, processes, crashes, and derived indexes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from remem import EmbeddingMismatchError, Memory, StoreError
from remem.models import MemoryRecord
from remem.store import Query, SQLiteStore, Write

ROOT = Path(__file__).resolve().parents[1]


def run_py(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("memories", "memories_fts", "vectors", "history")}
    finally:
        conn.close()


def test_persists_across_processes(tmp_path: Path, embedder) -> None:
    db = tmp_path / "m.db"
    result = run_py(
        """
        import sys
        from remem import Memory
        with Memory(sys.argv[1]) as mem:
            mem.add("I keep my passport in the blue drawer", user_id="alice")
        """,
        str(db),
    )
    assert result.returncode == 0, result.stderr
    with Memory(db, embedder=embedder) as mem:
        [hit] = mem.search("where is the passport?", user_id="alice", limit=1)
        assert "blue drawer" in hit.memory.content


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    Memory(db).close()  # create the schema once
    code = """
        import sys
        from remem import Memory
        who = sys.argv[2]
        with Memory(sys.argv[1]) as mem:
            for i in range(40):
                mem.add([f"{who} message {i} a", f"{who} message {i} b"], user_id=who)
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(db), who], env=env, stderr=subprocess.PIPE, text=True)
        for who in ("p1", "p2")
    ]
    for p in procs:
        _, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
    with Memory(db) as mem:
        assert mem.count(user_id="p1") == 80 and mem.count(user_id="p2") == 80
        assert len(mem.search("message 39 b", user_id="p2", limit=80)) == 80
    assert table_counts(db) == {"memories": 160, "memories_fts": 160, "vectors": 160, "history": 160}


def test_search_sees_writes_from_another_process(tmp_path: Path, embedder) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder=embedder) as mem:
        mem.add("the first note", user_id="u")
        assert len(mem.search("note", user_id="u", mode="dense")) == 1  # builds the index
        result = run_py(
            "import sys\nfrom remem import Memory\nMemory(sys.argv[1]).add('a zebra note from elsewhere', user_id='u')", str(db)
        )
        assert result.returncode == 0, result.stderr
        hits = mem.search("zebra", user_id="u", mode="dense", limit=1)
        assert hits[0].memory.content == "a zebra note from elsewhere"


def test_crash_mid_write_leaves_store_consistent(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    Memory(db).close()
    code = """
        import sys
        from remem import Memory
        with Memory(sys.argv[1]) as mem:
            i = 0
            while True:
                mem.add([f"turn {i}-{j} about things" for j in range(20)], user_id="u")
                i += 1
                print(i, flush=True)
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(db)], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(3):  # let a few batches commit, then kill it mid-stream
        proc.stdout.readline()
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    counts = table_counts(db)
    assert counts["memories"] > 0 and counts["memories"] % 20 == 0  # only whole batches
    assert len(set(counts.values())) == 1, counts  # row, text, vector and history agree
    with Memory(db) as mem:
        assert mem.count(user_id="u") == counts["memories"]
        assert len(mem.search("turn about things", user_id="u", mode="dense", limit=10_000)) == counts["memories"]


def test_purge_leaves_no_trace(tmp_path: Path, embedder) -> None:
    db = tmp_path / "m.db"
    secret = "zanzibarquux is alice's secret password"
    with Memory(db, embedder=embedder) as mem:
        recs = mem.add([secret, "alice likes tea"], user_id="alice")
        mem.update(recs[1].id, content="alice likes green tea")
        mem.add("bob likes coffee", user_id="bob")
        mem.search("tea", user_id="alice")
        mem.purge(user_id="alice")
        assert mem.search("zanzibarquux", user_id="alice", mode="bm25") == []
    conn = sqlite3.connect(db)
    for table in ("memories", "history", "vectors", "links"):
        rows = conn.execute(f"SELECT * FROM {table}").fetchall()
        assert "alice" not in repr(rows) and "zanzibarquux" not in repr(rows), table
    assert conn.execute("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'zanzibarquux'").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM memories_fts").fetchone()[0] == 1
    conn.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"zanzibarquux" not in raw  # not even in freed pages or the WAL


def test_foreign_and_corrupt_files_are_refused_untouched(tmp_path: Path, embedder) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 100)
    before = garbage.read_bytes()
    with pytest.raises(StoreError, match="not a usable remem store"):
        Memory(garbage, embedder=embedder)
    assert garbage.read_bytes() == before

    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a remem store"):
        Memory(foreign, embedder=embedder)
    conn = sqlite3.connect(foreign)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["customers"]
    conn.close()


def test_newer_schema_is_refused(tmp_path: Path, embedder) -> None:
    db = tmp_path / "m.db"
    Memory(db, embedder=embedder).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer remem"):
        Memory(db, embedder=embedder)


class FakeEmbedder:
    """Another 'model': deterministic vectors of another dimension."""

    model_name = "other-model"
    dim = 8

    def embed(self, texts: list[str]) -> np.ndarray:
        rng = np.random.default_rng(0)
        v = rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_store_of_another_embedding_model_is_refused(tmp_path: Path, embedder) -> None:
    db = tmp_path / "m.db"
    with Memory(db, embedder=embedder) as mem:
        mem.add("hello", user_id="u")
    with pytest.raises(EmbeddingMismatchError, match="all-MiniLM-L6-v2"):
        Memory(db, embedder=FakeEmbedder())
    with Memory(db, embedder=embedder) as mem:
        assert mem.count(user_id="u") == 1


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim))
    v = centers[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_hnsw_partition_matches_exact_and_survives_reopen(tmp_path: Path) -> None:
    """Above the threshold a partition becomes HNSW; its saved cache is reused and
    caught up with rows written after it was saved."""
    db = tmp_path / "m.db"
    dim, n = 16, 600
    vectors = _clustered(n + 50, dim)
    store = SQLiteStore(db, hnsw_threshold=200)
    store.check_embedding("synthetic", dim)
    store.insert([Write(MemoryRecord(content=f"m{i}", user_id="u"), f"m{i}", vectors[i]) for i in range(n)])
    query = vectors[7]
    top = store.vector_search(query, Query(user_id="u"), 10)
    exact = np.argsort(-(vectors[:n] @ query))[:10]
    got = [store.get(i).content for i, _ in top]
    assert got[0] == "m7"
    assert len(set(got) & {f"m{j}" for j in exact}) >= 9  # approximate: recall@10, not order
    for probe in range(0, n, 7):  # every node is reachable: a vector finds itself first
        assert store.get(store.vector_search(vectors[probe], Query(user_id="u"), 1)[0][0]).content == f"m{probe}"
    part = store._db.index._parts[("default", "u")]  # type: ignore[union-attr]
    assert type(part.impl).__name__ == "HNSWPartition"
    store.close()
    assert list((tmp_path / "m.db.idx").glob("*.usearch"))

    store = SQLiteStore(db, hnsw_threshold=200)
    store.check_embedding("synthetic", dim)
    store.insert([Write(MemoryRecord(content=f"late{i}", user_id="u"), f"late{i}", vectors[n + i]) for i in range(50)])
    hits = store.vector_search(vectors[n + 3], Query(user_id="u"), 1)
    assert store.get(hits[0][0]).content == "late3"
    part = store._db.index._parts[("default", "u")]  # type: ignore[union-attr]
    assert type(part.impl).__name__ == "HNSWPartition" and len(part.impl) == n + 50
    store.close()


def test_corrupt_index_cache_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    dim = 16
    vectors = _clustered(300, dim, seed=1)
    store = SQLiteStore(db, hnsw_threshold=100)
    store.check_embedding("synthetic", dim)
    store.insert([Write(MemoryRecord(content=f"m{i}", user_id="u"), f"m{i}", vectors[i]) for i in range(300)])
    store.vector_search(vectors[0], Query(user_id="u"), 5)
    store.close()
    for cache in (tmp_path / "m.db.idx").glob("*.usearch"):
        cache.write_bytes(b"garbage")
    store = SQLiteStore(db, hnsw_threshold=100)
    store.check_embedding("synthetic", dim)
    [(top, _)] = store.vector_search(vectors[42], Query(user_id="u"), 1)
    assert store.get(top).content == "m42"
    store.close()


def test_index_cache_of_a_user_purged_elsewhere_is_not_written_back(tmp_path: Path) -> None:
    """A partition made stale by a purge in another connection (another process) is not
    saved on close; a purge deletes only that user's cache files."""
    from remem.store.vector_index import VectorIndex

    db, dim = tmp_path / "m.db", 16
    vectors = _clustered(450, dim, seed=2)
    a = SQLiteStore(db, hnsw_threshold=100)
    a.check_embedding("synthetic", dim)
    a.insert([Write(MemoryRecord(content=f"u{i}", user_id="u"), f"u{i}", vectors[i]) for i in range(300)])
    a.insert([Write(MemoryRecord(content=f"k{i}", user_id="keep"), f"k{i}", vectors[300 + i]) for i in range(150)])
    for user in ("u", "keep"):
        a.vector_search(vectors[0], Query(user_id=user), 5)
    b = SQLiteStore(db, hnsw_threshold=100)  # its own connection and index, as another process would have
    b.check_embedding("synthetic", dim)
    assert b.purge(user_id="u") == 300
    b.close()
    a.close()
    cache = tmp_path / "m.db.idx"
    paths = VectorIndex(dim, cache_dir=cache)._cache_paths
    assert not any(p.exists() for p in paths(("default", "u")))  # the purged vectors stay purged
    assert all(p.exists() for p in paths(("default", "keep")))
    assert not list(cache.glob("*.tmp"))

    c = SQLiteStore(db, hnsw_threshold=100)
    c.check_embedding("synthetic", dim)
    c.with_tenant("acme").insert([Write(MemoryRecord(content=f"x{i}", user_id="x"), f"x{i}", vectors[i]) for i in range(150)])
    c.with_tenant("acme").vector_search(vectors[0], Query(user_id="x"), 5)
    c.close()
    assert all(p.exists() for p in paths(("acme", "x")))
    c = SQLiteStore(db, hnsw_threshold=100)
    c.check_embedding("synthetic", dim)
    c.insert([Write(MemoryRecord(content="y", user_id="y"), "y", vectors[0])])
    c.purge(user_id="y")  # purging one user keeps the other users' caches
    assert all(p.exists() for p in paths(("default", "keep"))) and all(p.exists() for p in paths(("acme", "x")))
    c._db.index.drop("acme")  # type: ignore[union-attr]  # a whole tenant: only its files go
    assert not any(p.exists() for p in paths(("acme", "x")))
    assert all(p.exists() for p in paths(("default", "keep")))
    [(top, _)] = c.vector_search(vectors[301], Query(user_id="keep"), 1)  # the kept cache still loads and answers
    assert c.get(top).content == "k1"
    c.close()


def test_close_saves_the_index_without_holding_the_store_lock(tmp_path: Path) -> None:
    """close() saves partitions (taking their locks) before it takes the store lock:
    a search holds a partition lock while it fetches rows under the store lock."""
    import threading

    store = SQLiteStore(tmp_path / "m.db")
    store.check_embedding("synthetic", 16)
    store.insert([Write(MemoryRecord(content="a", user_id="u"), "a", _clustered(1, 16)[0])])
    store.vector_search(_clustered(1, 16)[0], Query(user_id="u"), 1)
    db = store._db
    original, free = db.index.save, []  # type: ignore[union-attr]

    def save(*args: Any) -> None:
        def probe() -> None:
            got = db.lock.acquire(timeout=5)
            free.append(got)
            if got:
                db.lock.release()

        t = threading.Thread(target=probe)
        t.start()
        t.join()
        original(*args)

    db.index.save = save  # type: ignore[union-attr,method-assign]
    store.close()
    assert free == [True]


def test_filtered_search_across_users_finds_candidates_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "m.db")
    dim = 16
    vectors = _clustered(90, dim, seed=3)
    store.check_embedding("synthetic", dim)
    recs = store.insert([
        Write(MemoryRecord(content=f"m{i}", user_id=f"user{i % 3}", metadata={"g": i % 2}), f"m{i}", vectors[i])
        for i in range(90)
    ])
    calls = []
    original = store._candidate_rowids

    def counted(query: Query, cap: int) -> Any:
        calls.append(query)
        return original(query, cap)

    store._candidate_rowids = counted  # type: ignore[method-assign]
    query = vectors[5]
    hits = store.vector_search(query, Query(filters={"metadata.g": 1}), 8)
    assert len(calls) == 1
    odd = [i for i in range(90) if i % 2 == 1]
    exact = sorted(odd, key=lambda i: -float(vectors[i] @ query))[:8]
    assert [h for h, _ in hits] == [recs[i].id for i in exact]
    store.close()


def _hnsw_store(db: Path, vectors: np.ndarray, prefix: str, threshold: int = 100) -> SQLiteStore:
    store = SQLiteStore(db, hnsw_threshold=threshold)
    store.check_embedding("synthetic", vectors.shape[1])
    store.insert([Write(MemoryRecord(content=f"{prefix}{i}", user_id="u"), f"{prefix}{i}", v) for i, v in enumerate(vectors)])
    return store


def _probe(store: SQLiteStore, vectors: np.ndarray, prefix: str) -> int:
    """How many vectors find their own memory first (exact-content probes)."""
    found = 0
    for i in range(0, len(vectors), 10):
        [(top, _)] = store.vector_search(vectors[i], Query(user_id="u"), 1)
        found += store.get(top).content == f"{prefix}{i}"
    return found


def test_store_recreated_at_the_same_path_never_reuses_the_old_vector_cache(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    old, new = _clustered(400, 16, seed=3), _clustered(400, 16, seed=4)
    store = _hnsw_store(db, old, "old")
    store.vector_search(old[0], Query(user_id="u"), 1)  # builds HNSW; close() saves it as a cache
    store.close()
    assert list((tmp_path / "m.db.idx").glob("*.usearch"))
    for path in tmp_path.glob("m.db*"):
        if path.is_file():
            path.unlink()  # the store is deleted; its cache directory stays behind
    store = _hnsw_store(db, new, "new")
    assert _probe(store, new, "new") == 40
    store.close()


def test_older_copy_restored_over_a_store_never_reuses_the_newer_cache(tmp_path: Path) -> None:
    import shutil

    db, backup = tmp_path / "m.db", tmp_path / "backup.db"
    first, later, diverged = _clustered(300, 16, seed=5), _clustered(200, 16, seed=6), _clustered(250, 16, seed=7)
    store = _hnsw_store(db, first, "a")
    store.close()
    shutil.copy(db, backup)  # an older copy (same store identity)
    store = SQLiteStore(db, hnsw_threshold=100)
    store.check_embedding("synthetic", 16)
    store.insert([Write(MemoryRecord(content=f"b{i}", user_id="u"), f"b{i}", v) for i, v in enumerate(later)])
    store.vector_search(later[0], Query(user_id="u"), 1)
    store.close()  # cache saved at the newer watermark
    shutil.copy(backup, db)
    for wal in tmp_path.glob("m.db-*"):
        wal.unlink()
    store = SQLiteStore(db, hnsw_threshold=100)  # restored, then written past the cache's watermark
    store.check_embedding("synthetic", 16)
    store.insert([Write(MemoryRecord(content=f"c{i}", user_id="u"), f"c{i}", v) for i, v in enumerate(diverged)])
    assert _probe(store, diverged, "c") == 25
    [(top, _)] = store.vector_search(later[5], Query(user_id="u"), 1)
    assert not store.get(top).content.startswith("b")  # rows of the newer file never come back
    store.close()


@pytest.mark.parametrize("meta", ['[1, 2]', '"x"', "null", '{"generation": "1"}', '{"watermark": true}', "{bad json"])
def test_crafted_cache_meta_never_breaks_search(tmp_path: Path, meta: str) -> None:
    db = tmp_path / "m.db"
    vectors = _clustered(300, 16, seed=8)
    store = _hnsw_store(db, vectors, "m")
    store.vector_search(vectors[0], Query(user_id="u"), 1)
    store.close()
    for path in (tmp_path / "m.db.idx").glob("*.json"):
        path.write_text(meta)
    store = SQLiteStore(db, hnsw_threshold=100)
    store.check_embedding("synthetic", 16)
    assert _probe(store, vectors, "m") == 30
    store.close()


def test_a_failed_transaction_is_a_store_error_and_rolls_back(tmp_path: Path) -> None:
    import sqlite3

    store = SQLiteStore(tmp_path / "m.db")
    store.check_embedding("synthetic", 4)
    with pytest.raises(StoreError, match="nothing was written"):
        with store._db.transaction() as conn:  # what a full disk or a lock timeout looks like
            conn.execute("INSERT INTO meta VALUES ('probe', 'x')")
            raise sqlite3.OperationalError("database or disk is full")
    assert store._select("SELECT value FROM meta WHERE key = 'probe'", ()) == []
    store.close()


def test_validity_filter_walks_the_index_and_still_drops_ended_facts(tmp_path: Path) -> None:
    """Memory.search always filters on validity; that query walks the index (no candidate
    scan) and checks the rows after, even when most of the nearest rows have ended."""
    from datetime import datetime, timezone

    vectors = _clustered(400, 16, seed=11)
    store = SQLiteStore(tmp_path / "m.db", hnsw_threshold=100)
    store.check_embedding("synthetic", 16)
    ended = datetime(2020, 1, 1, tzinfo=timezone.utc)
    store.insert([
        Write(MemoryRecord(content=f"m{i}", user_id="u", valid_to=ended if i % 10 else None), f"m{i}", v)
        for i, v in enumerate(vectors)
    ])
    now = datetime.now(timezone.utc)
    query = Query(user_id="u", not_ended_at=now)
    assert query.scope_and_validity and not query.only_scope
    for probe in (3, 17, 250):
        hits = store.vector_search(vectors[probe], query, 10)
        contents = [store.get(i).content for i, _ in hits]
        assert len(contents) == 10 and all(int(c[1:]) % 10 == 0 for c in contents)  # only the still-valid tenth
        exact = [f"m{j}" for j in np.argsort(-(vectors @ vectors[probe])) if j % 10 == 0][:10]
        assert len(set(contents) & set(exact)) >= 9
    store.close()


def test_a_bulk_insert_leaves_a_small_wal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader holding a snapshot keeps checkpoints from finishing, so a bulk insert grows the
    WAL; once it lets go, the next checkpoint and write cut the WAL back (SQLite alone never shrinks it)."""
    import remem.store.sqlite_db as sqlite_db

    monkeypatch.setattr(sqlite_db, "WAL_LIMIT_BYTES", 1024 * 1024)  # far below what the inserts write
    store = SQLiteStore(tmp_path / "m.db")
    reader = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM memories").fetchone()  # a snapshot the WAL must keep
    text = "a fairly long sentence about nothing in particular " * 40
    for batch in range(12):  # ~25 MB of rows and text index, in transactions of 500
        recs = [MemoryRecord(content=f"{batch}-{i} {text}", user_id="u") for i in range(500)]
        store.insert([Write(r, r.content, None) for r in recs])
    wal = tmp_path / "m.db-wal"
    assert wal.stat().st_size > 10 * 1024 * 1024
    reader.execute("COMMIT")
    reader.close()
    store._db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    store.insert([Write(MemoryRecord(content="one more", user_id="u"), "one more", None)])  # restarts the WAL
    assert wal.stat().st_size <= 1024 * 1024
    store.close()
