"""Mem0's call arguments checked and turned into remem's: entity ids (``run_id`` is remem's
``session_id``), Mem0 filters (both the old top-level ids and the new ``filters=`` form),
``top_k``/``limit``, messages and metadata."""

from __future__ import annotations

from typing import Any

from remem.errors import InvalidInputError

IDS = ("user_id", "agent_id", "run_id")
SUPPORTED_OPS = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"}


def entity_id(name: str, value: Any) -> str | None:
    """An entity id: None, or a non-empty string (numbers are turned into strings, as Mem0 does)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInputError(f"{name} must be a string")
    text = str(value).strip()
    if not text:
        raise InvalidInputError(f"{name} cannot be empty or whitespace-only")
    if text == "*":
        raise InvalidInputError(f"{name}='*' (every {name[:-3]}) is not supported; use reset() to delete everything")
    return text


def scope_of(user_id: Any, agent_id: Any, run_id: Any, *, required: bool = False) -> dict[str, Any]:
    """Mem0's entity ids as remem's scope (``run_id`` is remem's ``session_id``)."""
    scope = {
        "user_id": entity_id("user_id", user_id),
        "agent_id": entity_id("agent_id", agent_id),
        "session_id": entity_id("run_id", run_id),
    }
    if required and not any(scope.values()):
        raise InvalidInputError("at least one of 'user_id', 'agent_id' or 'run_id' must be provided")
    return scope


def scope_and_filters(
    user_id: Any, agent_id: Any, run_id: Any, filters: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Entity ids (top-level or in ``filters``) and the remaining filters in remem's terms."""
    ids, rest = split_filters(filters)
    given = {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}
    for name, value in given.items():
        if value is None:
            continue
        if name in ids and entity_id(name, ids[name]) != entity_id(name, value):
            raise InvalidInputError(f"{name} is given twice with different values ({value!r} and filters {ids[name]!r})")
        ids[name] = value
    scope = scope_of(ids.get("user_id"), ids.get("agent_id"), ids.get("run_id"), required=True)
    return scope, rest


def split_filters(filters: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split Mem0 filters into entity ids and remem filters (refusing what remem cannot do)."""
    if filters is None:
        return {}, {}
    if not isinstance(filters, dict):
        raise InvalidInputError(f"filters must be a dict, got {type(filters).__name__}")
    ids: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in filters.items():
        if key == "AND":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise InvalidInputError("filters: AND needs a list of filter dicts")
            parts = [split_filters(v) for v in value]
        elif key in ("OR", "NOT"):
            raise InvalidInputError(f"filters: {key} is not supported by remem; combine conditions with AND")
        elif key in IDS:
            parts = [({key: value}, {})]
        else:
            parts = [({}, {"speaker" if key == "actor_id" else key: filter_condition(key, value)})]
        for part_ids, part_rest in parts:
            for target, source in ((ids, part_ids), (rest, part_rest)):
                for k, v in source.items():
                    if k in target and target[k] != v:
                        raise InvalidInputError(f"filters: conflicting conditions on {k!r}")
                    target[k] = v
    return ids, rest


def filter_condition(key: str, value: Any) -> Any:
    if value == "*":
        raise InvalidInputError(f"filters: the '*' wildcard ({key!r}) is not supported by remem")
    if isinstance(value, dict):
        unknown = set(value) - SUPPORTED_OPS
        if unknown:
            raise InvalidInputError(
                f"filters: operator(s) {sorted(unknown)} on {key!r} not supported by remem; use {sorted(SUPPORTED_OPS)}"
            )
    return value


def page_size(top_k: Any, limit: Any, default: int) -> int:
    if top_k is not None and limit is not None and top_k != limit:
        raise InvalidInputError("give top_k or limit, not both")
    n = top_k if top_k is not None else limit if limit is not None else default
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise InvalidInputError("top_k must be a non-negative integer")
    return n


def to_messages(messages: Any) -> list[dict[str, Any]]:
    """Mem0's message forms as remem messages; system messages are skipped."""
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    elif isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list) or not messages:
        raise InvalidInputError("messages must be a non-empty str, dict or list of dicts")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or "content" not in message:
            raise InvalidInputError(f"messages[{i}] must be a dict with 'role' and 'content'")
        if not isinstance(message["content"], str):
            raise InvalidInputError(f"messages[{i}]: content must be a string (multimodal content is not supported)")
        if message["role"] == "system":
            continue
        turn = {"role": message["role"], "content": message["content"]}
        if message.get("name") is not None:
            turn["name"] = message["name"]
        out.append(turn)
    return out


def clean_metadata(metadata: Any) -> dict[str, Any]:
    """Caller metadata without the entity ids (scope comes from the arguments, as in Mem0)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
    return {k: v for k, v in metadata.items() if k not in (*IDS, "actor_id")}
