"""LangGraph's item filters for :class:`~remem.integrations.langgraph.RememStore`: checked,
evaluated on values as LangGraph's InMemoryStore does, and the part remem's store can
evaluate itself turned into remem metadata filters."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from remem import InvalidInputError

FILTER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq, "$ne": operator.ne, "$gt": operator.gt,
    "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le,
}
PUSHED_OPS = {"$eq": "eq", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}  # $ne: a missing field matches it
_FIELD = re.compile(r"^[A-Za-z0-9_\-]+$")  # a value key remem's metadata filters can name


def matches(value: dict[str, Any], flt: Mapping[str, Any]) -> bool:
    return all(compare(lookup(value, key), spec) for key, spec in flt.items())


def lookup(value: Any, key: str) -> Any:
    """The value at a dotted path (None when missing)."""
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def compare(actual: Any, spec: Any) -> bool:
    """LangGraph's filter semantics (as its InMemoryStore has them)."""
    if isinstance(spec, Mapping):
        if any(k.startswith("$") for k in spec):
            return all(apply_op(actual, op, operand) for op, operand in spec.items())
        return isinstance(actual, dict) and all(compare(actual.get(k), v) for k, v in spec.items())
    if isinstance(spec, (list, tuple)):
        return (isinstance(actual, list) and len(actual) == len(spec)
                and all(compare(a, s) for a, s in zip(actual, spec)))
    return actual == spec


def apply_op(actual: Any, op: str, operand: Any) -> bool:
    if op in ("$eq", "$ne"):
        return FILTER_OPS[op](actual, operand)
    numbers = all(isinstance(x, (int, float)) for x in (actual, operand))
    texts = all(isinstance(x, str) for x in (actual, operand))
    return (numbers or texts) and FILTER_OPS[op](actual, operand)


def pushed_filters(flt: Mapping[str, Any], path: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """The conditions remem's store can check itself, as its filters on ``lg_value``. They
    never drop a match (what they can't say exactly is left to :func:`_matches`)."""
    out: dict[str, dict[str, Any]] = {}
    for key, spec in flt.items():
        parts = (*path, *key.split("."))
        if not all(_FIELD.match(p) for p in parts):
            continue
        field = "lg_value." + ".".join(parts)
        if isinstance(spec, Mapping) and any(k.startswith("$") for k in spec):
            ops = {PUSHED_OPS[o]: v for o, v in spec.items() if o in PUSHED_OPS and pushable(v)}
            if ops:
                out.setdefault(field, {}).update(ops)
        elif isinstance(spec, Mapping):
            for sub, ops in pushed_filters(spec, parts).items():
                out.setdefault(sub, {}).update(ops)
        elif pushable(spec):
            out.setdefault(field, {})["eq"] = spec
    return out


def pushable(v: Any) -> bool:
    """A scalar both store backends compare like Python does."""
    if isinstance(v, bool):
        return True
    if isinstance(v, int):
        return -(2**63) <= v < 2**63
    if isinstance(v, float):
        return v == v and abs(v) != float("inf")
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in v
    return False


def check_filter(flt: Any) -> None:
    if flt is None:
        return
    if not isinstance(flt, Mapping) or not all(isinstance(k, str) for k in flt):
        raise InvalidInputError("filter must be a dict with string keys")
    stack = list(flt.values())
    while stack:
        spec = stack.pop()
        if isinstance(spec, Mapping):
            if any(isinstance(k, str) and k.startswith("$") for k in spec):
                bad = [k for k in spec if k not in FILTER_OPS]
                if bad:
                    raise InvalidInputError(f"unsupported filter operator {bad[0]!r}; use one of {list(FILTER_OPS)}")
            else:
                stack.extend(spec.values())
