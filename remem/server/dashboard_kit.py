"""What every dashboard page shares: the signed-in session, templates and their filters, URLs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from remem.errors import InvalidInputError
from remem.memory import Memory
from remem.models import Kind
from remem.models.audit import set_actor
from remem.read.context import estimate_tokens
from remem.server.auth import csrf_token, same_token
from remem.server.schemas import check_time
from remem.store import DEFAULT_TENANT

COOKIE = "remem_key"
PAGE = 50
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
VALIDITY = {"current": "valid now", "all": "any validity", "deleted": "including deleted"}
MODES = ("hybrid", "dense", "bm25")
Text = Annotated[str | None, Query(max_length=256)]

here = resources.files("remem.server")
_env = Environment(loader=FileSystemLoader(str(here / "templates")), autoescape=select_autoescape(["html"]))


def fmt_time(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if value else "—"


_env.filters["time"] = fmt_time
_env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False, indent=1, sort_keys=True, default=str)
_env.filters["short"] = lambda s, n=160: s if len(s) <= n else s[: n - 1] + "…"
_env.filters["tokens"] = estimate_tokens


class SignIn(Exception):
    """Raised when a page needs a signed-in user; answered with a redirect to /login."""


class Session:
    """The signed-in tenant of a dashboard request, its Memory and its CSRF token."""

    def __init__(self, request: Request) -> None:
        state = request.app.state
        if state.auth:
            key = request.cookies.get(COOKIE)
            caller = state.tenants.resolve_caller(key) if key else None
            if caller is None:
                raise SignIn()
            self.csrf = csrf_token(key)  # type: ignore[arg-type]
            tenant, self.admin, actor = caller.tenant, caller.admin, f"{caller.actor} (dashboard)"
        else:
            tenant, self.admin, actor = DEFAULT_TENANT, True, "local (dashboard)"
            self.csrf = csrf_token(state.secret)
        set_actor(actor)  # this request's writes are audited as the signed-in key
        self.tenant: str = tenant
        self.mem: Memory = state.tenants.memory(tenant)
        self.auth: bool = state.auth

    def check_form(self, request: Request, token: str | None) -> None:
        check_origin(request)
        if not same_token(token, self.csrf):
            raise Forbidden("invalid or missing CSRF token; reload the page and try again")


class Forbidden(Exception):
    pass


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        if urlsplit(origin).netloc != request.headers.get("host"):
            raise Forbidden("cross-origin form submission refused")


def render(request: Request, template: str, status: int = 200, session: Session | None = None, **ctx: Any) -> HTMLResponse:
    m = ctx.get("m")
    nav_user = ctx.get("user") or (ctx.get("f") or {}).get("user") or (m.user_id if m is not None else None)
    html = _env.get_template(template).render(
        request=request, s=session, kinds=[k.value for k in Kind], nav=lambda path: page_url(path, user=nav_user),
        url=page_url, **{k: v for k, v in ctx.items() if k != "url"},
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def page_url(path: str, **params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return path + ("?" + urlencode(clean) if clean else "")


def recent_users(mem: Memory) -> list[str]:
    seen: dict[str, None] = {}
    for rec in mem.get_all(limit=1000):
        if rec.user_id and rec.user_id not in seen:
            seen[rec.user_id] = None
    return sorted(seen)


def list_scope(user: str | None, kind: str | None, session: str | None, since: str | None, until: str | None,
           validity: str) -> dict[str, Any]:
    """The arguments of ``Memory.get_all``/``count`` for the memories page's filters."""
    if validity not in VALIDITY:
        raise InvalidInputError(f"validity must be one of {list(VALIDITY)}")
    start, end = check_time(since or None, "from"), check_time(until or None, "until")
    if end is not None and until and len(until) == 10:  # a date: include that whole day
        end = end.replace(hour=23, minute=59, second=59)
    return dict(
        user_id=user or None, session_id=session or None, kind=kind or None,
        time_range=(start, end) if start or end else None,
        as_of=datetime.now(timezone.utc) if validity == "current" else None,
        include_deleted=validity == "deleted",
    )
