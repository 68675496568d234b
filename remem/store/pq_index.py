"""Product-quantized partitions (faiss IVF-PQ) for very large partitions, re-ranked exactly.

The default for large partitions (``SQLiteStore(path, large_partitions="hnsw")`` opts out). A
partition past ``pq_threshold`` vectors keeps only IVF-PQ codes in memory: ``dim/4`` sub-quantizers of
4 bits (faiss "fast scan"), 48 bytes for 384 dims, plus its 8-byte key. A search takes the best
candidates by their codes (:data:`RERANK`: more as the partition grows) and re-scores them with
the store's own vectors (``source``: the stored blobs by key, read from SQLite), so scores are
exact cosines of what the store holds, as with the other partitions, and a row no longer in the
store is never returned. Measured in benchmarks/README.md, "Compression" (product quantization).
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any

import numpy as np

from remem.errors import InvalidInputError
from remem.store.codec import decode_many
from remem.store.vector_index import PQ_SUFFIX, VectorsOf, _dot, _top

PQ_THRESHOLD = 50_000
"""Partitions above this many vectors are product-quantized (unless the store keeps HNSW graphs):
the int8 graph's recall@10 is 0.99 at 50k but 0.971 at 100k and 0.85 at 1M; the codes with their
exact re-rank keep 0.994 at 100k and 0.987 at 1M (benchmarks/README.md, "Compression")."""
NPROBE = 16  # inverted lists visited per search (of ~sqrt(n) at training time); more gained nothing at 1M
RERANK = (64, 256)
"""Candidates re-scored exactly (2k when k is larger): n/4,000 within these bounds. The codes rank
worse as a partition grows (recall@10 of the codes alone 0.73 at 100k, 0.43 at 1M), so a larger
one needs more: at 1M, 64 gave recall@10 0.919, 128 0.977, 256 0.986 (exact int8: 0.987)."""


FAISS_THREADS = 1
"""faiss's OpenMP pool, set when remem first imports faiss (process-wide). One thread, measured on
2 cores: training IVF1000,PQ96x4fsr on 64k vectors took 11.8 s (9.8 s CPU) on 1 thread and 32 s
(32 s CPU: OpenMP spinning) on 2; adding 200k took 4.9 s vs 5.3 s; a search is one query."""


@functools.cache
def faiss_module() -> Any:
    """faiss (its OpenMP pool set to :data:`FAISS_THREADS`), or InvalidInputError naming the
    extra that installs it."""
    try:
        import faiss
    except ImportError as exc:
        raise InvalidInputError(
            "large partitions need faiss (a dependency of remem): pip install 'faiss-cpu>=1.9,<2', "
            "or open the store with large_partitions='hnsw'"
        ) from exc
    faiss.omp_set_num_threads(FAISS_THREADS)
    return faiss


def sub_quantizers(dim: int) -> int:
    """How many 4-bit codes a vector gets: ``dim/4`` (each code covers 4 components), or the
    largest divisor of ``dim`` below that for a dimension that 4 does not divide."""
    return max(m for m in range(1, max(1, dim // 4) + 1) if dim % m == 0)


def n_lists(n: int) -> int:
    """Inverted lists for a partition trained at ``n`` vectors: about ``sqrt(n)``."""
    return max(1, min(16_384, int(math.sqrt(n))))


def train_size(n: int) -> int:
    """Vectors to train on: 64 per list (faiss wants at least 39), never fewer than 4,096."""
    return min(n, max(4_096, 64 * n_lists(n)))


class PQPartition:
    """IVF-PQ codes of one partition (faiss ``IndexIVFPQFastScan``, inner product over unit
    vectors), searched by code and re-ranked with the stored vectors from ``source``.

    ``rerank``: candidates re-scored (None: by size, :data:`RERANK`); 0 returns the codes'
    approximate scores instead (measurement only).
    """

    kind = "pq"
    dtype = "pq"  # the cache meta's "dtype" (vector_index.HNSW_DTYPES are the graphs')
    suffix = PQ_SUFFIX

    def __init__(
        self, dim: int, index: Any, source: VectorsOf, *, nprobe: int = NPROBE, rerank: int | None = None
    ) -> None:
        self.dim = dim
        self.index = index
        self.index.nprobe = nprobe
        self.source = source
        self.rerank = rerank
        self._lock = threading.Lock()  # faiss indexes are not safe to add to while searched
        self._max_key = _max_id(index)  # keys above it are new: adding them needs no removal scan

    @classmethod
    def trained(cls, dim: int, sample: np.ndarray, n: int, source: VectorsOf, **options: Any) -> "PQPartition":
        """An empty partition whose lists and codebooks are fitted to ``sample`` (for ``n`` vectors)."""
        faiss = faiss_module()
        spec = f"IVF{n_lists(n)},PQ{sub_quantizers(dim)}x4fsr"  # fast scan, residuals to the list centroid
        index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return cls(dim, index, source, **options)

    @classmethod
    def load(cls, dim: int, path: str, source: VectorsOf) -> "PQPartition":
        return cls(dim, faiss_module().read_index(path), source)

    def save(self, path: str) -> None:
        with self._lock:
            faiss_module().write_index(self.index, path)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def upsert(self, keys: list[int], vectors: np.ndarray) -> None:
        keys_arr = np.asarray(keys, dtype=np.int64)
        if not len(keys_arr):
            return
        faiss = faiss_module()
        with self._lock:
            known = keys_arr[keys_arr <= self._max_key]
            if len(known):  # a newer vector of a stored row replaces its code
                self.index.remove_ids(faiss.IDSelectorBatch(known))
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), keys_arr)
            self._max_key = max(self._max_key, int(keys_arr.max()))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        n = len(self)
        if n == 0 or k < 1:
            return []
        rerank = self.rerank if self.rerank is not None else min(max(n // 4_000, RERANK[0]), RERANK[1])
        want = min(n, k if rerank == 0 else max(rerank, 2 * k))
        scores, ids = self._probe(np.ascontiguousarray(query, dtype=np.float32)[None, :], want)
        if rerank == 0:
            return [(int(i), float(s)) for i, s in zip(ids, scores)][:k]
        return self.search_subset(query, [int(i) for i in ids], k)

    def _probe(self, query: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``want`` best (scores, keys) by code. The lists visited widen (×4) until they hold
        ``want`` vectors: like the other partitions, fewer than asked means the partition has no more."""
        faiss = faiss_module()
        nprobe = self.index.nprobe
        while True:
            with self._lock:
                scores, ids = self.index.search(query, want, params=faiss.SearchParametersIVF(nprobe=nprobe))
            found = ids[0] >= 0
            if found.sum() >= want or nprobe >= self.index.nlist:
                return scores[0][found], ids[0][found]
            nprobe = min(4 * nprobe, self.index.nlist)

    def search_subset(self, query: np.ndarray, keys: list[int], k: int) -> list[tuple[int, float]]:
        """Exact over the stored vectors of ``keys`` (the codes are not needed for a known subset)."""
        rows = self.source(keys) if keys else []
        if not rows:
            return []
        vectors = decode_many([blob for _, blob in rows], self.dim)
        return _top(np.fromiter((key for key, _ in rows), dtype=np.int64, count=len(rows)), _dot(vectors, query), k)


def _max_id(index: Any) -> int:
    """The largest key an IVF index holds (-1 when empty): read from its inverted lists."""
    if index.ntotal == 0:
        return -1
    rev_swig_ptr = faiss_module().rev_swig_ptr
    lists, top = index.invlists, -1
    for i in range(index.nlist):
        size = lists.list_size(i)
        if size:
            top = max(top, int(rev_swig_ptr(lists.get_ids(i), size).max()))
    return top

