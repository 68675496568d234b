"""Copy a whole store to another location, e.g. SQLite → PostgreSQL, losslessly.

Every tenant's memories (deleted and archived ones included) travel with their history,
index text, vector, fingerprint and links, plus the audit log, the embedding model record
and the API keys. Items whose id already exists at the destination are skipped, so an
interrupted migration can simply be run again.
"""

from __future__ import annotations

from typing import Any

from remem.models import AuditEntry
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
    everything = Query(include_deleted=True, include_archived=True)
    total = sum(src.with_tenant(t).count(everything) for t in names)
    counts = {"tenants": len(names), "memories": 0, "skipped": 0, "history": 0, "links": 0, "api_keys": 0, "audit": 0}
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
    for tenant in names:
        counts["audit"] += _copy_audit(src.with_tenant(tenant), dst.with_tenant(tenant))
    present = {k["key_hash"] for k in dst.list_api_keys()}
    for key in src.list_api_keys():
        if key["key_hash"] in present:
            continue
        if dst.import_api_key(key):  # keeps created/revoked times
            counts["api_keys"] += 1
    return counts


def _copy_audit(source: Store, target: Store) -> int:
    """Append the source's audit entries (times, actors, request ids kept) that the target does
    not hold yet, so a migration run again copies nothing twice. Returns how many were copied."""
    have = {_key(e) for e in _all_audit(target)}
    fresh = [e.model_copy(update={"seq": 0}) for e in _all_audit(source) if _key(e) not in have]
    for start in range(0, len(fresh), 5_000):
        target.record_audit(fresh[start : start + 5_000])
    return len(fresh)


def _all_audit(store: Store) -> list[AuditEntry]:
    out: list[AuditEntry] = []
    while page := store.audit(limit=5_000, after_seq=out[-1].seq if out else 0):
        out.extend(page)
    return out


def _key(e: AuditEntry) -> tuple[Any, ...]:
    return (e.at, e.op, e.memory_id, e.user_id, e.after_version, e.actor)


class _NoBar:
    def update(self, n: int) -> None: ...
    def close(self) -> None: ...


def _bar(total: int, progress: bool) -> Any:
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="mem", desc="migrating")


__all__ = ["migrate"]
