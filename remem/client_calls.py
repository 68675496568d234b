"""The HTTP requests behind :class:`remem.RememClient`: one builder per ``Memory`` method,
each returning a :class:`Call` (method, path, parameters, body, and how to read the reply). No I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable
from urllib.parse import quote

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from remem.errors import InvalidInputError
from remem.models import AuditEntry, Context, HistoryEntry, Kind, MaintenanceReport, MemoryRecord, RollbackReport, SearchHit
from remem.models.procedural import ProcedureHit
from remem.store.base import Link


@dataclass
class Call:
    """One HTTP request and how to turn its JSON into the return value."""

    method: str
    path: str
    parse: Callable[[Any], Any]
    params: list[tuple[str, Any]] = field(default_factory=list)
    json: Any = None


def json_body(**values: Any) -> dict[str, Any]:
    return to_jsonable_python({k: v for k, v in values.items() if v is not None})


def kinds(kind: Any) -> list[str] | None:
    if kind is None:
        return None
    return [Kind(k).value if isinstance(k, Kind) else k for k in (kind if isinstance(kind, list) else [kind])]


def as_time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def scope_params(user_id: Any, agent_id: Any, session_id: Any, kind: Any, filters: Any, time_range: Any,
                 include_deleted: bool, include_archived: bool = False) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = [
        (k, v) for k, v in (("user_id", user_id), ("agent_id", agent_id), ("session_id", session_id)) if v is not None
    ]
    params += [("kind", k) for k in kinds(kind) or []]
    if filters is not None:
        if not isinstance(filters, dict):
            raise InvalidInputError("filters must be a dict")
        try:
            params.append(("filters", json.dumps(to_jsonable_python(filters))))
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInputError(f"filters cannot be sent as JSON ({exc})") from None
    if time_range is not None:
        if not isinstance(time_range, (tuple, list)) or len(time_range) != 2:
            raise InvalidInputError("time_range must be a (start, end) pair; either may be None")
        for name, value in zip(("since", "until"), time_range, strict=True):
            if value is not None:
                params.append((name, str(as_time(value))))
    if include_deleted:
        params.append(("include_deleted", "true"))
    if include_archived:
        params.append(("include_archived", "true"))
    return params


def seg(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError("id must be a non-empty string")
    return quote(value, safe="")


def posted(name: str, path: str, positional: tuple[str, ...], returns: Any) -> Callable[..., Call]:
    """The builder of an operation that POSTs its arguments as JSON (``None`` left out) and
    replies with its return value (a row of :mod:`remem.operations` with ``posts``)."""
    reply = TypeAdapter(returns)

    def build(*args: Any, **kwargs: Any) -> Call:
        if len(args) > len(positional):
            raise TypeError(f"{name}() takes {len(positional)} positional arguments but {len(args)} were given")
        given = dict(zip(positional, args))
        if twice := sorted(given.keys() & kwargs.keys()):
            raise TypeError(f"{name}() got multiple values for {', '.join(twice)}")
        if missing := [p for p in positional if p not in given and p not in kwargs]:
            raise TypeError(f"{name}() missing required arguments: {', '.join(missing)}")
        return Call("POST", path, reply.validate_python, json=json_body(**given, **kwargs))

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"See :meth:`remem.Memory.{name}` (``POST {path}``)."
    return build


def parse_records(data: Any) -> list[MemoryRecord]:
    return [MemoryRecord.model_validate(r) for r in data["items"]]


# -- request builders: one per Memory method, no I/O ----------------------------------------


def add(messages: str | dict[str, Any] | list[dict[str, Any]], *, user_id: str | None = None,
        agent_id: str | None = None, session_id: str | None = None, timestamp: Any = None,
        metadata: dict[str, Any] | None = None, kind: Kind | str = Kind.EPISODIC) -> Call:
    """Store messages as memories (one per message); see :meth:`remem.Memory.add`."""
    body = json_body(messages=messages, user_id=user_id, agent_id=agent_id, session_id=session_id,
                 timestamp=timestamp, metadata=metadata, kind=kind)
    return Call("POST", "/v1/memories", parse_records, json=body)


def add_records(records: Iterable[MemoryRecord]) -> Call:
    """Store ready-made records of any kind; see :meth:`remem.Memory.add_records`."""
    body = {"records": [r.model_dump(mode="json") for r in records]}
    return Call("POST", "/v1/records", parse_records, json=body)


def search(query: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
           limit: int = 10, filters: dict[str, Any] | None = None, time_range: tuple[Any, Any] | None = None,
           kind: Any = None, mode: str | None = None, now: Any = None, as_of: Any = None,
           threshold: float | None = None, include_archived: bool = False) -> Call:
    """Hybrid search, best first; see :meth:`remem.Memory.search`."""
    body = json_body(query=query, user_id=user_id, agent_id=agent_id, session_id=session_id, limit=limit,
                     filters=filters, time_range=list(time_range) if isinstance(time_range, tuple) else time_range,
                     kind=kind, mode=mode, now=now, as_of=as_of, threshold=threshold,
                     include_archived=include_archived or None)
    return Call("POST", "/v1/search", lambda d: [SearchHit.model_validate(h) for h in d["items"]], json=body)


def context(query: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
            token_budget: int = 2000, filters: dict[str, Any] | None = None, kind: Any = None,
            now: Any = None, as_of: Any = None, neighbors: int = 1) -> Call:
    """A ready-to-prompt block within ``token_budget``; see :meth:`remem.Memory.context`."""
    body = json_body(query=query, user_id=user_id, agent_id=agent_id, session_id=session_id,
                 token_budget=token_budget, filters=filters, kind=kind, now=now, as_of=as_of, neighbors=neighbors)
    return Call("POST", "/v1/context", Context.model_validate, json=body)


def get(memory_id: str) -> Call:
    """One memory (deleted ones too); ``NotFoundError`` if absent."""
    return Call("GET", f"/v1/memories/{seg(memory_id)}", MemoryRecord.model_validate, params=[("include_deleted", "true")])


def update(memory_id: str, *, content: str | None = None, metadata: dict[str, Any] | None = None,
           reason: str | None = None, **fields: Any) -> Call:
    """Change a memory; the old version stays in history; see :meth:`remem.Memory.update`."""
    body = {**json_body(content=content, metadata=metadata, reason=reason), **to_jsonable_python(fields)}
    return Call("PATCH", f"/v1/memories/{seg(memory_id)}", MemoryRecord.model_validate, json=body)


def delete(memory_id: str, *, reason: str | None = None) -> Call:
    """Soft-delete a memory (kept in history)."""
    params = [("reason", reason)] if reason is not None else []
    return Call("DELETE", f"/v1/memories/{seg(memory_id)}", MemoryRecord.model_validate, params=params)


def purge(*, user_id: str) -> Call:
    """Erase everything about a user. Irreversible. Returns how many memories went."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidInputError("user_id is required")
    return Call("DELETE", f"/v1/users/{quote(user_id, safe='')}", lambda d: int(d["purged"]))


def history(memory_id: str) -> Call:
    """Every version of a memory, oldest first."""
    return Call("GET", f"/v1/memories/{seg(memory_id)}/history",
                 lambda d: [HistoryEntry.model_validate(h) for h in d["items"]], params=[("include_deleted", "true")])


def links(memory_id: str) -> Call:
    """Links from and to a memory (related, supersedes, …)."""
    return Call("GET", f"/v1/memories/{seg(memory_id)}/links",
                 lambda d: [Link(**link) for link in d["items"]], params=[("include_deleted", "true")])


def stats() -> Call:
    """Counts for this tenant."""
    return Call("GET", "/v1/stats", dict)


def import_batch(items: list[dict[str, Any]]) -> Call:
    return Call("POST", "/v1/import", lambda d: (int(d["added"]), int(d["skipped"])), json={"items": items})


def list_page(scope: list[tuple[str, Any]], limit: int, offset: int) -> Call:
    return Call("GET", "/v1/memories", lambda d: d, params=[*scope, ("limit", limit), ("offset", offset)])


def check_page_args(limit: Any, offset: Any) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise InvalidInputError("limit must be an integer from 1 to 10000")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidInputError("offset must be a non-negative integer")


# -- maintenance ------------------------------------------------------------------------------
def maintain(*, user_id: str | None = None, policy: Any = None, dry_run: bool = False, now: Any = None) -> Call:
    """Forgetting and consolidation by policy (admin key); see :meth:`remem.Memory.maintain`."""
    if policy is not None and hasattr(policy, "model_dump"):
        policy = policy.model_dump(mode="json")
    payload = json_body(user_id=user_id, policy=policy, now=as_time(now))
    payload["dry_run"] = dry_run
    return Call("POST", "/v1/maintain", lambda d: MaintenanceReport(**d), json=payload)


def archive(memory_id: str, *, reason: str | None = None) -> Call:
    """Take a memory out of default search and context; see :meth:`remem.Memory.archive`."""
    return Call("POST", f"/v1/memories/{seg(memory_id)}/archive", MemoryRecord.model_validate, json=json_body(reason=reason))


def restore(memory_id: str, *, reason: str | None = None) -> Call:
    """Bring an archived memory back; see :meth:`remem.Memory.restore`."""
    return Call("POST", f"/v1/memories/{seg(memory_id)}/restore", MemoryRecord.model_validate, json=json_body(reason=reason))


def audit(*, user_id: str | None = None, memory_id: str | None = None, since: Any = None, until: Any = None,
          op: str | list[str] | None = None, limit: int = 100, after: int = 0) -> Call:
    """The audit log, oldest first; see :meth:`remem.Memory.audit`."""
    params: list[tuple[str, Any]] = [
        (k, str(as_time(v))) for k, v in (("user_id", user_id), ("memory_id", memory_id), ("since", since), ("until", until))
        if v is not None
    ]
    params += [("op", o) for o in ([op] if isinstance(op, str) else op or [])]
    params += [("limit", limit), ("after", after)]
    return Call("GET", "/v1/audit", lambda d: [AuditEntry.model_validate(e) for e in d["items"]], params=params)


def rollback(*, user_id: str, to: Any, dry_run: bool = False) -> Call:
    """Restore a user's memories to a moment (admin key); see :meth:`remem.Memory.rollback`."""
    payload = json_body(user_id=user_id, to=as_time(to))
    payload["dry_run"] = dry_run
    return Call("POST", "/v1/rollback", RollbackReport.from_dict, json=payload)


# -- procedural memory -------------------------------------------------------------------------
def procedures(task: str, *, agent_id: str | None = None, user_id: str | None = None, limit: int = 5,
               task_id: str | None = None) -> Call:
    """Strategies for a new task, best first; see :meth:`remem.Memory.procedures`."""
    payload = json_body(task=task, agent_id=agent_id, user_id=user_id, limit=limit, task_id=task_id)
    return Call("POST", "/v1/procedures", lambda d: [ProcedureHit.model_validate(h) for h in d["results"]], json=payload)
