"""Request and response bodies of the maintenance endpoints (maintain, archive, restore, audit, rollback)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from remem.models import AuditEntry
from remem.server.schemas import ErrorBody, Id, Strict, TimeValue


class MaintainRequest(Strict):
    user_id: Id | None = Field(None, description="One user; every user of the tenant when left out")
    policy: dict[str, Any] | None = Field(None, description="MaintenancePolicy fields (the server's default when left out)")
    dry_run: bool = Field(False, description="Report what would change; write nothing")
    now: TimeValue | None = Field(None, description="Reference time for ages and retention (default: now)")


class MaintenanceOut(BaseModel):
    users: int
    scanned: int
    archived: dict[str, int]
    merged_groups: int
    summaries: int
    active_before: int
    active_after: int
    dry_run: bool
    seconds: float
    actions: list[dict[str, Any]]


class ReasonBody(Strict):
    reason: Annotated[str, Field(max_length=1000)] | None = None


class RollbackRequest(Strict):
    user_id: Id
    to: TimeValue = Field(description="Restore the user's memories to exactly what they were at this time")
    dry_run: bool = Field(False, description="Preview the changes; write nothing")


class RollbackOut(BaseModel):
    user_id: str
    to: datetime
    undo_to: datetime = Field(description="Roll back to this time to undo this rollback")
    changed: int
    dry_run: bool
    changes: list[dict[str, Any]]


class AuditPage(BaseModel):
    """Audit entries oldest first; ask again with ``after=next_after`` until it is null."""

    items: list[AuditEntry]
    next_after: int | None


ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody, "description": "The API key is not admin-scoped (`forbidden`)"},
}
