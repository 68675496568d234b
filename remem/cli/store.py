"""Which store a command uses, and opening it: reads never create one.

A read command (search, list, get, count, stats, history, export, context...) on a
store file that does not exist fails with "no store at PATH" instead of silently
creating an empty store at a mistyped path. Writes (add, import) may create it, but
only in a directory that exists and is writable.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from remem.errors import StoreError

log = logging.getLogger("remem.cli")


def location(path: Optional[str]) -> str | Path:
    """``--path`` (or ``REMEM_PATH``, which typer puts there) else remem's default store."""
    if path:
        return path
    from remem.memory import default_path

    return default_path()


def sqlite_file(loc: str | Path) -> Path | None:
    """The file of an SQLite location; None for a server URL."""
    text = str(loc)
    if "://" in text:
        return None
    if text.startswith("sqlite:"):
        text = text[len("sqlite:") :]
    return Path(text).expanduser()


def shown(loc: str | Path) -> str:
    """A location fit for logs and messages: a file as an absolute path, a URL without its password."""
    text = str(loc)
    file = sqlite_file(loc)
    if file is not None:
        return str(file.absolute())
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


def check_location(loc: str | Path, *, create: bool, explicit: bool) -> None:
    """Refuse a missing store for reads, and an impossible place for a new one."""
    file = sqlite_file(loc)
    if file is None:
        return
    if file.is_dir():
        raise StoreError(f"{file} is a directory, not a store file")
    if file.exists():
        return
    if not create:
        hint = "check --path / REMEM_PATH" if explicit else "nothing has been added yet"
        raise StoreError(f"no store at {file} ({hint}; 'remem add' or 'remem import' creates one)")
    parent = file.parent
    if not parent.exists():
        if explicit:
            raise StoreError(f"cannot create a store at {file}: directory {parent} does not exist")
        return  # the default data directory is made on first use
    if not parent.is_dir():
        raise StoreError(f"cannot create a store at {file}: {parent} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise StoreError(f"cannot create a store in {parent}: {exc.strerror or exc}") from None


def open_memory(path: Optional[str], tenant: str = "default", *, create: bool = False) -> Any:
    """A :class:`remem.Memory` on the chosen store; ``create`` for commands that write."""
    loc = location(path)
    check_location(loc, create=create, explicit=bool(path))
    log.info("opening store %s (tenant %r)", shown(loc), tenant)
    started = time.perf_counter()
    from remem.memory import Memory

    mem = Memory(loc, tenant=tenant)
    log.info("store ready in %.2f s: %s, embedder %s", time.perf_counter() - started,
             type(mem.store).__name__, mem.embedder.model_name)
    return mem
