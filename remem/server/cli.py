"""Command-line entry points for the server side, mounted by ``remem.cli.main``:
``remem serve``, ``remem mcp`` and ``remem keys create|list|revoke``.

Also runnable alone: ``python -m remem.server serve --path memory.db``.
"""

from __future__ import annotations

import json
from typing import Optional

import typer

from remem.errors import RememError

PathOpt = typer.Option(
    None, "--path", "--store", envvar="REMEM_PATH",
    help="Store file (default: remem's data dir), or a store URL: postgresql://… or sqlite:PATH.",
)


def _location(path: Optional[str]) -> str:
    from remem.memory import default_path

    return path or str(default_path())


def _need_extra() -> None:
    """Exit with a clear message when the ``server`` extra is not installed."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn", "mcp", "jinja2", "multipart") if importlib.util.find_spec(m) is None]
    if missing:
        typer.secho(f"error: this needs the server extra (missing {', '.join(missing)}): "
                    'pip install "remem[server]"', err=True, fg=typer.colors.RED)
        raise typer.Exit(2)


def _fail(exc: RememError) -> None:
    typer.secho(f"error ({exc.code}): {exc}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def serve(
    path: Optional[str] = PathOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind."),
    port: int = typer.Option(8080, "--port", help="TCP port."),
    no_auth: bool = typer.Option(False, "--no-auth", help="No API keys: everything is tenant 'default' (loopback only)."),
    cors_origin: list[str] = typer.Option([], "--cors-origin", help="Allow this browser origin (repeatable). Off by default."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    max_body_mb: float = typer.Option(4.0, "--max-body-mb", min=0.01, help="Largest request body, in MiB."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the REST API (/v1, docs at /docs), MCP over HTTP (/mcp) and the dashboard (/)."""
    _need_extra()
    from remem.server.app import run_server

    try:
        run_server(
            _location(path), host=host, port=port, auth=not no_auth, cors_origins=cors_origin or None,
            workers=workers, max_body_bytes=int(max_body_mb * 1024 * 1024), log_level=log_level,
        )
    except RememError as exc:
        _fail(exc)


def mcp(
    path: Optional[str] = PathOpt,
    tenant: str = typer.Option("default", "--tenant", help="Tenant whose memories the tools act on."),
) -> None:
    """Run the MCP server over stdio (for desktop agents and IDEs)."""
    _need_extra()
    from remem.memory import Memory
    from remem.server.auth import check_tenant
    from remem.server.mcp_server import build_mcp

    try:
        memory = Memory(_location(path), tenant=check_tenant(tenant))
    except RememError as exc:
        _fail(exc)
    build_mcp(lambda _tenant: memory).run("stdio")


keys_app = typer.Typer(help="Manage API keys (stored hashed; each key is bound to one tenant).", no_args_is_help=True)


def _open(path: Optional[str]):
    from remem.store import open_store

    return open_store(_location(path))


@keys_app.command("create")
def keys_create(
    tenant: str = typer.Option(..., "--tenant", help="Tenant the key acts for."),
    name: Optional[str] = typer.Option(None, "--name", help="A label to recognise the key by."),
    path: Optional[str] = PathOpt,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from remem.server.auth import create_key

    s = _open(path)
    try:
        key = create_key(s, tenant, name)
    except RememError as exc:
        _fail(exc)
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

    table = Table("id", "tenant", "name", "created", "revoked")
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
    except RememError as exc:
        _fail(exc)
    finally:
        s.close()
    if not done:
        typer.secho("no such live key", err=True, fg=typer.colors.RED)
        raise typer.Exit(1)
    typer.echo("revoked")


app = typer.Typer(help="remem server side: REST API, MCP and dashboard.", no_args_is_help=True)
app.command("serve")(serve)
app.command("mcp")(mcp)
app.add_typer(keys_app, name="keys")
