"""Store size on disk per memory, broken down by table, against the raw payload.

    python benchmarks/bench_size.py --n 25000

Inserts ``n`` memories (sentence-like synthetic text, 384-d vectors) through the store
layer, checkpoints the WAL, builds and saves the HNSW cache (above the 20k threshold),
then reads per-table sizes from SQLite's ``dbstat``. The baseline row is the payload
itself: UTF-8 content plus a float32 vector.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from _common import ClusteredVectors, SentenceGenerator, console, now, table, write_json
from remem.models import MemoryRecord
from remem.store import Query, SQLiteStore, Write

DIM = 384
GROUPS = {  # dbstat object -> row label
    "memories": "memories (row)", "history": "history (versions)", "vectors": "vectors (float32 blobs)",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=25_000)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="remem-size-"))
    db_path = workdir / "size.db"
    gen, vecs = SentenceGenerator(), ClusteredVectors(dim=DIM)
    payload = 0
    try:
        store = SQLiteStore(db_path)
        store.check_embedding("all-MiniLM-L6-v2-int8", DIM)
        t0 = now()
        for start in range(0, args.n, 5000):
            k = min(5000, args.n - start)
            texts, v = gen.sentences(k), vecs.sample(k)
            payload += sum(len(t.encode()) for t in texts) + v.nbytes
            store.insert([Write(record=MemoryRecord(content=t, user_id="u1", role="user"), index_text=t, vector=x)
                          for t, x in zip(texts, v)])
        insert_s = now() - t0
        store.vector_search(vecs.sample(1)[0], Query(user_id="u1"), 10)  # builds the index
        store.close()  # saves the HNSW cache beside the file
        conn = sqlite3.connect(db_path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        by_object = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        conn.close()
        idx_bytes = sum(f.stat().st_size for f in Path(str(db_path) + ".idx").glob("*") if f.is_file()) \
            if Path(str(db_path) + ".idx").exists() else 0
        file_bytes = db_path.stat().st_size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    groups: dict[str, int] = {}
    for name, size in by_object:
        if name.startswith("memories_fts"):
            label = "FTS5 text index"
        elif name in GROUPS:
            label = GROUPS[name]
        elif name.startswith(("ix_", "sqlite_autoindex")):
            label = "b-tree indexes"
        else:
            label = "other"
        groups[label] = groups.get(label, 0) + int(size)
    n = args.n
    rows = [[label, size / n] for label, size in sorted(groups.items(), key=lambda kv: -kv[1])]
    rows.append(["SQLite file total", file_bytes / n])
    rows.append(["HNSW cache (.idx, float16)", idx_bytes / n])
    rows.append(["on disk total", (file_bytes + idx_bytes) / n])
    rows.append(["baseline: raw payload (text + float32 vector)", payload / n])
    console.print(table(f"store size on disk, bytes per memory ({n:,} memories, inserted in {insert_s:.0f} s)",
                        ["part", "bytes/memory"], rows))
    write_json(args.json, {"benchmark": "size", "n": n, "bytes_per_memory": {r[0]: r[1] for r in rows}})


if __name__ == "__main__":
    sys.exit(main())
