"""Raw turns to episodic memories (the path that needs no LLM)."""

from __future__ import annotations

import re

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence


from remem.errors import InvalidInputError
from remem.models import Kind, MemoryRecord, Message, utcnow

ROLES_AS_SPEAKERS = {"user", "assistant", "system", "tool"}


def normalize_messages(messages: Any) -> list[Message]:
    """Accept a string, a message dict, or a list of them (strings are user turns)."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    elif isinstance(messages, dict) or isinstance(messages, Message):
        messages = [messages]
    if not isinstance(messages, list) or not messages:
        raise InvalidInputError("messages must be a non-empty string, message dict, or list of message dicts")
    out: list[Message] = []
    for i, m in enumerate(messages):
        if isinstance(m, Message):
            out.append(m)
            continue
        if isinstance(m, str):
            m = {"role": "user", "content": m}
        if not isinstance(m, dict):
            raise InvalidInputError(f"messages[{i}] must be a dict with 'role' and 'content', got {type(m).__name__}")
        try:
            out.append(Message.model_validate(m))
        except InvalidInputError as exc:
            raise InvalidInputError(f"messages[{i}]: {exc}") from None
    return out


def fingerprint(*parts: Any, ascii_only: bool = False) -> str:
    """A stable key (sha256 of the JSON of ``parts``) used as ``Write.fingerprint``.
    ``ascii_only``: escape non-ASCII (the encoding raw turns' fingerprints have always used)."""
    return hashlib.sha256(json.dumps(parts, default=str, ensure_ascii=ascii_only).encode()).hexdigest()


def records_from_messages(
    messages: list[Message],
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    timestamp: datetime | None,
    metadata: dict[str, Any],
    kind: Kind = Kind.EPISODIC,
) -> list[tuple[MemoryRecord, str | None]]:
    """One record per message, with the fingerprint that makes re-adding it a no-op."""
    now = utcnow()
    out: list[tuple[MemoryRecord, str | None]] = []
    seen: dict[tuple[Any, ...], int] = {}
    for position, m in enumerate(messages):
        when = m.timestamp or timestamp
        speaker = m.name or (m.role if m.role not in ROLES_AS_SPEAKERS else None)
        record = MemoryRecord(
            content=m.content,
            kind=kind,
            user_id=user_id,
            agent_id=agent_id,
            session_id=session_id,
            role=m.role,
            speaker=speaker,
            created_at=now + timedelta(microseconds=position),  # keeps turn order within a batch
            updated_at=now + timedelta(microseconds=position),
            event_time=when or now,
            metadata={**metadata, **m.metadata},
            source=[m.id] if m.id else [],
        )
        key: str | None = None
        if m.id:  # the caller's message id identifies the message, wherever it sits in a batch
            key = fingerprint(user_id, agent_id, session_id, "id", m.id, ascii_only=True)
        elif when is not None:
            # the n-th identical message said at that time (repeats within a batch stay distinct)
            same = (m.role, m.name, m.content, when.isoformat())
            seen[same] = seen.get(same, 0) + 1
            key = fingerprint(user_id, agent_id, session_id, *same, seen[same], ascii_only=True)
        out.append((record, key))
    return out


@dataclass(frozen=True)
class IndexConfig:
    """What goes into the indexed text of a turn (the record's content is untouched)."""

    dates: bool = False  # "[8 May 2023]" prefix (measured: no gain on LoCoMo, so off)
    previous_turns: int = 1  # earlier turns of the same session, so a reply carries its question
    context_in_vectors: bool = False  # measured: @1 0.339 vs 0.276, @10 0.746 vs 0.744 on LoCoMo

    def for_vectors(self) -> "IndexConfig":
        """The configuration of the text that is embedded."""
        return self if self.context_in_vectors else IndexConfig(dates=self.dates, previous_turns=0)


def index_text(record: MemoryRecord, previous: Sequence[MemoryRecord] = (), config: IndexConfig = IndexConfig()) -> str:
    """What the text and vector indexes see: date, earlier turns for context, speaker and content."""
    parts: list[str] = []
    if config.dates and record.event_time is not None:
        parts.append(f"[{record.event_time.day} {record.event_time:%B %Y}]")
    if config.previous_turns > 0:
        for prev in previous[-config.previous_turns :]:
            parts.append(f"({_turn(prev)})")
    parts.append(_turn(record))
    return " ".join(parts)


def index_texts(records: Sequence[MemoryRecord], before: Sequence[MemoryRecord] = (), config: IndexConfig = IndexConfig()) -> list[str]:
    """Index texts for consecutive turns; ``before`` holds the turns stored earlier in the
    first record's session, so context crosses ``add()`` calls."""
    history = list(before)
    texts = []
    for rec in records:
        same_session = [r for r in history[-config.previous_turns :] if r.session_id == rec.session_id and rec.session_id]
        texts.append(index_text(rec, same_session if config.previous_turns else (), config))
        history.append(rec)
    return texts


def _turn(record: MemoryRecord) -> str:
    return turn_text(record.speaker, record.content)


def turn_text(speaker: str | None, content: str) -> str:
    """A turn as the index text writes it: ``speaker: content``, or the content alone."""
    return f"{speaker}: {content}" if speaker else content


_DATE_PREFIX = re.compile(r"^\[[^\]]*\]\s*")  # what ``dates=True`` puts first: "[8 May 2023] "


def context_of(text: str, speaker: str | None, content: str) -> str:
    """The inverse of :func:`index_text`: what an index text holds besides its own turn (the
    earlier turns), without the date prefix; "" when it holds only the turn."""
    if text.startswith("["):
        text = _DATE_PREFIX.sub("", text, count=1)
    own = turn_text(speaker, content)
    if text.endswith(own):
        return text[: len(text) - len(own)]
    return text if text != content else ""
