"""Step 2: reconcile a new fact with the nearest known facts (ADD / UPDATE / INVALIDATE / NOOP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from remem.llm import RESOLVE, LLMClient, render_memories
from remem.models import Kind, MemoryRecord
from remem.store import Query, Store
from remem.write.extract import Fact
from remem.write.versions import normalise

FACT_KINDS = [Kind.SEMANTIC, Kind.PROCEDURAL]
LEARNED_KEY = "procedural"  # remem.procedural.records.TYPE_KEY (not imported: procedural builds on write)


@dataclass
class Candidate:
    record: MemoryRecord
    similarity: float


@dataclass
class Decision:
    """What to do with a fact; ``targets`` are existing records."""

    action: str  # ADD | UPDATE | INVALIDATE | NOOP
    targets: list[MemoryRecord] = field(default_factory=list)
    content: str | None = None  # merged content for UPDATE
    reason: str = ""
    asked_llm: bool = False


def still_valid(record: MemoryRecord, when: datetime) -> bool:
    """Not deleted and not yet ended at ``when`` (facts that start later still count)."""
    return record.deleted_at is None and (record.valid_to is None or record.valid_to > when)


def nearest_facts(
    store: Store, vector: np.ndarray, *, user_id: str | None, agent_id: str | None, when: datetime, limit: int
) -> list[Candidate]:
    """The ``limit`` most similar facts of the same user and agent that still hold at ``when``."""
    if limit <= 0:
        return []
    q = Query(user_id=user_id, agent_id=agent_id, kinds=FACT_KINDS)
    scored = store.vector_search(vector, q, limit * 4)
    records = {r.id: r for r in store.get_many([i for i, _ in scored])}
    out = []
    for memory_id, score in scored:
        rec = records.get(memory_id)
        if rec is None or rec.user_id != user_id or rec.agent_id != agent_id or not still_valid(rec, when):
            continue
        if rec.metadata.get(LEARNED_KEY) == "strategy":  # learned by Memory.learn: reconciled there, not with facts
            continue
        out.append(Candidate(rec, float(score)))
    return out[:limit]


def decide(llm: LLMClient, fact: Fact, candidates: list[Candidate]) -> Decision:
    """ADD without asking when nothing is similar; NOOP without asking on an exact duplicate;
    otherwise ask the LLM. Raises :class:`~remem.errors.LLMError` when it gives no valid answer."""
    if not candidates:
        return Decision("ADD", reason="nothing similar is known")
    key = normalise(fact.content)
    for c in candidates:
        if normalise(c.record.content) == key:
            return Decision("NOOP", [c.record], reason="the same fact is already stored")
    short = {str(i): c.record for i, c in enumerate(candidates, 1)}
    out = llm.complete_json(
        RESOLVE,
        {"fact": fact.describe(), "existing": render_memories(short.values(), ids=list(short))},
        operation="infer.resolve",
        context={"memory_ids": list(short)},
    )
    return Decision(out.action, [short[i] for i in out.target_ids], out.content, out.reason, asked_llm=True)
