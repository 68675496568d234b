"""Storage backends. :func:`open_store` picks one from a path or URL."""

from __future__ import annotations

from pathlib import Path

from remem.store.base import DEFAULT_TENANT, SCHEMA_VERSION, Link, Query, Store, Write
from remem.store.sqlite import SQLiteStore

__all__ = ["DEFAULT_TENANT", "SCHEMA_VERSION", "Link", "Query", "SQLiteStore", "Store", "Write", "open_store"]


def open_store(location: str | Path, *, tenant: str = DEFAULT_TENANT) -> Store:
    """``postgresql://…`` opens PostgreSQL; ``sqlite:PATH`` or a plain path opens SQLite."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from remem.store.postgres import PostgresStore  # optional dependency

        return PostgresStore(text, tenant=tenant)
    if text.startswith("sqlite:"):
        text = text[len("sqlite:") :]
    return SQLiteStore(text, tenant=tenant)
