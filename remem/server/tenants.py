"""One store and one embedder, shared by a ``Memory`` view per tenant.

Handlers never see the root store: they get a ``Memory`` whose store is
``root.with_tenant(tenant)``, so every query is scoped by the store layer itself.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from remem.embed import Embedder, default_embedder
from remem.memory import Memory, default_path
from remem.server import auth
from remem.store import Store, open_store


class CachedEmbedder:
    """Wraps an embedder with an LRU cache for single texts (search queries).

    Batches (writes) go straight through; only one-text calls are cached, so a
    repeated query skips the model. Thread-safe.
    """

    def __init__(self, inner: Embedder, size: int = 2048) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dim = inner.dim
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1 or self.size <= 0:
            return self.inner.embed(texts)
        text = texts[0]
        with self._lock:
            row = self._cache.get(text)
            if row is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return row[None, :].copy()
            self.misses += 1
        row = np.asarray(self.inner.embed([text]), dtype=np.float32)[0]
        with self._lock:
            self._cache[text] = row
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return row[None, :].copy()


class Tenants:
    """Hands out the ``Memory`` of a tenant, and resolves API keys to tenants."""

    def __init__(
        self,
        location: str | Path | None = None,
        *,
        store: Store | None = None,
        embedder: Embedder | None = None,
        query_cache: int = 2048,
    ) -> None:
        self._root: Store = store or open_store(location or default_path())
        self.embedder = CachedEmbedder(embedder if embedder is not None else default_embedder(), query_cache)
        self._root.check_embedding(self.embedder.model_name, self.embedder.dim)
        self._memories: dict[str, Memory] = {}
        self._lock = threading.Lock()

    def existing(self, tenant: str) -> Memory | None:
        """The tenant's ``Memory`` if one was made already (never touches the store)."""
        return self._memories.get(tenant)

    def memory(self, tenant: str) -> Memory:
        """The ``Memory`` bound to ``tenant`` (created on first use, then reused)."""
        with self._lock:
            mem = self._memories.get(tenant)
            if mem is None:
                mem = Memory(store=self._root.with_tenant(tenant), embedder=self.embedder)
                self._memories[tenant] = mem
            return mem

    def resolve_key(self, key: str) -> str | None:
        return auth.resolve_key(self._root, key)

    def names(self) -> list[str]:
        """Every tenant with data in the store."""
        return self._root.tenants()

    def resolve_caller(self, key: str) -> auth.Caller | None:
        return auth.resolve_caller(self._root, key)

    def ready(self) -> dict[str, Any]:
        """Raise if the store cannot answer a query; used by the readiness probe."""
        self.memory("default").count()
        return {"status": "ready"}

    def close(self) -> None:
        self._root.close()
