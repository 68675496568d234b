"""API keys: ``rk_`` + 43 random URL-safe characters, stored only as a SHA-256 hash.

A key names its tenant; the server resolves it on every request, so revoking a
key takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from remem.errors import InvalidInputError
from remem.store import Store

PREFIX = "rk_"
MAX_KEY_CHARS = 200
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256 (keys are random, so no salt is needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_tenant(tenant: str) -> str:
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise InvalidInputError(
            "tenant must be 1-128 characters: letters, digits and _ . @ -, starting with a letter or digit"
        )
    return tenant


def create_key(store: Store, tenant: str, name: str | None = None, *, admin: bool = False) -> str:
    """Make a key for ``tenant`` and store its hash; the key itself is returned once, never stored.
    ``admin``: the key may also run maintenance and rollback."""
    check_tenant(tenant)
    if name is not None and len(name) > 200:
        raise InvalidInputError("key name is longer than 200 characters")
    key = PREFIX + secrets.token_urlsafe(32)
    store.create_api_key(hash_key(key), tenant, name, "admin" if admin else "member")
    return key


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's tenant, the name audit entries record, and whether it is an admin key."""

    tenant: str
    actor: str
    admin: bool


def resolve_caller(store: Store, key: str) -> Caller | None:
    """The caller a live key stands for, or None for an unknown, malformed or revoked one."""
    if not key.startswith(PREFIX) or len(key) > MAX_KEY_CHARS:
        return None
    digest = hash_key(key)
    info = store.api_key_info(digest)
    if info is None:
        return None
    return Caller(info["tenant"], info["name"] or f"key:{digest[:12]}", info["scope"] == "admin")


def resolve_key(store: Store, key: str) -> str | None:
    """The tenant of a live key, or None for an unknown, malformed or revoked one."""
    if not key.startswith(PREFIX) or len(key) > MAX_KEY_CHARS:
        return None
    return store.resolve_api_key(hash_key(key))


def list_keys(store: Store) -> list[dict[str, Any]]:
    """Keys with their tenant, name and dates; ``id`` is the first 12 hex digits of the hash."""
    return [{"id": k["key_hash"][:12], **k} for k in store.list_api_keys()]


def revoke_key(store: Store, key_or_id: str) -> bool:
    """Revoke by the key itself, its full hash, or an unambiguous hash prefix (``id``, ≥ 8 digits)."""
    text = key_or_id.strip()
    if text.startswith(PREFIX):
        return store.revoke_api_key(hash_key(text))
    if not re.fullmatch(r"[0-9a-f]{8,64}", text):
        raise InvalidInputError("give the key itself, or its id (at least 8 hex digits of its hash)")
    matches = [k["key_hash"] for k in store.list_api_keys() if k["key_hash"].startswith(text)]
    if len(matches) > 1:
        raise InvalidInputError(f"id {text!r} matches {len(matches)} keys; give more digits")
    return bool(matches) and store.revoke_api_key(matches[0])


def csrf_token(secret: str) -> str:
    """A form token derived from the signed-in key (or the server secret without auth)."""
    return hmac.new(secret.encode(), b"remem-dashboard-csrf", hashlib.sha256).hexdigest()[:32]


def same_token(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())
