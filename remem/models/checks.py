"""Input checks shared by every boundary: text, JSON values, integers and times.

Each check raises :class:`~remem.errors.InvalidInputError` (a ``ValueError``, so pydantic
validators may call them too) and returns the value it accepted. What passes here can
be stored, exported, imported and filtered on later without failing.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from remem.errors import InvalidInputError

MAX_ID_CHARS = 256
MAX_JSON_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def check_text(value: Any, field: str) -> str:
    """A string that SQLite, PostgreSQL and UTF-8 JSON all keep: no NUL, no lone surrogate."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInputError(f"{field} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{field} contains a lone surrogate (not valid Unicode text)") from None
    return value


def check_id(value: Any, field: str, *, required: bool = False) -> str | None:
    """A scope or memory id: a non-empty string of at most ``MAX_ID_CHARS`` characters."""
    if value is None:
        if required:
            raise InvalidInputError(f"{field} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{field} must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise InvalidInputError(f"{field} is longer than {MAX_ID_CHARS} characters")
    return check_text(value, field)


def check_int(value: Any, field: str, *, minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> int:
    """An integer (not a bool) within ``[minimum, maximum]``; 64-bit by default."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(f"{field} must be an integer")
    if not minimum <= value <= maximum:
        raise InvalidInputError(f"{field} must be between {minimum} and {maximum}")
    return value


def check_number(value: Any, field: str) -> float:
    """A finite real number (not a bool)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise InvalidInputError(f"{field} must be a number")
    if isinstance(value, int):
        check_int(value, field)
    elif not math.isfinite(value):
        raise InvalidInputError(f"{field} must be finite, got {value!r}")
    return float(value)


def check_json(value: Any, field: str) -> Any:
    """A JSON value every store can keep and query: objects with string keys, finite
    numbers, 64-bit integers, clean text, nested at most ``MAX_JSON_DEPTH`` deep.
    NaN and Infinity are refused (they are not JSON, and break SQL JSON functions)."""
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidInputError(f"{field} is nested more than {MAX_JSON_DEPTH} levels deep")
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, (int, float)):
            check_number(item, where)
        elif isinstance(item, str):
            check_text(item, where)
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise InvalidInputError(f"{where} keys must be strings, got {type(key).__name__}")
                check_text(key, f"{where} key")
                stack.append((sub, f"{where}.{key}"[:200], depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{where}[{i}]"[:200], depth + 1) for i, sub in enumerate(item))
        else:
            raise InvalidInputError(f"{where} must be JSON (object, array, string, number, bool, null), got {type(item).__name__}")
    return value


def check_time(value: datetime, field: str) -> datetime:
    """An aware datetime in UTC; one whose offset pushes it past year 1 or 9999 is refused."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise InvalidInputError(f"{field}: {value.isoformat()} is out of range in UTC") from None


def describe(exc: Any) -> str:
    """A one-line message for a pydantic ``ValidationError``: where, and what is wrong."""
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(msg if not where or msg.startswith(where) else f"{where}: {msg}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
