"""The memory record (a MemCube-like unit) and the types around it."""

from __future__ import annotations

import os
import time
import uuid
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from remem.errors import InvalidInputError
from remem.models.checks import check_id, check_int, check_json, check_number, check_text, check_time, describe

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
    ARCHIVE = "ARCHIVE"  # out of default search and context, kept and restorable
    MERGE = "MERGE"  # near-duplicates folded into this memory (the originals are archived)
    ROLLBACK = "ROLLBACK"  # set back to what it was at an earlier moment


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
    return check_time(dt, field)


def _parse_free_text(text: str) -> datetime | None:
    import dateparser

    return dateparser.parse(
        text,
        languages=["en"],
        settings={"RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first", "STRICT_PARSING": False},
    )


class CheckedModel(BaseModel):
    """A model whose invalid input raises :class:`InvalidInputError` (a ``ValueError``)
    naming the field, instead of pydantic's ``ValidationError``."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInputError(describe(exc)) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
        if isinstance(obj, dict) and not all(isinstance(key, str) for key in obj):
            raise InvalidInputError(f"{cls.__name__} fields must be named by strings")
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise InvalidInputError(describe(exc)) from None


class Message(CheckedModel):
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

    @field_validator("role", "name")
    @classmethod
    def _text(cls, v: str | None, info: ValidationInfo) -> str | None:
        return v if v is None else check_text(v, f"message {info.field_name}")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return check_id(v, "message id")

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json(v, "message metadata")


def check_content(v: Any, field: str = "content") -> str:
    """Text to store or search for: a non-blank string of at most ``MAX_CONTENT_CHARS``."""
    if not isinstance(v, str):
        raise InvalidInputError(f"{field} must be a string, got {type(v).__name__}")
    if not v.strip():
        raise InvalidInputError(f"{field} is empty")
    check_text(v, field)
    if len(v) > MAX_CONTENT_CHARS:
        raise InvalidInputError(f"{field} is {len(v)} characters; the limit is {MAX_CONTENT_CHARS}")
    return v


class MemoryRecord(CheckedModel):
    """One memory with its scope, provenance, version and validity."""

    model_config = ConfigDict(use_enum_values=False)

    id: str = Field(default_factory=new_id, min_length=1, max_length=256)
    content: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_CONTENT_CHARS, "pattern": r"\S"})
    kind: Kind = Kind.EPISODIC
    user_id: str | None = Field(None, min_length=1, max_length=256)
    agent_id: str | None = Field(None, min_length=1, max_length=256)
    session_id: str | None = Field(None, min_length=1, max_length=256)
    role: str | None = None
    speaker: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    event_time: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: list[str] = Field(default_factory=list)
    version: int = Field(1, ge=1, le=2**63 - 1)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    importance: float = Field(0.5, ge=0.0, le=1.0)
    strength: float = Field(1.0, ge=0.0)
    last_accessed_at: datetime | None = None
    access_count: int = Field(0, ge=0, le=2**63 - 1)
    keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    context: str | None = None
    deleted_at: datetime | None = None
    archived_at: datetime | None = None  # set by maintenance; see Memory.restore

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_id(v, "id", required=True)  # type: ignore[return-value]

    @field_validator("user_id", "agent_id", "session_id")
    @classmethod
    def _scope(cls, v: str | None, info: ValidationInfo) -> str | None:
        return check_id(v, info.field_name)

    @field_validator("content", "role", "speaker", "context")
    @classmethod
    def _text(cls, v: str | None, info: ValidationInfo) -> str | None:
        return v if v is None else check_text(v, info.field_name)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json(v, "metadata")

    @field_validator("source", "keywords", "tags")
    @classmethod
    def _strings(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return [check_text(item, info.field_name) for item in v]

    @field_validator("version", "access_count")
    @classmethod
    def _count(cls, v: int, info: ValidationInfo) -> int:
        return check_int(v, info.field_name, minimum=0)

    @field_validator("importance", "strength")
    @classmethod
    def _number(cls, v: float, info: ValidationInfo) -> float:
        return check_number(v, info.field_name)

    @field_validator("created_at", "updated_at", "event_time", "valid_from", "valid_to", "last_accessed_at", "deleted_at", "archived_at")
    @classmethod
    def _time(cls, v: datetime | None, info: ValidationInfo) -> datetime | None:
        return v if v is None else check_time(v, info.field_name)

    @classmethod
    def from_store(cls, data: dict[str, Any]) -> "MemoryRecord":
        """A record read back from a store: it was checked when written, so it is built
        without validating again (the read path materialises ~100 candidates a query). What
        ``model_construct`` does for a complete row, without its per-field walk (4 µs vs 18 µs)."""
        values = {**data, "kind": Kind(data["kind"])}
        if values.keys() != _FIELD_NAMES:  # a partial row: let pydantic fill the defaults
            return cls.model_construct(**values)
        record = cls.__new__(cls)
        _set_attr(record, "__dict__", values)
        _set_attr(record, "__pydantic_fields_set__", set(values))
        _set_attr(record, "__pydantic_extra__", None)
        _set_attr(record, "__pydantic_private__", None)
        return record

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def is_valid_at(self, when: datetime) -> bool:
        """Whether the fact held at ``when`` (bi-temporal validity)."""
        if self.valid_from is not None and when < self.valid_from:
            return False
        return self.valid_to is None or when < self.valid_to


_FIELD_NAMES = MemoryRecord.model_fields.keys()
_set_attr = object.__setattr__


class HistoryEntry(CheckedModel):
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


class Context(BaseModel):
    """What :meth:`Memory.context` returns."""

    text: str
    memories: list[MemoryRecord] = Field(default_factory=list)
    tokens: int = 0
    token_budget: int = 0
    complete: bool = False  # True when every memory in scope fit, so nothing was retrieved away
    strategy: str = "retrieval"  # "full" or "retrieval"
    how_to: str = ""  # the "How to" section (learned strategies that apply), also at the end of ``text``
