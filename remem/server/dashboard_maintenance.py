"""Dashboard pages for maintenance: archived memories with restore, the audit timeline of a
user, and rollback with a preview of what changes (admin-scoped keys only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import Response

from remem.errors import NotFoundError, RememError
from remem.server.dashboard_kit import Forbidden, Session, Text, page_url, redirect, render
from remem.server.schemas import check_time

SHOWN = 500


def _need_admin(s: Session) -> None:
    if not s.admin:
        raise Forbidden("rollback needs an admin-scoped key (remem keys create --admin)")


def mount(app: FastAPI) -> None:
    """Add /archived, /audit, /rollback and the archive/restore actions to ``app``."""

    @app.get("/archived", include_in_schema=False)
    def archived(request: Request, user: Text = None, done: Text = None) -> Response:
        s = Session(request)
        try:
            items = [r for r in s.mem.get_all(user_id=user or None, include_archived=True, limit=10_000)
                     if r.archived_at is not None][:SHOWN]
        except RememError as exc:
            return render(request, "error.html", 422, s, title="Invalid input", message=str(exc))
        return render(request, "archived.html", session=s, user=user, items=items, done=done, url=page_url)

    def toggle(verb: str, done: str, back: Any) -> Any:
        """The archive / restore form handler."""

        def handler(request: Request, memory_id: str, csrf: Annotated[str | None, Form()] = None) -> Response:
            s = Session(request)
            s.check_form(request, csrf)
            try:
                rec = getattr(s.mem, verb)(memory_id, reason=f"{verb}d in the dashboard")
            except RememError as exc:
                return render(request, "error.html", 404 if isinstance(exc, NotFoundError) else 422, s,
                              title=f"Cannot {verb}", message=str(exc))
            return redirect(back(rec, done))

        app.post(f"/memory/{{memory_id}}/{verb}", include_in_schema=False)(handler)

    toggle("restore", "Memory restored.", lambda rec, done: page_url("/archived", user=rec.user_id, done=done))
    toggle("archive", "Archived: out of search until restored.", lambda rec, done: page_url(f"/memory/{rec.id}", done=done))

    @app.get("/audit", include_in_schema=False)
    def audit(request: Request, user: Text = None, op: Text = None, done: Text = None) -> Response:
        s = Session(request)
        try:
            entries = s.mem.audit(user_id=user or None, op=op or None, limit=SHOWN)
        except RememError as exc:
            return render(request, "error.html", 422, s, title="Invalid input", message=str(exc))
        return render(request, "audit.html", session=s, user=user, op=op, entries=entries[::-1], done=done, url=page_url)

    @app.get("/rollback", include_in_schema=False)
    def rollback_page(request: Request, user: Text = None, to: Text = None) -> Response:
        s = Session(request)
        _need_admin(s)
        preview, error = None, None
        if user and to:
            try:
                preview = s.mem.rollback(user_id=user, to=check_time(to, "to"), dry_run=True)
            except RememError as exc:
                error = str(exc)
        return render(request, "rollback.html", 422 if error else 200, s, user=user, to=to or "", preview=preview,
                      error=error, url=page_url)

    @app.post("/rollback", include_in_schema=False)
    def rollback(
        request: Request,
        user: Annotated[str, Form(min_length=1, max_length=256)],
        to: Annotated[str, Form(min_length=1, max_length=100)],
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        s = Session(request)
        s.check_form(request, csrf)
        _need_admin(s)
        try:
            report = s.mem.rollback(user_id=user, to=check_time(to, "to"))
        except RememError as exc:
            return render(request, "rollback.html", 422, s, user=user, to=to, preview=None, error=str(exc), url=page_url)
        done = f"Rolled back {report.changed} memories. To undo, roll back to {report.undo_to.isoformat()}."
        return redirect(page_url("/audit", user=user, done=done))
