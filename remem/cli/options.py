"""Options shared by several subcommands, each with its help text and bounds."""

from __future__ import annotations

import typer

MAX_LIMIT = 10_000  # remem.memory.MAX_LIMIT (not imported: `remem --help` stays fast)
MAX_OFFSET = 2**63 - 1

PathOpt = typer.Option(
    None, "--path", envvar="REMEM_PATH",
    help="Store file (default: remem's data dir), or a postgresql:// URL. Read commands need an existing store.",
)
UserOpt = typer.Option(None, "--user-id", "-u", help="Scope: the user the memories are about.")
AgentOpt = typer.Option(None, "--agent-id", "-a", help="Scope: the agent.")
SessionOpt = typer.Option(None, "--session-id", "-s", help="Scope: the session / conversation.")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
TenantOpt = typer.Option("default", "--tenant", envvar="REMEM_TENANT", help="Tenant whose memories to use.")
NowOpt = typer.Option(None, "--now", help="Reference time for 'last week' etc. and for strength (default: now).")
AsOfOpt = typer.Option(None, "--as-of", help="Only facts valid at that time (default: currently valid).")
KindOpt = typer.Option(None, "--kind", "-k", help="Only this kind: episodic | semantic | procedural | profile | summary.")
FilterOpt = typer.Option([], "--filter", help="key=value (repeatable): kind, role, speaker or a metadata key; JSON values allowed.")
IncludeDeletedOpt = typer.Option(False, "--include-deleted", help="Count/show soft-deleted memories too.")
ProgressOpt = typer.Option(
    None, "--progress/--no-progress",
    help="Progress bar on stderr (default: on a terminal, or for 1,000+ items).", show_default=False,
)


def limit_option(default: int, help: str) -> typer.models.OptionInfo:
    return typer.Option(default, "--limit", "-n", min=1, max=MAX_LIMIT, help=help)
