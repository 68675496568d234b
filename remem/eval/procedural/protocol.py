"""The two-phase protocol of ``remem eval procedural``, run once per *arm* (how strategies are made).

Phase 1 feeds every training trajectory (successes and failures, generated deterministically)
through ``Memory.learn`` under one agent. Phase 2 asks ``Memory.procedures`` for each new test
task and scores the ranking by family: does the top hit come from the task's own family (a
trajectory of it, or a strategy distilled from one), and is it a strategy? Arms:

- ``no-llm``: no LLM, so ``learn`` stores trajectories with their deterministic summaries and
  ``procedures`` ranks past trajectories;
- ``scripted``: the :class:`~remem.eval.procedural.agent.OracleDistiller` writes each family's
  lessons (the engine measured with good strategies);
- ``llm``: the configured OpenAI-compatible model distils; with ``agent_loop`` the same model
  also solves every test task with and without the "How to" section of its memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remem.embed import Embedder
from remem.errors import LLMError
from remem.eval.procedural.agent import OracleDistiller, run_episode
from remem.eval.procedural.suite import Task, trajectory
from remem.memory import Memory
from remem.models.procedural import ProcedureHit
from remem.read import SearchConfig
from remem.read.context import how_to_section

AGENT = "eval-agent"
TOP_K = 5


@dataclass
class ArmResult:
    """What one arm learned and how its rankings scored."""

    arm: str
    llm: str | None
    entries: list[dict[str, Any]] = field(default_factory=list)  # one per test task
    learn_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # learn calls whose LLM step failed
    strategies: int = 0
    trajectories: int = 0
    agent: dict[str, Any] | None = None  # {"n", "without", "with"} success rates, when the loop ran


def run_arm(
    arm: str, llm: Any, train: list[Task], test: list[Task], outcomes: dict[str, str], *, embedder: Embedder,
    folder: Path, config: SearchConfig, agent_loop: bool = False, advance: Callable[[int], None] = lambda n: None,
) -> ArmResult:
    """Phase 1 and 2 (and the agent loop) for one arm, in a fresh store under ``folder``."""
    if arm == "scripted":
        from remem.llm import ScriptedLLM

        llm = ScriptedLLM(OracleDistiller(train))
    result = ArmResult(arm, getattr(llm, "describe", lambda: None)() if llm is not None else None)
    with Memory(folder / f"{arm}.db", embedder=embedder, llm=llm, search_config=config) as mem:
        family_of = _learn_all(mem, train, outcomes, result, advance)
        for task in test:
            start = time.perf_counter()
            hits = mem.procedures(task.text, agent_id=AGENT, limit=TOP_K)
            result.latencies_ms.append((time.perf_counter() - start) * 1000)
            result.entries.append(score(task, hits, family_of, arm))
            advance(1)
        result.strategies = sum(1 for r in mem.get_all(agent_id=AGENT, kind="procedural", limit=10_000) if r.metadata.get("procedural") == "strategy")
        if agent_loop and llm is not None and arm == "llm":
            result.agent = _agent_loop(mem, llm, test, advance)
    return result


def _learn_all(mem: Memory, train: list[Task], outcomes: dict[str, str], result: ArmResult, advance: Callable[[int], None]) -> dict[str, str]:
    """Phase 1; returns trajectory id -> family."""
    family_of: dict[str, str] = {}
    start = time.perf_counter()
    for task in train:
        steps, feedback = trajectory(task, outcomes[task.id])
        meta = {"family": task.family, "task_key": task.id}
        try:
            out = mem.learn(task.text, steps, outcomes[task.id], feedback=feedback, agent_id=AGENT, metadata=meta)
            family_of[out.trajectory.id] = task.family
        except LLMError as exc:  # the trajectory is stored; its strategies are missing
            result.errors.append(f"{task.id}: {exc}")
            stored = mem.get_all(agent_id=AGENT, filters={"metadata.task_key": task.id}, limit=1)
            family_of.update({r.id: task.family for r in stored})
        advance(1)
    result.learn_s = time.perf_counter() - start
    result.trajectories = len(family_of)
    return family_of


def hit_family(hit: ProcedureHit, family_of: dict[str, str]) -> str | None:
    """The family a hit comes from: its own (a trajectory), or its source trajectories' (a strategy)."""
    if hit.type == "trajectory":
        return family_of.get(hit.memory.id)
    families = [family_of[s] for s in hit.sources if s in family_of]
    return max(set(families), key=families.count) if families else None


def score(task: Task, hits: list[ProcedureHit], family_of: dict[str, str], arm: str) -> dict[str, Any]:
    """One results.json entry: the task, its top hits with their families, and the metrics."""
    families = [hit_family(h, family_of) for h in hits]
    top = hits[0] if hits else None
    same = bool(top) and families[0] == task.family
    return {
        "id": task.id, "question": task.text, "family": task.family, "mode": arm,
        "retrieved": [{"id": h.memory.id, "type": h.type, "title": h.title, "family": f, "score": round(h.score, 6)} for h, f in zip(hits, families)],
        "metrics": {
            "top1_same_family": float(same),
            "top1_strategy_same_family": float(same and top is not None and top.type == "strategy"),
            "same_family@3": float(task.family in families[:3]),
        },
    }


def _agent_loop(mem: Memory, llm: Any, test: list[Task], advance: Callable[[int], None]) -> dict[str, Any]:
    """Each test task solved by ``llm`` without memory, then with the "How to" section of its memory."""
    def chat(messages: list[dict[str, str]]) -> str:
        try:
            return llm.chat(messages, operation="eval.procedural.agent")
        except LLMError:
            return ""

    without = with_memory = 0
    episodes = []
    for task in test:
        plain = run_episode(chat, task)
        text, _, _ = how_to_section(mem.procedures(task.text, agent_id=AGENT, limit=3), 600)
        helped = run_episode(chat, task, text)
        without += plain.success
        with_memory += helped.success
        episodes.append({"id": task.id, "without": plain.success, "with": helped.success, "how_to": text})
        advance(1)
    n = len(test)
    return {"n": n, "without": without / n if n else None, "with": with_memory / n if n else None, "episodes": episodes}
