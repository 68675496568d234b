"""Checks of what ``learn`` / ``feedback`` / ``procedures`` are given (the boundary: below it,
data is trusted). Each raises :class:`~remem.errors.InvalidInputError` before anything is stored."""

from __future__ import annotations

import reprlib
from typing import Any

from remem.errors import InvalidInputError
from remem.models import check_content
from remem.models.checks import check_id, check_json
from remem.models.procedural import OUTCOMES

MAX_STEPS = 1000
MAX_TRAJECTORY_CHARS = 1_000_000
STEP_FIELDS = ("thought", "action", "tool", "input", "observation", "output", "result", "error")
"""Keys of a step dict that has no ``content``: rendered ``key: value`` in this order."""


def check_outcome(outcome: Any) -> str:
    """``"success"`` or ``"failure"``."""
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise InvalidInputError(f"outcome must be one of {list(OUTCOMES)}, got {reprlib.repr(outcome)}")
    return outcome


def check_task(task: Any) -> str:
    return check_content(task, "task")


def check_task_id(task_id: Any, *, required: bool = False) -> str | None:
    return check_id(task_id, "task_id", required=required)


def check_steps(trajectory: Any) -> list[dict[str, str | None]]:
    """A non-empty list of steps: strings, message dicts (``role``/``name`` + ``content``) or step
    dicts (``thought``/``action``/``observation``/...). Returns ``[{"role", "content"}]``."""
    if isinstance(trajectory, (str, dict)) or not isinstance(trajectory, (list, tuple)):
        raise InvalidInputError("trajectory must be a non-empty list of steps (strings or message/step dicts)")
    if not trajectory:
        raise InvalidInputError("trajectory is empty: give at least one step")
    if len(trajectory) > MAX_STEPS:
        raise InvalidInputError(f"trajectory has {len(trajectory)} steps; the limit is {MAX_STEPS}")
    steps = [_step(i, step) for i, step in enumerate(trajectory)]
    total = sum(len(s["content"] or "") for s in steps)
    if total > MAX_TRAJECTORY_CHARS:
        raise InvalidInputError(f"trajectory is {total} characters; the limit is {MAX_TRAJECTORY_CHARS}")
    return steps


def _step(i: int, step: Any) -> dict[str, str | None]:
    where = f"trajectory[{i}]"
    if isinstance(step, str):
        return {"role": None, "content": check_content(step, where)}
    if not isinstance(step, dict):
        raise InvalidInputError(f"{where} must be a string or a dict, got {type(step).__name__}")
    check_json(step, where)
    role = step.get("name") or step.get("role")
    if role is not None:
        role = check_id(role, f"{where}.role")
    if "content" in step:
        return {"role": role, "content": check_content(step["content"], f"{where}.content")}
    parts = [f"{key}: {step[key]}" for key in STEP_FIELDS if isinstance(step.get(key), (str, int, float)) and str(step[key]).strip()]
    if not parts:
        raise InvalidInputError(f"{where} needs 'content' or one of {list(STEP_FIELDS)}")
    return {"role": role, "content": check_content("; ".join(parts), where)}


def check_feedback(feedback: Any) -> str | None:
    return None if feedback is None else check_content(feedback, "feedback")


def check_limit(limit: Any, maximum: int = 100) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise InvalidInputError(f"limit must be an integer from 1 to {maximum}")
    return limit
