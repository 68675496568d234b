"""Store size on disk per memory, broken down by table, before and after compression.

    python benchmarks/bench_size.py --n 25000

Builds the same store (``n`` memories of sentence-like synthetic text with 384-d vectors, through
the store layer) three ways in one run:

- **before**: as remem stored it before compression: float32 vector blobs, a float16 HNSW
  cache, and a full JSON snapshot in the ADD history row (the snapshots are written back
  into the history rows, exactly as the older code wrote them);
- **before + compress_vectors()**: that store converted in place by the conversion command
  (``remem.store.compress``), which also compacts the history rows it can;
- **new store**: what a new store writes now (int8 blobs, compact history, default HNSW dtype).

Each one checkpoints the WAL, builds and saves the HNSW cache (above the 20k threshold) and
reads per-table sizes from SQLite's ``dbstat``. The baseline row is the payload itself:
UTF-8 content plus a float32 vector.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import ClusteredVectors, SentenceGenerator, console, now, table, write_json
from remem.models import MemoryRecord
from remem.store import Query, SQLiteStore, Write
from remem.store.compress import compress_vectors

DIM = 384
GROUPS = {"memories": "memories (row)", "history": "history (versions)", "vectors": "vectors (blobs)"}
VARIANTS = ("before", "before + compress_vectors()", "new store")


def build(db_path: Path, n: int, old: bool) -> tuple[int, float]:
    """Insert ``n`` memories (the same ones every time: fixed seeds); returns (payload bytes, seconds)."""
    gen, vecs = SentenceGenerator(), ClusteredVectors(dim=DIM)
    store = SQLiteStore(db_path)
    store.check_embedding("all-MiniLM-L6-v2-int8", DIM)
    if old:
        with store._db.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = 'vector_codec'")  # float32, as before
        assert store._db.index is not None
        store._db.index.hnsw_dtype = "f16"  # and float16 graphs, as before
    payload, t0 = 0, now()
    for start in range(0, n, 5000):
        k = min(5000, n - start)
        texts, v = gen.sentences(k), vecs.sample(k)
        payload += sum(len(t.encode()) for t in texts) + v.nbytes
        records = [MemoryRecord(content=t, user_id="u1", role="user") for t in texts]
        store.insert([Write(record=r, index_text=t, vector=x) for r, t, x in zip(records, texts, v)])
        if old:  # the ADD snapshot as older versions wrote it: the whole record again
            with store._db.transaction() as conn:
                conn.executemany("UPDATE history SET snapshot = ? WHERE memory_id = ?",
                                 [(r.model_dump_json(), r.id) for r in records])
    seconds = now() - t0
    store.vector_search(vecs.sample(1)[0], Query(user_id="u1"), 10)  # builds the index
    store.close()  # saves the HNSW cache beside the file
    return payload, seconds


def measure(db_path: Path) -> dict[str, int]:
    """Bytes per part: dbstat groups, the file, the HNSW cache."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    by_object = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    conn.close()
    groups: dict[str, int] = {}
    for name, size in by_object:
        if name.startswith("memories_fts"):
            label = "FTS5 text index"
        elif name in GROUPS:
            label = GROUPS[name]
        elif name.startswith(("ix_", "sqlite_autoindex")):
            label = "b-tree indexes"
        else:
            label = "other (audit, meta, ...)"
        groups[label] = groups.get(label, 0) + int(size)
    idx = Path(str(db_path) + ".idx")
    groups["SQLite file total"] = db_path.stat().st_size
    groups["HNSW cache (.idx)"] = sum(f.stat().st_size for f in idx.glob("*") if f.is_file()) if idx.exists() else 0
    groups["on disk total"] = groups["SQLite file total"] + groups["HNSW cache (.idx)"]
    return groups


def compress(db_path: Path) -> dict[str, Any]:
    """The conversion command on an old store, then the HNSW cache rebuilt as a search would."""
    store = SQLiteStore(db_path)
    store.check_embedding("all-MiniLM-L6-v2-int8", DIM)
    report = compress_vectors(store, rebuild=True)
    store.close()
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=25_000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    n = args.n
    workdir = Path(tempfile.mkdtemp(prefix="remem-size-"))
    sizes: dict[str, dict[str, int]] = {}
    try:
        old, new = workdir / "old.db", workdir / "new.db"
        payload, old_s = build(old, n, old=True)
        sizes["before"] = measure(old)
        t0 = now()
        report = compress(old)
        compress_s = now() - t0
        sizes["before + compress_vectors()"] = measure(old)
        _, new_s = build(new, n, old=False)
        sizes["new store"] = measure(new)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    totals = ("SQLite file total", "HNSW cache (.idx)", "on disk total")
    parts = sorted({p for s in sizes.values() for p in s if p not in totals}, key=lambda p: -sizes["before"].get(p, 0))
    rows = [[p, *[sizes[v].get(p, 0) / n for v in VARIANTS]] for p in (*parts, *totals)]
    rows.append(["baseline: raw payload (text + float32 vector)", payload / n, payload / n, payload / n])
    console.print(table(
        f"store size on disk, bytes per memory ({n:,} memories; inserted in {old_s:.0f} s / {new_s:.0f} s; "
        f"compress_vectors {compress_s:.1f} s: {report['converted']:,} vectors, {report['history_compacted']:,} history rows)",
        ["part", *VARIANTS], rows))
    write_json(args.json, {"benchmark": "size", "n": n, "bytes_per_memory": {
        v: {p: s / n for p, s in sizes[v].items()} for v in VARIANTS}, "compress": report})


if __name__ == "__main__":
    sys.exit(main())
