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
