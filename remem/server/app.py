"""The ASGI app: REST API (``/v1``), MCP (``/mcp``), dashboard (``/``), health probes."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from remem._version import __version__
from remem.embed import Embedder
from remem.errors import InvalidInputError
from remem.server import errors
from remem.server.auth import Caller
from remem.server.deps import LOCAL
from remem.errors import APIError
from remem.server.limits import BodyLimit
from remem.server.tenants import Tenants
from remem.store import DEFAULT_TENANT, Store

DEFAULT_MAX_BODY = 4 * 1024 * 1024
CONFIG_ENV = "REMEM_SERVER_CONFIG"  # how `remem serve --workers N` hands settings to worker processes

DESCRIPTION = """Long-term memory for LLM agents, over HTTP.

Authenticate with `Authorization: Bearer <key>` (create keys with `remem keys create --tenant T`).
Every request acts inside the key's tenant. Errors are JSON: `{"error": {"code": "...", "message": "..."}}`
with stable codes: `invalid_input` (422), `unauthorized` (401), `forbidden` (403), `not_found` (404),
`payload_too_large` (413), `store_error` (503), `internal_error` (500).
"""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]", "::1"]  # Host header names, any port


def loopback_names(host: str) -> list[str]:
    """Host names an unauthenticated server answers to: loopback ones, plus ``host`` if it is a loopback IP."""
    names = list(LOOPBACK_NAMES)
    if is_loopback(host) and host not in names:
        names.append(f"[{host}]" if ":" in host else host)
    return names


class LoopbackClients:
    """ASGI guard for an unauthenticated server: refuse any peer that is not loopback (403)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and not (client and is_loopback(str(client[0]))):
            response = errors.error_response(403, "forbidden", "this server has no authentication and only "
                                             "answers requests from this machine")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def check_bind(host: str, auth: bool) -> None:
    """An unauthenticated server may only listen on loopback."""
    if not auth and not is_loopback(host):
        raise InvalidInputError(
            f"refusing to serve without authentication on {host!r}: --no-auth only binds to "
            "127.0.0.1, ::1 or localhost. Create a key with `remem keys create --tenant T` instead."
        )


def create_app(
    location: str | Path | None = None,
    *,
    store: Store | None = None,
    embedder: Embedder | None = None,
    auth: bool = True,
    cors_origins: list[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    host: str = "127.0.0.1",
    secret: str | None = None,
    mcp: bool = True,
    dashboard: bool = True,
    query_cache: int = 2048,
    maintain_every: float | None = None,
) -> FastAPI:
    """Build the server app on one store (a path, ``sqlite:PATH`` or ``postgresql://`` URL, or ``store=``).

    ``auth=False`` serves everything as tenant ``default``, loopback only: see :func:`check_bind`;
    requests from other addresses get 403 and requests naming a non-loopback ``Host`` (DNS
    rebinding: a web page whose name now points at 127.0.0.1) get 400.
    ``secret`` signs dashboard forms on an unauthenticated server (random per process if None).
    ``maintain_every``: run :meth:`remem.Memory.maintain` on every tenant each this many hours.
    """
    tenants = Tenants(location, store=store, embedder=embedder, query_cache=query_cache)
    mcp_endpoint = manager = None
    if mcp:
        from remem.server.mcp_server import build_mcp, http_endpoint

        def memory_for(tenant: str | None):
            if tenant is None:
                raise InvalidInputError("no tenant on this MCP request")
            return tenants.memory(tenant)

        def resolve(scope: Scope) -> Caller | None:
            if not auth:
                return LOCAL
            header = dict(scope.get("headers", ())).get(b"authorization", b"").decode("latin-1")
            scheme, _, key = header.partition(" ")
            return tenants.resolve_caller(key.strip()) if scheme.lower() == "bearer" and key.strip() else None

        mcp_endpoint, manager = http_endpoint(build_mcp(memory_for), resolve, host)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with anyio.create_task_group() as background:
                if maintain_every:
                    from remem.server.schedule import every

                    background.start_soon(every, maintain_every, tenants)
                if manager is not None:
                    async with manager.run():
                        yield
                else:
                    yield
                background.cancel_scope.cancel()
        finally:
            tenants.close()

    app = FastAPI(
        title="remem",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from vendored files, so /docs works offline
        redoc_url=None,
        openapi_tags=[
            {"name": "memories", "description": "Add, list, read, change and delete memories"},
            {"name": "read", "description": "Search and context building"},
            {"name": "users", "description": "Per-user operations"},
            {"name": "maintenance", "description": "Forgetting, consolidation, archive and restore, audit, rollback"},
            {"name": "procedural", "description": "Strategies learned from an agent's own successes and failures"},
            {"name": "admin", "description": "Export, import and statistics"},
            {"name": "meta", "description": "Health and identity"},
        ],
    )
    app.state.tenants = tenants
    app.state.auth = auth
    app.state.secret = secret or secrets.token_urlsafe(32)
    errors.install(app)

    from remem.server import maintenance_routes, procedural_routes, routes

    for module in (routes, maintenance_routes, procedural_routes):
        app.include_router(module.router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        if not dashboard:
            raise APIError("docs are served with the dashboard's static files", status=404, code="not_found")
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="remem API", swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css", swagger_favicon_url="data:,",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/healthz", tags=["meta"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["meta"], summary="Readiness: the store answers a query",
             responses={503: {"description": "store not ready"}})
    def readyz() -> JSONResponse:
        try:
            return JSONResponse(tenants.ready())
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return errors.error_response(503, "not_ready", f"store not ready: {exc}")

    if mcp_endpoint is not None:
        app.router.routes.append(Route("/mcp", endpoint=mcp_endpoint, methods=["GET", "POST", "DELETE"],
                                       include_in_schema=False))
    if dashboard:
        from remem.server import dashboard, dashboard_maintenance, dashboard_procedural

        for pages in (dashboard, dashboard_maintenance, dashboard_procedural):
            pages.mount(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=cors_origins, allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"], allow_credentials=False,
        )
    if not auth:  # outermost: nothing else runs for a foreign Host or peer
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=loopback_names(host), www_redirect=False)
        app.add_middleware(LoopbackClients)
    return app


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` worker processes: settings come from ``$REMEM_SERVER_CONFIG``."""
    config: dict[str, Any] = json.loads(os.environ[CONFIG_ENV])
    return create_app(config.pop("location"), **config)


def run_server(
    location: str | Path | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    auth: bool = True,
    cors_origins: list[str] | None = None,
    workers: int = 1,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    log_level: str = "info",
    maintain_every: float | None = None,
) -> None:
    """Serve with uvicorn (``workers`` processes sharing one store file)."""
    import uvicorn

    from remem.memory import default_path

    check_bind(host, auth)
    config = {
        "location": str(location or default_path()),
        "auth": auth,
        "cors_origins": cors_origins or None,
        "max_body_bytes": max_body_bytes,
        "host": host,
        "secret": secrets.token_urlsafe(32),  # shared by the workers so dashboard forms verify anywhere
        "maintain_every": maintain_every,
    }
    os.environ[CONFIG_ENV] = json.dumps(config)
    uvicorn.run(
        "remem.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
        log_level=log_level, proxy_headers=False, server_header=False,
    )
