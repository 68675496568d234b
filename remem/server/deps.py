"""FastAPI dependencies: who is calling, and the ``Memory`` of their tenant."""

from __future__ import annotations

import uuid
from typing import AsyncIterator

import anyio

from fastapi import Depends, Request, Response

from remem.memory import Memory
from remem.errors import APIError
from remem.models import acting_as
from remem.server.auth import Caller
from remem.store import DEFAULT_TENANT

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="remem"'}


def bearer_key(request: Request) -> str:
    """The key from ``Authorization: Bearer <key>``; 401 when absent or malformed."""
    header = request.headers.get("authorization")
    if not header:
        raise APIError("missing Authorization: Bearer <API key> header", status=401, code="unauthorized", headers=CHALLENGE)
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise APIError("Authorization must be 'Bearer <API key>'", status=401, code="unauthorized", headers=CHALLENGE)
    return key.strip()


LOCAL = Caller(DEFAULT_TENANT, "local", admin=True)  # an unauthenticated server listens on loopback only


async def caller(request: Request) -> Caller:
    """Who is calling: from the API key (looked up in the store on a worker thread), or the local
    admin of an unauthenticated server. Async, like the other dependencies: a sync one costs every
    request a hop to the thread pool."""
    state = request.app.state
    if not state.auth:
        return LOCAL
    key = bearer_key(request)
    found = await anyio.to_thread.run_sync(state.tenants.resolve_caller, key)
    if found is None:
        raise APIError("unknown or revoked API key", status=401, code="unauthorized", headers=CHALLENGE)
    return found


async def tenant_name(who: Caller = Depends(caller)) -> str:
    """The caller's tenant: from the API key, or ``default`` on an unauthenticated server."""
    return who.tenant


async def acting(request: Request, response: Response, who: Caller = Depends(caller)) -> AsyncIterator[Caller]:
    """Attribute the request's audit entries to the caller's key name and a request id (the
    client's ``X-Request-ID``, else a new one, echoed in the response)."""
    request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex[:16]
    response.headers["X-Request-ID"] = request_id
    with acting_as(who.actor, request_id):
        yield who


async def tenant_memory(request: Request, who: Caller = Depends(acting)) -> Memory:
    """The ``Memory`` bound (in the store layer) to the caller's tenant."""
    return await _memory_of(request, who.tenant)


async def _memory_of(request: Request, tenant: str) -> Memory:
    """A tenant's ``Memory``: at once when it exists, else made on a worker thread (making one
    touches the store, which must not stall the event loop)."""
    tenants = request.app.state.tenants
    found = tenants.existing(tenant)
    return found if found is not None else await anyio.to_thread.run_sync(tenants.memory, tenant)


async def admin_memory(request: Request, who: Caller = Depends(acting)) -> Memory:
    """Like :func:`tenant_memory`, for operations that need an admin-scoped key (403 otherwise)."""
    if not who.admin:
        raise APIError("this needs an admin-scoped API key (remem keys create --admin)", status=403, code="forbidden")
    return await _memory_of(request, who.tenant)
