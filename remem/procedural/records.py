"""How strategies and trajectories are kept as ordinary memory records (no tables of their own).

A strategy is a ``procedural`` record, a trajectory an ``episodic`` one; both carry, in their
metadata, ``procedural`` (``"strategy"``, ``"trajectory"``, or ``"task"`` for a task that was
looked up with a ``task_id`` but not learned yet) and ``procedural_scope`` (the agent and user
they belong to, so one exact filter isolates them). The rest of each layout is below.
"""

from __future__ import annotations

import json
from typing import Any

from remem.models import Kind, MemoryRecord
from remem.models.procedural import ProcedureHit

TYPE_KEY = "procedural"
SCOPE_KEY = "procedural_scope"
STRATEGY, TRAJECTORY, TASK = "strategy", "trajectory", "task"
ACTOR = "remem.procedural"

# strategy metadata: title, when_to_apply, steps (list), polarity ("do"|"avoid"),
# level ("instance"|"concept"), evidence {"success": n, "failure": m}, trajectories (ids)
# trajectory metadata: task, task_id, outcome, feedback, steps [{"role", "content"}],
# shown (ids of the memories procedures() returned for the task), counted (the outcome the
# loop was closed with, or None), distilled (the prompt id), strategies (ids)


def scope_key(agent_id: str | None, user_id: str | None) -> str:
    """The exact scope of a strategy or trajectory: ``["agent", "user"]`` (null for none)."""
    return json.dumps([agent_id, user_id])


def visible_scopes(agent_id: str | None, user_id: str | None) -> list[str]:
    """The scopes a lookup may see: the agent's own, plus the user's when one is given."""
    own = scope_key(agent_id, None)
    return [own] if user_id is None else [own, scope_key(agent_id, user_id)]


def evidence(record: MemoryRecord) -> dict[str, int]:
    """A strategy's counts of retrievals before a success and before a failure."""
    raw = record.metadata.get("evidence")
    raw = raw if isinstance(raw, dict) else {}
    return {key: _count(raw.get(key)) for key in ("success", "failure")}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def strategy_content(title: str, when: str, steps: list[str], polarity: str) -> str:
    """The searchable text of a strategy: title, when it applies, what to do or avoid."""
    verb = "Do" if polarity == "do" else "Avoid"
    return f"{title.rstrip('. ')}. When: {when.rstrip('. ')}. {verb}: " + "; ".join(s.rstrip("; ") for s in steps)


def is_live(record: MemoryRecord) -> bool:
    """Neither deleted nor archived (maintenance may archive a strategy; it then stops applying)."""
    return not record.is_deleted and not record.is_archived


def is_strategy(record: MemoryRecord) -> bool:
    return record.kind == Kind.PROCEDURAL and record.metadata.get(TYPE_KEY) == STRATEGY


def to_hit(record: MemoryRecord, score: float, explanation: dict[str, Any]) -> ProcedureHit:
    """A stored strategy or trajectory as a :class:`ProcedureHit`."""
    meta = record.metadata
    counts = evidence(record)
    seen = counts["success"] + counts["failure"]
    common = {
        "memory": record, "score": score, "explanation": explanation, "evidence": counts,
        "success_rate": round(counts["success"] / seen, 4) if seen else None,
    }
    if meta.get(TYPE_KEY) == TRAJECTORY:
        lines = _strings(meta.get("key_lines"))
        outcome = meta.get("outcome") if meta.get("outcome") in ("success", "failure") else None
        return ProcedureHit(
            type="trajectory", title=(_text(meta.get("task")) or record.content)[:200], steps=lines,
            polarity="avoid" if outcome == "failure" else "do", task=_text(meta.get("task")), outcome=outcome, **common,
        )
    level = meta.get("level") if meta.get("level") in ("instance", "concept") else None
    return ProcedureHit(
        type="strategy", title=(_text(meta.get("title")) or record.content)[:200], when_to_apply=_text(meta.get("when_to_apply")),
        steps=_strings(meta.get("steps")), polarity="avoid" if meta.get("polarity") == "avoid" else "do",
        level=level, sources=list(record.source), **common,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
