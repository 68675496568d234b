"""Evidence counts: how often a strategy was retrieved before a success and before a failure,
and the bounded ranking prior that follows from them.

The prior multiplies a strategy's relevance by ``1 + PRIOR_WEIGHT * (2p - 1)``, where ``p`` is
its Laplace-smoothed success rate ``(s + 1) / (s + f + 2)``: 1.0 with no evidence, never below
``1 - PRIOR_WEIGHT`` nor above ``1 + PRIOR_WEIGHT`` however many outcomes it saw, so a relevant
strategy with a poor record still outranks an irrelevant one with a good record.
"""

from __future__ import annotations

from remem.models import MemoryRecord, Operation
from remem.procedural.records import ACTOR, evidence, is_live, is_strategy
from remem.write.writer import Writer

PRIOR_WEIGHT = 0.5


def smoothed_rate(success: int, failure: int) -> float:
    """Laplace-smoothed success rate: 0.5 before any evidence."""
    return (success + 1) / (success + failure + 2)


def prior(record: MemoryRecord) -> float:
    """The ranking prior of a strategy, in ``[1 - PRIOR_WEIGHT, 1 + PRIOR_WEIGHT]``."""
    counts = evidence(record)
    return 1.0 + PRIOR_WEIGHT * (2.0 * smoothed_rate(counts["success"], counts["failure"]) - 1.0)


def reward(writer: Writer, ids: list[str], outcome: str, task_id: str) -> list[MemoryRecord]:
    """Count ``outcome`` once on each live strategy among ``ids`` (a new version each, reason
    ``feedback``); returns the strategies changed."""
    changed = []
    for record in writer.store.get_many(list(dict.fromkeys(ids))):
        if not is_live(record) or not is_strategy(record):
            continue
        counts = evidence(record)
        counts[outcome] += 1
        changed.append(
            writer.new_version(
                record, op=Operation.UPDATE, reason=f"feedback: {outcome} (task {task_id})", actor=ACTOR,
                metadata={**record.metadata, "evidence": counts},
            )
        )
    return changed
