"""Forgetting: which active memories a :class:`MaintenancePolicy` archives, and why."""

from __future__ import annotations

from datetime import datetime, timedelta

from remem.maintain.policy import MaintenancePolicy
from remem.models import MemoryRecord
from remem.read.strength import retention


def age_days(record: MemoryRecord, now: datetime) -> float:
    """Days since the memory's event (else its creation)."""
    return max(0.0, (now - (record.event_time or record.created_at)).total_seconds() / 86400.0)


def forget_reason(record: MemoryRecord, policy: MaintenancePolicy, now: datetime) -> str | None:
    """Why the policy archives this memory (``"ttl"``, ``"importance"``, ``"retention"``), or None."""
    if age_days(record, now) < policy.grace_days:
        return None
    rules = policy.for_kind(record.kind)
    if rules.ttl_days is not None and age_days(record, now) > rules.ttl_days:
        return "ttl"
    if rules.importance_floor is not None and record.importance < rules.importance_floor:
        return "importance"
    if rules.min_retention is not None and retention(record, now) < rules.min_retention:
        return "retention"
    return None


def over_capacity(records: list[MemoryRecord], policy: MaintenancePolicy, now: datetime) -> list[MemoryRecord]:
    """The weakest memories past ``max_active_per_user`` (lowest retention first; none
    younger than the grace period)."""
    cap = policy.max_active_per_user
    if cap is None or len(records) <= cap:
        return []
    grace = now - timedelta(days=policy.grace_days)
    old = [r for r in records if (r.event_time or r.created_at) <= grace]
    old.sort(key=lambda r: (retention(r, now), r.importance, r.event_time or r.created_at))
    return old[: len(records) - cap]
