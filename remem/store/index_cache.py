"""What the derived indexes' on-disk caches share: finding a tenant's cache files."""

from __future__ import annotations

import json
from pathlib import Path


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
