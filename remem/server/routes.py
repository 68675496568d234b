"""The REST API under ``/v1``: every operation of :class:`remem.Memory`.

Handlers receive a ``Memory`` already bound to the caller's tenant (see
:func:`remem.server.app.tenant_memory`); they never touch another tenant.
Sync handlers run in the server's thread pool, so embedding never blocks the loop.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Iterator

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from remem.errors import InvalidInputError, NotFoundError
from remem.jsonl import parse_json
from remem.memory import Memory
from remem.models import Kind, MemoryRecord
from remem.models import Context
from remem.server.deps import tenant_memory, tenant_name
from remem.server.schemas import (
    ERROR_RESPONSES,
    AddRequest,
    ContextRequest,
    HistoryList,
    HitList,
    Imported,
    ImportRequest,
    LinkList,
    LinkOut,
    MemoryPage,
    Purged,
    RecordList,
    RecordsRequest,
    SearchRequest,
    UpdateRequest,
    Whoami,
    check_time,
)
from remem.store.sql import TIME_FIELDS as _TIME_FIELDS

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
Mem = Annotated[Memory, Depends(tenant_memory)]
IdQ = Annotated[str | None, Query(min_length=1, max_length=256)]
MAX_PAGE = 1000


def _time_range(since: str | None, until: str | None) -> tuple[Any, Any] | None:
    if since is None and until is None:
        return None
    return check_time(since, "since"), check_time(until, "until")


def _filters(text: str | None) -> dict[str, Any] | None:
    return None if text is None else parse_json(text, "filters", object_only=True)


def _kinds(kind: list[Kind] | Kind | None) -> list[Kind] | None:
    if kind is None or kind == []:
        return None
    return kind if isinstance(kind, list) else [kind]


@router.get("/whoami", response_model=Whoami, tags=["meta"], summary="The tenant of the calling key")
def whoami(request: Request, tenant: Annotated[str, Depends(tenant_name)]) -> Whoami:
    return Whoami(tenant=tenant, auth=request.app.state.auth)


@router.post("/memories", response_model=RecordList, status_code=status.HTTP_201_CREATED, tags=["memories"],
             summary="Add messages as memories (Memory.add)")
def add(body: AddRequest, mem: Mem) -> RecordList:
    messages: Any = body.messages
    if isinstance(messages, list):
        messages = [m if isinstance(m, str) else m.model_dump(exclude_none=True) for m in messages]
    elif not isinstance(messages, str):
        messages = messages.model_dump(exclude_none=True)
    items = mem.add(
        messages, user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id,
        timestamp=body.timestamp, metadata=body.metadata, kind=body.kind,
    )
    return RecordList(items=items)


def _check_record(record: MemoryRecord) -> MemoryRecord:
    for name in _TIME_FIELDS:
        check_time(getattr(record, name), name)
    return record


@router.post("/records", response_model=RecordList, status_code=status.HTTP_201_CREATED, tags=["memories"],
             summary="Add ready-made records of any kind (Memory.add_records)")
def add_records(body: RecordsRequest, mem: Mem) -> RecordList:
    return RecordList(items=mem.add_records([_check_record(r) for r in body.records]))


@router.post("/search", response_model=HitList, tags=["read"], summary="Hybrid search, best first (Memory.search)")
def search(body: SearchRequest, mem: Mem) -> HitList:
    hits = mem.search(
        body.query, user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id, limit=body.limit,
        filters=body.filters, time_range=body.time_range, kind=_kinds(body.kind), mode=body.mode,
        now=body.now, as_of=body.as_of, threshold=body.threshold, include_archived=body.include_archived,
    )
    return HitList(items=hits)


@router.post("/context", response_model=Context, tags=["read"],
             summary="A token-budgeted, ready-to-prompt block of memories (Memory.context)")
def context(body: ContextRequest, mem: Mem) -> Context:
    return mem.context(
        body.query, user_id=body.user_id, agent_id=body.agent_id, session_id=body.session_id,
        token_budget=body.token_budget, filters=body.filters, kind=_kinds(body.kind),
        now=body.now, as_of=body.as_of, neighbors=body.neighbors,
    )


@router.get("/memories", response_model=MemoryPage, tags=["memories"],
            summary="List memories in scope, newest first, paginated (Memory.get_all)")
def list_memories(
    mem: Mem,
    user_id: IdQ = None,
    agent_id: IdQ = None,
    session_id: IdQ = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
    since: Annotated[str | None, Query(max_length=100, description="event time from (ISO 8601 or epoch)")] = None,
    until: Annotated[str | None, Query(max_length=100, description="event time before")] = None,
    filters: Annotated[str | None, Query(max_length=10_000, description="a JSON object of filters")] = None,
    include_deleted: bool = False,
    include_archived: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> MemoryPage:
    scope = dict(
        user_id=user_id, agent_id=agent_id, session_id=session_id, kind=_kinds(kind),
        filters=_filters(filters), time_range=_time_range(since, until),
    )
    hidden = dict(include_deleted=include_deleted, include_archived=include_archived)
    items = mem.get_all(**scope, limit=limit, offset=offset, **hidden)
    total = mem.count(**scope, **hidden)
    more = offset + len(items) < total and len(items) == limit
    return MemoryPage(items=items, total=total, limit=limit, offset=offset, next_offset=offset + limit if more else None)


Deleted = Annotated[bool, Query(description="Also answer for a soft-deleted memory (otherwise 404 once deleted)")]


def _visible(mem: Memory, memory_id: str, include_deleted: bool) -> MemoryRecord:
    """The memory, or 404 once it is soft-deleted (unless asked for with include_deleted)."""
    record = mem.get(memory_id)
    if record.is_deleted and not include_deleted:
        raise NotFoundError(f"memory {memory_id!r} was deleted; pass include_deleted=true to see it")
    return record


@router.get("/memories/{memory_id}", response_model=MemoryRecord, tags=["memories"], summary="One memory (Memory.get)")
def get(memory_id: str, mem: Mem, include_deleted: Deleted = False) -> MemoryRecord:
    return _visible(mem, memory_id, include_deleted)


@router.patch("/memories/{memory_id}", response_model=MemoryRecord, tags=["memories"],
              summary="Change a memory; the old version stays in its history (Memory.update)")
def update(memory_id: str, body: UpdateRequest, mem: Mem) -> MemoryRecord:
    fields = {name: getattr(body, name) for name in body.model_fields_set}
    content = fields.pop("content", None)
    metadata = fields.pop("metadata", None)
    reason = fields.pop("reason", None)
    for name in ("importance", "keywords", "tags"):
        if name in fields and fields[name] is None:
            raise InvalidInputError(f"{name} cannot be null")
    return mem.update(memory_id, content=content, metadata=metadata, reason=reason, **fields)


@router.delete("/memories/{memory_id}", response_model=MemoryRecord, tags=["memories"],
               summary="Soft-delete: hidden from search and lists, kept in history (Memory.delete)")
def delete(memory_id: str, mem: Mem, reason: Annotated[str | None, Query(max_length=1000)] = None) -> MemoryRecord:
    return mem.delete(memory_id, reason=reason)


@router.get("/memories/{memory_id}/history", response_model=HistoryList, tags=["memories"],
            summary="Every version of a memory, oldest first (Memory.history)")
def history(memory_id: str, mem: Mem, include_deleted: Deleted = False) -> HistoryList:
    _visible(mem, memory_id, include_deleted)
    return HistoryList(items=mem.history(memory_id))


@router.get("/memories/{memory_id}/links", response_model=LinkList, tags=["memories"],
            summary="Links from and to a memory (Memory.links)")
def links(memory_id: str, mem: Mem, include_deleted: Deleted = False) -> LinkList:
    _visible(mem, memory_id, include_deleted)
    return LinkList(items=[LinkOut(**vars(link)) for link in mem.links(memory_id)])


@router.delete("/users/{user_id:path}", response_model=Purged, tags=["users"],
               summary="Erase everything about a user, history included; irreversible (Memory.purge)")
def purge(user_id: str, mem: Mem) -> Purged:
    return Purged(user_id=user_id, purged=mem.purge(user_id=user_id))


@router.get("/export", tags=["admin"], summary="Every memory with history and vectors, as JSON Lines (Memory.export)",
            response_class=StreamingResponse, responses={200: {"content": {"application/x-ndjson": {}}}})
def export(mem: Mem, user_id: IdQ = None) -> StreamingResponse:
    items = mem.export(user_id=user_id)
    first = next(items, None)  # validate and fail before the response starts

    def lines() -> Iterator[str]:
        if first is not None:
            yield json.dumps(first, ensure_ascii=False) + "\n"
        for item in items:
            yield json.dumps(item, ensure_ascii=False) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/import", response_model=Imported, tags=["admin"],
             summary="Load exported items (up to 1,000 a request); existing ids are skipped (Memory.import_)")
def import_(body: ImportRequest, mem: Mem) -> Imported:
    for item in body.items:
        if isinstance(item.get("record"), dict):
            try:
                record = MemoryRecord.model_validate(item["record"])
            except ValueError as exc:
                raise InvalidInputError(f"not a remem export item: {exc}") from None
            _check_record(record)
    added, skipped = mem.import_(body.items)
    return Imported(added=added, skipped=skipped)


@router.get("/stats", tags=["admin"], summary="Counts for this tenant (Memory.stats)")
def stats(mem: Mem) -> dict[str, Any]:
    data = dict(mem.stats())
    for private in ("path", "size_bytes", "schema"):  # server layout / size across tenants; backend stays
        data.pop(private, None)
    return data
