"""Request and response bodies of the REST API (responses reuse remem's own models)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from remem.errors import InvalidInputError
from remem.models import parse_time

from remem.models import HistoryEntry, Kind, MemoryRecord, SearchHit
from remem.store.filters import KEY_PATTERN as FILTER_KEY, OPS

T = TypeVar("T")


def check_time(value: Any, field: str = "time") -> datetime | None:
    """Parse a time as remem does (``parse_time`` keeps it within years 1-9999 in UTC)."""
    return parse_time(value, field=field)


Epoch = Annotated[float, Field(ge=-62_135_596_800, le=253_402_300_799)]
TimeValue = Annotated[datetime | Epoch | Annotated[str, Field(max_length=100)], AfterValidator(check_time)]
Id = Annotated[str, Field(min_length=1, max_length=256)]
Text = Annotated[str, Field(min_length=1, max_length=100_000, pattern=r"\S", description="Text with at least one non-space character")]


_SCALAR = {"type": ["string", "number", "boolean", "null"]}
_VALUE = {"anyOf": [_SCALAR, {"type": "array", "minItems": 1, "items": _SCALAR}]}
FILTERS_SCHEMA = {
    "type": "object",
    "description": "Equality on fields or metadata keys; a list means any of; an object takes operators.",
    "propertyNames": {"pattern": FILTER_KEY.pattern, "maxLength": 256},
    "additionalProperties": {
        "anyOf": [_VALUE, {"type": "object", "minProperties": 1, "propertyNames": {"enum": sorted(OPS)}, "additionalProperties": _VALUE}]
    },
}
Filters = Annotated[dict[str, Any], Field(json_schema_extra=FILTERS_SCHEMA)]
ExportItem = Annotated[
    dict[str, Any],
    Field(json_schema_extra={"required": ["record"], "properties": {"record": {"type": "object"}}, "description": "A line of an export"}),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(Strict):
    role: Annotated[str, Field(max_length=64)] = "user"
    content: Text
    name: Annotated[str, Field(max_length=256)] | None = None
    timestamp: TimeValue | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    id: Id | None = None


class AddRequest(Strict):
    """``messages``: a string, one message, or a list of up to 10,000 messages or strings (user
    turns), within the body size limit, as ``Memory.add`` takes them."""

    messages: Text | MessageIn | Annotated[list[MessageIn | Text], Field(min_length=1, max_length=10_000)]
    user_id: Id | None = None
    agent_id: Id | None = None
    session_id: Id | None = None
    timestamp: TimeValue | None = None
    metadata: dict[str, Any] | None = None
    kind: Kind = Kind.EPISODIC


class RecordsRequest(Strict):
    records: Annotated[list[MemoryRecord], Field(min_length=1, max_length=10_000)]


class SearchRequest(Strict):
    query: Text
    user_id: Id | None = None
    agent_id: Id | None = None
    session_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 10
    filters: Filters | None = None
    time_range: tuple[TimeValue | None, TimeValue | None] | None = None
    kind: Kind | list[Kind] | None = None
    mode: Annotated[str, Field(pattern="^(hybrid|dense|bm25)$")] | None = None
    now: TimeValue | None = Field(None, description="Reference time for 'last week' etc. and strength (default: now)")
    as_of: TimeValue | None = Field(None, description="Only facts valid at this time (default: valid now)")
    threshold: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="Drop hits whose score (estimated probability of relevance) is below this"
    )
    include_archived: bool = Field(False, description="Also search memories maintenance archived")


class ContextRequest(Strict):
    query: Text
    user_id: Id | None = None
    agent_id: Id | None = None
    session_id: Id | None = None
    token_budget: Annotated[int, Field(ge=1, le=1_000_000)] = 2000
    filters: Filters | None = None
    kind: Kind | list[Kind] | None = None
    now: TimeValue | None = Field(None, description="Reference time for 'last week' etc. and strength (default: now)")
    as_of: TimeValue | None = Field(None, description="Only facts valid at this time (default: valid now)")
    neighbors: Annotated[int, Field(ge=0, le=50, description="Adjacent turns of its session kept with each hit")] = 1


class UpdateRequest(Strict):
    """Only the fields present are changed; ``metadata`` is merged (a key set to null is removed)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    content: Text | None = None
    metadata: dict[str, Any] | None = None
    reason: Annotated[str, Field(max_length=1000)] | None = None
    importance: Annotated[float, Field(ge=0, le=1)] | None = None
    keywords: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] | None = None
    tags: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] | None = None
    context: Annotated[str, Field(max_length=10_000)] | None = None
    event_time: TimeValue | None = None
    valid_from: TimeValue | None = None
    valid_to: TimeValue | None = None


class ImportRequest(Strict):
    items: Annotated[list[ExportItem], Field(max_length=1000)]


class Items(BaseModel, Generic[T]):
    items: list[T]


class Page(BaseModel, Generic[T]):
    """One page of a list; ask again with ``offset=next_offset`` until it is null."""

    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class LinkOut(BaseModel):
    src: str
    dst: str
    relation: str
    weight: float


class Purged(BaseModel):
    user_id: str
    purged: int


class Imported(BaseModel):
    added: int
    skipped: int


class Whoami(BaseModel):
    tenant: str
    auth: bool


MemoryPage = Page[MemoryRecord]
HitList = Items[SearchHit]
RecordList = Items[MemoryRecord]
HistoryList = Items[HistoryEntry]
LinkList = Items[LinkOut]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_input, not_found, unauthorized.")
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request: a body that is not UTF-8 JSON, or a bad Host header (`invalid_input`)"},
    401: {"model": ErrorBody, "description": "Missing, unknown or revoked API key (`unauthorized`)"},
    404: {"model": ErrorBody, "description": "No such memory in this tenant (`not_found`)"},
    413: {"model": ErrorBody, "description": "Request body too large (`payload_too_large`)"},
    422: {"model": ErrorBody, "description": "Invalid input (`invalid_input`); nothing was changed"},
}
