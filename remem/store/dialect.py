"""How the two SQL backends spell the same thing: placeholders, lists, times, JSON, upserts.

:data:`SQLITE` stores times as fixed-width UTC text and JSON as text; :data:`POSTGRES`
passes ``datetime`` objects (timestamptz) and jsonb. Metadata filters compare like
SQLite's ``json_extract()`` on both (see :mod:`remem.store.pg_filters`).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Any, Sequence

from remem.models import MemoryRecord
from remem.store.filters import Condition, format_time, read_time
from remem.store.pg_filters import condition_sql

dumps = partial(json.dumps, ensure_ascii=False, default=str)


class Dialect:
    """The SQLite spelling; :class:`PostgresDialect` overrides what PostgreSQL spells otherwise."""

    name = "sqlite"
    mark = "?"  # the parameter placeholder
    rowid = "rowid"  # the memories table's insertion-order key
    meta_table = "meta"
    chunk = 500  # the most values one IN list carries

    def marks(self, n: int) -> str:
        """``n`` placeholders, comma-separated."""
        return ",".join([self.mark] * n)

    def in_list(self, expr: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``expr`` is one of ``values`` (false for an empty list)."""
        if not values:
            return "0", []
        return f"{expr} IN ({self.marks(len(values))})", list(values)

    def time(self, dt: datetime | None) -> Any:
        """A datetime as a parameter."""
        return format_time(dt)

    def load_time(self, value: Any) -> datetime | None:
        """A stored time as a datetime."""
        return read_time(value)

    def json(self, value: Any) -> Any:
        """A JSON value as a parameter."""
        return dumps(value)

    def load_json(self, value: Any) -> Any:
        """A stored JSON value as Python (empty lists and objects, most of them, without a parse)."""
        if value == "[]":
            return []
        if value == "{}":
            return {}
        return json.loads(value)

    def snapshot(self, record: MemoryRecord) -> Any:
        """A whole record as a JSON parameter (history snapshots)."""
        return record.model_dump_json()

    def insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        """INSERT that skips a row clashing with a unique key."""
        return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({self.marks(len(columns))})"

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """INSERT that replaces the row with the same ``key``."""
        return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({self.marks(len(columns))})"

    def condition(self, cond: Condition) -> tuple[str, list[Any]]:
        """One parsed filter as SQL over ``memories m``."""
        if cond.column is not None:
            expr = f"m.{cond.column}"
        else:
            path = "$" + "".join(f'."{p}"' for p in cond.path)
            expr = f"json_extract(m.metadata, '{path}')"
        if cond.op in ("IN", "NOT IN"):
            return f"{expr} {cond.op} ({self.marks(len(cond.value))})", list(cond.value)
        if cond.value is None:
            return (f"{expr} IS NULL" if cond.op == "=" else f"{expr} IS NOT NULL"), []
        return f"{expr} {cond.op} {self.mark}", [cond.value]


class PostgresDialect(Dialect):
    """PostgreSQL: ``%s``, arrays with ``= ANY``, timestamptz, jsonb, ``ON CONFLICT``."""

    name = "postgresql"
    mark = "%s"
    rowid = "rid"
    meta_table = "remem_meta"
    chunk = 100_000

    def in_list(self, expr: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{expr} = ANY(%s)", [list(values)]

    def time(self, dt: datetime | None) -> Any:
        return dt

    def load_time(self, value: Any) -> datetime | None:
        return value

    def json(self, value: Any) -> Any:
        from psycopg.types.json import Jsonb

        return Jsonb(value, dumps=dumps)

    def load_json(self, value: Any) -> Any:
        return value

    def snapshot(self, record: MemoryRecord) -> Any:
        return self.json(record.model_dump(mode="json"))

    def insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self.marks(len(columns))}) ON CONFLICT DO NOTHING"

    def upsert(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        rest = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in key)
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self.marks(len(columns))}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {rest}"
        )

    def condition(self, cond: Condition) -> tuple[str, list[Any]]:
        return condition_sql(cond)


SQLITE = Dialect()
POSTGRES = PostgresDialect()
