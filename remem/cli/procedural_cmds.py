"""Procedural-memory subcommands: learn, procedures, feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from remem.cli import inputs
from remem.cli.app import command
from remem.cli.options import AgentOpt, JsonOpt, PathOpt, TenantOpt, UserOpt
from remem.cli.output import out, print_json
from remem.cli.store import open_memory
from remem.errors import InvalidInputError

OutcomeArg = typer.Option(..., "--outcome", "-o", help="success | failure")


@command("learn")
def learn(
    task: str = typer.Argument(..., help="The task the trajectory attempted."),
    outcome: str = OutcomeArg,
    step: Optional[list[str]] = typer.Option(None, "--step", "-s", help="One step of the trajectory (repeatable)."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Steps as a JSON list or JSON Lines (strings or objects; '-' reads stdin)."),
    feedback: Optional[str] = typer.Option(None, "--feedback", help="What a reviewer or the environment said."),
    task_id: Optional[str] = typer.Option(None, "--task-id", help="Closes the loop of `remem procedures --task-id`."),
    no_infer: bool = typer.Option(False, "--no-infer", help="Store the trajectory only; do not ask the LLM for strategies."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    agent_id: Optional[str] = AgentOpt,
    user_id: Optional[str] = UserOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Store a trajectory with its outcome; with an LLM configured, distil strategies
    (what to do, or from a failure what to avoid) reconciled with the known ones."""
    steps: list[Any] = list(step or [])
    if file is not None:
        steps += inputs.read_messages(file)
    if not steps:
        raise InvalidInputError("a trajectory needs steps: give --step or --file")
    with open_memory(path, tenant, create=True) as mem:
        result = mem.learn(task, steps, outcome, feedback=feedback, agent_id=agent_id, user_id=user_id,
                           task_id=task_id, infer=False if no_infer else None)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out.print(f"stored trajectory {result.trajectory.id} ({outcome})")
    for change in result.changes:
        out.print(f"  {change.action:<6} {change.title}  [{change.memory_id[:12]}]")
    if result.rewarded:
        out.print(f"  counted the outcome on {len(result.rewarded)} strategy(ies) shown for this task")


@command("procedures")
def procedures(
    task: str = typer.Argument(..., help="The new task."),
    limit: int = typer.Option(5, "--limit", "-n", min=1, max=100, help="At most this many."),
    task_id: Optional[str] = typer.Option(None, "--task-id", help="Remember what was shown, for `remem feedback`."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    agent_id: Optional[str] = AgentOpt,
    user_id: Optional[str] = UserOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Strategies (and, without an LLM, past attempts) for a new task, best first."""
    inputs.query(task, "TASK")
    with open_memory(path, tenant) as mem:
        hits = mem.procedures(task, agent_id=agent_id, user_id=user_id, limit=limit, task_id=task_id)
    if as_json:
        print_json([h.model_dump(mode="json") for h in hits])
        return
    table = Table(title=f"procedures for: {task[:60]}")
    for name in ("#", "type", "title", "do/avoid", "level", "worked", "score", "prior"):
        table.add_column(name, overflow="fold")
    for i, h in enumerate(hits, 1):
        worked = f"{h.evidence.get('success', 0)}/{h.evidence.get('success', 0) + h.evidence.get('failure', 0)}"
        table.add_row(str(i), h.type, h.title, h.polarity, h.level or "", worked, f"{h.score:.3f}",
                      f"{h.explanation.get('prior', 1.0):.2f}")
    out.print(table)


@command("feedback")
def feedback(
    task_id: str = typer.Argument(..., help="The task id given to `remem procedures --task-id`."),
    outcome: str = OutcomeArg,
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    agent_id: Optional[str] = AgentOpt,
    user_id: Optional[str] = UserOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Count a task's outcome once on the strategies shown for it (their success prior)."""
    with open_memory(path, tenant) as mem:
        result = mem.feedback(task_id, outcome, agent_id=agent_id, user_id=user_id)
    if as_json:
        print_json(result.model_dump(mode="json"))
    elif result.counted:
        out.print(f"counted {outcome} on {len(result.strategies)} strategy(ies)")
    else:
        out.print(f"task {task_id} was already counted as {outcome}: nothing changed")
