"""What the CLI prints: JSON for scripts, rich tables for people, progress bars on stderr."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table

out = Console()
err = Console(stderr=True)

PROGRESS_MIN = 1000  # items: off a terminal, bars show only for jobs at least this big


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def id_column(table: Table, name: str = "id") -> None:
    """An id column that never wraps or folds: ids stay copyable in one piece."""
    table.add_column(name, no_wrap=True, overflow="ignore", min_width=32)


def records_table(records: list[Any], title: str | None = None, width: int | None = None) -> Table:
    """Memories as a table whose ids never break; below 120 columns, time, kind and
    role/speaker stack in one column so the content keeps room."""
    wide = (width or out.width) >= 120
    table = Table(title=escape(title) if title else None, show_lines=not wide)
    id_column(table)
    if wide:
        table.add_column("when", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("role", no_wrap=True)
        table.add_column("who", overflow="fold", max_width=24)
    else:
        table.add_column("when · kind · role", no_wrap=True)
    table.add_column("content", overflow="fold", ratio=1)
    for r in records:
        when = r.event_time.strftime("%Y-%m-%d %H:%M") if r.event_time else ""
        content = escape(r.content) + (" [dim](deleted)[/dim]" if r.is_deleted else "")
        role, who = escape(r.role or ""), escape(r.speaker or "")
        if wide:
            table.add_row(r.id, when, r.kind.value, role, who, content)
        else:
            speaker = f"{role} {who}".strip() if who != role else role
            table.add_row(r.id, f"{when}\n{r.kind.value}\n{speaker}", content)
    return table


@contextmanager
def progress(total: int, desc: str, unit: str, enabled: Optional[bool] = None) -> Iterator[Any]:
    """A tqdm bar on stderr; by default on a terminal, or off one for jobs of PROGRESS_MIN+ items."""
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    show = enabled if enabled is not None else (tty or total >= PROGRESS_MIN)
    bar = tqdm(total=total, desc=desc, unit=unit, disable=not show, file=sys.stderr,
               mininterval=0.1 if tty else 0, dynamic_ncols=tty, ascii=not tty)
    try:
        yield bar
    finally:
        bar.close()
