"""The SQL both stores share, written once: record columns, WHERE clauses, rows, history, links.

Pure functions over a :class:`~remem.store.dialect.Dialect`; nothing here touches a connection.
"""

from __future__ import annotations

from typing import Any, Iterable

from remem.errors import EmbeddingMismatchError, InvalidInputError
from remem.models import HistoryEntry, MemoryRecord, Operation
from remem.store.base import Link, Query
from remem.store.dialect import Dialect
from remem.store.filters import parse_filters

TIME_FIELDS = ("created_at", "updated_at", "event_time", "valid_from", "valid_to", "deleted_at", "last_accessed_at")
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
    "UNION SELECT tenant FROM api_keys ORDER BY 1"
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


def history_params(tenant: str, entries: Iterable[HistoryItem], d: Dialect) -> list[tuple[Any, ...]]:
    """The parameters of :func:`history_insert` for each entry."""
    return [
        (rec.id, tenant, rec.user_id, rec.version, op.value, d.time(rec.updated_at), reason, actor,
         d.json(changed), d.snapshot(rec))
        for rec, op, reason, actor, changed in entries
    ]


def history_select(d: Dialect, ids: list[str]) -> tuple[str, list[Any]]:
    """(SELECT, params after the tenant) of the history of ``ids``, oldest first."""
    cond, params = d.in_list("memory_id", ids)
    return f"SELECT * FROM history WHERE tenant = {d.mark} AND {cond} ORDER BY hid", params


def history_entry(r: dict[str, Any], d: Dialect) -> HistoryEntry:
    """A history row as a :class:`HistoryEntry`."""
    snapshot = r["snapshot"]
    record = MemoryRecord.model_validate_json(snapshot) if isinstance(snapshot, str) else MemoryRecord.model_validate(snapshot)
    return HistoryEntry(
        memory_id=r["memory_id"], version=r["version"], op=Operation(r["op"]), changed_at=d.load_time(r["changed_at"]),
        reason=r["reason"], actor=r["actor"], changed_fields=d.load_json(r["changed_fields"]), record=record,
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
