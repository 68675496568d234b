"""JSON Schema helpers: pydantic model -> schema accepted by OpenAI strict mode.

Strict structured output (OpenAI, vLLM, Ollama, llama.cpp grammars) wants every
object closed (``additionalProperties: false``), every property listed in
``required`` and no ``$ref`` indirection that some grammar converters mishandle.
Optional values are expressed as nullable types (``anyOf [..., null]``).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

# Keywords that carry no constraint, or that strict mode / grammar converters reject.
_DROP_KEYS = frozenset({"title", "default", "examples", "$defs", "definitions"})


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return ``model``'s JSON Schema rewritten for strict structured output.

    Refs are inlined (recursive models are rejected), titles and defaults are
    dropped, and every object is closed with all of its properties required.
    """
    raw = model.model_json_schema()
    defs: dict[str, Any] = raw.get("$defs", {})
    schema = _rewrite(raw, defs, seen=())
    if schema.get("type") != "object":
        raise TypeError(f"{model.__name__}: the root of a structured-output schema must be an object")
    return schema


def _rewrite(node: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            raise TypeError(f"recursive schema through {name!r} cannot be inlined")
        target = copy.deepcopy(defs[name])
        extra = {k: v for k, v in node.items() if k != "$ref"}
        target.update(extra)  # e.g. a field description next to the ref
        return _rewrite(target, defs, seen + (name,))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_KEYS:
            continue
        if key == "properties":
            out[key] = {prop: _rewrite(sub, defs, seen) for prop, sub in value.items()}
        else:
            out[key] = _rewrite(value, defs, seen)
    if out.get("type") == "object" or "properties" in out:
        out.pop("description", None)  # a model's docstring is for developers, not the LLM
        out["type"] = "object"
        out.setdefault("properties", {})
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out
