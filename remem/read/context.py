"""Packing memories into a ready-to-prompt, token-budgeted block."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from remem.models import Context, MemoryRecord  # Context: re-exported here for older imports
from remem.store import Query, Store

if TYPE_CHECKING:
    from remem.models.procedural import ProcedureHit


MIN_LINE_TOKENS = 6  # a rendered line is never cheaper than this: a quick "can everything fit?" test


def expand_with_neighbors(store: Store, query: Query, ranked: list[MemoryRecord], neighbors: int, top: int = 10) -> list[MemoryRecord]:
    """``ranked``, with each of the first ``top`` records followed by up to ``neighbors``
    turns before and after it in its session (multi-hop answers often sit next door)."""
    if neighbors <= 0:
        return ranked
    sessions: dict[str, list[MemoryRecord]] = {}
    out: dict[str, MemoryRecord] = {}
    for i, rec in enumerate(ranked):
        out.setdefault(rec.id, rec)
        if i >= top or not rec.session_id:
            continue
        if rec.session_id not in sessions:
            scoped = replace(query, session_id=rec.session_id, kinds=[rec.kind])
            sessions[rec.session_id] = store.list(scoped, limit=2000, newest_first=False)
        turns = sessions[rec.session_id]
        pos = next((j for j, t in enumerate(turns) if t.id == rec.id), None)
        if pos is None:
            continue
        for j in range(max(0, pos - neighbors), min(len(turns), pos + neighbors + 1)):
            out.setdefault(turns[j].id, turns[j])
    return list(out.values())


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (~4 characters a token for English)."""
    return max(1, math.ceil(len(text) / 4))


def render_line(record: MemoryRecord) -> str:
    when = record.event_time.strftime("%Y-%m-%d %H:%M") if record.event_time else "undated"
    who = record.speaker or record.role or record.kind.value
    return f"[{when}] {who}: {record.content}"


def pack(
    records: list[MemoryRecord],
    token_budget: int,
    *,
    count: Callable[[str], int] = estimate_tokens,
) -> tuple[str, list[MemoryRecord], int]:
    """Take records in the given (priority) order while they fit; render them grouped by
    session, sessions and lines in time order. Returns (text, used records, tokens)."""
    used: list[MemoryRecord] = []
    total = 0
    for rec in records:
        cost = count(render_line(rec)) + 1
        if total + cost > token_budget:
            continue
        used.append(rec)
        total += cost
    return render(used), used, total


def render(records: list[MemoryRecord]) -> str:
    def when(r: MemoryRecord) -> tuple[datetime, datetime]:
        return (r.event_time or r.created_at, r.created_at)

    sessions: dict[str | None, list[MemoryRecord]] = {}
    for rec in sorted(records, key=when):
        sessions.setdefault(rec.session_id, []).append(rec)
    blocks = []
    for session_id, recs in sessions.items():
        start = when(recs[0])[0].strftime("%Y-%m-%d")
        header = f"## Session {session_id} ({start})" if session_id else f"## Memories ({start})"
        blocks.append("\n".join([header, *(render_line(r) for r in recs)]))
    return "\n\n".join(blocks)


# --------------------------------------------------------------------------- the "How to" section


HOW_TO_HEADER = "## How to"


def render_how_to_line(hit: ProcedureHit) -> str:
    """One strategy (or past attempt) as a line of the "How to" section, with its record."""
    if hit.type == "trajectory":
        steps = " | ".join(hit.steps[-4:])
        return f"- Past attempt ({hit.outcome}): {hit.title}" + (f" — {steps}" if steps else "")
    seen = hit.evidence.get("success", 0) + hit.evidence.get("failure", 0)
    record = f"; worked {hit.evidence.get('success', 0)} of {seen} times" if seen else ""
    verb = "Avoid" if hit.polarity == "avoid" else "Do"
    when = f" When: {hit.when_to_apply.rstrip('. ')}." if hit.when_to_apply else ""
    return f"- {hit.title} ({hit.level or 'strategy'}{record}).{when} {verb}: " + "; ".join(hit.steps)


def how_to_section(
    hits: list[ProcedureHit], token_budget: int, *, count: Callable[[str], int] = estimate_tokens
) -> tuple[str, list[ProcedureHit], int]:
    """The "How to" block of a context: the hits that fit ``token_budget``, in rank order.
    Returns (text, hits used, tokens); an empty text when none fit or none were given."""
    if not hits:
        return "", [], 0
    total = count(HOW_TO_HEADER) + 1
    lines, used = [HOW_TO_HEADER], []
    for hit in hits:
        line = render_how_to_line(hit)
        cost = count(line) + 1
        if total + cost > token_budget:
            continue
        lines.append(line)
        used.append(hit)
        total += cost
    if not used:
        return "", [], 0
    return "\n".join(lines), used, total
