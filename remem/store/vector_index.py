"""In-memory vector indexes, one partition per (tenant, user), derived from the store.

The store's ``vectors`` table is the source of truth. A partition remembers the
highest ``seq`` it has applied and the partition's ``generation`` (bumped on purge);
before every search it pulls newer rows, and rebuilds when the generation moved.
So it can lag only until the next search, never disagree, and a crash loses nothing.

Small partitions are searched exactly (numpy); past ``hnsw_threshold`` vectors a
partition switches to an HNSW graph (usearch), and past ``pq_threshold`` to product-quantized
codes (faiss; a store opened with ``large_index="hnsw"`` keeps the graph instead,
:mod:`remem.store.pq_index`). A graph's or codes' file may be saved beside the
store as a cache with its watermark and is reloaded on open. A cache is bound to the
store's identity (a random id written when the store was created) and to the row at its
watermark (its key and a hash of its vector): a store re-created at the same path, or an
older copy restored over it, never reuses a cache that is not its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from remem.errors import InvalidInputError
from remem.store.codec import decode_many
from remem.store.index_cache import CachedPartitions

log = logging.getLogger("remem.index")

Delta = Iterable[tuple[int, int, bytes]]  # (seq, key, stored blob: float32 or int8, see codec.py)
RowAt = Callable[[int], "tuple[int, bytes] | None"]  # seq -> (key, blob) of that row, if present
VectorsOf = Callable[[list[int]], "list[tuple[int, bytes]]"]  # keys -> (key, blob) of those still stored

LARGE_INDEXES = ("auto", "hnsw", "pq")
"""What a partition past ``pq_threshold`` becomes: product-quantized, or still HNSW; ``auto`` (the
default) is ``pq`` when faiss is installed (a dependency of remem) and ``hnsw`` otherwise."""
KINDS = ("exact", "hnsw", "pq")  # in the order a growing partition goes through them
PQ_SUFFIX = ".faiss"  # a PQ partition's cache file (an HNSW graph's: .usearch)


def _tail(seq: int, key: int, blob: bytes) -> list[object]:
    """What identifies the row at a watermark: its seq, key and a hash of its vector."""
    return [int(seq), int(key), hashlib.sha1(bytes(blob)).hexdigest()]


class ExactPartition:
    """A growable matrix searched by brute force."""

    kind = "exact"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._keys = np.zeros(0, dtype=np.int64)
        self._pos: dict[int, int] = {}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def upsert(self, keys: list[int], vectors: np.ndarray) -> None:
        positions = np.empty(len(keys), dtype=np.int64)
        fresh: list[int] = []
        for i, key in enumerate(keys):
            pos = self._pos.get(key)
            if pos is None:
                pos = self._n + len(fresh)
                self._pos[key] = pos
                fresh.append(key)
            positions[i] = pos
        need = self._n + len(fresh)
        if need > len(self._matrix):
            capacity = max(1024, need, 2 * len(self._matrix))
            matrix = np.zeros((capacity, self.dim), np.float32)
            matrix[: self._n] = self._matrix[: self._n]
            keys_arr = np.full(capacity, -1, np.int64)
            keys_arr[: self._n] = self._keys[: self._n]
            self._matrix, self._keys = matrix, keys_arr
        self._keys[self._n : need] = fresh
        self._n = need
        self._matrix[positions] = vectors

    def count_new(self, keys: list[int]) -> int:
        """How many of ``keys`` are not stored yet."""
        return sum(1 for key in keys if key not in self._pos)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self._n == 0:
            return []
        return _top(self._keys[: self._n], _dot(self._matrix[: self._n], query), k)

    def search_subset(self, query: np.ndarray, keys: list[int], k: int) -> list[tuple[int, float]]:
        positions = [self._pos[key] for key in keys if key in self._pos]
        if not positions:
            return []
        pos = np.fromiter(positions, dtype=np.int64)
        return _top(self._keys[pos], _dot(self._matrix[pos], query), k)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self._keys[: self._n], self._matrix[: self._n]


SERIAL_SEED = 4096
"""The first vectors of a graph are added on one thread. Added concurrently into a
tiny graph, a few nodes end up unreachable (15 of 5,100 self-queries missed at 600
vectors over 300 builds; 0 of 5,100 when serial); past a few thousand nodes concurrency is safe
(0 of 300 self-misses at 50k) and twice as fast."""


HNSW_DTYPES = ("f16", "i8")
HNSW_DTYPE = "f16"
"""What an HNSW graph stores: ``f16`` (inner product) or ``i8`` (cosine over per-vector-scaled
int8: half the memory and cache of f16, ~15% faster to search and build, recall@10 0.974 vs
0.979 at 100k; benchmarks/README.md, "Compression"). A store picks by its codec (int8 stores: i8)."""


class HNSWPartition:
    """An HNSW graph (usearch) over unit vectors, float16 (inner product) or int8 (cosine).

    Vectors are built with ``ef_add=64``: about 3× faster to build than float32/128.
    ``ef_search=384``: recall@10 against exact search 0.978 at 100k with f16 (192 gave 0.958;
    512+ plateaus at 0.979), ~1 ms more per search. ``i8`` gets each vector scaled to the full
    int8 range (usearch's own cast multiplies by 127 and keeps ~5 bits of a unit vector's
    components: recall 0.94); the cosine metric makes the per-vector scale drop out.
    """

    kind = "hnsw"
    suffix = ".usearch"

    def __init__(
        self, dim: int, connectivity: int = 16, ef_add: int = 64, ef_search: int = 384, dtype: str = HNSW_DTYPE
    ) -> None:
        _onnxruntime_first()
        from usearch.index import Index

        if dtype not in HNSW_DTYPES:
            raise ValueError(f"HNSW dtype must be one of {HNSW_DTYPES}, not {dtype!r}")
        self.dim = dim
        self.dtype = dtype
        self.index = Index(
            ndim=dim, metric="cos" if dtype == "i8" else "ip", dtype=dtype,
            connectivity=connectivity, expansion_add=ef_add, expansion_search=ef_search,
        )

    def _input(self, vectors: np.ndarray) -> np.ndarray:
        """Vectors as the graph takes them: float32, or int8 scaled per vector."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return quantize_rows(vectors) if self.dtype == "i8" else vectors

    def __len__(self) -> int:
        return len(self.index)

    def save(self, path: str) -> None:
        self.index.save(path)

    def count_new(self, keys: list[int]) -> int:
        """How many of ``keys`` are not in the graph yet."""
        found = np.asarray(self.index.contains(np.asarray(keys, dtype=np.uint64)), dtype=bool).reshape(-1)
        return int(len(keys) - found.sum())

    def upsert(self, keys: list[int], vectors: np.ndarray) -> None:
        keys_arr = np.asarray(keys, dtype=np.uint64)
        if len(self.index):
            present = keys_arr[np.asarray(self.index.contains(keys_arr), dtype=bool).reshape(-1)]
            if len(present):
                self.index.remove(present)
        vectors = self._input(vectors)
        seed = max(0, min(SERIAL_SEED - len(self.index), len(keys_arr)))
        if seed:
            self.index.add(keys_arr[:seed], vectors[:seed], threads=1)
        if seed < len(keys_arr):
            self.index.add(keys_arr[seed:], vectors[seed:])

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if len(self.index) == 0:
            return []
        matches = self.index.search(self._input(query[None, :])[0], min(k, len(self.index)))
        return [(int(key), 1.0 - float(dist)) for key, dist in zip(matches.keys, matches.distances)]

    def search_subset(self, query: np.ndarray, keys: list[int], k: int) -> list[tuple[int, float]]:
        keys = [key for key in keys if self.index.contains(key)]
        if not keys:
            return []
        return _top(np.asarray(keys, dtype=np.int64), _dot(self._get(keys), query), k)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every key and its vector (float32 unit rows: a full copy)."""
        keys = np.asarray(self.index.keys[:], dtype=np.int64)
        return keys, self._get(keys)

    def _get(self, keys: list[int] | np.ndarray) -> np.ndarray:
        vectors = np.asarray(self.index.get(np.asarray(keys, dtype=np.uint64)), dtype=np.float32).reshape(-1, self.dim)
        if self.dtype == "i8":  # scaled per vector: back to unit length
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
        return vectors


def quantize_rows(vectors: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Each row scaled so its largest component is ±127, as int8 (the blob codec's ``q``);
    in chunks, so a bulk load never holds more than a few float32 copies of ``chunk`` rows."""
    out = np.empty(vectors.shape, dtype=np.int8)
    for start in range(0, len(vectors), chunk):
        part = vectors[start : start + chunk]
        scale = np.abs(part).max(axis=1, keepdims=True) / 127.0
        out[start : start + chunk] = np.clip(np.rint(part / np.where(scale > 0, scale, 1.0)), -127, 127)
    return out


def _dot(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``matrix @ query`` on one thread: numpy's own SIMD loop, not BLAS. A single
    matrix-vector product is memory-bound; multi-threaded OpenBLAS gains nothing on it
    and, on a busy machine, waits ~20 ms for its worker threads (benchmarks/README.md)."""
    return np.einsum("ij,j->i", matrix, np.asarray(query, dtype=np.float32))


def _top(keys: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    if k < len(scores):
        idx = np.argpartition(-scores, k)[:k]
        idx = idx[np.argsort(-scores[idx])]
    else:
        idx = np.argsort(-scores)
    return [(int(keys[i]), float(scores[i])) for i in idx]


class Partition:
    """One user's vectors: exact until large, then HNSW (then product-quantized past
    ``pq_threshold``, when given); tracks its watermark."""

    def __init__(
        self, dim: int, hnsw_threshold: int, hnsw_dtype: str = HNSW_DTYPE, pq_threshold: int | None = None
    ) -> None:
        self.dim = dim
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_dtype = hnsw_dtype
        self.pq_threshold = pq_threshold
        self.impl: Any = ExactPartition(dim)  # ExactPartition | HNSWPartition | pq_index.PQPartition
        self.source: VectorsOf | None = None  # the store's vectors by key: a PQ partition re-ranks with them
        self.watermark = 0
        self.tail: list[object] | None = None  # _tail() of the row at the watermark
        self.generation = 0
        self.lock = threading.Lock()

    def apply(self, delta: Delta) -> int:
        keys: list[int] = []
        blobs: list[bytes] = []
        watermark, tail = self.watermark, self.tail
        for seq, key, blob in delta:
            keys.append(key)
            blobs.append(blob)
            if seq > watermark:
                watermark, tail = seq, _tail(seq, key, blob)
        self._add(keys, blobs)
        self.watermark, self.tail = watermark, tail  # only once the vectors are in: a failed build is retried
        return len(keys)

    def _add(self, keys: list[int], blobs: list[bytes]) -> None:
        if keys:
            vectors = decode_many(blobs, self.dim)
            blobs.clear()  # the bytes go before a large build needs the memory
            kind = self._outgrown(keys)
            if kind is not None:
                self._promote(kind, vectors)  # before adding: a big delta never makes a full exact copy first
            self.impl.upsert(keys, vectors)

    def kind_for(self, n: int) -> str:
        """The index a partition of ``n`` vectors uses."""
        if self.pq_threshold is not None and n > self.pq_threshold:
            return "pq"
        return "hnsw" if n > self.hnsw_threshold else "exact"

    def _outgrown(self, keys: list[int]) -> str | None:
        """The bigger kind of index the partition needs once ``keys`` are added, if any."""
        if self.impl.kind == "pq" or (self.impl.kind == "hnsw" and self.pq_threshold is None):
            return None
        kind = self.kind_for(len(self.impl) + self.impl.count_new(keys))
        return kind if KINDS.index(kind) > KINDS.index(self.impl.kind) else None

    def _promote(self, kind: str, incoming: np.ndarray) -> None:
        """Move the vectors into a new index of ``kind``; a PQ index is trained on a sample of
        them and of ``incoming`` (the delta about to be added)."""
        keys, vectors = self.impl.vectors()
        log.info("building %s index over %d vectors", kind, len(keys) + len(incoming))
        if kind == "pq":
            from remem.store.pq_index import PQPartition, train_size

            n = len(keys) + len(incoming)
            rows = np.sort(np.random.default_rng(0).choice(n, train_size(n), replace=False))
            sample = np.concatenate([vectors[rows[rows < len(keys)]], incoming[rows[rows >= len(keys)] - len(keys)]])
            impl: Any = PQPartition.trained(self.dim, sample, n, self._source)
            del sample
        else:
            impl = HNSWPartition(self.dim, dtype=self.hnsw_dtype)
        if len(keys):
            impl.upsert(list(map(int, keys)), vectors)
        self.impl = impl

    def _source(self, keys: list[int]) -> list[tuple[int, bytes]]:
        if self.source is None:
            raise RuntimeError("a product-quantized partition re-ranks with the store's vectors; no store bound them")
        return self.source(keys)


class VectorIndex(CachedPartitions):
    """All partitions of one store, kept in sync with it on demand."""

    def __init__(
        self, dim: int, cache_dir: Path | None = None, hnsw_threshold: int = 20_000, store_id: str | None = None,
        hnsw_dtype: str = HNSW_DTYPE, large_index: str = "auto", pq_threshold: int | None = None,
    ) -> None:
        check_large_index(large_index)
        self.dim = dim
        self.cache_dir = cache_dir
        self.store_id = store_id
        self.hnsw_threshold = hnsw_threshold
        self.hnsw_dtype = hnsw_dtype
        self.large_index = resolve_large_index(large_index)
        self.pq_threshold = pq_threshold if pq_threshold is not None else _default_pq_threshold()
        self._parts: dict[tuple[str, str], Partition] = {}
        self._lock = threading.Lock()

    def partition(
        self,
        key: tuple[str, str],
        state: tuple[int, int],
        fetch_delta: Callable[[int], Delta],
        row_at: RowAt | None = None,
        vectors_of: VectorsOf | None = None,
    ) -> Partition:
        """The partition for ``key`` brought up to ``state`` = (generation, max_seq);
        ``row_at(seq)`` lets a cached partition prove it was built from this store's rows;
        ``vectors_of(keys)`` reads stored vectors by key (a product-quantized partition re-ranks with them)."""
        generation, max_seq = state
        with self._lock:
            part = self._parts.get(key)
            if part is None or part.generation != generation:
                part = self._load_cached(key, generation, row_at) or self._new_partition()
                part.generation = generation
                self._parts[key] = part
        with part.lock:
            if max_seq < part.watermark:  # the store went back in time (restored file): rebuild
                part = self._new_partition()
                part.generation = generation
                self._parts[key] = part
            if vectors_of is not None:
                part.source = vectors_of
            if max_seq > part.watermark:
                part.apply(fetch_delta(part.watermark))
        return part

    def _new_partition(self) -> Partition:
        pq_threshold = self.pq_threshold if self.large_index == "pq" else None
        return Partition(self.dim, self.hnsw_threshold, self.hnsw_dtype, pq_threshold)

    def _remove_files_of(self, meta_path: Path) -> None:
        _remove_files(meta_path)

    # -- optional on-disk cache of large (HNSW or PQ) partitions ------------------------
    def _cache_paths(self, key: tuple[str, str], suffix: str = HNSWPartition.suffix) -> tuple[Path, Path]:
        """(index file with ``suffix``, meta file) of a partition's cache."""
        name = hashlib.sha1(json.dumps(key).encode()).hexdigest()
        base = (self.cache_dir or Path(".")) / name
        return base.with_suffix(suffix), base.with_suffix(".json")

    def _remove_cache(self, key: tuple[str, str]) -> None:
        _remove_files(self._cache_paths(key)[1])

    def save(self, current_generation: Callable[[tuple[str, str]], int | None]) -> None:
        """Write HNSW and PQ partitions to the cache directory (a cache: safe to delete).

        ``current_generation(key)`` is the store's generation of a partition now (None
        if it is gone). A partition that is stale (its user purged meanwhile, perhaps by
        another process) is not written, and its old cache files are removed, so purged
        vectors never come back to disk. Files are written whole (temp file + rename).
        """
        if self.cache_dir is None or self.store_id is None:  # a cache needs an identity to be bound to
            return
        for key, part in list(self._parts.items()):
            if part.impl.kind == "exact":
                continue
            with part.lock:
                if current_generation(key) != part.generation:
                    self._remove_cache(key)
                    continue
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                index_path, meta_path = self._cache_paths(key, part.impl.suffix)
                _remove_files(meta_path, keep=index_path)  # no meta, no load: never a meta beside a half-replaced index
                tmp = index_path.with_name(index_path.name + ".tmp")
                part.impl.save(str(tmp))
                os.replace(tmp, index_path)
                meta = {
                    "key": list(key), "store_id": self.store_id, "generation": part.generation,
                    "watermark": part.watermark, "tail": part.tail, "dim": self.dim, "dtype": part.impl.dtype,
                }
                tmp = meta_path.with_name(meta_path.name + ".tmp")
                tmp.write_text(json.dumps(meta))
                os.replace(tmp, meta_path)

    def _load_cached(self, key: tuple[str, str], generation: int, row_at: RowAt | None) -> Partition | None:
        """A saved partition, if it is provably this store's: same identity, key,
        generation and dimension, and the row at its watermark is still the same row."""
        if self.cache_dir is None or self.store_id is None or row_at is None:
            return None
        meta_path = self._cache_paths(key)[1]
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict) or meta.get("store_id") != self.store_id or meta.get("key") != list(key):
                return None
            if meta.get("generation") != generation or meta.get("dim") != self.dim:
                return None
            dtype = meta.get("dtype", "f16")  # caches written before int8 graphs are float16
            if dtype not in HNSW_DTYPES and not (dtype == "pq" and self.large_index == "pq"):
                return None
            watermark, tail = meta.get("watermark"), meta.get("tail")
            if not isinstance(watermark, int) or isinstance(watermark, bool) or watermark < 1:
                return None
            row = row_at(watermark)
            if row is None or tail != _tail(watermark, *row):
                log.info("vector cache for %s does not match the store; rebuilding", key)
                return None
            part = self._new_partition()
            impl = _load_impl(self.dim, dtype, str(self._cache_paths(key, _suffix(dtype))[0]), part._source)
            if len(impl) == 0 or (impl.kind == "pq") != (part.kind_for(len(impl)) == "pq"):
                return None  # empty, or not what this store builds at that size (PQ asked for or not): rebuild
            part.impl = impl
            part.watermark, part.tail = watermark, tail
            return part
        except (OSError, ValueError, KeyError, TypeError, RuntimeError):
            return None


def check_large_index(large_index: str) -> None:
    """InvalidInputError for an unknown ``large_index``, or ``"pq"`` without faiss installed."""
    if large_index not in LARGE_INDEXES:
        raise InvalidInputError(f"large partitions must be one of {LARGE_INDEXES}, not {large_index!r}")
    if large_index == "pq":
        from remem.store.pq_index import faiss_module

        faiss_module()


def resolve_large_index(large_index: str) -> str:
    """``auto`` as ``pq`` where faiss can be found (without importing it), else ``hnsw``."""
    if large_index != "auto":
        return large_index
    import importlib.util

    if importlib.util.find_spec("faiss") is None:
        log.warning("faiss is not installed: partitions past %d vectors stay HNSW graphs", _default_pq_threshold())
        return "hnsw"
    return "pq"


def _default_pq_threshold() -> int:
    from remem.store.pq_index import PQ_THRESHOLD

    return PQ_THRESHOLD


def _suffix(dtype: str) -> str:
    return PQ_SUFFIX if dtype == "pq" else HNSWPartition.suffix


def _load_impl(dim: int, dtype: str, path: str, source: VectorsOf) -> Any:
    """A saved HNSW graph (of either dtype: a cache of the other one still serves, no rebuild on
    upgrade) or PQ index; RuntimeError (faiss, usearch) or OSError when it does not load."""
    if dtype == "pq":
        from remem.store.pq_index import PQPartition

        impl: Any = PQPartition.load(dim, path, source)
        if impl.index.d != dim:
            raise ValueError("cache of another dimension")
        return impl
    hnsw = HNSWPartition(dim, dtype=dtype)
    hnsw.index.load(path)
    if hnsw.index.ndim != dim:
        raise ValueError("cache of another dimension")
    return hnsw


def _remove_files(meta_path: Path, keep: Path | None = None) -> None:
    """A cache's meta file and its index files of every kind (but ``keep``)."""
    meta_path.unlink(missing_ok=True)
    for suffix in (HNSWPartition.suffix, PQ_SUFFIX):
        path = meta_path.with_suffix(suffix)
        if path != keep:
            path.unlink(missing_ok=True)


def _onnxruntime_first() -> None:
    """Import onnxruntime before usearch: in the other order the pinned wheels crash the process
    (``python -c "from usearch.index import Index; import onnxruntime"`` segfaults)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:  # the embedder is not onnxruntime (e.g. an OpenAI-compatible endpoint)
        pass
