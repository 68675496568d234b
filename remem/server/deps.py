"""FastAPI dependencies: who is calling, and the ``Memory`` of their tenant."""

from __future__ import annotations

from fastapi import Depends, Request

from remem.memory import Memory
from remem.errors import APIError
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


def tenant_name(request: Request) -> str:
    """The caller's tenant: from the API key, or ``default`` on an unauthenticated server."""
    state = request.app.state
    if not state.auth:
        return DEFAULT_TENANT
    tenant = state.tenants.resolve_key(bearer_key(request))
    if tenant is None:
        raise APIError("unknown or revoked API key", status=401, code="unauthorized", headers=CHALLENGE)
    return tenant


def tenant_memory(request: Request, tenant: str = Depends(tenant_name)) -> Memory:
    """The ``Memory`` bound (in the store layer) to the caller's tenant."""
    return request.app.state.tenants.memory(tenant)
