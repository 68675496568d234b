"""The ``remem`` command line: one subcommand per ``Memory`` method.

The store is chosen with ``--path`` (or ``REMEM_PATH``) on every subcommand; scope
with ``--user-id``, ``--agent-id``, ``--session-id``. Tables by default, ``--json``
for scripts. Errors are one line on stderr (``Error: ...``) with exit code 1, or 2
for bad usage (see :mod:`remem.cli.app`).

The subcommands live by job: :mod:`~remem.cli.write_cmds` (add, update, delete, purge),
:mod:`~remem.cli.read_cmds` (search, context, get, list, count, history),
:mod:`~remem.cli.io_cmds` (export, import, stats, migrate), :mod:`~remem.cli.maint_cmds` (maintain,
archive, restore, audit, rollback) and :mod:`~remem.cli.demo`.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

import typer

from remem._version import __version__
from remem.cli import demo, io_cmds, maint_cmds, procedural_cmds, read_cmds, write_cmds  # noqa: F401 - registers them
from remem.cli.app import app, check_text_args

_log_handler: logging.Handler | None = None


def configure_logging(verbosity: int) -> Callable[[], None]:
    """Log the ``remem`` loggers to stderr: warnings always, INFO with -v, DEBUG with -vv.
    Returns the function that undoes it (run when the command ends)."""
    global _log_handler
    logger = logging.getLogger("remem")
    if _log_handler is not None:
        logger.removeHandler(_log_handler)
    previous = logger.level
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = _log_handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)

    def undo() -> None:
        global _log_handler
        logger.removeHandler(handler)
        logger.setLevel(previous)
        if _log_handler is handler:
            _log_handler = None

    return undo


def _tolerant_output() -> None:
    """Text that the terminal cannot encode is escaped instead of crashing the command."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream that cannot change mid-way keeps its settings
                pass


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, show_default=False,
                                help="Log what remem does to stderr (-v: steps, -vv: debug details and tracebacks)."),
) -> None:
    """Long-term memory for LLM agents: add, search and manage memories in one local file."""
    _tolerant_output()
    ctx.call_on_close(configure_logging(verbose))
    if version:
        typer.echo(f"remem {__version__}")
        raise typer.Exit(0)


def _mount_layers() -> None:
    """Sub-commands that live with their layer: evaluation and the server side."""
    from remem.eval.cli import eval_app
    from remem.server.cli import keys_app, mcp, serve

    app.add_typer(eval_app, name="eval", help="Benchmarks: LoCoMo, LongMemEval, MADial-Bench, HaluMem.")
    app.command("serve", help="Run the REST API, MCP endpoint and dashboard.")(check_text_args(serve))
    app.command("mcp", help="Run the MCP server over stdio (for desktop agents and IDEs).")(check_text_args(mcp))
    app.add_typer(keys_app, name="keys", help="Manage API keys for the server.")


_mount_layers()

__all__ = ["app", "configure_logging", "main"]
