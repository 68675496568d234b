"""Step 1 of the LLM write path: new turns (+ a little context) to self-contained facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from remem.llm import EXTRACT_FACTS, LLMClient, render_messages
from remem.models import Kind, MemoryRecord
from remem.store import Query, Store
from remem.write.versions import parse_iso_date


@dataclass
class Fact:
    """One extracted fact, its sources mapped back to raw turn memory ids."""

    content: str
    kind: Kind
    fact_kind: str  # what the model said: semantic / procedural / profile
    event_time: datetime | None  # what the fact is about, when the model gave a date
    said_at: datetime  # when the newest source turn was said
    importance: float
    sources: list[str]
    keywords: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @property
    def valid_from(self) -> datetime:
        """When the fact started to hold: its event date, unless that is after it was said."""
        if self.event_time is not None and self.event_time <= self.said_at:
            return self.event_time
        return self.said_at

    def describe(self) -> str:
        when = self.event_time.date().isoformat() if self.event_time else None
        return f"{self.content} (event: {when})" if when else self.content


def context_turns(store: Store, turns: list[MemoryRecord], n: int) -> list[MemoryRecord]:
    """Up to ``n`` episodic turns of the same scope said just before ``turns``."""
    if n <= 0 or not turns:
        return []
    first = turns[0]
    start = min(t.event_time or t.created_at for t in turns)
    batch = {t.id for t in turns}
    q = Query(user_id=first.user_id, agent_id=first.agent_id, session_id=first.session_id, kinds=[Kind.EPISODIC])
    q.time_range = (None, start)
    earlier = [r for r in store.list(q, limit=n + len(turns)) if r.id not in batch and r.user_id == first.user_id]
    return list(reversed(earlier[:n]))


def _as_message(rec: MemoryRecord, ident: str) -> dict[str, object]:
    return {"id": ident, "name": rec.speaker or rec.role or "user", "content": rec.content, "timestamp": rec.event_time}


def extract_facts(
    llm: LLMClient, turns: list[MemoryRecord], context: list[MemoryRecord], *, about_agent: bool = False
) -> list[Fact]:
    """Ask the LLM for the facts in ``turns``; raises :class:`~remem.errors.LLMError` on failure.

    Facts sourced only from assistant turns are dropped unless ``about_agent``.
    """
    short = {f"m{i}": t for i, t in enumerate(turns, 1)}
    out = llm.complete_json(
        EXTRACT_FACTS,
        {
            "context": render_messages(_as_message(t, f"c{i}") for i, t in enumerate(context, 1)),
            "messages": render_messages(_as_message(t, ident) for ident, t in short.items()),
        },
        operation="infer.extract",
        context={"message_ids": list(short)},
    )
    latest = max((t.event_time or t.created_at) for t in turns)
    facts: list[Fact] = []
    for item in out.facts:
        sources = [short[s] for s in item.source_ids if s in short]
        if not about_agent and sources and all(s.role == "assistant" for s in sources):
            continue
        said = max((s.event_time or s.created_at) for s in sources) if sources else latest
        tags = list(item.tags)
        if item.kind == "profile" and "profile" not in tags:
            tags.append("profile")
        facts.append(
            Fact(
                content=item.content,
                # the one profile memory per user is the portrait (remem.write.profile); traits are facts
                kind=Kind.PROCEDURAL if item.kind == "procedural" else Kind.SEMANTIC,
                fact_kind=item.kind,
                event_time=parse_iso_date(item.event_time),
                said_at=said,
                importance=item.importance,
                sources=[s.id for s in sources] or [t.id for t in turns],
                keywords=list(item.keywords),
                tags=tags,
            )
        )
    return facts
