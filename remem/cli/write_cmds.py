"""Write subcommands: add, update, delete, purge."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Optional

import typer

from remem.cli import inputs
from remem.cli.app import command
from remem.cli.options import AgentOpt, JsonOpt, PathOpt, ProgressOpt, SessionOpt, TenantOpt, UserOpt
from remem.cli.output import out, print_json, progress, records_table
from remem.cli.store import open_memory
from remem.errors import InvalidInputError

log = logging.getLogger("remem.cli")

ADD_BATCH = 128  # messages per Memory.add call (one embedding batch and one transaction each)


@command("add")
def add(
    content: Optional[list[str]] = typer.Argument(None, help="Message text(s); each becomes one memory."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="A JSON list of messages, or JSON Lines ('-' reads stdin)."),
    role: str = typer.Option("user", "--role", help="Role of the text arguments."),
    name: Optional[str] = typer.Option(None, "--name", help="Speaker name of the text arguments."),
    timestamp: Optional[str] = typer.Option(None, "--timestamp", "-t", help="When it was said (ISO, epoch or e.g. '8 May 2023 1:56 pm')."),
    metadata: Optional[str] = typer.Option(None, "--metadata", "-m", help="JSON object attached to every memory."),
    kind: str = typer.Option("episodic", "--kind", "-k", help="episodic | semantic | procedural | profile | summary"),
    batch_size: int = typer.Option(ADD_BATCH, "--batch-size", min=1, max=10_000, help="Messages per write transaction."),
    show_progress: Optional[bool] = ProgressOpt,
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add messages as memories (creates the store if needed)."""
    meta = inputs.json_arg(metadata, "--metadata", object_only=True)
    inputs.time_order(timestamp, None, "--timestamp", "--timestamp")
    raw: list[Any] = [{"role": role, "content": c, **({"name": name} if name else {})} for c in content or []]
    if file is not None:
        raw.extend(inputs.read_messages(file))
    if not raw:
        raise InvalidInputError("nothing to add: give text arguments or --file")
    from remem.write import normalize_messages

    messages = normalize_messages(raw)  # every message is checked before anything is written
    scope = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}
    with open_memory(path, tenant, create=True) as mem:
        before = mem.count(**scope, kind=kind, include_deleted=True)
        records: list[Any] = []
        started = time.perf_counter()
        with progress(len(messages), "adding", "msg", show_progress) as bar:
            for batch in batches(messages, batch_size, timestamp is not None):
                records += mem.add(batch, **scope, timestamp=timestamp, metadata=meta, kind=kind)
                bar.update(len(batch))
        added = mem.count(**scope, kind=kind, include_deleted=True) - before
    log.info("added %d new memories (%d already present) in %.2f s", added, len(records) - added,
             time.perf_counter() - started)
    if as_json:
        print_json([r.model_dump(mode="json") for r in records])
        return
    present = len(records) - added
    out.print(records_table(records, title=f"added {added}" + (f", {present} already present" if present > 0 else "")))


def batches(messages: list[Any], size: int, shared_time: bool) -> list[list[Any]]:
    """``messages`` in runs of ``size``. Identical messages said at the same time stay in one
    run: ``Memory.add`` tells them apart by their position within one call."""
    if len(messages) <= size:
        return [messages]
    seen: set[tuple[Any, ...]] = set()
    for m in messages:
        if m.id is None and (m.timestamp is not None or shared_time):
            key = (m.role, m.name, m.content, m.timestamp)
            if key in seen:
                log.info("identical messages at the same time: adding them in one transaction")
                return [messages]
            seen.add(key)
    return [messages[i : i + size] for i in range(0, len(messages), size)]


@command("update")
def update(
    memory_id: str = typer.Argument(..., help="Memory id."),
    content: Optional[str] = typer.Option(None, "--content", "-c", help="New content."),
    metadata: Optional[str] = typer.Option(None, "--metadata", "-m", help="JSON object merged into metadata (null removes a key)."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (kept in history)."),
    importance: Optional[float] = typer.Option(None, "--importance", min=0.0, max=1.0, help="0..1"),
    tags: Optional[str] = typer.Option(None, "--tags", help="Comma-separated tags (replaces them)."),
    context_line: Optional[str] = typer.Option(None, "--context", help="One-line context of the memory."),
    event_time: Optional[str] = typer.Option(None, "--event-time", help="When it happened."),
    valid_from: Optional[str] = typer.Option(None, "--valid-from", help="Start of validity."),
    valid_to: Optional[str] = typer.Option(None, "--valid-to", help="End of validity (the fact stopped being true); not before --valid-from."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Change a memory; the old version stays in history."""
    meta = inputs.json_arg(metadata, "--metadata", object_only=True)
    inputs.time_order(event_time, None, "--event-time", "--event-time")
    inputs.time_order(valid_from, valid_to, "--valid-from", "--valid-to")
    if importance is not None and importance != importance:
        raise InvalidInputError("--importance must be a number from 0 to 1")
    fields: dict[str, Any] = {
        "importance": importance, "context": context_line, "event_time": event_time,
        "valid_from": valid_from, "valid_to": valid_to,
        "tags": [t.strip() for t in tags.split(",") if t.strip()] if tags is not None else None,
    }
    with open_memory(path, tenant) as mem:
        record = mem.update(
            memory_id, content=content, metadata=meta, reason=reason,
            **{k: v for k, v in fields.items() if v is not None},
        )
    if as_json:
        print_json(record.model_dump(mode="json"))
    else:
        out.print(f"updated {record.id} to version {record.version}")


@command("delete")
def delete(
    memory_id: str = typer.Argument(..., help="Memory id."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (kept in history)."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Soft-delete a memory (kept in history)."""
    with open_memory(path, tenant) as mem:
        record = mem.delete(memory_id, reason=reason)
    if as_json:
        print_json(record.model_dump(mode="json"))
    else:
        out.print(f"deleted {record.id}")


@command("purge")
def purge(
    user_id: str = typer.Option(..., "--user-id", "-u", help="The user to erase."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Erase everything about a user, history included. Irreversible."""
    with open_memory(path, tenant) as mem:
        if not yes and not typer.confirm(f"Erase all memories of {user_id!r}, with their history? This cannot be undone"):
            raise typer.Exit(1)
        n = mem.purge(user_id=user_id)
    if as_json:
        print_json({"user_id": user_id, "purged": n})
    else:
        out.print(f"purged {n} memories of {user_id}")
