"""The audit log's entry type, and who is acting (``acting_as``) for the entries written now."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Iterator

from pydantic import BaseModel, Field

LOCAL_ACTOR = "local"

_ACTOR: ContextVar[tuple[str, str | None]] = ContextVar("remem_actor", default=(LOCAL_ACTOR, None))


class AuditEntry(BaseModel):
    """One operation in the append-only audit log.

    ``op`` is a history operation (ADD, UPDATE, INVALIDATE, DELETE, ARCHIVE, RESTORE, MERGE,
    ROLLBACK) or one that makes no version: PURGE, REFUSE (admission control said no), IMPORT.
    ``actor`` is the API key's name (or its tenant) on the server and ``"local"`` in process;
    ``detail`` holds the reason, the component that acted (``via``) and the content written —
    emptied when the user is purged (right to be forgotten wins over audit).
    """

    seq: int = 0
    at: datetime
    op: str
    memory_id: str | None = None
    user_id: str | None = None
    actor: str | None = None  # None when written: the current actor (acting_as) is recorded
    request_id: str | None = None
    before_version: int | None = None
    after_version: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


@contextmanager
def acting_as(actor: str, request_id: str | None = None) -> Iterator[None]:
    """Attribute every audit entry written inside the block to ``actor`` (and ``request_id``)."""
    token = _ACTOR.set((actor or LOCAL_ACTOR, request_id))
    try:
        yield
    finally:
        _ACTOR.reset(token)


def set_actor(actor: str, request_id: str | None = None) -> None:
    """Attribute audit entries to ``actor`` for the rest of the current context (one request's
    handler thread gets a fresh copy of the context, so this ends with the request)."""
    _ACTOR.set((actor or LOCAL_ACTOR, request_id))


def current_actor() -> tuple[str, str | None]:
    """(actor, request id) for audit entries written now."""
    return _ACTOR.get()


__all__ = ["LOCAL_ACTOR", "AuditEntry", "acting_as", "current_actor", "set_actor"]
