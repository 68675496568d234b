"""The SQL both stores share, written once: record columns, WHERE clauses, rows, history, links.

Pure functions over a :class:`~remem.store.dialect.Dialect`; nothing here touches a connection.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping

from remem.errors import EmbeddingMismatchError, InvalidInputError, StoreError
from remem.models import AuditEntry, HistoryEntry, MemoryRecord, Operation
from remem.models.audit import current_actor
from remem.store.base import Link, Query
from remem.store.dialect import Dialect
from remem.store.filters import parse_filters

TIME_FIELDS = (
    "created_at", "updated_at", "event_time", "valid_from", "valid_to", "deleted_at", "last_accessed_at", "archived_at",
)
JSON_FIELDS = ("metadata", "source", "keywords", "tags")
FIELDS = (  # the record columns of the memories table, in both stores
    "id", "user_id", "agent_id", "session_id", "kind", "role", "speaker", "content",
    *TIME_FIELDS, "version", "importance", "strength", "access_count", *JSON_FIELDS, "context",
)
COLS = ", ".join(FIELDS)
MCOLS = ", ".join("m." + f for f in FIELDS)
HISTORY_COLUMNS = (
    "memory_id", "tenant", "user_id", "version", "op", "changed_at", "reason", "actor", "changed_fields", "snapshot",
)
LINK_COLUMNS = ("tenant", "src", "dst", "relation", "weight", "created_at")
TENANTS = (
    "SELECT tenant FROM memories UNION SELECT tenant FROM history UNION SELECT tenant FROM links "
    "UNION SELECT tenant FROM api_keys UNION SELECT tenant FROM audit ORDER BY 1"
)
AUDIT_COLUMNS = (
    "tenant", "at", "op", "memory_id", "user_id", "actor", "request_id", "before_version", "after_version", "detail",
)

HistoryItem = tuple[MemoryRecord, Operation, "str | None", "str | None", "list[str]"]  # record, op, reason, actor, changed


def where(query: Query, tenant: str, d: Dialect) -> tuple[str, list[Any]]:
    """The WHERE clause (over ``memories m``) of what ``query`` lets ``tenant`` see, and its parameters."""
    p = d.mark
    clauses = [f"m.tenant = {p}"]
    params: list[Any] = [tenant]
    for column in ("user_id", "agent_id", "session_id"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"m.{column} = {p}")
            params.append(value)
    if not query.include_deleted:
        clauses.append("m.deleted_at IS NULL")
    if not query.include_archived:
        clauses.append("m.archived_at IS NULL")
    lists = [("m.kind", [k.value for k in query.kinds] if query.kinds else None), ("m.id", query.ids)]
    for expr, values in lists:
        if values is not None:
            text, args = d.in_list(expr, values)
            clauses.append(text)
            params.extend(args)
    if query.time_range:
        start, end = query.time_range
        if start is not None:
            clauses.append(f"m.event_time >= {p}")
            params.append(d.time(start))
        if end is not None:
            clauses.append(f"m.event_time <= {p}")
            params.append(d.time(end))
    if query.not_ended_at is not None:
        clauses.append(f"(m.valid_to IS NULL OR m.valid_to > {p})")
        params.append(d.time(query.not_ended_at))
    if query.valid_at is not None:
        at = d.time(query.valid_at)
        clauses.append(f"(m.valid_from IS NULL OR m.valid_from <= {p}) AND (m.valid_to IS NULL OR m.valid_to > {p})")
        params.extend([at, at])
    for cond in parse_filters(query.filters):
        text, values = d.condition(cond)
        clauses.append(text)
        params.extend(values)
    return " AND ".join(clauses), params


# -- rows --------------------------------------------------------------------------------
def to_row(rec: MemoryRecord, d: Dialect) -> dict[str, Any]:
    """The record's columns (FIELDS, in order) as parameters."""
    data = rec.model_dump()
    row: dict[str, Any] = {}
    for field in FIELDS:
        value = data[field]
        if field in TIME_FIELDS:
            value = d.time(value)
        elif field in JSON_FIELDS:
            value = d.json(value)
        elif field == "kind":
            value = rec.kind.value
        row[field] = value
    return row


def from_row(row: dict[str, Any], d: Dialect) -> MemoryRecord:
    """A record from a row holding (at least) FIELDS."""
    data = {f: row[f] for f in FIELDS}
    for field in TIME_FIELDS:
        data[field] = d.load_time(data[field])
    for field in JSON_FIELDS:
        data[field] = d.load_json(data[field])
    return MemoryRecord.from_store(data)


def list_sql(where_sql: str, newest_first: bool, d: Dialect) -> str:
    """One page of records, newest (by event time, else creation) first or last."""
    order = "DESC" if newest_first else "ASC"
    return (
        f"SELECT {MCOLS} FROM memories m WHERE {where_sql} "
        f"ORDER BY coalesce(m.event_time, m.created_at) {order}, m.{d.rowid} {order} LIMIT {d.mark} OFFSET {d.mark}"
    )


# -- history and links ---------------------------------------------------------------------
def history_insert(d: Dialect) -> str:
    """INSERT of one history row (for executemany with :func:`history_params`)."""
    return f"INSERT INTO history ({', '.join(HISTORY_COLUMNS)}) VALUES ({d.marks(len(HISTORY_COLUMNS))})"


def history_params(
    tenant: str, entries: Iterable[HistoryItem], d: Dialect, rows: Mapping[str, MemoryRecord] | None = None
) -> list[tuple[Any, ...]]:
    """The parameters of :func:`history_insert` for each entry. An entry that is the memory's
    row as written (``rows``: id -> the record in the memories table) gets a compact snapshot."""
    return [
        (rec.id, tenant, rec.user_id, rec.version, op.value, d.time(rec.updated_at), reason, actor,
         d.json(changed), d.json(compact_snapshot(rec)) if is_row(rec, rows) else d.snapshot(rec))
        for rec, op, reason, actor, changed in entries
    ]


# A history snapshot is the whole record, except for the version that is the memories row right
# now: its snapshot keeps only the fields that may change without a new version (access stats,
# archiving, strength...) and ROW_MARK; the rest is read from the row. When a new version replaces
# the row, the full snapshot is written out first (SQLStoreBase._expand_history), in the same
# transaction. So a memory's newest version is never stored twice.
ROW_MARK = "$row"
ROW_FIELDS = (  # record fields that change only with a new version: a compact snapshot reads them from the row
    "id", "user_id", "agent_id", "session_id", "kind", "role", "speaker", "content", "created_at", "updated_at",
    "event_time", "valid_from", "valid_to", "deleted_at", "metadata", "source", "keywords", "tags", "context",
)


def is_row(rec: MemoryRecord, rows: Mapping[str, MemoryRecord] | None) -> bool:
    """Whether ``rec`` is, field for field, the version stored in the memories row."""
    row = rows.get(rec.id) if rows else None
    if row is None:
        return False
    return row is rec or (row.version == rec.version and all(getattr(row, f) == getattr(rec, f) for f in ROW_FIELDS))


def compact_snapshot(rec: MemoryRecord) -> dict[str, Any]:
    """The snapshot of a version that is the memories row: the fields the row may lose without a version."""
    return {ROW_MARK: 1, **rec.model_dump(mode="json", exclude=set(ROW_FIELDS))}


def load_snapshot(snapshot: Any) -> dict[str, Any] | None:
    """A compact snapshot as a dict, or None for a full one (JSON text in SQLite, jsonb in PostgreSQL)."""
    if isinstance(snapshot, str):
        if not snapshot.startswith('{"' + ROW_MARK):
            return None
        snapshot = json.loads(snapshot)
    return snapshot if isinstance(snapshot, dict) and ROW_MARK in snapshot else None


def snapshot_record(snapshot: Any, row: MemoryRecord | None, version: int) -> MemoryRecord:
    """The record a history row's snapshot stands for; ``row`` is the memory's row (needed when compact)."""
    compact = load_snapshot(snapshot)
    if compact is None:
        return MemoryRecord.model_validate_json(snapshot) if isinstance(snapshot, str) else MemoryRecord.model_validate(snapshot)
    if row is None or row.version != version:
        raise StoreError(f"history of memory {row.id if row else '?'}: version {version} has no snapshot")
    data = {f: getattr(row, f) for f in ROW_FIELDS}
    data.update((k, v) for k, v in compact.items() if k != ROW_MARK)
    return MemoryRecord.model_validate(data)


def history_select(d: Dialect, ids: list[str]) -> tuple[str, list[Any]]:
    """(SELECT, params after the tenant) of the history of ``ids``, oldest first."""
    cond, params = d.in_list("memory_id", ids)
    return f"SELECT * FROM history WHERE tenant = {d.mark} AND {cond} ORDER BY hid", params


def history_entry(r: dict[str, Any], d: Dialect, row: MemoryRecord | None = None) -> HistoryEntry:
    """A history row as a :class:`HistoryEntry` (``row``: the memory's row, for a compact snapshot)."""
    record = snapshot_record(r["snapshot"], row, r["version"])
    return HistoryEntry(
        memory_id=r["memory_id"], version=r["version"], op=Operation(r["op"]), changed_at=d.load_time(r["changed_at"]),
        reason=r["reason"], actor=r["actor"], changed_fields=d.load_json(r["changed_fields"]), record=record,
    )


# -- audit ---------------------------------------------------------------------------------
def audit_of_version(
    rec: MemoryRecord, op: Operation, reason: str | None, via: str | None, changed: list[str]
) -> AuditEntry:
    """The audit entry of one history row: the version it made, and what it wrote."""
    detail: dict[str, Any] = {"content": rec.content}
    if reason:
        detail["reason"] = reason
    if via:
        detail["via"] = via
    if changed:
        detail["changed"] = changed
    before = rec.version - 1 if rec.version > 1 else None
    return AuditEntry(
        at=rec.updated_at, op=op.value, memory_id=rec.id, user_id=rec.user_id,
        before_version=before, after_version=rec.version, detail=detail,
    )


def purged_user(tenant: str, user_id: str) -> str:
    """What a purged user's audit entries are filed under: a one-way token of the name."""
    return "purged:" + hashlib.sha256(f"{tenant}\x00{user_id}".encode()).hexdigest()[:24]


def audit_insert(d: Dialect) -> str:
    """INSERT of one audit row (for executemany with :func:`audit_params`)."""
    return f"INSERT INTO audit ({', '.join(AUDIT_COLUMNS)}) VALUES ({d.marks(len(AUDIT_COLUMNS))})"


def audit_params(tenant: str, entries: Iterable[AuditEntry], d: Dialect) -> list[tuple[Any, ...]]:
    """The parameters of :func:`audit_insert`; an entry without an actor gets the current one."""
    actor, request_id = current_actor()
    return [
        (tenant, d.time(e.at), e.op, e.memory_id, e.user_id, e.actor or actor, e.request_id or request_id,
         e.before_version, e.after_version, d.json(e.detail))
        for e in entries
    ]


def audit_select(
    tenant: str, d: Dialect, user_id: str | None, memory_id: str | None, since: Any, until: Any,
    ops: list[str] | None, after_seq: int,
) -> tuple[str, list[Any]]:
    """(SELECT ... LIMIT mark, params without the limit) of audit entries, oldest first."""
    p = d.mark
    clauses, params = [f"tenant = {p}", f"seq > {p}"], [tenant, after_seq]
    if user_id is not None:  # a purged user's entries are found by the same name
        clauses.append(f"user_id IN ({p}, {p})")
        params.extend([user_id, purged_user(tenant, user_id)])
    if memory_id is not None:
        clauses.append(f"memory_id = {p}")
        params.append(memory_id)
    if since is not None:
        clauses.append(f"at >= {p}")
        params.append(d.time(since))
    if until is not None:
        clauses.append(f"at <= {p}")
        params.append(d.time(until))
    if ops:
        text, args = d.in_list("op", ops)
        clauses.append(text)
        params.extend(args)
    return f"SELECT * FROM audit WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT {p}", params


def audit_entry(r: dict[str, Any], d: Dialect) -> AuditEntry:
    """An audit row as an :class:`AuditEntry` (detail is empty after a purge)."""
    detail = r["detail"]
    return AuditEntry(
        seq=r["seq"], at=d.load_time(r["at"]), op=r["op"], memory_id=r["memory_id"], user_id=r["user_id"],
        actor=r["actor"], request_id=r["request_id"], before_version=r["before_version"],
        after_version=r["after_version"], detail=d.load_json(detail) if detail is not None else {},
    )


def link_upsert(d: Dialect) -> str:
    """INSERT of one link, replacing its weight and time if it is there (for executemany)."""
    return d.upsert("links", LINK_COLUMNS, ("tenant", "src", "dst", "relation"))


def link_params(tenant: str, links: Iterable[Link], now: Any) -> list[tuple[Any, ...]]:
    """The parameters of :func:`link_upsert` for each link."""
    return [(tenant, link.src, link.dst, link.relation, link.weight, now) for link in links]


# -- checks shared by the writers ----------------------------------------------------------
def check_newer(record: MemoryRecord, stored_user: str | None, stored_version: int) -> None:
    """Refuse a new version that moves the memory to another user or is not newer."""
    if stored_user != record.user_id:
        raise InvalidInputError("a memory cannot move to another user")
    if record.version <= stored_version:
        raise InvalidInputError(f"version {record.version} is not newer than stored version {stored_version}")


def check_same_embedding(where: str, meta: dict[str, str], model: str, dim: int) -> None:
    """Raise EmbeddingMismatchError unless ``meta`` names the same model and size."""
    if meta.get("embed_model") != model or int(meta.get("embed_dim", -1)) != dim:
        raise EmbeddingMismatchError(
            f"{where} was built with embedding model {meta.get('embed_model')!r} "
            f"({meta.get('embed_dim')} dims); this Memory uses {model!r} ({dim} dims). "
            "Use the same embedder, or export and re-import into a new store."
        )
