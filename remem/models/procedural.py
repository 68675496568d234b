"""Public types of procedural memory: what ``learn``, ``feedback`` and ``procedures`` return.

A *strategy* is a ``procedural`` memory distilled from one or more trajectories (title, when it
applies, what to do or to avoid, its level and its evidence counts); a *trajectory* is the
``episodic`` memory of one attempt at a task (the task, its outcome and a summary of its steps).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from remem.models.records import MemoryRecord, SearchHit

Outcome = Literal["success", "failure"]
OUTCOMES: tuple[str, ...] = ("success", "failure")
Level = Literal["instance", "concept"]
Polarity = Literal["do", "avoid"]


class ProcedureHit(SearchHit):
    """One result of ``Memory.procedures``: a strategy, or (without an LLM) a past trajectory.

    ``score`` is the ranking score: the relevance probability of the search times the
    strategy's success prior (see ``explanation["prior"]``) times the weight of its type.
    """

    type: Literal["strategy", "trajectory"]
    title: str
    when_to_apply: str | None = None
    steps: list[str] = Field(default_factory=list)  # what to do (polarity "do") or to avoid; a trajectory's key lines
    polarity: Polarity = "do"
    level: Level | None = None  # strategies only
    evidence: dict[str, int] = Field(default_factory=lambda: {"success": 0, "failure": 0})
    success_rate: float | None = None  # observed successes / (successes + failures); None before any feedback
    task: str | None = None  # trajectories: the task
    outcome: Outcome | None = None  # trajectories: how it ended
    sources: list[str] = Field(default_factory=list)  # strategies: ids of the trajectories they come from


class StrategyChange(BaseModel):
    """One reconciliation decision taken by ``learn`` for a distilled strategy."""

    action: Literal["ADD", "UPDATE", "NOOP"]
    title: str
    memory_id: str  # the strategy written (ADD), changed (UPDATE) or matched (NOOP)
    reason: str = ""


class LearnResult(BaseModel):
    """What ``Memory.learn`` stored and decided."""

    trajectory: MemoryRecord
    strategies: list[MemoryRecord] = Field(default_factory=list)  # added or updated (current versions)
    changes: list[StrategyChange] = Field(default_factory=list)
    rewarded: list[str] = Field(default_factory=list)  # strategies whose evidence counts this call changed
    distilled: bool = False  # whether an LLM distilled the trajectory (now or in an earlier call)


class FeedbackResult(BaseModel):
    """What ``Memory.feedback`` changed."""

    task_id: str
    outcome: Outcome
    counted: bool  # False when the task's loop had already been closed with this outcome
    strategies: list[MemoryRecord] = Field(default_factory=list)  # the strategies whose counters changed
