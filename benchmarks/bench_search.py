"""Search latency and recall at 10k / 100k / 1M memories in one user's scope.

    python benchmarks/bench_search.py --sizes 10000,100000,1000000 --queries 200

One store file grows through the sizes. Rows go in through the store layer
(``SQLiteStore.insert``) with sentence-like synthetic text (Zipfian vocabulary, so
FTS5 has realistic posting lists) and synthetic *clustered* unit vectors (embedding
1M texts would take hours on 2 cores). At each size a fresh store object is opened,
so the first search pays the whole index load/build, which is reported.

Per query, ``Memory.search`` is what users call (it adds the validity filter at ``now`` and
counts the access); ``hybrid`` is the ``remem.read.hybrid_search`` call under it (the default fitted
ranker; ``legacy`` = the read path before it, timed on the same queries) including a real
MiniLM embedding of the query text (the wrapper embeds the text for real, then hands
back an in-distribution synthetic vector so the ANN walk is realistic). The parts are
then timed on their own: ``embed``, ``vector_search`` (store, HNSW above the
threshold), ``text_search`` (BM25 from the derived in-memory text index), and the baselines:
exact numpy top-k over the same vectors, and FTS5's own ``bm25()`` ranking (the text search
before the derived index, run as its SQL here). recall@10 compares ``store.vector_search`` with
that exact top-10; "bm25 vs fts5 top-10" is the overlap of the two text rankings (their IDFs
differ: FTS5 clamps common words to 1e-6, the index uses Lucene's smoothed IDF).
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import ClusteredVectors, cpu, SentenceGenerator, console, dir_size, now, pct, peak_rss_mb, rss_mb, table, write_json
from remem import Memory
from remem.embed import default_embedder
from remem.models import MemoryRecord
from remem.read import SearchConfig, hybrid_search
from remem.read.search import LEGACY
from remem.store import Query, SQLiteStore, Write
from remem.store.sqlite import scope_token
from remem.store.text import fts_query

USER = "bench-user"


class FixedVectorEmbedder:
    """Embeds the text for real (the time counts) but returns a preset query vector."""

    def __init__(self, real, vector: np.ndarray) -> None:
        self.real, self.vector = real, vector
        self.model_name, self.dim = real.model_name, real.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        self.real.embed(texts)
        return self.vector[None, :]


def fts5_bm25(store: SQLiteStore, text: str, user: str, limit: int) -> list[str]:
    """The baseline: FTS5's bm25() over the user's rows, as SQLiteStore.text_search ran before
    the derived text index (a user-only query: no filter join)."""
    match = f"text : ({fts_query(text)}) AND scope : {scope_token(store.tenant, user)}"
    rows = store._select(
        "SELECT m.id AS id FROM (SELECT rowid, bm25(memories_fts, 1.0, 0.0) AS s FROM memories_fts "
        "WHERE memories_fts MATCH ? ORDER BY s LIMIT ?) AS f JOIN memories m ON m.rowid = f.rowid ORDER BY f.s",
        (match, limit),
    )
    return [r["id"] for r in rows]


def exact_top(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = np.einsum("ij,j->i", matrix, q)  # single-threaded; BLAS gemv stalls on a busy box
    idx = np.argpartition(-scores, k)[:k]
    return idx[np.argsort(-scores[idx])]


def insert(store: SQLiteStore, gen: SentenceGenerator, vecs: ClusteredVectors, start: int, stop: int,
           batch: int, all_vectors: np.ndarray, ids: list[str]) -> float:
    t0 = now()
    pos = start
    while pos < stop:
        n = min(batch, stop - pos)
        texts = gen.sentences(n)
        v = vecs.sample(n)
        all_vectors[pos : pos + n] = v
        writes = []
        for text, vec in zip(texts, v):
            rec = MemoryRecord(content=text, user_id=USER, role="user")
            writes.append(Write(record=rec, index_text=text, vector=vec))
            ids.append(rec.id)
        store.insert(writes)
        pos += n
        console.print(f"  inserted {pos:,}/{stop:,}  ({(pos - start) / (now() - t0):,.0f} rows/s, rss {rss_mb():,.0f} MiB)", end="\r")
    console.print()
    return now() - t0


def run_users(workdir: Path, users: int, per_user: int, batch: int, gen: SentenceGenerator, vecs: ClusteredVectors,
              query_texts: list[str], query_vecs: np.ndarray, embedder) -> dict:
    """``users`` users of ``per_user`` memories each in one store: ``Memory.search`` scoped to a
    random user, the first search of a user (its partitions built: cold) and a second one (warm)."""
    path = workdir / "users.db"
    store = SQLiteStore(path)
    store.check_embedding(embedder.model_name, embedder.dim)
    total, t0 = users * per_user, now()
    order = np.random.default_rng(5).permutation(total) % users  # users' memories interleaved, as they arrive
    for start in range(0, total, batch):
        chunk = order[start : start + batch]
        texts, v = gen.sentences(len(chunk)), vecs.sample(len(chunk))
        store.insert([Write(record=MemoryRecord(content=t, user_id=f"u{u}", role="user"), index_text=t, vector=x)
                      for t, x, u in zip(texts, v, chunk)])
        console.print(f"  inserted {start + len(chunk):,}/{total:,} ({(start + len(chunk)) / (now() - t0):,.0f} rows/s)", end="\r")
    console.print()
    store._db.conn.close()
    store = SQLiteStore(path)  # cold: no partition built yet
    store.check_embedding(embedder.model_name, embedder.dim)
    holder = FixedVectorEmbedder(embedder, query_vecs[0])
    mem = Memory(store=store, embedder=holder, llm=None)
    rng = np.random.default_rng(9)
    picked = rng.choice(users, size=min(len(query_texts), users), replace=False)
    cold, warm = [], []
    for text, q, u in zip(query_texts, query_vecs, picked):
        holder.vector = q
        for samples, suffix in ((cold, ""), (warm, " again")):
            t1 = now()
            hits = mem.search(text + suffix, user_id=f"u{u}", limit=10)
            samples.append(now() - t1)
            assert all(h.memory.user_id == f"u{u}" for h in hits)
    store._db.conn.close()
    result = {"users": users, "per_user": per_user, "cold_p50": pct(cold, 50), "cold_p95": pct(cold, 95),
              "warm_p50": pct(warm, 50), "warm_p95": pct(warm, 95), "rss_mb": rss_mb(), "loadavg": os.getloadavg()[0]}
    console.print(f"  {users:,} users x {per_user}: Memory.search cold p50/p95 {result['cold_p50']:.1f}/{result['cold_p95']:.1f} ms, "
                  f"warm {result['warm_p50']:.1f}/{result['warm_p95']:.1f} ms")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated memory counts")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--batch", type=int, default=5000, help="rows per insert transaction")
    ap.add_argument("--dir", default=None, help="where to put the store (default: a temp dir, deleted after)")
    ap.add_argument("--keep", action="store_true", help="keep the store files")
    ap.add_argument("--json", default=None, help="also write results to this JSON file")
    ap.add_argument("--users", default="", help="USERSxMEMORIES, e.g. 10000x100: also time Memory.search in a store of "
                    "that many users of that many memories each (a random user per query, cold then warm)")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="remem-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "search.db"
    embedder = default_embedder()
    gen, vecs = SentenceGenerator(), ClusteredVectors(dim=embedder.dim)
    query_texts = gen.queries(args.queries)
    query_vecs = vecs.sample(args.queries)
    all_vectors = np.empty((sizes[-1] if sizes else 0, embedder.dim), dtype=np.float32)
    ids: list[str] = []

    embedder.embed(query_texts[:8])  # warm up onnxruntime
    embed_s = []
    for text in query_texts:
        t0 = now()
        embedder.embed([text])
        embed_s.append(now() - t0)

    users_result = None
    if args.users:
        n_users, per_user = (int(x) for x in args.users.lower().split("x"))
        console.print(f"[bold]{n_users:,} users x {per_user} memories[/bold]")
        users_result = run_users(workdir, n_users, per_user, args.batch, gen, vecs, query_texts, query_vecs, embedder)
    writer = SQLiteStore(db_path)
    writer.check_embedding(embedder.model_name, embedder.dim)
    results = []
    try:
        for size in sizes:
            console.print(f"[bold]size {size:,}[/bold]")
            insert_s = insert(writer, gen, vecs, len(ids), size, args.batch, all_vectors, ids)
            inserted = size - (results[-1]["size"] if results else 0)
            results.append(run_size(db_path, size, all_vectors[:size], ids, query_texts, query_vecs, embedder, embed_s))
            results[-1].update(insert_rows_per_s=inserted / insert_s)
            gc.collect()
    finally:
        writer._db.conn.close()
        if not args.keep and args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    if users_result:
        one = results
        cols = ["store", "Memory.search p50", "Memory.search p95", "load avg"]
        rows = [[f"{users_result['users']:,} users x {users_result['per_user']}, cold", users_result["cold_p50"], users_result["cold_p95"], users_result["loadavg"]],
                [f"{users_result['users']:,} users x {users_result['per_user']}, warm", users_result["warm_p50"], users_result["warm_p95"], users_result["loadavg"]]]
        rows += [[f"one user of {r['size']:,}", r["memory_p50"], r["memory_p95"], r["loadavg"]] for r in one]
        console.print(table("many small users vs one large user, ms (same queries, same run)", cols, rows))
    cols = ["memories", "Memory.search p50", "Memory.search p95", "Memory.search cpu p50", "Memory.search cpu p95",
            "hybrid p50", "hybrid p95", "hybrid cpu p50", "hybrid cpu p95", "legacy p50", "legacy cpu p50",
            "embed p50", "recall@10", "load avg"]
    rows = [[r["size"], r["memory_p50"], r["memory_p95"], r["memory_cpu_p50"], r["memory_cpu_p95"], r["hybrid_p50"], r["hybrid_p95"], r["hybrid_cpu_p50"], r["hybrid_cpu_p95"], r["legacy_p50"],
             r["legacy_cpu_p50"], r["embed_p50"], r["recall_at_10"], r["loadavg"]] for r in results]
    console.print("cpu = process CPU time (all threads) per query: robust to other load on a shared machine")
    console.print(table(f"hybrid search, ms ({args.queries} queries, one user's scope; embed + dense + bm25 + fusion + fetch)", cols, rows))
    cols = ["memories", "vector p50", "vector p95", "exact numpy p50", "exact numpy p95"]
    rows = [[r["size"], r["vector_p50"], r["vector_p95"], r["exact_p50"], r["exact_p95"]] for r in results]
    console.print(table("vector parts, ms: store.vector_search (k=50) vs exact numpy baseline", cols, rows))
    cols = ["memories", "bm25 p50", "bm25 p95", "bm25 cpu p50", "bm25 cpu p95", "fts5 p50", "fts5 p95", "fts5 cpu p50",
            "fts5 cpu p95", "top-10 overlap"]
    rows = [[r["size"], r["text_p50"], r["text_p95"], r["text_cpu_p50"], r["text_cpu_p95"], r["fts5_p50"], r["fts5_p95"],
             r["fts5_cpu_p50"], r["fts5_cpu_p95"], r["bm25_fts5_overlap"]] for r in results]
    console.print(table("text parts, ms: store.text_search (derived index, k=50) vs FTS5 bm25() baseline", cols, rows))
    cols2 = ["memories", "index", "first search (load+build) s", "text index build s", "insert rows/s", "db bytes/memory",
             "rss MiB", "peak rss MiB"]
    rows2 = [[r["size"], r["index"], r["build_s"], r["text_build_s"], r["insert_rows_per_s"], r["db_bytes_per_memory"],
              r["rss_mb"], r["peak_rss_mb"]] for r in results]
    console.print(table("index build and store size", cols2, rows2))
    write_json(args.json, {"benchmark": "search", "queries": args.queries, "results": results, "users": users_result})


def run_size(db_path: Path, size: int, matrix: np.ndarray, ids: list[str], query_texts: list[str],
             query_vecs: np.ndarray, embedder, embed_s: list[float]) -> dict:
    store = SQLiteStore(db_path)  # a fresh view: its vector index starts cold
    store.check_embedding(embedder.model_name, embedder.dim)
    scope = Query(user_id=USER)
    config = SearchConfig()
    depth = max(10 * 3, config.min_candidates)

    t0 = now()
    store.vector_search(query_vecs[0], scope, 10)
    build_s = now() - t0
    part = store._db.index._parts[(store.tenant, USER)]
    index_kind = type(part.impl).__name__.replace("Partition", "")
    console.print(f"  first search (load + build {index_kind}): {build_s:.1f} s, rss {rss_mb():,.0f} MiB")
    t0 = now()
    store.text_search(query_texts[0], scope, 10)
    text_build_s = now() - t0
    console.print(f"  first text search (build the text index): {text_build_s:.1f} s, rss {rss_mb():,.0f} MiB")

    holder = FixedVectorEmbedder(embedder, query_vecs[0])
    mem = Memory(store=store, embedder=holder, llm=None)  # not closed: the store is closed below
    fts_s, fts_cpu, overlaps, memory_s, memory_cpu = [], [], [], [], []
    hybrid_s, hybrid_cpu, vector_s, text_s, text_cpu, exact_s, recalls = [], [], [], [], [], [], []
    legacy_s, legacy_cpu = [], []
    for text, q in zip(query_texts, query_vecs):
        holder.vector = q
        t0, c0 = now(), cpu()
        mem.search(text, user_id=USER, limit=10)
        memory_s.append(now() - t0)
        memory_cpu.append(cpu() - c0)

        t0, c0 = now(), cpu()
        hits = hybrid_search(store, FixedVectorEmbedder(embedder, q), text, scope, 10, config)
        hybrid_s.append(now() - t0)
        hybrid_cpu.append(cpu() - c0)
        assert hits, "hybrid search found nothing"

        t0, c0 = now(), cpu()  # the baseline in the same run: the read path before the fitted ranker
        hybrid_search(store, FixedVectorEmbedder(embedder, q), text, scope, 10, LEGACY)
        legacy_s.append(now() - t0)
        legacy_cpu.append(cpu() - c0)

        t0 = now()
        found = store.vector_search(q, scope, depth)
        vector_s.append(now() - t0)

        t0, c0 = now(), cpu()
        ranked = store.text_search(text, scope, depth)
        text_s.append(now() - t0)
        text_cpu.append(cpu() - c0)

        t0, c0 = now(), cpu()
        baseline = fts5_bm25(store, text, USER, depth)
        fts_s.append(now() - t0)
        fts_cpu.append(cpu() - c0)
        if baseline:
            overlaps.append(len({i for i, _ in ranked[:10]} & set(baseline[:10])) / min(10, len(baseline)))

        t0 = now()
        exact = exact_top(matrix, q, depth)
        exact_s.append(now() - t0)

        truth = {ids[i] for i in exact[:10]}
        recalls.append(len(truth & {i for i, _ in found[:10]}) / 10)

    result = {
        "size": size, "index": index_kind, "build_s": build_s,
        "memory_p50": pct(memory_s, 50), "memory_p95": pct(memory_s, 95),
        "memory_cpu_p50": pct(memory_cpu, 50), "memory_cpu_p95": pct(memory_cpu, 95),
        "hybrid_p50": pct(hybrid_s, 50), "hybrid_p95": pct(hybrid_s, 95),
        "hybrid_cpu_p50": pct(hybrid_cpu, 50), "hybrid_cpu_p95": pct(hybrid_cpu, 95),
        "legacy_p50": pct(legacy_s, 50), "legacy_p95": pct(legacy_s, 95),
        "legacy_cpu_p50": pct(legacy_cpu, 50), "legacy_cpu_p95": pct(legacy_cpu, 95),
        "text_cpu_p50": pct(text_cpu, 50), "text_cpu_p95": pct(text_cpu, 95), "loadavg": os.getloadavg()[0],
        "embed_p50": pct(embed_s, 50), "embed_p95": pct(embed_s, 95),
        "vector_p50": pct(vector_s, 50), "vector_p95": pct(vector_s, 95),
        "text_p50": pct(text_s, 50), "text_p95": pct(text_s, 95), "text_build_s": text_build_s,
        "fts5_p50": pct(fts_s, 50), "fts5_p95": pct(fts_s, 95), "fts5_cpu_p50": pct(fts_cpu, 50), "fts5_cpu_p95": pct(fts_cpu, 95),
        "bm25_fts5_overlap": float(np.mean(overlaps)) if overlaps else 0.0,
        "exact_p50": pct(exact_s, 50), "exact_p95": pct(exact_s, 95),
        "recall_at_10": float(np.mean(recalls)),
        "db_bytes_per_memory": dir_size(db_path, db_path.name) / size,
        "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb(),
    }
    console.print(f"  Memory.search p50 {result['memory_p50']:.1f} ms p95 {result['memory_p95']:.1f} ms, hybrid p50 {result['hybrid_p50']:.1f} ms p95 {result['hybrid_p95']:.1f} ms, "
                  f"vector p95 {result['vector_p95']:.2f} ms, bm25 p95 {result['text_p95']:.1f} ms, recall@10 {result['recall_at_10']:.3f}")
    store._db.conn.close()  # not close(): that would save the index cache, and the next size must build cold
    return result


if __name__ == "__main__":
    sys.exit(main())
