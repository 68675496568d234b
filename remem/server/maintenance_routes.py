"""The maintenance endpoints under ``/v1``: maintain and rollback (admin-scoped keys),
archive and restore, and the read-only audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from remem.memory import Memory
from remem.models import MemoryRecord
from remem.server.deps import admin_memory, tenant_memory
from remem.server.maintenance_schemas import (
    ADMIN_RESPONSES, AuditPage, MaintainRequest, MaintenanceOut, ReasonBody, RollbackOut, RollbackRequest,
)
from remem.server.schemas import ERROR_RESPONSES, check_time

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
Mem = Annotated[Memory, Depends(tenant_memory)]
Admin = Annotated[Memory, Depends(admin_memory)]
IdQ = Annotated[str | None, Query(min_length=1, max_length=256)]


@router.post("/maintain", response_model=MaintenanceOut, tags=["maintenance"], responses=ADMIN_RESPONSES,
             summary="Forget, merge duplicates and consolidate old sessions by policy; archives, never deletes (Memory.maintain)")
def maintain(body: MaintainRequest, mem: Admin) -> MaintenanceOut:
    report = mem.maintain(user_id=body.user_id, policy=body.policy, dry_run=body.dry_run, now=body.now)
    return MaintenanceOut(**report.as_dict())


@router.post("/memories/{memory_id}/archive", response_model=MemoryRecord, tags=["maintenance"],
             summary="Take a memory out of default search and context, keeping it (Memory.archive)")
def archive(memory_id: str, mem: Mem, body: ReasonBody | None = None) -> MemoryRecord:
    return mem.archive(memory_id, reason=body.reason if body else None)


@router.post("/memories/{memory_id}/restore", response_model=MemoryRecord, tags=["maintenance"],
             summary="Bring an archived memory back (Memory.restore)")
def restore(memory_id: str, mem: Mem, body: ReasonBody | None = None) -> MemoryRecord:
    return mem.restore(memory_id, reason=body.reason if body else None)


@router.get("/audit", response_model=AuditPage, tags=["maintenance"],
            summary="The append-only audit log of this tenant, oldest first (Memory.audit)")
def audit(
    mem: Mem,
    user_id: IdQ = None,
    memory_id: IdQ = None,
    since: Annotated[str | None, Query(max_length=100, description="from this time (ISO 8601 or epoch)")] = None,
    until: Annotated[str | None, Query(max_length=100, description="up to this time")] = None,
    op: Annotated[list[str] | None, Query(max_length=20, description="only these operations (ADD, UPDATE, ...)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="only entries after this seq (paging)")] = 0,
) -> AuditPage:
    items = mem.audit(
        user_id=user_id, memory_id=memory_id, since=check_time(since, "since"), until=check_time(until, "until"),
        op=op or None, limit=limit, after=after,
    )
    return AuditPage(items=items, next_after=items[-1].seq if len(items) == limit else None)


@router.post("/rollback", response_model=RollbackOut, tags=["maintenance"], responses=ADMIN_RESPONSES,
             summary="Restore a user's memories to what they were at a time, as new versions; undoable (Memory.rollback)")
def rollback(body: RollbackRequest, mem: Admin) -> RollbackOut:
    report = mem.rollback(user_id=body.user_id, to=body.to, dry_run=body.dry_run)
    return RollbackOut(**report.__dict__)
