"""Backend-neutral parsing of user filters into (field, op, value) conditions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from remem.errors import InvalidInputError
from remem.models import Filters, Kind, parse_time

COLUMNS = {"kind", "role", "speaker", "session_id", "agent_id", "user_id", "id"}
TIME_COLUMNS = {"event_time", "created_at", "updated_at", "valid_from", "valid_to"}
OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "IN", "nin": "NOT IN"}
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


@dataclass(frozen=True)
class Condition:
    """``column`` is a record column, or None with ``path`` naming a metadata key."""

    column: str | None
    path: tuple[str, ...]
    op: str  # one of OPS' SQL spellings
    value: Any


def format_time(dt: datetime | None) -> str | None:
    """Fixed-width UTC text that sorts like the instant it names."""
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc)
    return f"{dt.year:04d}-" + dt.strftime("%m-%dT%H:%M:%S.%fZ")  # %Y does not zero-pad years < 1000


def read_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text)  # our fixed format ends in "Z": parsed as UTC


def parse_filters(filters: Filters | None) -> list[Condition]:
    """Validate a filters dict; raise :class:`InvalidInputError` on anything unclear."""
    if not filters:
        return []
    if not isinstance(filters, dict):
        raise InvalidInputError(f"filters must be a dict, got {type(filters).__name__}")
    out: list[Condition] = []
    for key, spec in filters.items():
        if key == "metadata" and isinstance(spec, dict):
            out.extend(parse_filters({f"metadata.{k}": v for k, v in spec.items()}))
            continue
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise InvalidInputError(f"filters: invalid key {key!r}")
        if key in COLUMNS or key in TIME_COLUMNS:
            column, path = key, ()
        else:
            parts = tuple(key.split("."))
            if parts[0] == "metadata":
                parts = parts[1:]
            if not parts:
                raise InvalidInputError("filters: 'metadata' needs a key, e.g. 'metadata.topic'")
            column, path = None, parts
        operators = spec if isinstance(spec, dict) else {"in" if isinstance(spec, list) else "eq": spec}
        for name, value in operators.items():
            if name not in OPS:
                raise InvalidInputError(f"filters: unknown operator {name!r} for {key!r}; use one of {sorted(OPS)}")
            out.append(Condition(column, path, OPS[name], _normalise(key, column, name, value)))
    return out


def _normalise(key: str, column: str | None, op: str, value: Any) -> Any:
    if op in ("in", "nin"):
        if not isinstance(value, (list, tuple)) or not value:
            raise InvalidInputError(f"filters: {key!r} {op} needs a non-empty list")
        return [_scalar(key, column, v) for v in value]
    return _scalar(key, column, value)


def _scalar(key: str, column: str | None, value: Any) -> Any:
    if column in TIME_COLUMNS:
        return format_time(parse_time(value, field=f"filters.{key}"))
    if column == "kind":
        try:
            return Kind(value).value
        except ValueError:
            raise InvalidInputError(f"filters: unknown kind {value!r}; use one of {[k.value for k in Kind]}") from None
    if isinstance(value, bool):
        return int(value)
    if value is not None and not isinstance(value, (str, int, float)):
        raise InvalidInputError(f"filters: value for {key!r} must be a string, number or bool")
    return value
