"""Product-quantized partitions (``large_partitions="pq"``, faiss): recall, updates, the cache,
the store and ``Memory`` on top, and the error without faiss."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime  # noqa: F401  (first: with usearch 2.26.6 loaded before it, onnxruntime 1.32's import segfaults)
import pytest

import faiss  # noqa: F401  (the test extra installs it: these tests run in CI, they never skip)
from remem import Memory
from remem.errors import InvalidInputError
from remem.models import MemoryRecord
from remem.store import Query, SQLiteStore, Write, codec
from remem.store import pq_index
from remem.store.vector_index import Partition

DIM = 64


def clustered(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    """Unit vectors around 16 topics × 16 subtopics: neighbours as distinct as sentence embeddings'."""
    rng = np.random.default_rng(seed)
    topics, subtopics = rng.normal(size=(16, dim)), rng.normal(size=(16, 16, dim))
    t, s = rng.integers(0, 16, n), rng.integers(0, 16, n)
    v = topics[t] + 0.7 * subtopics[t, s] + 0.9 * rng.normal(size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


class Blobs(dict[int, bytes]):
    """Stored blobs by key: what a store's ``vectors_of`` reads."""

    def of(self, keys: list[int]) -> list[tuple[int, bytes]]:
        return [(k, self[k]) for k in keys if k in self]


def pq_partition(vectors: np.ndarray, pq_threshold: int = 1_000) -> tuple[Partition, Blobs]:
    blobs = Blobs(enumerate(codec.encode_int8(vectors)))
    part = Partition(DIM, 200, "i8", pq_threshold)
    part.source = blobs.of
    part.apply((key + 1, key, blob) for key, blob in blobs.items())
    return part, blobs


def recall_at_10(part: Partition, blobs: Blobs, queries: np.ndarray) -> float:
    stored = codec.decode_many(list(blobs.values()), DIM)
    keys = np.fromiter(blobs, dtype=np.int64)
    hits = [len({k for k, _ in part.impl.search(q, 10)} & set(keys[np.argsort(-(stored @ q))[:10]].tolist())) for q in queries]
    return sum(hits) / (10 * len(queries))


def test_pq_partition_finds_the_exact_neighbours_with_exact_scores() -> None:
    vectors = clustered(3_100)
    part, blobs = pq_partition(vectors[:3_000])
    assert part.impl.kind == "pq" and len(part.impl) == 3_000
    assert recall_at_10(part, blobs, vectors[3_000:]) >= 0.93  # measured 0.98; the codes alone give 0.65
    q = vectors[3_000]
    found = part.impl.search(q, 10)
    stored = codec.decode_many([blobs[k] for k, _ in found], DIM)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert np.allclose([s for _, s in found], stored @ q, atol=1e-5)  # cosines of the stored vectors, not of codes
    subset = list(range(0, 3_000, 3))
    best = part.impl.search_subset(q, subset, 5)
    assert [k for k, _ in best] == [subset[i] for i in np.argsort(-(codec.decode_many([blobs[k] for k in subset], DIM) @ q))[:5]]


def test_pq_partition_upsert_replaces_and_never_returns_a_row_gone_from_the_store() -> None:
    vectors = clustered(3_200, seed=1)
    part, blobs = pq_partition(vectors[:3_000])
    moved = vectors[3_100]  # row 7 gets a new vector; 3000..3099 are new rows
    blobs[7] = codec.encode_int8(moved[None, :])[0]
    for i in range(3_000, 3_100):
        blobs[i] = codec.encode_int8(vectors[i][None, :])[0]
    part.apply([(3_001, 7, blobs[7]), *((i + 2, i, blobs[i]) for i in range(3_000, 3_100))])
    assert len(part.impl) == 3_100  # replaced, not added twice
    assert part.impl.search(moved, 1)[0][0] == 7
    score = dict(part.impl.search(vectors[7], 3_100))[7]
    assert score == pytest.approx(float(codec.decode(blobs[7], DIM) @ vectors[7]), abs=1e-5)  # scored as stored now
    part.impl.rerank = 0  # the codes alone: one code for row 7, the new one
    codes = [k for k, _ in part.impl.search(moved, 3_100)]
    assert codes.count(7) == 1 and codes.index(7) < 10
    part.impl.rerank = None
    assert part.impl.search(vectors[3_050], 1)[0][0] == 3_050
    del blobs[3_050]  # gone from the store (the store bumps the generation; until then it is never served)
    assert 3_050 not in {k for k, _ in part.impl.search(vectors[3_050], 10)}


def test_partition_grows_from_hnsw_to_pq() -> None:
    vectors = clustered(1_400, seed=2)
    part, blobs = pq_partition(vectors[:600])
    assert part.impl.kind == "hnsw"
    new = Blobs(enumerate(codec.encode_int8(vectors[600:1_300]), start=600))
    blobs.update(new)
    part.apply((key + 1, key, blob) for key, blob in new.items())
    assert part.impl.kind == "pq" and len(part.impl) == 1_300
    assert recall_at_10(part, blobs, vectors[1_300:]) >= 0.93


def store(path: Path, **options: object) -> SQLiteStore:
    s = SQLiteStore(path, hnsw_threshold=200, **options)  # type: ignore[arg-type]
    s.check_embedding("synthetic", DIM)
    return s


def add(s: SQLiteStore, vectors: np.ndarray, start: int = 0, user: str = "u") -> None:
    s.insert([Write(MemoryRecord(content=f"m{start + i}", user_id=user), f"m{start + i}", v) for i, v in enumerate(vectors)])


def top(s: SQLiteStore, vector: np.ndarray, user: str = "u") -> str:
    return s.get(s.vector_search(vector, Query(user_id=user), 5)[0][0]).content


def test_store_saves_reloads_and_catches_up_a_pq_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, vectors = tmp_path / "m.db", clustered(1_600, seed=3)
    pq = {"large_partitions": "pq", "pq_threshold": 1_000}
    s = store(db, **pq)
    add(s, vectors[:1_500])
    assert top(s, vectors[42]) == "m42"
    assert s._db.index._parts[("default", "u")].impl.kind == "pq"  # type: ignore[union-attr]
    s.close()
    cache = tmp_path / "m.db.idx"
    assert len(list(cache.glob("*.faiss"))) == 1 and not list(cache.glob("*.usearch"))

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cache should have been loaded, not rebuilt")

    monkeypatch.setattr(pq_index.PQPartition, "trained", no_training)
    s = store(db, **pq)
    add(s, vectors[1_500:1_550], start=1_500)  # written after the cache: caught up from the watermark
    assert top(s, vectors[1_520]) == "m1520" and top(s, vectors[7]) == "m7"
    assert len(s._db.index._parts[("default", "u")].impl) == 1_550  # type: ignore[union-attr]
    s.close()
    monkeypatch.undo()

    s = store(db, large_partitions="hnsw")  # kept as a graph: an HNSW graph, never the PQ cache
    assert top(s, vectors[1_520]) == "m1520"
    assert s._db.index._parts[("default", "u")].impl.kind == "hnsw"  # type: ignore[union-attr]
    s.close()
    assert list(cache.glob("*.usearch")) and not list(cache.glob("*.faiss"))  # the other kind's file is gone

    s = store(db, **pq)  # and back: a graph that large is rebuilt as PQ
    assert top(s, vectors[3]) == "m3" and s._db.index._parts[("default", "u")].impl.kind == "pq"  # type: ignore[union-attr]
    s.close()
    for path in cache.glob("*.faiss"):
        path.write_bytes(b"garbage")
    s = store(db, **pq)  # a corrupt cache is rebuilt
    assert top(s, vectors[11]) == "m11"
    assert s.purge(user_id="u") == 1_550
    assert not list(cache.iterdir())  # purge removes its files
    assert s.vector_search(vectors[11], Query(user_id="u"), 5) == []
    s.close()


def test_memory_searches_a_pq_store(tmp_path: Path, embedder) -> None:
    facts = [f"Reminder number {i}: the parcel for order {i * 7919 % 10_007} goes to locker {i % 97}" for i in range(400)]
    facts[123] = "The spare key to the boathouse is taped under the third oar"
    pq_store = SQLiteStore(tmp_path / "m.db", hnsw_threshold=100, large_partitions="pq", pq_threshold=300)
    with Memory(store=pq_store, embedder=embedder, llm=None) as mem:
        mem.add([{"role": "user", "content": f} for f in facts], user_id="alice", infer=False)
        for mode in ("dense", None):  # dense: the PQ partition alone; None: hybrid, the default
            [hit] = mem.search("where did I leave the key to the boat shed?", user_id="alice", limit=1, mode=mode)
            assert "boathouse" in hit.memory.content
        assert pq_store._db.index._parts[("default", "alice")].impl.kind == "pq"  # type: ignore[union-attr]
    reopened = SQLiteStore(tmp_path / "m.db", hnsw_threshold=100, large_partitions="pq", pq_threshold=300)
    with Memory(store=reopened, embedder=embedder, llm=None) as mem:
        assert "boathouse" in mem.search("boathouse key", user_id="alice", limit=1)[0].memory.content


def test_pq_without_faiss_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss -> ImportError
    pq_index.faiss_module.cache_clear()
    try:
        with pytest.raises(InvalidInputError, match=r"need faiss"):
            SQLiteStore(tmp_path / "m.db", large_partitions="pq")
        with pytest.raises(InvalidInputError, match="large partitions must be one of"):
            SQLiteStore(tmp_path / "m.db", large_partitions="ivf")
        s = store(tmp_path / "m.db", pq_threshold=250)  # the default needs no faiss: it keeps HNSW graphs
        add(s, clustered(300, seed=4))
        assert top(s, clustered(300, seed=4)[5]) == "m5"
        assert s._db.index._parts[("default", "u")].impl.kind == "hnsw"  # type: ignore[union-attr]
        s.close()
    finally:
        pq_index.faiss_module.cache_clear()


def test_large_partitions_are_product_quantized_by_default(tmp_path: Path) -> None:
    vectors = clustered(1_200, seed=8)
    s = store(tmp_path / "m.db", pq_threshold=1_000)  # large_partitions="auto": faiss is installed
    add(s, vectors)
    assert top(s, vectors[77]) == "m77"
    assert s._db.index._parts[("default", "u")].impl.kind == "pq"  # type: ignore[union-attr]
    s.close()
    kept = store(tmp_path / "h.db", pq_threshold=1_000, large_partitions="hnsw")
    add(kept, vectors)
    assert top(kept, vectors[77]) == "m77"
    assert kept._db.index._parts[("default", "u")].impl.kind == "hnsw"  # type: ignore[union-attr]
    kept.close()


def test_a_failed_build_is_retried_not_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = clustered(1_200, seed=9)
    s = store(tmp_path / "m.db", pq_threshold=1_000, large_partitions="pq")
    add(s, vectors)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("training failed")

    monkeypatch.setattr(pq_index.PQPartition, "trained", broken)
    with pytest.raises(RuntimeError, match="training failed"):
        s.vector_search(vectors[5], Query(user_id="u"), 5)
    monkeypatch.undo()
    assert top(s, vectors[1_150]) == "m1150"  # the vectors of the failed build are all there
    assert len(s._db.index._parts[("default", "u")].impl) == 1_200  # type: ignore[union-attr]
    s.close()
