"""Recall and latency of int8 vectors and product quantization against exact float32 search,
synthetic and LoCoMo.

    python benchmarks/bench_compression.py --sizes 100000 --queries 500
    python benchmarks/bench_compression.py --sizes 100000,1000000 --configs f16-f32,i8,i8-ef1024,pq,pq-r64,pq-codes,exact-i8 --locomo ""

Synthetic (each size): clustered unit vectors (benchmarks/_common.py) go through the store's own
index code, ``Partition.apply`` on stored blobs, once as float32 blobs and once as int8 blobs
(``remem.store.codec``), into each index the store can use: the exact matrix and HNSW with
float16 or int8 storage. The PQ rows (``SQLiteStore(large_partitions="pq")``, faiss) are built
through a real store file holding the int8 blobs, because a PQ search re-ranks its candidates
with the blobs it reads from SQLite. recall@10 is against exact float32 top-10 over the same
vectors; latency is per search (the partition's ``search``, k=10). "index B/vector" is the saved
cache file (what ``.idx`` holds); "RAM B/vector" is usearch's ``memory_usage`` for a graph and
the serialized index for PQ (codes, keys, centroids: what faiss holds in memory).

LoCoMo (``--locomo``, needs ../shared/data): the real ``remem eval locomo`` run twice in this
process, on float32 stores and on int8 stores (everything else equal): evidence recall@10 per
mode, and how much of each question's float32 top-10 the int8 run still returns.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime  # noqa: F401  (before usearch: loaded after it, onnxruntime 1.32's import segfaults)

from _common import LOCOMO, ClusteredVectors, console, cpu, now, pct, table, write_json
from remem.store import SQLiteStore, codec
from remem.store.vector_index import Partition

DIM = 384
CONFIGS = [  # name, label, blob codec, index ("exact", an HNSW dtype, or "pq"), ef_search (HNSW) / re-rank (PQ: None = by size)
    ("f16-f32", "float32 blobs, HNSW f16 (before)", codec.FLOAT32, "f16", 384),
    ("f16", "int8 blobs, HNSW f16", codec.INT8, "f16", 384),
    ("i8", "int8 blobs, HNSW i8 (default)", codec.INT8, "i8", 384),
    ("i8-ef512", "int8 blobs, HNSW i8, ef 512", codec.INT8, "i8", 512),
    ("i8-ef1024", "int8 blobs, HNSW i8, ef 1024", codec.INT8, "i8", 1024),
    ("pq", "int8 blobs, IVF-PQ + exact re-rank (large_partitions='pq')", codec.INT8, "pq", None),
    ("pq-r64", "int8 blobs, IVF-PQ + exact re-rank of 64", codec.INT8, "pq", 64),
    ("pq-codes", "int8 blobs, IVF-PQ codes only, no re-rank", codec.INT8, "pq", 0),
    ("exact-f32", "float32 blobs, exact (before)", codec.FLOAT32, "exact", 0),
    ("exact-i8", "int8 blobs, exact (default below 20k)", codec.INT8, "exact", 0),
]
DEFAULT_CONFIGS = "f16-f32,f16,i8,i8-ef512,pq,pq-codes,exact-f32,exact-i8"


def exact_top(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = np.einsum("ij,j->i", matrix, q)
    idx = np.argpartition(-scores, k)[:k]
    return idx[np.argsort(-scores[idx])]


def blobs_for(vectors: np.ndarray, name: str) -> list[bytes]:
    if name == codec.INT8:
        return codec.encode_int8(vectors)
    return [v.tobytes() for v in vectors]


def build(vectors: np.ndarray, blob_codec: str, index: str) -> tuple[Partition, float]:
    """A partition loaded from stored blobs the way a store loads it; returns it and the build seconds."""
    blobs = blobs_for(vectors, blob_codec)
    threshold = len(vectors) + 1 if index == "exact" else 0
    part = Partition(DIM, threshold, index if index != "exact" else "f16")
    t0 = now()
    part.apply((i + 1, i, b) for i, b in enumerate(blobs))
    return part, now() - t0


def build_pq(vectors: np.ndarray, workdir: Path) -> tuple[Any, float]:
    """A PQ partition the way an int8 store builds it: the blobs in a store file (vectors table
    only: the index reads nothing else), then the store's own ``_partition``; returns it and the
    build seconds (reading the blobs from SQLite, training, adding)."""
    path = workdir / f"pq-{len(vectors)}.db"
    store = SQLiteStore(path, large_partitions="pq", pq_threshold=0)
    store.check_embedding("synthetic", DIM)
    with store._db.transaction() as conn:
        conn.execute("INSERT INTO partitions (tenant, user_key) VALUES (?, 'u')", (store.tenant,))
        for start in range(0, len(vectors), 50_000):
            chunk = codec.encode_int8(vectors[start : start + 50_000])
            conn.executemany(
                "INSERT INTO vectors (mem_rowid, tenant, user_key, vec) VALUES (?, ?, 'u', ?)",
                ((start + i, store.tenant, b) for i, b in enumerate(chunk)),
            )
    t0 = now()
    part = store._partition("u")
    return part, now() - t0


def index_bytes(part: Any, workdir: Path) -> tuple[float, float]:
    """(saved cache bytes, in-memory bytes) per vector; nan for the exact matrix."""
    impl = part.impl
    if impl.kind == "exact":
        return float("nan"), float("nan")
    path = workdir / f"cache{impl.suffix}"
    impl.save(str(path))
    size = path.stat().st_size
    path.unlink()
    ram = impl.index.memory_usage if impl.kind == "hnsw" else size
    return size / len(impl), ram / len(impl)


def run_size(n: int, queries: int, workdir: Path, names: list[str]) -> list[dict[str, Any]]:
    gen = ClusteredVectors(dim=DIM)
    vectors, qs = gen.sample(n), gen.sample(queries)
    console.print(f"  {n:,}: exact float32 top-10 of {queries} queries ...")
    truth = [set(exact_top(vectors, q, 10).tolist()) for q in qs]
    out: list[dict[str, Any]] = []
    built: dict[tuple[str, str], tuple[Any, float]] = {}
    for name, label, blob_codec, index, param in CONFIGS:
        if name not in names:
            continue
        key = (blob_codec, index)
        if key not in built:
            console.print(f"  {n:,}: building {blob_codec} / {index} ...")
            built.clear()  # one big index in memory at a time
            built[key] = build_pq(vectors, workdir) if index == "pq" else build(vectors, blob_codec, index)
        part, build_s = built[key]
        if part.impl.kind == "hnsw":
            part.impl.index.expansion_search = param
        elif part.impl.kind == "pq":
            part.impl.rerank = param
        wall, cpus, recall = [], [], []
        for q, t in zip(qs, truth):
            t0, c0 = now(), cpu()
            found = part.impl.search(q, 10)
            wall.append(now() - t0)
            cpus.append(cpu() - c0)
            recall.append(len(t & {k for k, _ in found}) / 10)
        cache_b, ram_b = index_bytes(part, workdir)
        out.append({
            "size": n, "config": label, "recall_at_10": float(np.mean(recall)), "p50_ms": pct(wall, 50),
            "p95_ms": pct(wall, 95), "cpu_p50_ms": pct(cpus, 50), "build_s": build_s,
            "index_bytes_per_vector": cache_b, "ram_bytes_per_vector": ram_b,
            "blob_bytes": len(blobs_for(vectors[:1], blob_codec)[0]),
        })
        console.print(f"    {label}: recall@10 {out[-1]['recall_at_10']:.4f}, p50 {out[-1]['p50_ms']:.2f} ms")
    built.clear()
    for path in workdir.glob(f"pq-{n}.db*"):  # the PQ rows' store file (a 1M store is ~450 MB)
        path.unlink()
    return out


# -- LoCoMo --------------------------------------------------------------------------------
def float32_factory(path: Path, embedder: Any) -> Any:
    """A Memory on a store that writes float32 blobs, as stores did before int8."""
    from remem import Memory
    from remem.store import SQLiteStore

    store = SQLiteStore(path)
    store.check_embedding(embedder.model_name, embedder.dim)
    with store._db.transaction() as conn:
        conn.execute("DELETE FROM meta WHERE key = 'vector_codec'")
    store.close()
    return Memory(path=path, embedder=embedder)


def run_locomo(modes: str, workdir: Path, limit: int | None) -> tuple[list[list[Any]], dict[str, Any]]:
    from remem.eval.runner import run_benchmark

    reports = {}
    for name, factory in (("float32", float32_factory), ("int8", None)):
        console.print(f"  LoCoMo, {name} stores ({modes}) ...")
        reports[name] = run_benchmark(
            "locomo", LOCOMO, out_dir=workdir / f"locomo-{name}", modes=modes, memory_factory=factory, progress=False,
            limit=limit,
        )
    rows, data = [], {}
    for mode in modes.split(","):
        before = reports["float32"].metric("recall@10", mode=mode)
        after = reports["int8"].metric("recall@10", mode=mode)
        overlap = _overlap(reports["float32"].questions, reports["int8"].questions, mode)
        rows.append([mode, f"{before:.4f}", f"{after:.4f}", f"{(after - before) * 100:+.2f}", f"{overlap:.4f}"])
        data[mode] = {"recall_at_10_float32": before, "recall_at_10_int8": after, "top10_overlap": overlap}
    return rows, data


def _overlap(a: list[dict[str, Any]], b: list[dict[str, Any]], mode: str) -> float:
    """Mean share of each question's float32 top-10 that the int8 run returned in its top-10."""
    first = {q["id"]: q["retrieved"] for q in a if q["mode"] == mode}
    shares = []
    for q in b:
        if q["mode"] == mode and q["id"] in first:
            want = list(first[q["id"]])[:10]
            if want:
                shares.append(len(set(want) & set(list(q["retrieved"])[:10])) / len(want))
    return float(np.mean(shares)) if shares else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000", help="comma-separated partition sizes (synthetic)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--configs", default=DEFAULT_CONFIGS,
                    help=f"comma-separated synthetic configurations, of: {', '.join(c[0] for c in CONFIGS)}")
    ap.add_argument("--locomo", default="dense,hybrid", help="LoCoMo modes to compare ('' to skip)")
    ap.add_argument("--locomo-limit", type=int, default=None, help="first N conversations only")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="remem-compress-"))
    results: list[dict[str, Any]] = []
    names = [c for c in args.configs.split(",") if c]
    unknown = set(names) - {c[0] for c in CONFIGS}
    if unknown:
        ap.error(f"unknown --configs {', '.join(sorted(unknown))}")
    for n in (int(s) for s in args.sizes.split(",") if s):
        results.extend(run_size(n, args.queries, workdir, names))
    cols = ["size", "config", "blob bytes", "recall@10 vs exact f32", "p50 ms", "p95 ms", "cpu p50 ms", "build s",
            "index B/vector", "RAM B/vector"]
    rows = [[r["size"], r["config"], r["blob_bytes"], f"{r['recall_at_10']:.4f}", r["p50_ms"], r["p95_ms"], r["cpu_p50_ms"],
             r["build_s"], r["index_bytes_per_vector"], r["ram_bytes_per_vector"]] for r in results]
    locomo_rows, locomo = [], {}
    if args.locomo and LOCOMO.exists():
        locomo_rows, locomo = run_locomo(args.locomo, workdir, args.locomo_limit)
    console.print(f"load average {os.getloadavg()[0]:.1f}")
    if rows:
        console.print(table(f"synthetic clustered vectors, {args.queries} queries, k=10", cols, rows))
    if locomo_rows:
        console.print(table("LoCoMo evidence recall@10: float32 vs int8 stores (same run)",
                            ["mode", "float32", "int8", "Δ points", "int8 top-10 ∩ float32 top-10"], locomo_rows))
    write_json(args.json, {"benchmark": "compression", "synthetic": results, "locomo": locomo})


if __name__ == "__main__":
    sys.exit(main())
