"""Step 4a (MemoryBank): one summary memory per session, updated as the session grows."""

from __future__ import annotations

from typing import Any

from remem.llm import SUMMARIZE_SESSION, LLMClient, render_messages
from remem.models import Kind, MemoryRecord, Operation
from remem.store import Query
from remem.write.versions import fingerprint, insert, new_version
from remem.write.writer import Writer


def session_summary(writer: Writer, turns: list[MemoryRecord]) -> MemoryRecord | None:
    """The current summary of the session ``turns`` belong to, if any."""
    first = turns[0]
    q = Query(user_id=first.user_id, agent_id=first.agent_id, session_id=first.session_id, kinds=[Kind.SUMMARY])
    found = [r for r in writer.store.list(q, limit=5) if r.user_id == first.user_id]
    return found[0] if found else None


def update_session_summary(writer: Writer, llm: LLMClient, turns: list[MemoryRecord]) -> MemoryRecord | None:
    """Fold ``turns`` into their session's summary (incrementally: old summary + new turns).

    Returns the summary written, or None when the turns have no session or are all summarised.
    Raises :class:`~remem.errors.LLMError` when the LLM fails.
    """
    first = turns[0]
    if first.session_id is None:
        return None
    prev = session_summary(writer, turns)
    new_turns = [t for t in turns if prev is None or t.id not in prev.source]
    if not new_turns:
        return None
    messages: list[dict[str, Any]] = []
    if prev is not None:
        messages.append({"id": "s0", "name": "summary so far", "content": prev.content, "timestamp": prev.event_time})
    messages += [
        {"id": f"m{i}", "name": t.speaker or t.role or "user", "content": t.content, "timestamp": t.event_time}
        for i, t in enumerate(new_turns, 1)
    ]
    out = llm.complete_json(SUMMARIZE_SESSION, {"messages": render_messages(messages)}, operation="infer.summarize")
    source = (prev.source if prev else []) + [t.id for t in new_turns]
    latest = max(t.event_time or t.created_at for t in turns)
    if prev is not None:
        when = max(latest, prev.event_time) if prev.event_time else latest
        return new_version(
            writer, prev, op=Operation.UPDATE, reason=f"the session grew to {len(source)} turns",
            content=out.summary.strip(), keywords=out.keywords, source=source, event_time=when,
        )
    record = MemoryRecord(
        content=out.summary.strip(), kind=Kind.SUMMARY, user_id=first.user_id, agent_id=first.agent_id,
        session_id=first.session_id, event_time=latest, source=source, keywords=out.keywords,
        metadata={"remem_role": "session_summary"},
    )
    stored, _ = insert(
        writer, record, fp=fingerprint("session_summary", first.user_id, first.agent_id, first.session_id),
        reason=f"summary of {len(source)} turns",
    )
    return stored
