"""``remem demo``: a bundled conversation added to a throwaway store, then searched."""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from remem._version import __version__
from remem.cli.app import command
from remem.cli.output import out
from remem.cli.store import open_memory


@command("demo")
def demo(
    path: Optional[str] = typer.Option(
        None, "--path",
        help="Keep the demo in this store (default: a temporary store, deleted afterwards). REMEM_PATH is ignored.",
    ),
) -> None:
    """Add a small bundled conversation and run a few searches against it (your own store is not touched)."""
    data = json.loads(resources.files("remem.data").joinpath("demo_conversation.json").read_text(encoding="utf-8"))
    workdir = None if path else Path(tempfile.mkdtemp(prefix="remem-demo-"))
    location = path or str(workdir / "demo.db")  # type: ignore[operator]
    try:
        with open_memory(location, create=True) as mem:
            where = "a temporary store, deleted afterwards" if workdir else mem.stats()["path"]
            out.print(f"[bold]remem {__version__}[/bold] demo in {escape(str(where))}")
            _ingest(mem, data)
            for query in data["queries"]:
                out.print(_answers(mem, query, data["user_id"]))
                out.print()
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def _ingest(mem: Any, data: dict[str, Any]) -> None:
    """Add every session and say truthfully how many turns were new."""
    user = data["user_id"]
    total = sum(len(s["messages"]) for s in data["sessions"])
    before = mem.count(user_id=user, include_deleted=True)
    for session in data["sessions"]:
        mem.add(session["messages"], user_id=user, session_id=session["session_id"], timestamp=session["timestamp"])
    added = mem.count(user_id=user, include_deleted=True) - before
    if added == total:
        out.print(f"added {added} turns for user {user!r}\n")
    else:
        out.print(f"added {added} new turns for user {user!r} ({total - added} of {total} were already there)\n")


def _answers(mem: Any, query: str, user: str) -> Table:
    hits = mem.search(query, user_id=user, limit=3)
    table = Table(title=escape(query), title_justify="left", show_header=False, box=None, padding=(0, 1))
    table.add_column("score", style="dim", no_wrap=True)
    table.add_column("when", style="cyan", no_wrap=True)
    table.add_column("content")
    for h in hits:
        when = h.memory.event_time.strftime("%Y-%m-%d") if h.memory.event_time else ""
        table.add_row(f"{h.score:.3f}", when, escape(h.memory.content))
    return table
