"""The ``remem`` command line: one subcommand per ``Memory`` method.

The store is chosen with ``--path`` (or ``REMEM_PATH``) on every subcommand; scope
with ``--user-id``, ``--agent-id``, ``--session-id``. Tables by default, ``--json``
for scripts. Errors go to stderr with a non-zero exit code.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from remem._version import __version__
from remem.errors import InvalidInputError, RememError

app = typer.Typer(
    name="remem",
    help="Long-term memory for LLM agents: add, search and manage memories in one local file.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
out = Console()
err = Console(stderr=True)

PathOpt = typer.Option(None, "--path", envvar="REMEM_PATH", help="Store file (default: remem's data dir), or a postgresql:// URL.")
UserOpt = typer.Option(None, "--user-id", "-u", help="Scope: the user the memories are about.")
AgentOpt = typer.Option(None, "--agent-id", "-a", help="Scope: the agent.")
SessionOpt = typer.Option(None, "--session-id", "-s", help="Scope: the session / conversation.")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
TenantOpt = typer.Option("default", "--tenant", envvar="REMEM_TENANT", help="Tenant whose memories to use.")
NowOpt = typer.Option(None, "--now", help="Reference time for 'last week' etc. and for strength (default: now).")
AsOfOpt = typer.Option(None, "--as-of", help="Only facts valid at that time (default: currently valid).")


def _handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn remem errors into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RememError as exc:
            typer.secho(f"Error ({exc.code}): {exc}", err=True, fg="red")
            raise typer.Exit(1) from None

    return wrapper


def command(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        return app.command(*args, **kwargs)(_handle_errors(fn))

    return register


def _memory(path: Optional[str], tenant: str = "default") -> Any:
    from remem.memory import Memory

    return Memory(path, tenant=tenant) if path else Memory(tenant=tenant)


def _json_arg(text: Optional[str], name: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{name} is not valid JSON: {exc}") from None


def _filters(items: list[str]) -> dict[str, Any] | None:
    """``key=value`` pairs; the value is parsed as JSON when it can be."""
    if not items:
        return None
    filters: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(f"--filter expects key=value, got {item!r}")
        try:
            filters[key] = json.loads(value)
        except json.JSONDecodeError:
            filters[key] = value
    return filters


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _records_table(records: list[Any], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for col in ("id", "when", "kind", "who", "content"):
        table.add_column(col, overflow="fold", max_width=None if col == "content" else 34)
    for r in records:
        when = r.event_time.strftime("%Y-%m-%d %H:%M") if r.event_time else ""
        who = r.speaker or r.role or ""
        content = r.content + (" [dim](deleted)[/dim]" if r.is_deleted else "")
        table.add_row(r.id, when, r.kind.value, who, content)
    return table


# -- commands ------------------------------------------------------------------------
@command("add")
def add(
    content: Optional[list[str]] = typer.Argument(None, help="Message text(s); each becomes one memory."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="A JSON list of messages, or JSON Lines ('-' reads stdin)."),
    role: str = typer.Option("user", "--role", help="Role of the text arguments."),
    name: Optional[str] = typer.Option(None, "--name", help="Speaker name of the text arguments."),
    timestamp: Optional[str] = typer.Option(None, "--timestamp", "-t", help="When it was said (ISO, epoch or e.g. '8 May 2023 1:56 pm')."),
    metadata: Optional[str] = typer.Option(None, "--metadata", "-m", help="JSON object attached to every memory."),
    kind: str = typer.Option("episodic", "--kind", "-k", help="episodic | semantic | procedural | profile | summary"),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add messages as memories."""
    messages: list[dict[str, Any]] = [{"role": role, "content": c, **({"name": name} if name else {})} for c in content or []]
    if file is not None:
        messages.extend(_read_messages(file))
    if not messages:
        raise InvalidInputError("nothing to add: give text arguments or --file")
    with _memory(path, tenant) as mem:
        records = mem.add(
            messages, user_id=user_id, agent_id=agent_id, session_id=session_id,
            timestamp=timestamp, metadata=_json_arg(metadata, "--metadata"), kind=kind,
        )
    if as_json:
        _print_json([r.model_dump(mode="json") for r in records])
    else:
        out.print(_records_table(records, title=f"added {len(records)}"))


def _read_messages(file: Path) -> list[dict[str, Any]]:
    text = sys.stdin.read() if str(file) == "-" else _read_text(file)
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{file}: neither JSON nor JSON Lines ({exc})") from None
    return data if isinstance(data, list) else [data]


def _read_text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror}") from None


@command("search")
def search(
    query: str = typer.Argument(..., help="What to look for."),
    limit: int = typer.Option(10, "--limit", "-n", help="How many results."),
    filter_: list[str] = typer.Option([], "--filter", help="key=value (repeatable): kind, role, speaker or a metadata key."),
    kind: Optional[str] = typer.Option(None, "--kind", "-k", help="Only this kind."),
    since: Optional[str] = typer.Option(None, "--since", help="event_time lower bound."),
    until: Optional[str] = typer.Option(None, "--until", help="event_time upper bound."),
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
    with _memory(path, tenant) as mem:
        hits = mem.search(
            query, user_id=user_id, agent_id=agent_id, session_id=session_id, limit=limit,
            filters=_filters(filter_), kind=kind, mode=mode,
            time_range=(since, until) if since or until else None, now=now, as_of=as_of, threshold=threshold,
        )
    if as_json:
        _print_json([h.model_dump(mode="json") for h in hits])
        return
    table = Table(title=f"{len(hits)} results for {query!r}")
    for col in ("score", "when", "who", "content", *(["why"] if explain else [])):
        table.add_column(col, overflow="fold")
    for h in hits:
        r = h.memory
        why = {k: v for k, v in h.explanation.items() if isinstance(v, dict)}
        row = [f"{h.score:.4f}", r.event_time.strftime("%Y-%m-%d") if r.event_time else "", r.speaker or r.role or "", r.content]
        table.add_row(*row, *([json.dumps(why)] if explain else []))
    out.print(table)


@command("context")
def context(
    query: str = typer.Argument(..., help="What the prompt is about."),
    token_budget: int = typer.Option(2000, "--token-budget", "-b", help="Maximum tokens of context."),
    filter_: list[str] = typer.Option([], "--filter", help="key=value (repeatable)."),
    kind: Optional[str] = typer.Option(None, "--kind", "-k", help="Only this kind."),
    neighbors: int = typer.Option(1, "--neighbors", help="Adjacent turns added around each hit."),
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
    with _memory(path, tenant) as mem:
        ctx = mem.context(
            query, user_id=user_id, agent_id=agent_id, session_id=session_id, token_budget=token_budget,
            filters=_filters(filter_), kind=kind, neighbors=neighbors, now=now, as_of=as_of,
        )
    if as_json:
        _print_json(ctx.model_dump(mode="json"))
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
    with _memory(path, tenant) as mem:
        record = mem.get(memory_id)
    if as_json:
        _print_json(record.model_dump(mode="json"))
        return
    table = Table(show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in record.model_dump(mode="json").items():
        table.add_row(key, json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value))
    out.print(table)


@command("list")
def list_(
    limit: int = typer.Option(100, "--limit", "-n"),
    offset: int = typer.Option(0, "--offset"),
    kind: Optional[str] = typer.Option(None, "--kind", "-k"),
    filter_: list[str] = typer.Option([], "--filter", help="key=value (repeatable)."),
    include_deleted: bool = typer.Option(False, "--include-deleted", help="Show soft-deleted memories too."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """List memories in scope, newest first."""
    with _memory(path, tenant) as mem:
        records = mem.get_all(
            user_id=user_id, agent_id=agent_id, session_id=session_id, kind=kind, filters=_filters(filter_),
            limit=limit, offset=offset, include_deleted=include_deleted,
        )
    if as_json:
        _print_json([r.model_dump(mode="json") for r in records])
    else:
        out.print(_records_table(records, title=f"{len(records)} memories"))


@command("count")
def count(
    kind: Optional[str] = typer.Option(None, "--kind", "-k"),
    filter_: list[str] = typer.Option([], "--filter", help="key=value (repeatable)."),
    include_deleted: bool = typer.Option(False, "--include-deleted"),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    agent_id: Optional[str] = AgentOpt,
    session_id: Optional[str] = SessionOpt,
    as_json: bool = JsonOpt,
) -> None:
    """How many memories are in scope."""
    with _memory(path, tenant) as mem:
        n = mem.count(
            user_id=user_id, agent_id=agent_id, session_id=session_id, kind=kind,
            filters=_filters(filter_), include_deleted=include_deleted,
        )
    if as_json:
        _print_json({"count": n})
    else:
        out.print(n)


@command("update")
def update(
    memory_id: str = typer.Argument(...),
    content: Optional[str] = typer.Option(None, "--content", "-c", help="New content."),
    metadata: Optional[str] = typer.Option(None, "--metadata", "-m", help="JSON object merged into metadata (null removes a key)."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why (kept in history)."),
    importance: Optional[float] = typer.Option(None, "--importance", help="0..1"),
    tags: Optional[str] = typer.Option(None, "--tags", help="Comma-separated tags (replaces them)."),
    context_line: Optional[str] = typer.Option(None, "--context", help="One-line context of the memory."),
    event_time: Optional[str] = typer.Option(None, "--event-time", help="When it happened."),
    valid_from: Optional[str] = typer.Option(None, "--valid-from", help="Start of validity."),
    valid_to: Optional[str] = typer.Option(None, "--valid-to", help="End of validity (the fact stopped being true)."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Change a memory; the old version stays in history."""
    fields: dict[str, Any] = {
        "importance": importance, "context": context_line, "event_time": event_time,
        "valid_from": valid_from, "valid_to": valid_to,
        "tags": [t.strip() for t in tags.split(",") if t.strip()] if tags is not None else None,
    }
    with _memory(path, tenant) as mem:
        record = mem.update(
            memory_id, content=content, metadata=_json_arg(metadata, "--metadata"), reason=reason,
            **{k: v for k, v in fields.items() if v is not None},
        )
    if as_json:
        _print_json(record.model_dump(mode="json"))
    else:
        out.print(f"updated {record.id} to version {record.version}")


@command("delete")
def delete(
    memory_id: str = typer.Argument(...),
    reason: Optional[str] = typer.Option(None, "--reason"),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Soft-delete a memory (kept in history)."""
    with _memory(path, tenant) as mem:
        record = mem.delete(memory_id, reason=reason)
    if as_json:
        _print_json(record.model_dump(mode="json"))
    else:
        out.print(f"deleted {record.id}")


@command("history")
def history(
    memory_id: str = typer.Argument(...),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Every version of a memory: what changed, when, why."""
    with _memory(path, tenant) as mem:
        entries = mem.history(memory_id)
    if as_json:
        _print_json([e.model_dump(mode="json") for e in entries])
        return
    table = Table(title=f"history of {memory_id}")
    for col in ("v", "op", "when", "changed", "reason", "content"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            str(e.version), e.op.value, e.changed_at.strftime("%Y-%m-%d %H:%M:%S"),
            ", ".join(e.changed_fields), e.reason or "", e.record.content,
        )
    out.print(table)


@command("purge")
def purge(
    user_id: str = typer.Option(..., "--user-id", "-u", help="The user to erase."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Erase everything about a user, history included. Irreversible."""
    if not yes and not typer.confirm(f"Erase all memories of {user_id!r}, with their history? This cannot be undone"):
        raise typer.Exit(1)
    with _memory(path, tenant) as mem:
        n = mem.purge(user_id=user_id)
    if as_json:
        _print_json({"user_id": user_id, "purged": n})
    else:
        out.print(f"purged {n} memories of {user_id}")


@command("export")
def export(
    file: str = typer.Argument("-", help="Output JSON Lines file ('-' for stdout)."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
) -> None:
    """Export memories with history and vectors as JSON Lines (lossless)."""
    with _memory(path, tenant) as mem:
        if file == "-":
            n = mem.export_file(sys.stdout, user_id=user_id)
        else:
            n = mem.export_file(file, user_id=user_id)
    err.print(f"exported {n} memories")


@command("import")
def import_(
    file: Path = typer.Argument(..., help="A JSON Lines file made by 'remem export'."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import an export file (existing ids are skipped). Shows a progress bar."""
    from tqdm import tqdm

    from remem.memory import _read_jsonl

    with open(_existing(file), encoding="utf-8") as fh:
        items = list(_read_jsonl(fh))
    with _memory(path, tenant) as mem:
        added, skipped = mem.import_(tqdm(items, desc="importing", unit="mem", disable=not sys.stderr.isatty() and len(items) < 1000))
    if as_json:
        _print_json({"imported": added, "skipped": skipped})
    else:
        out.print(f"imported {added}, skipped {skipped} already present")


def _existing(file: Path) -> Path:
    if not file.is_file():
        raise InvalidInputError(f"no such file: {file}")
    return file


@command("stats")
def stats(path: Optional[str] = PathOpt, tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """Counts, size on disk and the embedding model of a store."""
    with _memory(path, tenant) as mem:
        data = mem.stats()
    if as_json:
        _print_json(data)
        return
    table = Table(show_header=False, title="remem store")
    table.add_column("key", style="bold")
    table.add_column("value")
    for key, value in data.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    out.print(table)


@command("demo")
def demo(path: Optional[str] = PathOpt, tenant: str = TenantOpt) -> None:
    """Ingest a small bundled conversation and run a few searches against it."""
    data = json.loads(resources.files("remem.data").joinpath("demo_conversation.json").read_text())
    with _memory(path, tenant) as mem:
        out.print(f"[bold]remem {__version__}[/bold] store: {mem.stats()['path']}")
        n = 0
        for session in data["sessions"]:
            n += len(mem.add(session["messages"], user_id=data["user_id"], session_id=session["session_id"], timestamp=session["timestamp"]))
        out.print(f"ingested {n} turns for user {data['user_id']!r} (re-running adds nothing new)\n")
        for query in data["queries"]:
            hits = mem.search(query, user_id=data["user_id"], limit=3)
            table = Table(title=query, title_justify="left", show_header=False, box=None, padding=(0, 1))
            table.add_column("score", style="dim")
            table.add_column("when", style="cyan")
            table.add_column("content")
            for h in hits:
                table.add_row(f"{h.score:.3f}", h.memory.event_time.strftime("%Y-%m-%d") if h.memory.event_time else "", h.memory.content)
            out.print(table)
            out.print()


@app.callback(invoke_without_command=True)
def main(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what remem does (to stderr)."),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if version:
        out.print(f"remem {__version__}")
        raise typer.Exit(0)


@command("migrate")
def migrate(
    source: str = typer.Option(..., "--from", help="Source store: sqlite:PATH, a path, or postgresql://…"),
    target: str = typer.Option(..., "--to", help="Target store: postgresql://…, sqlite:PATH or a path."),
    as_json: bool = JsonOpt,
) -> None:
    """Copy a whole store (every tenant, history, vectors, API keys) to another backend."""
    from remem.store.migrate import migrate as copy_store

    summary = copy_store(source, target, progress=not as_json)
    if as_json:
        _print_json(summary)
    else:
        out.print(summary)


def _mount_layers() -> None:
    """Sub-commands that live with their layer: evaluation and the server side."""
    from remem.eval.cli import eval_app
    from remem.server.cli import keys_app, mcp, serve

    app.add_typer(eval_app, name="eval", help="Benchmarks: LoCoMo, LongMemEval, HaluMem.")
    app.command("serve", help="Run the REST API, MCP endpoint and dashboard.")(serve)
    app.command("mcp", help="Run the MCP server over stdio (for desktop agents and IDEs).")(mcp)
    app.add_typer(keys_app, name="keys", help="Manage API keys for the server.")


_mount_layers()
