"""``remem eval <bench> --consolidate``: run maintenance's consolidation on each store after
ingest (merge duplicates, summarise sessions, archive filler; no forgetting), so the tables
show what consolidation costs in recall and saves in active memories."""

from __future__ import annotations

from datetime import timedelta

from remem.maintain import MaintenancePolicy
from remem.memory import Memory

CONSOLIDATE = MaintenancePolicy(kinds={})
"""The default policy's consolidation (duplicates merged, filler of old sessions archived),
no forgetting; every session counts as old (``now`` is a month after the last turn)."""


def consolidate_store(mem: Memory) -> tuple[int, int]:
    """Consolidate every user of the store; returns (active memories before, after)."""
    latest = mem.get_all(limit=1)
    if not latest:
        return 0, 0
    last = latest[0].event_time or latest[0].created_at
    report = mem.maintain(policy=CONSOLIDATE, now=last + timedelta(days=31))
    return report.active_before, report.active_after
