"""Copy a whole store to another location, e.g. SQLite → PostgreSQL, losslessly.

Every tenant's memories (deleted ones included) travel with their history, index
text, vector, fingerprint and links, plus the embedding model record and the API
keys. Items whose id already exists at the destination are skipped, so an
interrupted migration can simply be run again.
"""

from __future__ import annotations

from typing import Any

from remem.store import Query, Store, open_store


def migrate(src_location: str, dst_location: str, progress: bool = True) -> dict[str, Any]:
    """Copy everything from ``src_location`` to ``dst_location``; returns counts.

    ``{"tenants": 2, "memories": 1200, "skipped": 0, "history": 1350, "links": 40, "api_keys": 1}``
    """
    src = open_store(src_location)
    try:
        dst = open_store(dst_location)
    except BaseException:
        src.close()
        raise
    try:
        return _copy(src, dst, progress)
    finally:
        src.close()
        dst.close()


def _copy(src: Store, dst: Store, progress: bool) -> dict[str, Any]:
    info = src.stats()
    if info.get("embed_model") and info.get("embed_dim"):
        dst.check_embedding(info["embed_model"], int(info["embed_dim"]))  # refuses a store built with another model
    names = src.tenants()
    everything = Query(include_deleted=True)
    total = sum(src.with_tenant(t).count(everything) for t in names)
    counts = {"tenants": len(names), "memories": 0, "skipped": 0, "history": 0, "links": 0, "api_keys": 0}
    bar = _bar(total, progress)
    try:
        for tenant in names:
            source, target = src.with_tenant(tenant), dst.with_tenant(tenant)
            for item in source.export(everything):
                if target.import_item(item):
                    counts["memories"] += 1
                    counts["history"] += len(item.get("history", []))
                    counts["links"] += len(item.get("links", []))
                else:
                    counts["skipped"] += 1
                bar.update(1)
    finally:
        bar.close()
    present = {k["key_hash"] for k in dst.list_api_keys()}
    for key in src.list_api_keys():
        if key["key_hash"] in present:
            continue
        if dst.import_api_key(key):  # keeps created/revoked times
            counts["api_keys"] += 1
    return counts


class _NoBar:
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="mem", desc="migrating")


__all__ = ["migrate"]
