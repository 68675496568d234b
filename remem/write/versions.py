"""Helpers of the LLM write path's writes: fingerprints, duplicate keys, dates, and writing
derived memories through the :class:`~remem.write.writer.Writer` as actor ``remem.infer``."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, timezone
from typing import Any

import numpy as np

from remem.models import MemoryRecord, Operation
from remem.write.ingest import fingerprint
from remem.write.writer import Writer

__all__ = ["ACTOR", "fingerprint", "insert", "new_version", "normalise", "parse_iso_date"]

ACTOR = "remem.infer"
"""``actor`` of every history entry the LLM write path makes."""

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


def normalise(content: str) -> str:
    """Case-, space- and edge-punctuation-insensitive form of a fact, for duplicate checks."""
    return _EDGE_PUNCT.sub("", _SPACE.sub(" ", content.lower())).strip()


def parse_iso_date(text: str | None) -> datetime | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (as validated by the prompts) to midnight UTC."""
    if not text:
        return None
    parts = [int(p) for p in text.split("-")[:3]]
    day = date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def insert(
    writer: Writer,
    record: MemoryRecord,
    *,
    fp: str | None = None,
    reason: str | None = None,
    vector: np.ndarray | None = None,
) -> tuple[MemoryRecord, bool]:
    """Insert a derived ``record`` as the LLM write path; returns (stored, whether new).
    A known ``fp`` is a no-op."""
    return writer.insert_derived(record, fp=fp, reason=reason, vector=vector, actor=ACTOR)


def new_version(writer: Writer, current: MemoryRecord, *, op: Operation, reason: str | None, **changes: Any) -> MemoryRecord:
    """Save ``current`` with ``changes`` as its next version, as the LLM write path
    (:meth:`Writer.new_version`: nothing is written when no field changes)."""
    return writer.new_version(current, op=op, reason=reason, actor=ACTOR, **changes)
