"""The facade's argument checks (scope, kind, limit, metadata): invalid input raises
:class:`~remem.errors.InvalidInputError` naming the argument."""

from __future__ import annotations

import reprlib
from typing import Any

from remem.errors import InvalidInputError
from remem.models import Kind
from remem.models.checks import check_id, check_json

MAX_LIMIT = 10_000


def check_id_arg(name: str, value: Any, *, required: bool = False) -> None:
    check_id(value, name, required=required)


def check_scope(**ids: str | None) -> dict[str, str | None]:
    """The scope ids (user_id, agent_id, session_id), each checked."""
    for name, value in ids.items():
        check_id_arg(name, value)
    return ids


def check_kind(kind: Any) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        raise InvalidInputError(f"unknown kind {reprlib.repr(kind)}; use one of {[k.value for k in Kind]}") from None


def check_limit(limit: Any) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
    return check_json(metadata, "metadata")


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False")
    return value
