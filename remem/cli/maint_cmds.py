"""Maintenance subcommands: maintain, archive, restore, audit, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from remem.cli import inputs
from remem.cli.app import command
from remem.cli.options import JsonOpt, PathOpt, TenantOpt, UserOpt
from remem.cli.output import out, print_json
from remem.cli.store import open_memory


@command("maintain")
def maintain(
    policy_file: Optional[Path] = typer.Option(
        None, "--policy", help="A JSON file of MaintenancePolicy fields (default: the built-in policy)."),
    policy_json: Optional[str] = typer.Option(None, "--policy-json", help="MaintenancePolicy fields as inline JSON."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would change; write nothing."),
    now: Optional[str] = typer.Option(None, "--now", help="Reference time for ages and retention (default: now)."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Forget (archive) by retention, TTL, capacity and importance; merge duplicates;
    summarise old sessions. Nothing is deleted: `remem restore ID` brings a memory back."""
    policy: Any = inputs.json_arg(policy_json, "--policy-json", object_only=True)
    if policy_file is not None:
        policy = inputs.json_arg(inputs.read_text(policy_file), "--policy", object_only=True)
    with open_memory(path, tenant) as mem:
        report = mem.maintain(user_id=user_id, policy=policy, dry_run=dry_run, now=now)
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would archive" if dry_run else "archived"
    reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.archived.items())) or "nothing"
    out.print(f"{report.users} user(s), {report.scanned} memories scanned in {report.seconds:.2f} s")
    out.print(f"{verb}: {reasons}; {report.merged_groups} duplicate group(s) merged; {report.summaries} session summary(ies)")
    out.print(f"active memories: {report.active_before} → {report.active_after}")


def _toggle(verb: str) -> Any:
    """The ``archive`` / ``restore`` command: one memory id in, the new version out."""

    def run(
        memory_id: str = typer.Argument(..., help="Memory id."),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why (kept in history and the audit log)."),
        path: Optional[str] = PathOpt,
        tenant: str = TenantOpt,
        as_json: bool = JsonOpt,
    ) -> None:
        with open_memory(path, tenant) as mem:
            record = getattr(mem, verb)(memory_id, reason=reason)
        print_json(record.model_dump(mode="json")) if as_json else out.print(f"{verb}d {record.id}")

    run.__doc__ = {
        "archive": "Take a memory out of default search and context, keeping it.",
        "restore": "Bring an archived memory back into search and context.",
    }[verb]
    run.__name__ = verb
    return run


archive = command("archive")(_toggle("archive"))
restore = command("restore")(_toggle("restore"))


@command("audit")
def audit(
    memory_id: Optional[str] = typer.Option(None, "--memory-id", help="Only this memory."),
    since: Optional[str] = typer.Option(None, "--since", help="From this time (ISO, epoch, '2 days ago')."),
    until: Optional[str] = typer.Option(None, "--until", help="Up to this time."),
    op: Optional[list[str]] = typer.Option(None, "--op", help="Only this operation (repeatable): ADD, UPDATE, ARCHIVE, ..."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=10_000, help="At most this many entries."),
    after: int = typer.Option(0, "--after", min=0, max=2**63 - 1, help="Only entries after this seq (to page)."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: Optional[str] = UserOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The append-only audit log, oldest first: what, when, who, versions."""
    inputs.time_order(since, until, "--since", "--until")
    with open_memory(path, tenant) as mem:
        entries = mem.audit(user_id=user_id, memory_id=memory_id, since=since, until=until, op=op or None,
                            limit=limit, after=after)
    if as_json:
        print_json([e.model_dump(mode="json") for e in entries])
        return
    table = Table(title=f"audit ({len(entries)})")
    for name in ("seq", "at", "op", "memory", "user", "actor", "versions", "detail"):
        table.add_column(name, overflow="fold")
    for e in entries:
        versions = f"{e.before_version or '-'}→{e.after_version or '-'}"
        detail = e.detail.get("reason") or e.detail.get("content") or ""
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.op, (e.memory_id or "")[:12], e.user_id or "",
                      e.actor or "", versions, str(detail)[:60])
    out.print(table)


@command("rollback")
def rollback(
    to: str = typer.Option(..., "--to", help="Restore the user's memories to what they were at this time."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Preview the changes; write nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Don't ask for confirmation."),
    path: Optional[str] = PathOpt,
    tenant: str = TenantOpt,
    user_id: str = typer.Option(..., "--user-id", "-u", help="The user whose memories to roll back."),
    as_json: bool = JsonOpt,
) -> None:
    """Restore a user's memories (content, validity, deletions) to a moment, as new
    versions; `remem rollback --to <undo_to>` undoes it."""
    from remem.models import parse_time

    when = parse_time(to, field="--to")  # once: "1 hour ago" must mean the same moment for preview and rollback
    with open_memory(path, tenant) as mem:
        if not dry_run and not yes:
            preview = mem.rollback(user_id=user_id, to=when, dry_run=True)
            if not typer.confirm(f"Roll back {preview.changed} memories of {user_id!r} to {preview.to.isoformat()}?"):
                raise typer.Exit(1)
        report = mem.rollback(user_id=user_id, to=when, dry_run=dry_run)
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would change" if dry_run else "changed"
    out.print(f"{verb} {report.changed} memories of {user_id} (back to {report.to.isoformat()})")
    for change in report.changes[:20]:
        out.print(f"  {change['action']:<6} {change['memory_id']}  {', '.join(change['fields'])}")
    if not dry_run:
        out.print(f"undo with: remem rollback -u {user_id} --to {report.undo_to.isoformat()}")
