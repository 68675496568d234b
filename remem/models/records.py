"""The memory record (a MemCube-like unit) and the types around it."""

from __future__ import annotations

import os
import time
import uuid
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from remem.errors import InvalidInputError

MAX_CONTENT_CHARS = 100_000


class Kind(str, Enum):
    """What a memory is."""

    EPISODIC = "episodic"  # a raw turn of conversation
    SEMANTIC = "semantic"  # a fact
    PROCEDURAL = "procedural"  # a strategy learned from past tasks
    PROFILE = "profile"  # a portrait of the user
    SUMMARY = "summary"  # a summary of a session or period


class Operation(str, Enum):
    """What a history entry records."""

    ADD = "ADD"
    UPDATE = "UPDATE"
    INVALIDATE = "INVALIDATE"
    DELETE = "DELETE"
    RESTORE = "RESTORE"
    NOOP = "NOOP"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """A time-ordered unique id (UUIDv7 layout) as 32 hex characters."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | (0x7 << 76) | (rand & ((1 << 76) - 1))
    value = (value & ~(0xC << 60)) | (0x8 << 60)  # RFC 4122 variant bits
    return uuid.UUID(int=value).hex


def parse_time(value: Any, *, field: str = "timestamp") -> datetime | None:
    """Turn a datetime, date, epoch number or date string into an aware UTC datetime.

    Free text such as ``"1:56 pm on 8 May, 2023"`` is parsed with dateparser.
    Naive datetimes are taken as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            dt = datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise InvalidInputError(f"{field}: {value!r} is out of range for epoch seconds") from None
    elif isinstance(value, str):
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            dt = _parse_free_text(text)
            if dt is None:
                raise InvalidInputError(f"{field}: cannot parse {value!r} as a date/time") from None
    else:
        raise InvalidInputError(f"{field}: expected a datetime, ISO string or epoch seconds, got {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _parse_free_text(text: str) -> datetime | None:
    import dateparser

    return dateparser.parse(
        text,
        languages=["en"],
        settings={"RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first", "STRICT_PARSING": False},
    )


class Message(BaseModel):
    """One chat message given to :meth:`Memory.add`."""

    model_config = ConfigDict(extra="forbid")

    role: str = "user"
    content: str
    name: str | None = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None  # caller's message id, kept in provenance

    @field_validator("timestamp", mode="before")
    @classmethod
    def _ts(cls, v: Any) -> datetime | None:
        return parse_time(v, field="message timestamp")

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        return check_content(v)


def check_content(v: Any) -> str:
    if not isinstance(v, str):
        raise InvalidInputError(f"content must be a string, got {type(v).__name__}")
    if not v.strip():
        raise InvalidInputError("content is empty")
    if "\x00" in v:
        raise InvalidInputError("content contains a NUL character")
    if len(v) > MAX_CONTENT_CHARS:
        raise InvalidInputError(f"content is {len(v)} characters; the limit is {MAX_CONTENT_CHARS}")
    return v


class MemoryRecord(BaseModel):
    """One memory with its scope, provenance, version and validity."""

    model_config = ConfigDict(use_enum_values=False)

    id: str = Field(default_factory=new_id)
    content: str
    kind: Kind = Kind.EPISODIC
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    role: str | None = None
    speaker: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    event_time: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: list[str] = Field(default_factory=list)
    version: int = 1
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    importance: float = 0.5
    strength: float = 1.0
    last_accessed_at: datetime | None = None
    access_count: int = 0
    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    context: str | None = None
    deleted_at: datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def is_valid_at(self, when: datetime) -> bool:
        """Whether the fact held at ``when`` (bi-temporal validity)."""
        if self.valid_from is not None and when < self.valid_from:
            return False
        return self.valid_to is None or when < self.valid_to


class HistoryEntry(BaseModel):
    """One version of a memory: what changed, when, and why."""

    memory_id: str
    version: int
    op: Operation
    changed_at: datetime
    reason: str | None = None
    actor: str | None = None
    changed_fields: list[str] = Field(default_factory=list)
    record: MemoryRecord


class SearchHit(BaseModel):
    """A search result: the memory, its fused score and why it ranked."""

    memory: MemoryRecord
    score: float
    explanation: dict[str, Any] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.memory.id

    @property
    def content(self) -> str:
        return self.memory.content


FilterValue = Any
Filters = dict[str, FilterValue]
"""Equality on fields (``kind``, ``role``, ``speaker``, ``session_id``, ``agent_id``) or
metadata keys (``"topic"`` or ``"metadata.topic"``); a list means "any of"; a dict
takes operators ``eq ne gt gte lt lte in``."""

FusionMode = Literal["fitted", "rrf", "score"]
