"""The dashboard at ``/``: server-rendered Jinja2 pages, enhanced with htmx.

Why htmx rather than a JS app: every page is plain HTML that works with links and
forms alone (and is easy to test and to reason about for security); htmx (one
vendored 50 kB file, no build step, no CDN) only adds live search and filtering by
swapping the result list in place. Destructive actions go through a confirmation
page, not a JS dialog.

Security: the API key lives in an HttpOnly, SameSite=Strict cookie; every POST
carries a CSRF token derived from the key (HMAC) and must come from our own
origin; pages are sent with a strict Content-Security-Policy.
"""

from __future__ import annotations

from datetime import timezone
from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from remem.errors import InvalidInputError, NotFoundError, RememError
from remem.models import MemoryRecord
from remem.server.dashboard_kit import (
    COOKIE, MODES, PAGE, VALIDITY, Forbidden, Session, SignIn, Text, check_origin, here, list_scope, page_url,
    recent_users, redirect, render,
)
from remem.server.schemas import check_time


def mount(app: FastAPI) -> None:
    """Add the dashboard pages and static files to ``app``."""
    app.mount("/static", StaticFiles(directory=str(here / "static")), name="static")

    @app.exception_handler(SignIn)
    async def _to_login(request: Request, exc: SignIn) -> Response:
        return redirect(page_url("/login", next=request.url.path if request.method == "GET" and request.url.path != "/" else None))

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", 403, title="Forbidden", message=str(exc))

    def fail(request: Request, s: Session, exc: RememError) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFoundError) else 422
        return render(request, "error.html", status, s, title="Not found" if status == 404 else "Invalid input",
                      message=str(exc))

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: Text = None) -> Response:
        if not request.app.state.auth:
            return redirect("/")
        return render(request, "login.html", next=next)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, key: Annotated[str, Form(max_length=200)], next: Annotated[str | None, Form()] = None) -> Response:
        check_origin(request)
        tenant = request.app.state.tenants.resolve_key(key.strip())
        if tenant is None:
            return render(request, "login.html", 401, error="That key is unknown or revoked.", next=next)
        target = next if next and next.startswith("/") and not next.startswith("//") else "/"
        response = redirect(target)
        response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", secure=request.url.scheme == "https",
                            path="/", max_age=7 * 24 * 3600)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
        Session(request).check_form(request, csrf)
        response = redirect("/login")
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @app.get("/", include_in_schema=False)
    def home(request: Request, done: Text = None) -> Response:
        s = Session(request)
        stats = s.mem.stats()
        return render(request, "home.html", session=s, users=recent_users(s.mem), stats=stats, done=done)

    @app.get("/memories", include_in_schema=False)
    def memories(
        request: Request, user: Text = None, kind: Text = None, session: Text = None, since: Text = None,
        until: Text = None, validity: Text = "current", page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        done: Text = None,
    ) -> Response:
        s = Session(request)
        filters = dict(user=user, kind=kind, session=session, since=since, until=until, validity=validity or "current")
        try:
            scope = list_scope(user, kind, session, since, until, filters["validity"])
            total = s.mem.count(**scope)
            items = s.mem.get_all(**scope, limit=PAGE, offset=(page - 1) * PAGE)
        except (RememError, ValueError) as exc:
            return render(request, "memories.html", 422, s, f=filters, items=[], total=0, page=1, pages=1,
                          error=str(exc), validity=VALIDITY, url=page_url)
        pages = max(1, -(-total // PAGE))
        return render(request, "memories.html", session=s, f=filters, items=items, total=total, page=page,
                      pages=pages, validity=VALIDITY, url=page_url, done=done)

    @app.get("/search", include_in_schema=False)
    def search(request: Request, user: Text = None, q: Annotated[str | None, Query(max_length=2000)] = None,
               mode: Text = "hybrid", kind: Text = None) -> Response:
        s = Session(request)
        hits, error = [], None
        if q and q.strip():
            try:
                hits = s.mem.search(q, user_id=user or None, mode=mode or "hybrid", kind=kind or None, limit=20)
            except RememError as exc:
                error = str(exc)
        return render(request, "search.html", 422 if error else 200, s, user=user, q=q or "", mode=mode or "hybrid",
                      kind=kind, modes=MODES, hits=hits, error=error, url=page_url)

    @app.get("/timeline", include_in_schema=False)
    def timeline(request: Request, user: Text = None) -> Response:
        s = Session(request)
        try:
            records = s.mem.get_all(user_id=user or None, limit=1000, oldest_first=True)
        except RememError as exc:
            return fail(request, s, exc)
        days: dict[str, list[MemoryRecord]] = {}
        for rec in records:
            day = (rec.event_time or rec.created_at).astimezone(timezone.utc).strftime("%Y-%m-%d")
            days.setdefault(day, []).append(rec)
        return render(request, "timeline.html", session=s, user=user, days=days, count=len(records), url=page_url)

    @app.get("/memory/{memory_id}", include_in_schema=False)
    def memory(request: Request, memory_id: str, done: Text = None) -> Response:
        s = Session(request)
        try:
            rec = s.mem.get(memory_id)
            history = s.mem.history(memory_id)
        except RememError as exc:
            return fail(request, s, exc)
        sources = {r.id: r for r in s.mem.get_many(rec.source)} if rec.source else {}
        links = s.mem.links(memory_id)
        others = {r.id: r for r in s.mem.get_many([l.dst if l.src == rec.id else l.src for l in links])}
        return render(request, "memory.html", session=s, m=rec, history=list(reversed(history)), sources=sources,
                      links=links, others=others, done=done, url=page_url)

    @app.get("/memory/{memory_id}/edit", include_in_schema=False)
    def edit_page(request: Request, memory_id: str) -> Response:
        s = Session(request)
        try:
            rec = s.mem.get(memory_id)
        except RememError as exc:
            return fail(request, s, exc)
        return render(request, "edit.html", session=s, m=rec)

    @app.post("/memory/{memory_id}/edit", include_in_schema=False)
    def edit(
        request: Request, memory_id: str,
        content: Annotated[str, Form(max_length=100_000)],
        tags: Annotated[str, Form(max_length=5000)] = "",
        importance: Annotated[str, Form(max_length=20)] = "",
        valid_to: Annotated[str, Form(max_length=100)] = "",
        reason: Annotated[str, Form(max_length=1000)] = "",
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        s = Session(request)
        s.check_form(request, csrf)
        try:
            rec = s.mem.get(memory_id)
            fields: dict[str, Any] = {}
            if content != rec.content:
                fields["content"] = content
            new_tags = [t.strip() for t in tags.split(",") if t.strip()]
            if new_tags != rec.tags:
                fields["tags"] = new_tags
            if importance.strip():
                try:
                    value = float(importance)
                except ValueError:
                    raise InvalidInputError("importance must be a number from 0 to 1") from None
                if not 0 <= value <= 1:
                    raise InvalidInputError("importance must be a number from 0 to 1")
                if value != rec.importance:
                    fields["importance"] = value
            new_valid_to = check_time(valid_to.strip() or None, "valid until")
            if new_valid_to != rec.valid_to:
                fields["valid_to"] = new_valid_to
            if not fields:
                return redirect(page_url(f"/memory/{memory_id}", done="Nothing changed."))
            s.mem.update(memory_id, reason=reason.strip() or "edited in the dashboard", **fields)
        except RememError as exc:
            if isinstance(exc, NotFoundError):
                return fail(request, s, exc)
            return render(request, "edit.html", 422, s, m=rec, error=str(exc))
        return redirect(page_url(f"/memory/{memory_id}", done="Saved."))

    @app.get("/memory/{memory_id}/delete", include_in_schema=False)
    def delete_page(request: Request, memory_id: str) -> Response:
        s = Session(request)
        try:
            rec = s.mem.get(memory_id)
        except RememError as exc:
            return fail(request, s, exc)
        return render(request, "confirm.html", session=s, title="Delete this memory?", action=f"/memory/{rec.id}/delete",
                      subject=rec.content, button="Delete memory", back=f"/memory/{rec.id}",
                      note="It disappears from search and lists; its history is kept.")

    @app.post("/memory/{memory_id}/delete", include_in_schema=False)
    def delete(request: Request, memory_id: str, csrf: Annotated[str | None, Form()] = None) -> Response:
        s = Session(request)
        s.check_form(request, csrf)
        try:
            rec = s.mem.delete(memory_id, reason="deleted in the dashboard")
        except RememError as exc:
            return fail(request, s, exc)
        return redirect(page_url("/memories", user=rec.user_id, done="Memory deleted."))

    @app.get("/purge", include_in_schema=False)
    def purge_page(request: Request, user: Text = None) -> Response:
        s = Session(request)
        if not user:
            return fail(request, s, InvalidInputError("choose a user to purge"))
        count = s.mem.count(user_id=user, include_deleted=True)
        return render(request, "confirm.html", session=s, title=f"Purge user {user}?", action="/purge", user=user,
                      subject=f"{count} memories of {user}, with their history and indexes", button="Purge user",
                      back=page_url("/memories", user=user), typed=user,
                      note="This erases everything about the user and cannot be undone. Type the user id to confirm.")

    @app.post("/purge", include_in_schema=False)
    def purge(
        request: Request,
        user: Annotated[str, Form(min_length=1, max_length=256)],
        confirm: Annotated[str, Form(max_length=256)] = "",
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        s = Session(request)
        s.check_form(request, csrf)
        if confirm != user:
            return render(request, "confirm.html", 422, s, title=f"Purge user {user}?", action="/purge", user=user,
                          subject=f"all memories of {user}", button="Purge user", back=page_url("/memories", user=user),
                          typed=user, error="The typed id does not match; nothing was purged.",
                          note="Type the user id to confirm.")
        n = s.mem.purge(user_id=user)
        return redirect(page_url("/", done=f"Purged {n} memories of {user}."))
