"""What the derived indexes (vectors, text) share: partitions by (tenant, user) that may be
cached on disk, and forgetting them."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any


def tenant_metas(cache_dir: Path, tenant: str) -> list[Path]:
    """The cache meta files in ``cache_dir`` that belong to ``tenant``, or whose owner cannot be
    read (they are only caches). File names are hashes: each meta names its (tenant, user) key."""
    found = []
    for meta_path in cache_dir.glob("*.json"):
        try:
            owner = json.loads(meta_path.read_text()).get("key")
        except (OSError, ValueError, AttributeError):
            owner = None
        if not owner or owner[0] == tenant:
            found.append(meta_path)
    return found


class CachedPartitions:
    """Partitions keyed by (tenant, user_key), some with cache files in ``cache_dir``; an index
    says how to delete one key's files (``_remove_cache``) and the files beside a meta file
    (``_remove_files_of``)."""

    _parts: dict[tuple[str, str], Any]
    _lock: threading.Lock
    cache_dir: Path | None

    def _remove_cache(self, key: tuple[str, str]) -> None:
        raise NotImplementedError

    def _remove_files_of(self, meta_path: Path) -> None:
        raise NotImplementedError

    def drop(self, tenant: str, user_key: str | None = None) -> None:
        """Forget a user's partition (or all of a tenant's) and delete its cache files."""
        with self._lock:
            for key in [k for k in self._parts if k[0] == tenant and (user_key is None or k[1] == user_key)]:
                del self._parts[key]
            if self.cache_dir is None or not self.cache_dir.exists():
                return
            if user_key is not None:
                self._remove_cache((tenant, user_key))
                return
            for meta_path in tenant_metas(self.cache_dir, tenant):
                self._remove_files_of(meta_path)
