"""Writing derived memories: insert with a fingerprint, or save a new version with a reason."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timezone
from typing import Any

import numpy as np

from remem.models import MemoryRecord, Operation, utcnow
from remem.store import Write
from remem.write.ingest import IndexConfig, index_text

ACTOR = "remem.infer"
"""``actor`` of every history entry the LLM write path makes."""

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(content: str) -> str:
    """Case-, space- and edge-punctuation-insensitive form of a fact, for duplicate checks."""
    return _EDGE_PUNCT.sub("", _SPACE.sub(" ", content.lower())).strip()


def fingerprint(*parts: Any) -> str:
    """A stable key (sha256 of the JSON of ``parts``) used as ``Write.fingerprint``."""
    return hashlib.sha256(json.dumps(parts, default=str, ensure_ascii=False).encode()).hexdigest()


def parse_iso_date(text: str | None) -> datetime | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (as validated by the prompts) to midnight UTC."""
    if not text:
        return None
    parts = [int(p) for p in text.split("-")[:3]]
    day = date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def index_text_of(memory: Any, record: MemoryRecord) -> str:
    """The indexed text of a derived memory, with ``memory.index_config`` (as ``Memory.update`` does).

    Facts, summaries and profiles are self-contained, so no earlier record of the session is
    prefixed (that context is for raw turns, where a reply needs its question).
    """
    return index_text(record, config=getattr(memory, "index_config", None) or IndexConfig())


def insert(
    memory: Any,
    record: MemoryRecord,
    *,
    fp: str | None = None,
    reason: str | None = None,
    vector: np.ndarray | None = None,
) -> tuple[MemoryRecord, bool]:
    """Insert ``record``; returns (stored record, whether it is new). A known ``fp`` is a no-op."""
    text = index_text_of(memory, record)
    if vector is None:
        vector = memory.embedder.embed([text])[0]
    stored = memory.store.insert([Write(record=record, index_text=text, vector=vector, reason=reason, fingerprint=fp)], actor=ACTOR)[0]
    return stored, stored.id == record.id


def new_version(memory: Any, current: MemoryRecord, *, op: Operation, reason: str | None, **changes: Any) -> MemoryRecord:
    """Save ``current`` with ``changes`` as its next version.

    Re-indexed and re-embedded (with ``memory.index_config``, as ``Memory.update`` does) when
    the content or the event time changes (the date is indexed with ``IndexConfig(dates=True)``).

    Returns ``current`` unchanged, writing nothing, when no field actually changes.
    """
    changed = [k for k, v in changes.items() if getattr(current, k) != v]
    if not changed:
        return current
    new = current.model_copy(update={**changes, "version": current.version + 1, "updated_at": utcnow()})
    new = MemoryRecord.model_validate(new.model_dump())
    text = vector = None
    if "content" in changed or "event_time" in changed:
        text = index_text_of(memory, new)
        vector = memory.embedder.embed([text])[0]
    return memory.store.save_version(
        new, op=op, reason=reason, changed_fields=changed, index_text=text, vector=vector, actor=ACTOR
    )
