"""Rollback: set a user's memories back to exactly what they were at a moment, as new versions.

A memory's state at ``to`` is its last history entry at or before ``to``; one created later
is deleted (soft: its history stays, so the rollback itself can be rolled back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remem.models import HistoryEntry, MemoryRecord

RESTORED_FIELDS = (
    "content", "kind", "role", "speaker", "metadata", "source", "keywords", "tags", "context", "importance",
    "event_time", "valid_from", "valid_to", "deleted_at", "archived_at",
)
"""What a rollback sets back (access statistics are not content and stay)."""


@dataclass
class Change:
    """One memory a rollback changes: its fields' values at the target moment."""

    memory_id: str
    action: str  # "revert" (to version ``version``), "delete" (it did not exist yet)
    version: int | None
    fields: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        shown = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.fields.items()}
        return {"memory_id": self.memory_id, "action": self.action, "version": self.version, "fields": shown}


def state_at(history: list[HistoryEntry], to: datetime) -> HistoryEntry | None:
    """The last version at or before ``to`` (None: the memory did not exist yet)."""
    found = None
    for entry in history:
        if entry.changed_at <= to:
            found = entry
    return found


def plan_change(current: MemoryRecord, history: list[HistoryEntry], to: datetime, now: datetime) -> Change | None:
    """What to write so ``current`` is as it was at ``to``; None if it already is."""
    then = state_at(history, to)
    if then is None:
        if current.is_deleted:
            return None
        return Change(current.id, "delete", None, {"deleted_at": now})
    changes = {f: getattr(then.record, f) for f in RESTORED_FIELDS if getattr(then.record, f) != getattr(current, f)}
    if not changes:
        return None
    return Change(current.id, "revert", then.version, changes)
