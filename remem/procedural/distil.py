"""The LLM side of procedural memory: distil strategies from a trajectory, and reconcile one
new strategy with the nearest stored ones (ADD / UPDATE / NOOP, as facts are).

Two levels, after ArcMemo: an *instance* lesson is specific to this kind of task ("convert °F
to °C by subtracting 32 first"); a *concept* is the abstract idea behind it that transfers to
other tasks ("apply an offset before a scale factor"). From a success a strategy says what to
do, from a failure what to avoid (its polarity follows from the outcome, not from the model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from remem.llm import Prompt

MAX_STRATEGIES = 5
MAX_STEPS = 8
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 1000
_JSON_ONLY = "Reply with a single JSON object and nothing else."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str, field: str, limit: int) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError(f"{field} is empty")
    if "\x00" in value or len(value) > limit:
        raise ValueError(f"{field} must be at most {limit} characters of text")
    return value


class StrategyText(_Strict):
    """The words of a strategy (distilled, or merged by an UPDATE)."""

    title: str = Field(description="A short imperative title, at most 12 words.")
    when_to_apply: str = Field(description="One sentence: the kind of task or situation where it applies.")
    steps: list[str] = Field(description="1-8 short steps: what to do (from a success) or what to avoid (from a failure).")

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        return _text(v, "title", MAX_TITLE_CHARS)

    @field_validator("when_to_apply")
    @classmethod
    def _when(cls, v: str) -> str:
        return _text(v, "when_to_apply", MAX_TEXT_CHARS)

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[str]) -> list[str]:
        steps = list(dict.fromkeys(_text(s, "step", MAX_TEXT_CHARS) for s in v if s.strip()))
        if not 1 <= len(steps) <= MAX_STEPS:
            raise ValueError(f"give 1 to {MAX_STEPS} non-empty steps")
        return steps


class DistilledStrategy(StrategyText):
    """One lesson of :data:`DISTIL_STRATEGIES`, marked with its level."""

    level: Literal["instance", "concept"] = Field(description="instance: specific to this kind of task; concept: the abstract, transferable idea.")


class Distillation(_Strict):
    """Output of :data:`DISTIL_STRATEGIES`; an empty list when there is nothing worth keeping."""

    strategies: list[DistilledStrategy]

    @field_validator("strategies")
    @classmethod
    def _count(cls, v: list[DistilledStrategy]) -> list[DistilledStrategy]:
        if len(v) > MAX_STRATEGIES:
            raise ValueError(f"give at most {MAX_STRATEGIES} strategies")
        return v


class StrategyResolution(_Strict):
    """Output of :data:`RESOLVE_STRATEGY`: what to do with one new strategy."""

    action: Literal["ADD", "UPDATE", "NOOP"]
    target_id: str | None = Field(description="Id of the existing strategy acted on (UPDATE, NOOP); null for ADD.")
    merged: StrategyText | None = Field(description="For UPDATE: the merged strategy; otherwise null.")
    reason: str = Field(description="One short sentence.")

    @field_validator("target_id")
    @classmethod
    def _target(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().strip("[]")
        ctx = info.context if isinstance(info.context, Mapping) else {}
        allowed = ctx.get("memory_ids")
        if allowed is not None and v not in {str(a) for a in allowed}:
            raise ValueError(f"unknown id {v!r}; use only ids from the list: {sorted(str(a) for a in allowed)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "StrategyResolution":
        if self.action == "ADD":
            self.target_id = None
        elif self.target_id is None:
            raise ValueError(f"{self.action} needs target_id")
        if self.action == "UPDATE" and self.merged is None:
            raise ValueError("UPDATE needs the merged strategy")
        if self.action != "UPDATE":
            self.merged = None
        return self


DISTIL_STRATEGIES: Prompt[Distillation] = Prompt(
    name="distil_strategies",
    version=1,
    schema=Distillation,
    description="Task + trajectory + outcome -> reusable strategies (instance lessons and abstract concepts).",
    system=(
        "You turn an agent's attempt at a task into reusable strategies for future tasks. You see the task, "
        "the steps the agent took, whether it succeeded or failed, and any feedback.\n"
        "Write 0 to 3 strategies:\n"
        "- From a SUCCESS: what to do. From a FAILURE: what to avoid (each step names a mistake not to repeat, "
        "and what to do instead when it is clear).\n"
        "- level 'instance': a lesson for this kind of task (name the task type and the concrete trick). "
        "level 'concept': the abstract idea behind it, worded so it transfers to other tasks. Give at most one "
        "concept.\n"
        "- title: short and imperative. when_to_apply: one sentence describing the tasks it is for, with the "
        "words such a task would use. steps: 1-5 short, concrete steps.\n"
        "- Keep only what generalises: no numbers or names that belong to this task alone. Return an empty "
        "list when the attempt teaches nothing.\n" + _JSON_ONLY
    ),
    user="Task:\n{task}\n\nOutcome: {outcome}\nFeedback: {feedback}\n\nSteps:\n{steps}\n\nDistil the strategies as JSON.",
)

RESOLVE_STRATEGY: Prompt[StrategyResolution] = Prompt(
    name="resolve_strategy",
    version=1,
    schema=StrategyResolution,
    description="New strategy vs similar stored strategies -> ADD / UPDATE / NOOP.",
    system=(
        "You maintain an agent's library of strategies. Compare one NEW strategy with the EXISTING strategies "
        "most similar to it and choose one action:\n"
        "- ADD: the new strategy is about something none of them covers. target_id null.\n"
        "- UPDATE: it refines, corrects or extends exactly one existing strategy about the same trick. "
        "target_id = that id; merged = one strategy keeping every useful step of both.\n"
        "- NOOP: one existing strategy already says all of it. target_id = that id.\n"
        "Use only ids shown in brackets. merged is null unless the action is UPDATE. reason: one short "
        "sentence.\n" + _JSON_ONLY
    ),
    user="NEW strategy:\n{strategy}\n\nEXISTING strategies:\n{existing}\n\nChoose the action as JSON.",
)

PROMPTS: dict[str, Prompt[Any]] = {p.name: p for p in (DISTIL_STRATEGIES, RESOLVE_STRATEGY)}


def render_steps(steps: list[dict[str, str | None]], limit_chars: int = 6000) -> str:
    """Numbered steps for the prompt, the middle elided when the whole is too long."""
    lines = [f"{i}. {s['role'] + ': ' if s['role'] else ''}{' '.join((s['content'] or '').split())}" for i, s in enumerate(steps, 1)]
    text = "\n".join(lines)
    if len(text) <= limit_chars:
        return text
    half = limit_chars // 2
    return text[:half] + "\n…\n" + text[-half:]


def render_strategy(title: str, when: str, steps: list[str], polarity: str, level: str | None = None) -> str:
    """One strategy as the resolution prompt shows it."""
    head = f"{title} ({'avoid' if polarity == 'avoid' else 'do'}{', ' + level if level else ''})"
    return f"{head}. When: {when}. Steps: " + " | ".join(steps)


def distil(llm: Any, task: str, outcome: str, feedback: str | None, steps: list[dict[str, str | None]]) -> list[DistilledStrategy]:
    """Ask ``llm`` for the strategies of one trajectory; raises :class:`~remem.errors.LLMError`."""
    out = llm.complete_json(
        DISTIL_STRATEGIES,
        {"task": task[:4000], "outcome": outcome.upper(), "feedback": feedback or "(none)", "steps": render_steps(steps)},
        operation="procedural.distil",
    )
    return list(out.strategies)


def resolve(llm: Any, new: str, existing: dict[str, str]) -> StrategyResolution:
    """Ask ``llm`` what to do with ``new`` given ``existing`` (short id -> rendered strategy)."""
    shown = "\n".join(f"[{key}] {text}" for key, text in existing.items())
    return llm.complete_json(
        RESOLVE_STRATEGY, {"strategy": new, "existing": shown}, operation="procedural.resolve",
        context={"memory_ids": list(existing)},
    )
