"""What maintenance and rollback report (returned by ``Memory`` and ``RememClient`` alike)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remem.models.records import parse_time


@dataclass
class MaintenanceReport:
    """What :meth:`remem.Memory.maintain` did (or, with ``dry_run``, would do)."""

    users: int = 0
    scanned: int = 0
    archived: dict[str, int] = field(default_factory=dict)  # by reason: ttl, importance, retention, capacity, merged, filler
    merged_groups: int = 0
    summaries: int = 0
    active_before: int = 0
    active_after: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    actions: list[dict[str, Any]] = field(default_factory=list)  # memory_id, action, reason (first 1,000)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RollbackReport:
    """What :meth:`remem.Memory.rollback` changed; ``undo_to`` rolls it back again."""

    user_id: str
    to: datetime
    undo_to: datetime
    changed: int = 0
    dry_run: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "to": self.to.isoformat(), "undo_to": self.undo_to.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RollbackReport":
        return cls(**{**data, "to": parse_time(data["to"]), "undo_to": parse_time(data["undo_to"])})
