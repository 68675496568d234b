"""API keys: create, resolve, list, revoke and import, in either dialect.

Admin operations: not bound to the store's tenant (each key names its own). Only a
hash of a key is ever stored.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from remem.errors import InvalidInputError
from remem.models import parse_time
from remem.store.dialect import Dialect
from remem.store.filters import format_time

_COLUMNS = ("key_hash", "tenant", "name", "created_at", "revoked_at", "scope")
SCOPES = ("member", "admin")  # admin: also maintenance and rollback


class ApiKeys:
    """The API-key methods of a store; it provides ``dialect``, ``_select`` and ``_write``."""

    dialect: Dialect

    if TYPE_CHECKING:  # provided by the store
        def _select(self, sql: str, params: Any) -> list[dict[str, Any]]: ...
        def _write(self, what: str) -> AbstractContextManager[Any]: ...

    def create_api_key(self, key_hash: str, tenant: str, name: str | None = None, scope: str = "member") -> None:
        """Store a new key hash bound to ``tenant``; InvalidInputError if that hash exists."""
        if scope not in SCOPES:
            raise InvalidInputError(f"key scope must be one of {SCOPES}")
        d = self.dialect
        now = d.time(datetime.now(timezone.utc))
        columns = ("key_hash", "tenant", "name", "created_at", "scope")
        with self._write("create_api_key") as cur:
            cur = cur.execute(d.insert_ignore("api_keys", columns), (key_hash, tenant, name, now, scope))
            if cur.rowcount == 0:
                raise InvalidInputError("that API key already exists")

    def import_api_key(self, row: dict[str, Any]) -> bool:
        """Copy one :meth:`list_api_keys` row verbatim (timestamps kept); False if present."""
        d = self.dialect
        created = parse_time(row["created_at"], field="created_at")
        revoked = parse_time(row.get("revoked_at"), field="revoked_at")
        with self._write("import_api_key") as cur:
            scope = row.get("scope") or "member"
            cur = cur.execute(
                d.insert_ignore("api_keys", _COLUMNS),
                (row["key_hash"], row["tenant"], row.get("name"), d.time(created), d.time(revoked),
                 scope if scope in SCOPES else "member"),
            )
            return cur.rowcount > 0

    def resolve_api_key(self, key_hash: str) -> str | None:
        """The tenant of a live (not revoked) key, or None."""
        rows = self._select(
            f"SELECT tenant FROM api_keys WHERE key_hash = {self.dialect.mark} AND revoked_at IS NULL", (key_hash,)
        )
        return rows[0]["tenant"] if rows else None

    def api_key_info(self, key_hash: str) -> dict[str, Any] | None:
        """Tenant, name and scope of a live (not revoked) key, or None."""
        rows = self._select(
            f"SELECT tenant, name, scope FROM api_keys WHERE key_hash = {self.dialect.mark} AND revoked_at IS NULL",
            (key_hash,),
        )
        return rows[0] if rows else None

    def list_api_keys(self) -> list[dict[str, Any]]:
        """Every key (hash, tenant, name, created_at, revoked_at as fixed-width UTC text, scope), oldest first."""
        rows = self._select(f"SELECT {', '.join(_COLUMNS)} FROM api_keys ORDER BY created_at", ())
        load = self.dialect.load_time
        return [
            {**r, "created_at": format_time(load(r["created_at"])), "revoked_at": format_time(load(r["revoked_at"]))}
            for r in rows
        ]

    def revoke_api_key(self, key_hash: str) -> bool:
        """Mark a live key revoked; False if there is none."""
        d = self.dialect
        with self._write("revoke_api_key") as cur:
            cur = cur.execute(
                f"UPDATE api_keys SET revoked_at = {d.mark} WHERE key_hash = {d.mark} AND revoked_at IS NULL",
                (d.time(datetime.now(timezone.utc)), key_hash),
            )
            return cur.rowcount > 0
