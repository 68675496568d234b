"""The ``remem`` Typer app and the one place where errors become a one-line message.

Exit codes: 0 success; 1 an error remem, the store or the file system reported
(``Error: ... [code]``); 2 bad usage or input (unknown option, a value out of range,
invalid JSON, text that is not UTF-8...). A Python traceback is never shown unless
``-vv`` asks for it (then it is logged at DEBUG).
"""

from __future__ import annotations

import functools
import inspect
import logging
import sqlite3
from typing import Any, Callable

import typer
from typer.core import TyperGroup
from typer.models import ArgumentInfo, OptionInfo

from remem.errors import RememError

log = logging.getLogger("remem.cli")

USAGE = 2
FAILURE = 1
MAX_MESSAGE = 1000
# Parameters that name files: a non-UTF-8 file name is still a valid name on POSIX.
PATH_PARAMS = frozenset({"path", "file", "source", "target", "data", "out", "cache_dir"})


def one_line(text: str) -> str:
    """``text`` on one printable line: no newlines, lone surrogates escaped, bounded length."""
    flat = " ".join(str(text).split())
    flat = flat.encode("utf-8", "backslashreplace").decode("utf-8")
    return flat if len(flat) <= MAX_MESSAGE else flat[: MAX_MESSAGE - 1] + "…"


def error_line(exc: BaseException) -> tuple[str, int]:
    """The message and exit code for an error that ended a command."""
    if isinstance(exc, RememError):
        return f"{one_line(str(exc))} [{exc.code}]", FAILURE
    if isinstance(exc, OSError):
        name = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{name}{exc.strerror or exc}"), FAILURE
    if isinstance(exc, sqlite3.Error):
        return one_line(f"the store failed: {exc}") + " [store_error]", FAILURE
    if isinstance(exc, RecursionError):
        return "input is nested too deeply", USAGE
    if isinstance(exc, UnicodeError):
        return one_line(f"not valid UTF-8 text: {exc}"), USAGE
    if isinstance(exc, (ValueError, OverflowError)):
        return one_line(str(exc) or type(exc).__name__), USAGE
    return one_line(f"unexpected {type(exc).__name__}: {exc} (a bug in remem; -vv shows the traceback)"), FAILURE


def fail(message: str, code: int = FAILURE) -> typer.Exit:
    """Print ``Error: message`` to stderr; return the Exit to raise."""
    typer.secho(f"Error: {one_line(message)}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


# click's UsageError, whichever click typer runs on (typer >= 0.2x vendors its own copy)
UsageError: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def usage(message: str) -> Exception:
    """A usage error (exit 2) that click prints after the usage line, as ``Error: message``."""
    return UsageError(one_line(message))


ORDER = ("add", "search", "context", "get", "list", "count", "update", "delete", "history", "purge",
         "export", "import", "stats", "demo", "migrate", "serve", "mcp", "keys", "eval")


class RememGroup(TyperGroup):
    """The root command group: turns any error raised by a subcommand into one line."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, UsageError, KeyboardInterrupt, EOFError, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the root catch: every error ends as one line
            if type(exc).__module__.startswith(("click", "typer")) or isinstance(exc, BrokenPipeError):
                raise  # click's own usage errors print themselves; a closed pipe (| head) ends quietly
            log.debug("command failed", exc_info=True)
            message, code = error_line(exc)
            raise fail(message, code) from None


app = typer.Typer(
    name="remem",
    cls=RememGroup,
    help="Long-term memory for LLM agents: add, search and manage memories in one local file.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help (flags shown as flags) and plain 'Error: ...' usage lines
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def check_text_args(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse text arguments that are not UTF-8 (they arrive as lone surrogates); file names may be anything."""
    labels = _labels(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for name, value in kwargs.items():
            if name in PATH_PARAMS:
                continue
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, str) and not _is_utf8(item):
                    shown = item.encode("utf-8", "surrogateescape")
                    raise usage(f"{labels.get(name, name)} is not valid UTF-8 text: {shown!r}")
        return fn(*args, **kwargs)

    return wrapper


def _labels(fn: Callable[..., Any]) -> dict[str, str]:
    """How each parameter is spelled on the command line: its long option, or its ARGUMENT name."""
    labels = {}
    for name, param in inspect.signature(fn).parameters.items():
        info = param.default
        if isinstance(info, OptionInfo):
            decls = [d for d in (info.param_decls or ()) if d.startswith("--")]
            labels[name] = decls[0].split("/")[0] if decls else name
        elif isinstance(info, ArgumentInfo):
            labels[name] = name.upper()
    return labels


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def command(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a subcommand of ``remem`` with its text arguments checked."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        app.command(*args, **kwargs)(check_text_args(fn))
        return fn

    return register
