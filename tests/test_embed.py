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
