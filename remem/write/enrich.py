"""Step 3 (A-MEM): keywords, tags and a one-line context for a new memory, and evolution of
the context/tags of its linked neighbours."""

from __future__ import annotations

from dataclasses import dataclass, field

from remem.llm import ENRICH, LLMClient, render_memories
from remem.models import MemoryRecord


@dataclass
class NeighbourChange:
    record: MemoryRecord
    context: str | None
    tags: list[str] | None


@dataclass
class Note:
    keywords: list[str]
    tags: list[str]
    context: str
    neighbours: list[NeighbourChange] = field(default_factory=list)


def enrich(llm: LLMClient, text: str, neighbours: list[MemoryRecord]) -> Note:
    """Ask the LLM for the note of ``text`` given related memories; raises LLMError on failure."""
    short = {str(i): r for i, r in enumerate(neighbours, 1)}
    out = llm.complete_json(
        ENRICH,
        {"memory": text, "neighbours": render_memories(short.values(), ids=list(short))},
        operation="infer.enrich",
        context={"memory_ids": list(short)},
    )
    changes = [NeighbourChange(short[n.id], n.context, n.tags) for n in out.neighbours if n.id in short]
    return Note(keywords=out.keywords, tags=out.tags, context=out.context.strip(), neighbours=changes)
