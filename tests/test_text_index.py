"""The derived in-memory text index (remem/store/text_index.py) behind SQLite's BM25: exact
against a brute-force BM25 over the same tokens, in step with SQLite across processes,
crashes, updates, purges and restored files, with per-user statistics."""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from remem import Memory
from remem.models import MemoryRecord, Operation
from remem.store import Query, SQLiteStore, Write
from remem.store.text_index import B, K1, TextPartition, doc_tokens, query_tokens

ROOT = Path(__file__).resolve().parents[1]
VOCAB = "apple banana cherry date elder fig grape honeydew kiwi lemon mango nectarine olive papaya quince".split()


def brute_bm25(docs: dict[int, str], query: str, k: int) -> list[tuple[int, float]]:
    """Okapi BM25 (Lucene IDF) over ``docs`` by the definition, no index: the reference."""
    toks = {r: doc_tokens(t) for r, t in docs.items()}
    n = len(toks)
    avgdl = sum(len(t) for t in toks.values()) / n
    terms = query_tokens(query)
    df = {t: sum(1 for d in toks.values() if t in d) for t in terms}
    scores = {}
    for r, d in toks.items():
        tf = Counter(d)
        s = 0.0
        for t in terms:
            if tf[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf[t] * (K1 + 1) / (tf[t] + K1 * (1 - B + B * len(d) / avgdl))
        if s > 0:
            scores[r] = round(s, 9)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def random_docs(rng: random.Random, n: int) -> dict[int, str]:
    return {i + 1: " ".join(rng.choices(VOCAB, weights=range(len(VOCAB), 0, -1), k=rng.randint(1, 12))) for i in range(n)}


@pytest.mark.parametrize("seed", range(6))
def test_search_is_exact_bm25_over_the_same_tokens(seed: int) -> None:
    rng = random.Random(seed)
    docs = random_docs(rng, rng.choice([1, 3, 40, 400]))
    part = TextPartition()
    part.apply((rowid, rowid, text) for rowid, text in docs.items())
    overlaps = []
    for _ in range(30):
        query = " ".join(rng.sample(VOCAB, rng.randint(1, 4)))
        want = brute_bm25(docs, query, 10)
        got = part.search(query_tokens(query), 10)
        assert [r for r, _ in got] == [r for r, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], rtol=1e-4)
        overlaps.append(len({r for r, _ in got} & {r for r, _ in want}) / len(want) if want else float(not got))
    assert np.mean(overlaps) >= 0.99


def test_a_row_indexed_again_replaces_its_old_text_and_statistics() -> None:
    part = TextPartition()
    part.apply([(1, 10, "apple banana"), (2, 11, "cherry"), (3, 12, "apple")])
    part.apply([(4, 10, "cherry date")])  # row 10's text changed
    assert [r for r, _ in part.search(["appl"], 10)] == [12]
    assert part.doc_freqs(["appl", "cherri"]) == (3, {"appl": 1, "cherri": 2})
    docs = {10: "cherry date", 11: "cherry", 12: "apple"}
    assert np.allclose([s for _, s in part.search(query_tokens("cherry"), 10)],
                       [s for _, s in brute_bm25(docs, "cherry", 10)])


def test_degenerate_inputs_are_ordinary() -> None:
    part = TextPartition()
    assert part.search(["appl"], 10) == []
    part.apply([(1, 5, "apple")])
    [(rowid, score)] = part.search(["appl"], 10)
    assert rowid == 5 and score > 0  # one row holding the word: a positive score (FTS5's IDF gave 1e-6)
    assert part.search(["zzz"], 10) == [] and part.search(["appl"], 0) == []
    part.apply([(2, 6, "apple"), (3, 7, "apple")])
    assert [r for r, _ in part.search(["appl"], 2)] == [5, 6]  # equal scores: older rows first


def _store(tmp_path: Path, name: str = "m.db") -> SQLiteStore:
    return SQLiteStore(tmp_path / name)


def _write(store: SQLiteStore, user: str, texts: list[str]) -> list[MemoryRecord]:
    recs = [MemoryRecord(content=t, user_id=user) for t in texts]
    return store.insert([Write(r, t, None) for r, t in zip(recs, texts)])


def _bm25(store: SQLiteStore, text: str, user: str | None, limit: int = 10) -> list[str]:
    return [i for i, _ in store.text_search(text, Query(user_id=user), limit)]


def test_the_three_memory_store_ranks_the_one_that_matches(tmp_path: Path, embedder) -> None:
    with Memory(tmp_path / "m.db", embedder=embedder) as mem:
        mem.add(["I live in Porto, near the river.", "My sister Ana is getting married in June.",
                 "I am allergic to peanuts."], user_id="u", session_id="s1")
        [top, *_] = mem.search("sister wedding", user_id="u", mode="bm25")
        assert top.memory.content.startswith("My sister Ana")
        assert mem.search("sister wedding", user_id="u")[0].memory.content.startswith("My sister Ana")


def test_statistics_are_per_user(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _write(store, "a", ["apple pie", "banana bread", "cherry tart"])
    before = store.text_search("apple", Query(user_id="a"), 5)
    _write(store, "b", ["apple"] * 50)  # another user's data
    after = store.text_search("apple", Query(user_id="a"), 5)
    assert before == after
    assert store.doc_freqs(["apple"], user_id="a") == (3, {"apple": 1})
    assert store.doc_freqs(["apple"], user_id="b") == (50, {"apple": 50})
    store.close()


def test_filters_deletes_and_updates_are_respected(tmp_path: Path) -> None:
    store = _store(tmp_path)
    recs = _write(store, "u", [f"note {i} about apples" for i in range(30)] + ["a kiwi note"])
    store.save_version(recs[0].model_copy(update={"content": "now about kiwis", "version": 2}), index_text="now about kiwis",
                       vector=None, op=Operation.UPDATE)
    assert recs[0].id not in _bm25(store, "apples", "u", 50)
    assert _bm25(store, "kiwis", "u")[0] == recs[0].id
    store.save_version(recs[1].model_copy(update={"deleted_at": recs[1].created_at, "version": 2}), index_text=None,
                       vector=None, op=Operation.DELETE)
    assert recs[1].id not in _bm25(store, "apples", "u", 50)
    assert len(_bm25(store, "apples", "u", 50)) == 28
    assert _bm25(store, "apples", "nobody") == []
    assert set(_bm25(store, "apples", None, 50)) == set(_bm25(store, "apples", "u", 50))
    store.close()


def test_another_process_writes_are_found_on_the_next_search(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _write(store, "u", ["the first note"])
    assert len(_bm25(store, "note", "u")) == 1  # builds the partition
    code = """
        import sys
        from remem.models import MemoryRecord, Operation
        from remem.store import SQLiteStore, Write
        s = SQLiteStore(sys.argv[1])
        r = MemoryRecord(content="a zebra note from elsewhere", user_id="u")
        s.insert([Write(r, r.content, None)])
        s.close()
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(tmp_path / "m.db")], capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    [hit] = store.text_search("zebra", Query(user_id="u"), 5)
    assert store.get(hit[0]).content == "a zebra note from elsewhere"
    store.close()


def test_sigkill_mid_write_then_reopen_agrees_with_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    SQLiteStore(db).close()
    code = """
        import sys
        from remem.models import MemoryRecord, Operation
        from remem.store import SQLiteStore, Write
        s = SQLiteStore(sys.argv[1])
        i = 0
        while True:
            recs = [MemoryRecord(content=f"turn {i} {j} about apples and kiwis", user_id="u") for j in range(20)]
            s.insert([Write(r, r.content, None) for r in recs])
            i += 1
            print(i, flush=True)
    """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(db)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    for _ in range(3):
        proc.stdout.readline()
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    conn = sqlite3.connect(db)
    rows = dict(conn.execute("SELECT m.rowid, f.text FROM memories m JOIN memories_fts f ON f.rowid = m.rowid"))
    assert conn.execute("SELECT count(*) FROM texts").fetchone()[0] == len(rows) > 0
    conn.close()
    store = SQLiteStore(db)
    got = store.text_search("apples kiwis", Query(user_id="u"), 1000)
    assert len(got) == len(rows)
    want = brute_bm25(rows, "turn 2 7", 10)
    found = [store.get(i) for i, _ in store.text_search("turn 2 7", Query(user_id="u"), 10)]
    assert [r.content for r in found] == [rows[k] for k, _ in want]
    store.close()


def test_purge_leaves_nothing_in_the_index(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _write(store, "gone", ["my secret diary entry"])
    _write(store, "kept", ["a public diary entry"])
    assert _bm25(store, "diary", "gone")
    store.purge(user_id="gone")
    assert _bm25(store, "diary", "gone") == []
    part = store._db.text_index._parts.get(("default", "gone"))
    assert part is None or (len(part) == 0 and not part.postings)  # rebuilt empty after the purge
    assert len(_bm25(store, "diary", None)) == 1
    conn = sqlite3.connect(tmp_path / "m.db")
    assert conn.execute("SELECT count(*) FROM texts WHERE user_key = 'gone'").fetchone()[0] == 0
    conn.close()
    store.close()


def test_a_store_recreated_or_restored_at_the_same_path_is_read_afresh(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = SQLiteStore(db)
    _write(store, "u", ["an apple a day"])
    store.close()
    shutil.copy(db, tmp_path / "old.db")
    store = SQLiteStore(db)
    _write(store, "u", ["apple pie recipe", "apple orchard visit"])
    assert len(_bm25(store, "apple", "u")) == 3
    store.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"m.db{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.db", db)  # an older copy restored over it
    store = SQLiteStore(db)
    assert [store.get(i).content for i in _bm25(store, "apple", "u")] == ["an apple a day"]
    store.close()
    db.unlink()
    store = SQLiteStore(db)  # deleted and created again
    _write(store, "u", ["banana split"])
    assert _bm25(store, "apple", "u") == [] and len(_bm25(store, "banana", "u")) == 1
    store.close()


def test_a_schema_2_store_gets_its_texts_log_on_open(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store = SQLiteStore(db)
    _write(store, "u", ["an apple a day", "kiwi jam"])
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE texts")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    store = SQLiteStore(db)
    assert len(_bm25(store, "apple kiwi", "u")) == 2
    store.close()


@pytest.fixture()
def small_cache(monkeypatch):  # noqa: ANN201
    import remem.store.text_index as ti

    monkeypatch.setattr(ti, "CACHE_MIN_ROWS", 5)


def _cached_store(path: Path, embedder) -> SQLiteStore:  # noqa: ANN001
    store = SQLiteStore(path)
    store.check_embedding(embedder.model_name, embedder.dim)  # gives the store its identity and cache folder
    return store


def _cache_files(path: Path) -> list[Path]:
    folder = Path(str(path) + ".idx") / "text"
    return sorted(folder.glob("*")) if folder.exists() else []


def test_a_large_partition_is_cached_on_close_and_reloaded(tmp_path: Path, embedder, small_cache, monkeypatch) -> None:
    db = tmp_path / "m.db"
    store = _cached_store(db, embedder)
    _write(store, "u", [f"note {i} about apples" for i in range(8)] + ["a kiwi"])
    want = store.text_search("apples kiwi", Query(user_id="u"), 20)
    store.close()
    assert [p.suffix for p in _cache_files(db)] == [".json", ".npz"]
    store = _cached_store(db, embedder)
    from remem.store.text_index import TextPartition

    def no_rebuild(self, delta):  # noqa: ANN001, ANN202
        rows = list(delta)
        assert not rows, "the cache should have held every row"
        return 0

    monkeypatch.setattr(TextPartition, "apply", no_rebuild)
    assert store.text_search("apples kiwi", Query(user_id="u"), 20) == want
    monkeypatch.undo()
    _write(store, "u", ["kiwi kiwi kiwi"])  # rows after the cached watermark still come in
    assert store.get(store.text_search("kiwi", Query(user_id="u"), 1)[0][0]).content == "kiwi kiwi kiwi"
    store.close()


def test_a_cache_never_serves_an_older_copy_or_a_new_store(tmp_path: Path, embedder, small_cache) -> None:
    db = tmp_path / "m.db"
    store = _cached_store(db, embedder)
    _write(store, "u", [f"apple note {i}" for i in range(6)])
    store.close()
    shutil.copy(db, tmp_path / "old.db")
    store = _cached_store(db, embedder)
    _write(store, "u", [f"apple pie {i}" for i in range(6)])
    assert len(store.text_search("apple", Query(user_id="u"), 50)) == 12
    store.close()  # the cache now holds 12 rows
    assert _cache_files(db)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"m.db{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.db", db)
    store = _cached_store(db, embedder)
    assert len(store.text_search("apple", Query(user_id="u"), 50)) == 6
    store.close()
    db.unlink()
    store = _cached_store(db, embedder)  # a new store at the same path: another identity
    _write(store, "u", ["banana"])
    assert store.text_search("apple", Query(user_id="u"), 50) == []
    store.close()


def test_purge_deletes_the_cache_file(tmp_path: Path, embedder, small_cache) -> None:
    db = tmp_path / "m.db"
    store = _cached_store(db, embedder)
    _write(store, "gone", [f"secret apple {i}" for i in range(6)])
    assert store.text_search("apple", Query(user_id="gone"), 50)
    store.close()
    assert _cache_files(db)
    store = _cached_store(db, embedder)
    store.purge(user_id="gone")
    assert _cache_files(db) == []
    store.close()
    assert _cache_files(db) == []


# -- PostgreSQL: the same index, fed from its texts log; each server process has its own ---------
@pytest.fixture()
def two_servers():  # noqa: ANN201
    """Two PostgresStore objects on one schema: two processes' worth of derived indexes."""
    pytest.importorskip("psycopg")
    from backends import postgres_url

    from remem.store import open_store

    url = postgres_url()
    a, b = open_store(url), open_store(url)
    yield a, b
    a.close()
    b.close()


def test_postgres_servers_see_each_others_writes_updates_and_purges(two_servers) -> None:  # noqa: ANN001
    a, b = two_servers
    recs = _write(a, "u", ["the first note about apples", "a kiwi note"])
    assert len(_bm25(b, "note", "u")) == 2  # b builds its partition
    [zebra] = _write(a, "u", ["a zebra note from the other server"])
    assert _bm25(b, "zebra", "u") == [zebra.id]  # caught up from the database on the next search
    a.save_version(recs[0].model_copy(update={"content": "now about zebras", "version": 2}), index_text="now about zebras",
                   vector=None, op=Operation.UPDATE)
    assert set(_bm25(b, "zebra", "u")) == {zebra.id, recs[0].id} and _bm25(b, "apples", "u") == []
    a.purge(user_id="u")
    assert _bm25(b, "zebra", "u") == [] and b.doc_freqs(["zebra"], user_id="u") == (0, {"zebra": 0})
    [again] = _write(a, "u", ["a new life with zebras"])
    assert _bm25(b, "zebra", "u") == [again.id] and b.doc_freqs(["zebra"], user_id="u") == (1, {"zebra": 1})


def test_postgres_concurrent_writers_never_hide_a_row(two_servers) -> None:  # noqa: ANN001
    import threading

    a, b = two_servers
    stop = threading.Event()

    def writer(store: SQLiteStore, who: str) -> None:
        for i in range(50):
            _write(store, "u", [f"{who} apple {i}"])

    def reader() -> None:  # searches while the writers run, so partitions are caught up mid-stream
        while not stop.is_set():
            b.text_search("apple", Query(user_id="u"), 5)

    threads = [threading.Thread(target=writer, args=(s, w)) for s, w in ((a, "a"), (b, "b"))]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert len(b.text_search("apple", Query(user_id="u"), 200)) == 100  # without the log's lock: 1 run in 3 fails
    assert len(a.text_search("apple", Query(user_id="u"), 200)) == 100


def test_postgres_ranks_exactly_like_sqlite(two_servers, tmp_path: Path) -> None:  # noqa: ANN001
    pg, _ = two_servers
    lite = _store(tmp_path)
    docs = random_docs(random.Random(7), 200)
    for store in (pg, lite):
        recs = _write(store, "u", list(docs.values()))
        store.ids = {r.id: r.content for r in recs}  # type: ignore[attr-defined]
    for query in ["apple kiwi", "olive", "banana cherry date", "quince papaya"]:
        got = {name: [(s.ids[i], round(score, 6)) for i, score in s.text_search(query, Query(user_id="u"), 10)]  # type: ignore[attr-defined]
               for name, s in (("pg", pg), ("sqlite", lite))}
        assert got["pg"] == got["sqlite"]
    lite.close()


def test_accents_fold_as_in_fts5(tmp_path: Path) -> None:
    store = _store(tmp_path)
    recs = _write(store, "u", ["We met at the Café Zoë", "José sent his résumé"])
    assert _bm25(store, "cafe zoe", "u") == [recs[0].id]
    assert _bm25(store, "jose resume", "u") == [recs[1].id]
    assert _bm25(store, "Résumé", "u") == [recs[1].id]
    store.close()


def test_a_damaged_cache_file_is_dropped_and_rebuilt(tmp_path: Path, embedder, small_cache) -> None:
    db = tmp_path / "m.db"
    store = _cached_store(db, embedder)
    _write(store, "u", [f"note {i} about apples" for i in range(8)])
    want = store.text_search("apples", Query(user_id="u"), 20)
    store.close()
    [_, data] = _cache_files(db)
    for damage in (b"", data.read_bytes()[: len(data.read_bytes()) // 2]):
        data.write_bytes(damage)
        store = _cached_store(db, embedder)
        assert store.text_search("apples", Query(user_id="u"), 20) == want
        assert not data.exists()  # removed, so the next open does not trip on it again
        store.close()  # writes a good one again
        assert data.exists()


def test_a_search_loading_a_cache_while_a_purge_runs_does_not_deadlock(tmp_path: Path, embedder, small_cache) -> None:
    import threading

    import remem.store.text_index as ti

    db = tmp_path / "m.db"
    store = _cached_store(db, embedder)
    _write(store, "a", [f"apple {i}" for i in range(8)])
    _write(store, "b", [f"banana {i}" for i in range(8)])
    store.text_search("apple", Query(user_id="a"), 5)
    store.close()
    store = _cached_store(db, embedder)
    real = ti.TextIndex._load_cached
    entered = threading.Event()

    def slow_load(self, *args):  # noqa: ANN001, ANN202
        entered.set()
        time.sleep(0.3)  # a purge takes the store's lock meanwhile
        return real(self, *args)

    ti.TextIndex._load_cached = slow_load  # type: ignore[method-assign]
    try:
        found: list[object] = []
        searcher = threading.Thread(target=lambda: found.append(store.text_search("apple", Query(user_id="a"), 5)))
        searcher.start()
        entered.wait(10)
        purger = threading.Thread(target=lambda: store.purge(user_id="b"))
        purger.start()
        searcher.join(20)
        purger.join(20)
        assert not searcher.is_alive() and not purger.is_alive(), "deadlock"
        assert len(found[0]) == 5  # type: ignore[arg-type]
    finally:
        ti.TextIndex._load_cached = real  # type: ignore[method-assign]
    store.close()


def test_tenant_wide_ties_break_by_age_in_both_stores(two_servers, tmp_path: Path) -> None:  # noqa: ANN001
    pg, _ = two_servers
    lite = _store(tmp_path)
    for store in (pg, lite):
        recs = _write(store, "bob", ["same words here"]) + _write(store, "alice", ["same words here"])
        assert [i for i, _ in store.text_search("same words", Query(), 10)] == [recs[0].id, recs[1].id]
    lite.close()


def test_postgres_rows_written_by_any_writer_reach_the_index(two_servers) -> None:  # noqa: ANN001
    """The texts log is kept by a trigger: a row inserted by plain SQL (say, an older server still
    running during an upgrade) is found, and so is a later change of its indexed text."""
    a, b = two_servers
    _write(a, "u", ["seed row"])
    assert len(_bm25(b, "seed", "u")) == 1
    with a._db.pool.connection() as conn:
        conn.execute("INSERT INTO memories (tenant, id, content, kind, role, user_id, created_at, updated_at, valid_from, "
                     "version, index_text) SELECT tenant, 'x-legacy', 'a zebra', kind, role, user_id, created_at, "
                     "updated_at, valid_from, 1, 'a zebra' FROM memories LIMIT 1")
    assert _bm25(b, "zebra", "u") == ["x-legacy"]
    with a._db.pool.connection() as conn:
        conn.execute("UPDATE memories SET index_text = 'an okapi' WHERE id = 'x-legacy'")
    assert _bm25(b, "okapi", "u") == ["x-legacy"] and _bm25(b, "zebra", "u") == []


def test_postgres_concurrent_imports_of_two_users_do_not_deadlock(two_servers, tmp_path: Path) -> None:  # noqa: ANN001
    import threading

    a, b = two_servers
    src = _store(tmp_path, "src.db")
    _write(src, "alice", [f"alice note {i}" for i in range(20)])
    _write(src, "bob", [f"bob note {i}" for i in range(20)])
    items = list(src.export(Query()))
    src.close()
    by_user = {u: [i for i in items if i["record"]["user_id"] == u] for u in ("alice", "bob")}
    orders = [by_user["alice"] + by_user["bob"], by_user["bob"][::-1] + by_user["alice"][::-1]]
    errors: list[BaseException] = []

    def run(store, batch) -> None:  # noqa: ANN001
        try:
            store.import_items(batch)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s, o)) for s, o in zip((a, b), orders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(a.text_search("note", Query(user_id="alice"), 100)) == 20
    assert len(b.text_search("note", Query(user_id="bob"), 100)) == 20


def test_postgres_versions_that_keep_their_text_are_not_logged_again(two_servers) -> None:  # noqa: ANN001
    a, _ = two_servers
    [rec] = _write(a, "u", ["an apple"])
    seqs = lambda: [r["seq"] for r in a._select("SELECT seq FROM texts")]  # noqa: E731
    before = seqs()
    a.save_versions([(rec.model_copy(update={"archived_at": rec.created_at, "version": 2}), "archive")],
                    op=Operation.ARCHIVE, changed_fields=["archived_at"])
    assert seqs() == before
