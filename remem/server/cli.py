"""Command-line entry points for the server side, mounted by ``remem.cli.main``:
``remem serve``, ``remem mcp`` and ``remem keys create|list|revoke``.

Also runnable alone: ``python -m remem.server serve --path memory.db``. Errors end as
one line on stderr (see :mod:`remem.cli.app`).
"""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from remem.cli.app import RememGroup, usage
from remem.cli.store import check_location, shown
from remem.errors import InvalidInputError

PathOpt = typer.Option(
    None, "--path", "--store", envvar="REMEM_PATH",
    help="Store file (default: remem's data dir), or a store URL: postgresql://… or sqlite:PATH.",
)
QUIET_LEVELS = {"warning", "error", "critical"}


def _location(path: Optional[str]) -> str:
    from remem.memory import default_path

    return path or str(default_path())


def _need_extra() -> None:
    """Exit with a clear message when the ``server`` extra is not installed."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn", "mcp", "jinja2", "multipart") if importlib.util.find_spec(m) is None]
    if missing:
        typer.secho(f"Error: this needs the server extra (missing {', '.join(missing)}): "
                    'pip install "remem[server]"', err=True, fg=typer.colors.RED)
        raise typer.Exit(2)


def _say(message: str, *, warning: bool = False) -> None:
    """One startup line on stderr, styled like uvicorn's own log."""
    if warning:
        typer.secho(f"WARNING:  {message}", err=True, fg=typer.colors.YELLOW)
    else:
        typer.echo(f"INFO:     {message}", err=True)


def _live_keys(location: str) -> list[dict[str, Any]]:
    """The store's keys that are not revoked (opening the store creates it if new)."""
    from remem.server.auth import list_keys
    from remem.store import open_store

    s = open_store(location)
    try:
        return [k for k in list_keys(s) if not k.get("revoked_at")]
    finally:
        s.close()


def announce(location: str, host: str, port: int, auth: bool, keys: list[dict[str, Any]], quiet: bool = False) -> None:
    """Say which store is served, how requests are authenticated, and who can get in."""
    where = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    if not quiet:
        _say(f"remem store: {shown(location)}")
        if auth:
            tenants = sorted({k["tenant"] for k in keys})
            _say(f"auth: API keys ({len(keys)} live, for tenant(s) {', '.join(tenants)})" if keys else "auth: API keys (none yet)")
        else:
            _say("auth: none (--no-auth): every request acts as tenant 'default'")
        _say(f"REST {where}/v1 · docs {where}/docs · MCP {where}/mcp · dashboard {where}/")
    if auth and not keys:
        _say(f"no API keys in this store: every request will be refused (401) until you create one with "
             f"`remem keys create --tenant NAME --path {shown(location)}`", warning=True)
    if not auth:
        _say(f"authentication is off: any user or program on this machine that can connect to {host}:{port} "
             "can read, change and delete every memory of tenant 'default' (other machines are refused)", warning=True)


def serve(
    path: Optional[str] = PathOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="TCP port."),
    no_auth: bool = typer.Option(False, "--no-auth", help="No API keys: everything is tenant 'default' (loopback only)."),
    cors_origin: list[str] = typer.Option([], "--cors-origin", help="Allow this browser origin (repeatable). Off by default."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    max_body_mb: float = typer.Option(4.0, "--max-body-mb", min=0.01, max=1024.0, help="Largest request body, in MiB."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level: critical | error | warning | info | debug | trace."),
    maintain_every: Optional[float] = typer.Option(
        None, "--maintain-every", min=0.01, help="Run maintenance (forgetting, consolidation) on every tenant each this many hours."),
) -> None:
    """Serve the REST API (/v1, docs at /docs), MCP over HTTP (/mcp) and the dashboard (/)."""
    _need_extra()
    from remem.server.app import check_bind, run_server

    try:
        check_bind(host, not no_auth)
    except InvalidInputError as exc:
        raise usage(str(exc)) from None
    location = _location(path)
    check_location(location, create=True, explicit=bool(path))
    announce(location, host, port, not no_auth, _live_keys(location), quiet=log_level.lower() in QUIET_LEVELS)
    run_server(
        location, host=host, port=port, auth=not no_auth, cors_origins=cors_origin or None,
        workers=workers, max_body_bytes=int(max_body_mb * 1024 * 1024), log_level=log_level,
        maintain_every=maintain_every,
    )


def mcp(
    path: Optional[str] = PathOpt,
    tenant: str = typer.Option("default", "--tenant", help="Tenant whose memories the tools act on."),
) -> None:
    """Run the MCP server over stdio (for desktop agents and IDEs)."""
    _need_extra()
    from remem.memory import Memory
    from remem.server.auth import check_tenant
    from remem.server.mcp_server import build_mcp

    location = _location(path)
    check_location(location, create=True, explicit=bool(path))
    memory = Memory(location, tenant=check_tenant(tenant))
    build_mcp(lambda _tenant: memory).run("stdio")


keys_app = typer.Typer(help="Manage API keys (stored hashed; each key is bound to one tenant).", no_args_is_help=True,
                       rich_markup_mode=None)


def _open(path: Optional[str], *, create: bool = False) -> Any:
    from remem.store import open_store

    location = _location(path)
    check_location(location, create=create, explicit=bool(path))
    return open_store(location)


@keys_app.command("create")
def keys_create(
    tenant: str = typer.Option(..., "--tenant", help="Tenant the key acts for."),
    name: Optional[str] = typer.Option(None, "--name", help="A label to recognise the key by (recorded in the audit log)."),
    admin: bool = typer.Option(False, "--admin", help="The key may also run maintenance and rollback."),
    path: Optional[str] = PathOpt,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from remem.server.auth import create_key

    s = _open(path, create=True)
    try:
        key = create_key(s, tenant, name, admin=admin)
    finally:
        s.close()
    typer.echo(key)
    typer.secho(f"API key for tenant {tenant!r} created. It will not be shown again.", err=True, fg=typer.colors.GREEN)


@keys_app.command("list")
def keys_list(
    path: Optional[str] = PathOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List keys (id, tenant, name, created, revoked); never the keys themselves."""
    from remem.server.auth import list_keys

    s = _open(path)
    try:
        keys = [{k: v for k, v in item.items() if k != "key_hash"} for item in list_keys(s)]
    finally:
        s.close()
    if as_json:
        typer.echo(json.dumps(keys, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    table.add_column("id", no_wrap=True)
    for col in ("tenant", "name", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        table.add_row(k["id"], k["tenant"], k["name"] or "", str(k["created_at"] or ""), str(k["revoked_at"] or ""))
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    key: str = typer.Argument(..., help="The key itself, or its id from `remem keys list`."),
    path: Optional[str] = PathOpt,
) -> None:
    """Revoke a key; requests with it fail from now on."""
    from remem.server.auth import revoke_key

    s = _open(path)
    try:
        done = revoke_key(s, key)
    finally:
        s.close()
    if not done:
        typer.secho("Error: no such live key", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo("revoked")


app = typer.Typer(cls=RememGroup, help="remem server side: REST API, MCP and dashboard.", no_args_is_help=True, add_completion=False,
                  rich_markup_mode=None, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]})
app.command("serve")(serve)
app.command("mcp")(mcp)
app.add_typer(keys_app, name="keys")
