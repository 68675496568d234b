"""Read subcommands: search, context, get, list, count, history. None of them creates a store."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from remem.cli import inputs
from remem.cli.app import command
from remem.cli.options import (
    MAX_OFFSET, AgentOpt, AsOfOpt, FilterOpt, IncludeDeletedOpt, JsonOpt, KindOpt, NowOpt, PathOpt, SessionOpt,
    TenantOpt, UserOpt, limit_option,
)
from remem.cli.output import err, out, print_json, records_table
from remem.cli.store import open_memory

log = logging.getLogger("remem.cli")


@command("search")
def search(
    query: str = typer.Argument(..., help="What to look for."),
    limit: int = limit_option(10, "How many results."),
    filter_: list[str] = FilterOpt,
    kind: Optional[str] = KindOpt,
    since: Optional[str] = typer.Option(None, "--since", help="event_time lower bound (ISO, epoch or e.g. '8 May 2023')."),
    until: Optional[str] = typer.Option(None, "--until", help="event_time upper bound; not before --since."),
    mode: Optional[str] = typer.Option(None, "--mode", help="hybrid (default) | dense | bm25"),
    explain: bool = typer.Option(False, "--explain", help="Show which signals ranked each hit."),
    threshold: Optional[float] = typer.Option(None, "--threshold", min=0.0, max=1.0, help="Drop hits scoring below this (score = estimated probability of relevance)."),
    now: Optional[str] = NowOpt,
    as_of: Optional[str] = AsOfOpt,
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Search memories (hybrid dense + BM25)."""
    inputs.query(query)
    inputs.time_order(since, until, "--since", "--until")
    chosen = inputs.filters(filter_)
    with open_memory(path, tenant) as mem:
        started = time.perf_counter()
        hits = mem.search(
            query, user_id=user_id, agent_id=agent_id, session_id=session_id, limit=limit,
            filters=chosen, kind=kind, mode=mode,
            time_range=(since, until) if since or until else None, now=now, as_of=as_of, threshold=threshold,
        )
        log.info("search: %d hits in %.0f ms", len(hits), (time.perf_counter() - started) * 1000)
    if as_json:
        print_json([h.model_dump(mode="json") for h in hits])
        return
    table = Table(title=escape(f"{len(hits)} results for {query!r}"))
    table.add_column("score", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("who", overflow="fold", max_width=24)
    table.add_column("content", overflow="fold", ratio=1)
    if explain:
        table.add_column("why", overflow="fold")
    for h in hits:
        r = h.memory
        why = {k: v for k, v in h.explanation.items() if isinstance(v, dict)}
        row = [f"{h.score:.4f}", r.event_time.strftime("%Y-%m-%d") if r.event_time else "", escape(r.role or ""),
               escape(r.speaker or ""), escape(r.content)]
        table.add_row(*row, *([escape(json.dumps(why))] if explain else []))
    out.print(table)


@command("context")
def context(
    query: str = typer.Argument(..., help="What the prompt is about."),
    token_budget: int = typer.Option(2000, "--token-budget", "-b", min=1, max=10_000_000, help="Maximum tokens of context."),
    filter_: list[str] = FilterOpt,
    kind: Optional[str] = KindOpt,
    neighbors: int = typer.Option(1, "--neighbors", min=0, max=50, help="Adjacent turns added around each hit."),
    now: Optional[str] = NowOpt,
    as_of: Optional[str] = AsOfOpt,
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Print a ready-to-prompt block of memories within a token budget."""
    inputs.query(query)
    chosen = inputs.filters(filter_)
    with open_memory(path, tenant) as mem:
        ctx = mem.context(
            query, user_id=user_id, agent_id=agent_id, session_id=session_id, token_budget=token_budget,
            filters=chosen, kind=kind, neighbors=neighbors, now=now, as_of=as_of,
        )
    if as_json:
        print_json(ctx.model_dump(mode="json"))
    else:
        sys.stdout.write(ctx.text + "\n")
        err.print(f"[dim]{len(ctx.memories)} memories, ~{ctx.tokens} tokens, strategy={ctx.strategy}[/dim]")


@command("get")
def get(
    memory_id: str = typer.Argument(..., help="Memory id."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Show one memory."""
    with open_memory(path, tenant) as mem:
        record = mem.get(memory_id)
    if as_json:
        print_json(record.model_dump(mode="json"))
        return
    table = Table(show_header=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in record.model_dump(mode="json").items():
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)
        table.add_row(key, escape(text))
    out.print(table)


@command("list")
def list_(
    limit: int = limit_option(100, "How many memories (a page)."),
    offset: int = typer.Option(0, "--offset", min=0, max=MAX_OFFSET, help="Skip this many first (for paging)."),
    kind: Optional[str] = KindOpt,
    filter_: list[str] = FilterOpt,
    include_deleted: bool = IncludeDeletedOpt,
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List memories in scope, newest first."""
    chosen = inputs.filters(filter_)
    with open_memory(path, tenant) as mem:
        records = mem.get_all(
            user_id=user_id, agent_id=agent_id, session_id=session_id, kind=kind, filters=chosen,
            limit=limit, offset=offset, include_deleted=include_deleted,
        )
    if as_json:
        print_json([r.model_dump(mode="json") for r in records])
    else:
        out.print(records_table(records, title=f"{len(records)} memories"))


@command("count")
def count(
    kind: Optional[str] = KindOpt,
    filter_: list[str] = FilterOpt,
    include_deleted: bool = IncludeDeletedOpt,
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """How many memories are in scope."""
    chosen = inputs.filters(filter_)
    with open_memory(path, tenant) as mem:
        n = mem.count(
            user_id=user_id, agent_id=agent_id, session_id=session_id, kind=kind,
            filters=chosen, include_deleted=include_deleted,
        )
    if as_json:
        print_json({"count": n})
    else:
        out.print(n)


@command("history")
def history(
    memory_id: str = typer.Argument(..., help="Memory id."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every version of a memory: what changed, when, why."""
    with open_memory(path, tenant) as mem:
        entries = mem.history(memory_id)
    if as_json:
        print_json([e.model_dump(mode="json") for e in entries])
        return
    table = Table(title=f"history of {escape(memory_id)}")
    for col in ("v", "op", "when"):
        table.add_column(col, no_wrap=True)
    for col in ("changed", "reason", "content"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            str(e.version), e.op.value, e.changed_at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(", ".join(e.changed_fields)), escape(e.reason or ""), escape(e.record.content),
        )
    out.print(table)
