"""``CachedEmbedder``: remember embeddings of identical texts across runs, in SQLite.

Keys are ``sha256(model_name + "\\0" + text)``; values are the float32 vector as a
blob.  Only texts missing from the cache reach the inner embedder, in one batch.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from remem.embed.base import Embedder
from remem.errors import InvalidInputError

_SCHEMA = "CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, dim INTEGER NOT NULL, vector BLOB NOT NULL)"
_CHUNK = 500  # keys per SELECT (SQLite's variable limit is 999 on old builds)


def default_cache_dir() -> Path:
    """``user_cache_dir("remem")``, e.g. ``~/.cache/remem`` on Linux."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("remem", appauthor=False))


class CachedEmbedder:
    """An :class:`~remem.embed.Embedder` that asks ``inner`` only for texts it has not seen.

    ``path`` is a SQLite file (created with its folders) or ``":memory:"`` for a
    cache that lives as long as this object.

    >>> emb = CachedEmbedder(default_embedder(), "~/.cache/remem/embeddings.sqlite")
    """

    def __init__(self, inner: Embedder, path: str | Path = ":memory:") -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dim = inner.dim
        self.hits = 0
        self.misses = 0
        if str(path) != ":memory:":
            path = Path(path).expanduser()
            if path.is_dir():
                raise InvalidInputError(f"embedding cache {path} is a directory; give a file path")
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute(_SCHEMA)

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_name}\0{text}".encode()).digest()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` (shape ``(len(texts), dim)``), from the cache where possible."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        keys = [self._key(t) for t in texts]
        found = self._lookup(set(keys))
        missing: dict[bytes, str] = {}
        for i, key in enumerate(keys):
            vec = found.get(key)
            if vec is None:
                missing.setdefault(key, texts[i])
            else:
                out[i] = vec
        if missing:
            vectors = np.asarray(self.inner.embed(list(missing.values())), dtype=np.float32)
            if vectors.shape != (len(missing), self.dim):
                raise InvalidInputError(
                    f"embedder {self.model_name!r} returned shape {vectors.shape}, expected ({len(missing)}, {self.dim})"
                )
            fresh = dict(zip(missing, vectors))
            self._store(fresh)
            for i, key in enumerate(keys):
                if key in fresh:
                    out[i] = fresh[key]
        self.misses += len(missing)  # texts sent to the inner embedder
        self.hits += len(texts) - len(missing)  # texts served without it
        return out

    def _lookup(self, keys: set[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        items = list(keys)
        with self._lock:
            for start in range(0, len(items), _CHUNK):
                chunk = items[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT key, dim, vector FROM embeddings WHERE key IN ({marks})", chunk)
                for key, dim, blob in rows:
                    if dim == self.dim and len(blob) == 4 * dim:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _store(self, vectors: dict[bytes, np.ndarray]) -> None:
        rows = [(k, self.dim, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()]
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO embeddings (key, dim, vector) VALUES (?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]

    def close(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.model_name!r}, {self.path!r})"
