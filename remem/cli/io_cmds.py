"""Whole-store subcommands: export, import, stats, migrate."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Optional

import typer
from rich.markup import escape
from rich.table import Table

from remem.cli import inputs
from remem.cli.app import command
from remem.cli.options import JsonOpt, PathOpt, ProgressOpt, TenantOpt, UserOpt
from remem.cli.output import err, out, print_json, progress
from remem.cli.store import check_location, location, open_memory, shown, sqlite_file
from remem.errors import InvalidInputError

log = logging.getLogger("remem.cli")

IMPORT_BATCH = 500  # export items per write transaction


@command("export")
def export(
    file: str = typer.Argument("-", help="Output JSON Lines file ('-' for stdout). Written whole or not at all."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
) -> None:
    """Export memories with history and vectors as JSON Lines (lossless)."""
    target = None if file == "-" else Path(file)
    if target is not None:
        check_output(target)
    with open_memory(path, tenant) as mem:
        if target is None:
            n = mem.export_file(sys.stdout, user_id=user_id)
        else:
            n = write_atomically(target, lambda fh: mem.export_file(fh, user_id=user_id))
    log.info("exported %d memories to %s", n, file)
    err.print(f"exported {n} memories" + (f" to {escape(str(target))}" if target else ""))


def check_output(target: Path) -> None:
    """``target`` can be a new or replaced file: not a directory, in a directory that exists."""
    if target.is_dir():
        raise InvalidInputError(f"cannot export to {target}: it is a directory; give a file name")
    if not target.parent.is_dir():
        raise InvalidInputError(f"cannot export to {target}: directory {target.parent} does not exist")


def write_atomically(target: Path, write: Callable[[IO[str]], int]) -> int:
    """Write through a temporary file beside ``target`` and rename it into place, so an
    interrupted export never leaves a truncated file under the real name."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InvalidInputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            n = write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def _mode_for(target: Path) -> int:
    """The permissions ``open()`` would give: the existing file's, else 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@command("import")
def import_(
    file: Path = typer.Argument(..., help="A JSON Lines file made by 'remem export'."),
    batch_size: int = typer.Option(IMPORT_BATCH, "--batch-size", min=1, max=100_000, help="Items per write transaction."),
    show_progress: Optional[bool] = ProgressOpt,
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Import an export file; ids already present are skipped, so an interrupted import can be rerun.

    Every line is checked before anything is written; then items are written in
    transactions of --batch-size (each all or nothing), with a progress bar."""
    items = inputs.read_export(file)
    from remem.store.common import parse_export_items

    with open_memory(path, tenant, create=True) as mem:
        parse_export_items(items, dim=mem.embedder.dim)  # a bad item anywhere changes nothing
        added = skipped = 0
        with progress(len(items), "importing", "mem", show_progress) as bar:
            for start in range(0, len(items), batch_size):
                batch = items[start : start + batch_size]
                a, s = mem.import_(batch)
                added, skipped = added + a, skipped + s
                bar.update(len(batch))
    log.info("imported %d, skipped %d from %s", added, skipped, file)
    if as_json:
        print_json({"imported": added, "skipped": skipped})
    else:
        out.print(f"imported {added}, skipped {skipped} already present")


@command("stats")
def stats(path: Optional[str] = PathOpt, tenant: str = TenantOpt, as_json: bool = JsonOpt) -> None:
    """Counts, size on disk and the embedding model of a store."""
    with open_memory(path, tenant) as mem:
        data = mem.stats()
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, title="remem store")
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in data.items():
        table.add_row(key, escape(json.dumps(value) if isinstance(value, dict) else str(value)))
    out.print(table)


@command("migrate")
def migrate(
    source: str = typer.Option(..., "--from", help="Source store: sqlite:PATH, a path, or postgresql://…"),
    target: str = typer.Option(..., "--to", help="Target store: postgresql://…, sqlite:PATH or a path."),
    as_json: bool = JsonOpt,
) -> None:
    """Copy a whole store (every tenant, history, vectors, API keys) to another backend."""
    check_location(source, create=False, explicit=True)
    check_location(target, create=True, explicit=True)
    from remem.store.migrate import migrate as copy_store

    log.info("migrating %s -> %s", shown(source), shown(target))
    summary: dict[str, Any] = copy_store(source, target, progress=not as_json)
    if as_json:
        print_json(summary)
    else:
        out.print(summary)


@command("compress")
def compress(
    path: Optional[str] = PathOpt,
    batch_size: int = typer.Option(2000, "--batch-size", min=1, max=100_000, help="Vectors per transaction."),
    no_vacuum: bool = typer.Option(False, "--no-vacuum", help="Skip the final VACUUM (the file keeps its size)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build the HNSW caches of large partitions now."),
    show_progress: Optional[bool] = ProgressOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Convert an SQLite store's float32 vectors to int8 (about 4x smaller; recall@10 within a
    point), every tenant, in resumable batches; new stores are int8 already."""
    from remem.store import SQLiteStore
    from remem.store.compress import compress_vectors

    loc = location(path)
    check_location(loc, create=False, explicit=bool(path))
    file = sqlite_file(loc)
    if file is None:
        raise InvalidInputError("compress works on SQLite stores; PostgreSQL keeps pgvector's float32")
    store = SQLiteStore(file)
    try:
        counts = [store.with_tenant(t).stats() for t in store.tenants()]
        total = sum(c["memories"] + c["deleted"] + c.get("archived", 0) for c in counts)
        with progress(total, "compressing", "vec", show_progress) as bar:
            done = [0]

            def advance(converted: int) -> None:  # compress_vectors reports the running total
                bar.update(converted - done[0])
                done[0] = converted

            report = compress_vectors(store, batch_size=batch_size, vacuum=not no_vacuum, rebuild=rebuild,
                                      on_batch=advance)
    finally:
        store.close()
    if as_json:
        print_json(report)
        return
    saved = report["bytes_before"] - report["bytes_after"]
    out.print(f"converted {report['converted']:,} vectors to int8 in {report['seconds']:.1f} s; "
              f"{shown(loc)}: {report['bytes_before']:,} → {report['bytes_after']:,} bytes ({saved:,} saved)")
