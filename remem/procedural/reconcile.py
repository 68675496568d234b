"""Reconcile distilled strategies with the stored ones: ADD / UPDATE / NOOP, as facts are.

Candidates are the agent's (and user's) live strategies of the same polarity and level, nearest
by vector. An exact duplicate (same title and steps, case and spacing aside) is a NOOP without
asking; no candidate means ADD without asking; otherwise the LLM decides. An UPDATE is a new
version of the existing strategy (history keeps the old one; its evidence counts carry over).
Every outcome links the trajectory to the strategy (``distilled_into``), so a strategy's
sources are its ``source`` ids and those links.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from remem.models import Kind, MemoryRecord, Operation
from remem.models.procedural import StrategyChange
from remem.procedural import distil as llm_steps
from remem.procedural.distil import DistilledStrategy, StrategyText
from remem.procedural.records import ACTOR, SCOPE_KEY, STRATEGY, TYPE_KEY, is_live, scope_key, strategy_content
from remem.store import Link, Query
from remem.write.ingest import fingerprint
from remem.write.versions import normalise
from remem.write.writer import Writer

CANDIDATES = 5
LINK = "distilled_into"


def _key(title: str, steps: list[str]) -> str:
    return normalise(title) + "|" + "|".join(normalise(s) for s in steps)


def build(item: DistilledStrategy, polarity: str, trajectory: MemoryRecord) -> MemoryRecord:
    """A new strategy record distilled from ``trajectory`` (its scope, its provenance)."""
    return MemoryRecord(
        content=strategy_content(item.title, item.when_to_apply, item.steps, polarity),
        kind=Kind.PROCEDURAL, user_id=trajectory.user_id, agent_id=trajectory.agent_id,
        event_time=trajectory.event_time, source=[trajectory.id], importance=0.6 if item.level == "instance" else 0.7,
        metadata={
            TYPE_KEY: STRATEGY, SCOPE_KEY: scope_key(trajectory.agent_id, trajectory.user_id),
            "title": item.title, "when_to_apply": item.when_to_apply, "steps": item.steps, "polarity": polarity,
            "level": item.level, "evidence": {"success": 0, "failure": 0}, "trajectories": [trajectory.id],
        },
    )


def nearest(writer: Writer, vector: np.ndarray, record: MemoryRecord) -> list[MemoryRecord]:
    """The closest live strategies of ``record``'s exact scope, polarity and level."""
    meta = record.metadata
    filters = {f"metadata.{TYPE_KEY}": STRATEGY, f"metadata.{SCOPE_KEY}": meta[SCOPE_KEY],
               "metadata.polarity": meta["polarity"], "metadata.level": meta["level"]}
    q = Query(user_id=record.user_id, agent_id=record.agent_id, kinds=[Kind.PROCEDURAL], filters=filters)
    scored = writer.store.vector_search(vector, q, CANDIDATES)
    found = {r.id: r for r in writer.store.get_many([i for i, _ in scored])}
    return [found[i] for i, _ in scored if i in found and is_live(found[i])]


def reconcile(writer: Writer, llm: Any, items: list[DistilledStrategy], polarity: str, trajectory: MemoryRecord) -> tuple[list[MemoryRecord], list[StrategyChange]]:
    """Write each distilled strategy (ADD / UPDATE / NOOP); returns (strategies written, decisions)."""
    written: dict[str, MemoryRecord] = {}
    changes: list[StrategyChange] = []
    links: list[Link] = []
    for item in items:
        record = build(item, polarity, trajectory)
        vector = writer.embedder.embed([writer.derived_text(record)])[0]
        found = nearest(writer, vector, record)
        change, stored = _decide_and_write(writer, llm, item, record, vector, found, trajectory)
        changes.append(change)
        links.append(Link(trajectory.id, change.memory_id, LINK, 1.0))
        if stored is not None:
            written[stored.id] = stored
    if links:
        writer.store.add_links(links)
    return list(written.values()), changes


def _decide_and_write(
    writer: Writer, llm: Any, item: DistilledStrategy, record: MemoryRecord, vector: np.ndarray,
    found: list[MemoryRecord], trajectory: MemoryRecord,
) -> tuple[StrategyChange, MemoryRecord | None]:
    key = _key(item.title, item.steps)
    for old in found:
        if _key(str(old.metadata.get("title", "")), list(old.metadata.get("steps") or [])) == key:
            return StrategyChange(action="NOOP", title=item.title, memory_id=old.id, reason="the same strategy is already stored"), None
    if found:
        short = {str(i): old for i, old in enumerate(found, 1)}
        shown = {k: _render(r) for k, r in short.items()}
        new_text = llm_steps.render_strategy(item.title, item.when_to_apply, item.steps, record.metadata["polarity"], item.level)
        decision = llm_steps.resolve(llm, new_text, shown)
        if decision.action == "NOOP":
            target = short[decision.target_id or ""]
            return StrategyChange(action="NOOP", title=item.title, memory_id=target.id, reason=decision.reason), None
        if decision.action == "UPDATE" and decision.merged is not None:
            target = short[decision.target_id or ""]
            updated = _update(writer, target, decision.merged, trajectory, decision.reason)
            return StrategyChange(action="UPDATE", title=decision.merged.title, memory_id=updated.id, reason=decision.reason), updated
        reason = decision.reason
    else:
        reason = "no similar strategy is stored"
    fp = fingerprint("strategy", record.metadata[SCOPE_KEY], key, trajectory.id)
    stored, _ = writer.insert_derived(record, fp=fp, reason=reason or None, vector=vector, actor=ACTOR)
    return StrategyChange(action="ADD", title=item.title, memory_id=stored.id, reason=reason), stored


def _update(writer: Writer, target: MemoryRecord, merged: StrategyText, trajectory: MemoryRecord, reason: str) -> MemoryRecord:
    meta = target.metadata
    polarity = str(meta.get("polarity", "do"))
    sources = list(dict.fromkeys([*target.source, trajectory.id]))
    return writer.new_version(
        target, op=Operation.UPDATE, reason=reason or "refined by a new trajectory", actor=ACTOR,
        content=strategy_content(merged.title, merged.when_to_apply, merged.steps, polarity), source=sources,
        metadata={**meta, "title": merged.title, "when_to_apply": merged.when_to_apply, "steps": merged.steps,
                  "trajectories": list(dict.fromkeys([*(meta.get("trajectories") or []), trajectory.id]))},
    )


def _render(record: MemoryRecord) -> str:
    meta = record.metadata
    steps = [s for s in meta.get("steps") or [] if isinstance(s, str)]
    return llm_steps.render_strategy(
        str(meta.get("title", "")), str(meta.get("when_to_apply", "")), steps, str(meta.get("polarity", "do")),
        meta.get("level") if isinstance(meta.get("level"), str) else None,
    )
