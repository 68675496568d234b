"""The bundled embedder works offline and means what it says."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from remem.embed import MiniLMEmbedder


def test_vectors_are_unit_length_and_semantic(embedder) -> None:
    v = embedder.embed(["I adopted a puppy", "We got a new dog", "The stock market fell sharply", ""])
    assert v.shape == (4, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > 0.5 > v[0] @ v[2]


def test_batching_does_not_change_results(embedder) -> None:
    texts = [f"sentence {i} " + "word " * (i % 17) for i in range(150)]
    together = embedder.embed(texts)
    one_by_one = np.vstack([embedder.embed([t]) for t in texts[:20]])
    assert np.allclose(together[:20], one_by_one, atol=1e-4)


def test_long_texts_are_truncated_not_rejected(embedder) -> None:
    v = embedder.embed(["word " * 5000])
    assert v.shape == (1, 384)


def test_loads_with_no_network_access() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "no_proxy": "", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    code = "from remem.embed import MiniLMEmbedder; print(MiniLMEmbedder().embed(['offline']).shape)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "(1, 384)" in result.stdout


def test_model_file_is_pinned() -> None:
    from remem.embed import minilm

    assert minilm._verified_model_path().name == "model.onnx"
    assert MiniLMEmbedder.model_name == "all-MiniLM-L6-v2-int8"


def test_query_embeddings_are_cached_per_embedder_and_bounded(embedder) -> None:
    import numpy as np

    from remem.embed import registry

    class Counting:
        model_name, dim = "counting", 4

        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def embed(self, texts: list[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return np.array([[len(t), 1, 0, 0] for t in texts], dtype=np.float32)

    a, b = Counting(), Counting()
    first = registry.embed_queries(a, ["where does alice live?"])
    again = registry.embed_queries(a, ["where does alice live?", "new one"])
    assert a.calls == [["where does alice live?"], ["new one"]]  # the repeat came from the cache
    assert np.array_equal(first[0], again[0]) and again.shape == (2, 4)
    registry.embed_queries(b, ["where does alice live?"])
    assert b.calls == [["where does alice live?"]]  # caches are per embedder, never shared
    for i in range(registry.QUERY_CACHE_SIZE + 5):
        registry.embed_queries(a, [f"q{i}"])
    assert len(registry._query_caches[a]) == registry.QUERY_CACHE_SIZE
    real = registry.embed_queries(embedder, ["hello"])
    assert np.allclose(real, embedder.embed(["hello"]), atol=1e-5)


def test_coalescer_merges_concurrent_calls_and_returns_each_callers_rows() -> None:
    import threading
    import time

    from remem.embed.batching import Coalescer

    runs: list[list[str]] = []
    first_started = threading.Event()
    release = threading.Event()

    def run(texts: list[str]) -> np.ndarray:
        runs.append(list(texts))
        if len(runs) == 1:
            first_started.set()
            release.wait(5)  # hold the first run so the others queue behind it
        return np.array([[float(t.split("-")[1])] for t in texts], dtype=np.float32)

    coalesce = Coalescer(run, max_texts=64)
    results: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        results[i] = coalesce([f"q-{i}", f"q-{i + 1000}"])

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert first_started.wait(5)
    others = [threading.Thread(target=call, args=(i,)) for i in range(1, 11)]
    for t in others:
        t.start()
    time.sleep(0.2)  # all ten are queued behind the held run
    release.set()
    for t in [first, *others]:
        t.join(5)
    assert len(runs) == 2, runs  # the held run, then one run for the ten queued calls
    assert sorted(len(r) for r in runs) == [2, 20]
    for i in range(11):
        assert results[i].ravel().tolist() == [float(i), float(i + 1000)]


def test_coalescer_gives_every_caller_of_a_failed_run_its_error_and_keeps_working() -> None:
    import threading

    import pytest

    from remem.embed.batching import Coalescer

    started, release = threading.Event(), threading.Event()
    calls = {"n": 0}

    def run(texts: list[str]) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 1:
            started.set()
            release.wait(5)
            return np.zeros((len(texts), 1), np.float32)
        if calls["n"] == 2:
            raise RuntimeError("model failed")
        return np.ones((len(texts), 1), np.float32)

    coalesce = Coalescer(run)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            coalesce(["x"])
        except RuntimeError as exc:
            errors.append(exc)

    first = threading.Thread(target=call)
    first.start()
    assert started.wait(5)
    queued = [threading.Thread(target=call) for _ in range(3)]
    for t in queued:
        t.start()
    import time

    time.sleep(0.2)
    release.set()
    for t in [first, *queued]:
        t.join(5)
    assert len(errors) == 3 and all("model failed" in str(e) for e in errors)
    assert coalesce(["y"]).tolist() == [[1.0]]  # not stuck after a failure


def test_concurrent_queries_get_the_same_vectors_as_one_at_a_time(embedder) -> None:
    import threading

    texts = [f"what did my sister buy in week {i}" for i in range(24)]
    alone = np.stack([embedder.embed([t])[0] for t in texts])
    got: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, embedder.embed([texts[i]])[0])) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert np.allclose(np.stack([got[i] for i in range(24)]), alone, atol=1e-5)
    many = embedder.embed(texts * 6)  # several batches, run in parallel
    assert np.allclose(many[:24], alone, atol=1e-5) and np.allclose(many[-24:], alone, atol=1e-5)


def test_embed_threads_come_from_the_environment(monkeypatch) -> None:
    import pytest

    from remem.embed import minilm
    from remem.errors import InvalidInputError

    monkeypatch.setenv(minilm.THREADS_ENV, "3")
    assert minilm._env_threads() == 3
    monkeypatch.setenv(minilm.THREADS_ENV, "lots")
    with pytest.raises(InvalidInputError, match="REMEM_EMBED_THREADS"):
        minilm._env_threads()


def test_coalescer_survives_a_waiting_caller_giving_up() -> None:
    import threading

    from remem.embed.batching import Coalescer, _Job

    coalesce = Coalescer(lambda texts: np.zeros((len(texts), 1), np.float32))
    # a caller queued behind a busy run, whose wait is interrupted: its job must leave the queue
    coalesce._busy = True
    job = _Job(["x"])
    coalesce._queue.append(job)
    coalesce._abandon(job)
    assert coalesce._queue == [] and coalesce._busy  # the running leader still owns the lead
    coalesce._busy = False
    # ... and one that was just promoted passes the lead on (here: nobody waits, so it is free)
    coalesce._busy = True
    promoted = _Job(["y"])
    coalesce._queue.append(promoted)
    promoted.done.set()
    coalesce._abandon(promoted)
    assert coalesce._queue == [] and not coalesce._busy
    done = threading.Event()
    out: list[np.ndarray] = []
    t = threading.Thread(target=lambda: (out.append(coalesce(["z"])), done.set()))
    t.start()
    assert done.wait(5) and out[0].shape == (1, 1)  # not stuck
