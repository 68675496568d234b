"""The Store methods whose SQL is the same in both backends, written once.

A store subclasses :class:`SQLStoreBase` and provides ``dialect``, ``tenant``,
``_select`` (rows as dicts), ``_write`` (one transaction, yielding something with
``execute``/``executemany``), ``_EXPORT_SELECT``, ``_overwrite`` and ``_import_one``; it keeps what
really differs: connections, text search, vector search, inserts, schema.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from remem.models import HistoryEntry, MemoryRecord, Operation
from remem.store import sql
from remem.store.base import SCHEMA_VERSION, Link, Query
from remem.store.common import ParsedItem, encode_vector, parse_export_items
from remem.store.dialect import Dialect
from remem.store.keys import ApiKeys


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SQLStoreBase(ApiKeys):
    """Reads, links, history, touch, export/import and stats over ``memories m``."""

    dialect: Dialect
    tenant: str
    # SELECT list and FROM of an export page: _rowid, _fp, _text, _vec and the record's fields
    _EXPORT_SELECT: str

    if TYPE_CHECKING:  # provided by the store
        def _select(self, sql: str, params: Any) -> list[dict[str, Any]]: ...
        def _write(self, what: str) -> AbstractContextManager[Any]: ...
        def _import_one(self, cur: Any, p: ParsedItem) -> bool: ...
        def _overwrite(self, cur: Any, record: MemoryRecord, index_text: str | None, vector: np.ndarray | None) -> None: ...
        def _dim(self) -> int | None: ...

    def _where(self, query: Query) -> tuple[str, list[Any]]:
        return sql.where(query, self.tenant, self.dialect)

    def _history(self, cur: Any, entries: list[sql.HistoryItem]) -> None:
        """Append history rows inside the caller's transaction."""
        if entries:
            cur.executemany(sql.history_insert(self.dialect), sql.history_params(self.tenant, entries, self.dialect))

    def _put_links(self, cur: Any, links: list[Link]) -> None:
        """Upsert links inside the caller's transaction."""
        now = self.dialect.time(datetime.now(timezone.utc))
        cur.executemany(sql.link_upsert(self.dialect), sql.link_params(self.tenant, links, now))

    # -- reads -----------------------------------------------------------------------
    def get(self, memory_id: str) -> MemoryRecord | None:
        """The record with that id in this tenant, or None."""
        p = self.dialect.mark
        rows = self._select(f"SELECT {sql.COLS} FROM memories WHERE id = {p} AND tenant = {p}", (memory_id, self.tenant))
        return sql.from_row(rows[0], self.dialect) if rows else None

    def get_many(self, ids: list[str]) -> list[MemoryRecord]:
        """The records with those ids, in the order asked; missing ids are left out."""
        d = self.dialect
        found: dict[str, MemoryRecord] = {}
        for chunk in chunks(ids, d.chunk):
            cond, params = d.in_list("id", chunk)
            for row in self._select(f"SELECT {sql.COLS} FROM memories WHERE tenant = {d.mark} AND {cond}", (self.tenant, *params)):
                found[row["id"]] = sql.from_row(row, d)
        return [found[i] for i in ids if i in found]

    def list(self, query: Query, *, limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[MemoryRecord]:
        """One page of the records the query allows, by event (else creation) time."""
        where, params = self._where(query)
        rows = self._select(sql.list_sql(where, newest_first, self.dialect), (*params, limit, offset))
        return [sql.from_row(r, self.dialect) for r in rows]

    def count(self, query: Query) -> int:
        """How many records the query allows."""
        where, params = self._where(query)
        return int(self._select(f"SELECT count(*) AS n FROM memories m WHERE {where}", params)[0]["n"])

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Every version of the memory, oldest first (empty if unknown)."""
        return self._histories([memory_id]).get(memory_id, [])

    def _histories(self, ids: list[str]) -> dict[str, list[HistoryEntry]]:
        text, params = sql.history_select(self.dialect, ids)
        out: dict[str, list[HistoryEntry]] = {}
        for r in self._select(text, (self.tenant, *params)):
            out.setdefault(r["memory_id"], []).append(sql.history_entry(r, self.dialect))
        return out

    def links(self, memory_id: str) -> list[Link]:
        """The links from or to the memory."""
        p = self.dialect.mark
        rows = self._select(
            f"SELECT src, dst, relation, weight FROM links WHERE tenant = {p} AND (src = {p} OR dst = {p})",
            (self.tenant, memory_id, memory_id),
        )
        return [Link(**r) for r in rows]

    def tenants(self) -> list[str]:
        """Every tenant with memories, history, links or API keys here (admin operation)."""
        return [r["tenant"] for r in self._select(sql.TENANTS, ())]

    # -- writes ----------------------------------------------------------------------
    def save_version(
        self,
        record: MemoryRecord,
        *,
        op: Operation,
        reason: str | None = None,
        changed_fields: list[str] | None = None,
        index_text: str | None = None,
        vector: np.ndarray | None = None,
        actor: str | None = None,
    ) -> MemoryRecord:
        """Overwrite the current row with ``record`` (a new version) and log it in history."""
        with self._write("save_version") as cur:
            self._overwrite(cur, record, index_text, vector)
            self._history(cur, [(record, op, reason, actor, changed_fields or [])])
        return record

    def touch(self, ids: list[str], when: datetime) -> None:
        """Count an access (no new version: access stats are not content)."""
        if not ids:
            return
        d = self.dialect
        with self._write("touch") as cur:
            for chunk in chunks(ids, d.chunk):
                cond, params = d.in_list("id", chunk)
                cur.execute(
                    f"UPDATE memories SET access_count = access_count + 1, last_accessed_at = {d.mark} "
                    f"WHERE tenant = {d.mark} AND {cond}",
                    (d.time(when), self.tenant, *params),
                )

    def add_links(self, links: list[Link]) -> None:
        """Add links (an existing src/dst/relation gets the new weight)."""
        if not links:
            return
        with self._write("add_links") as cur:
            self._put_links(cur, links)

    # -- export / import / stats -----------------------------------------------------
    def export(self, query: Query) -> Iterator[dict[str, Any]]:
        """Every matching memory (deleted ones too) with its history, index text, vector and links."""
        d = self.dialect
        where, params = self._where(Query(**{**query.__dict__, "include_deleted": True}))
        last = 0
        while True:
            rows = self._select(
                f"SELECT {self._EXPORT_SELECT} WHERE {where} AND m.{d.rowid} > {d.mark} ORDER BY m.{d.rowid} LIMIT 500",
                (*params, last),
            )
            if not rows:
                return
            ids = [r["id"] for r in rows]
            history = self._histories(ids)
            cond, args = d.in_list("src", ids)
            links: dict[str, list[dict[str, Any]]] = {}
            for link in self._select(
                f"SELECT src, dst, relation, weight FROM links WHERE tenant = {d.mark} AND {cond}", (self.tenant, *args)
            ):
                links.setdefault(link["src"], []).append(link)
            for row in rows:
                last = row.pop("_rowid")
                record = sql.from_row(row, d)
                yield {
                    "record": record.model_dump(mode="json"),
                    "index_text": row["_text"],
                    "fingerprint": row["_fp"],
                    "vector": encode_vector(row["_vec"]),
                    "history": [h.model_dump(mode="json") for h in history.get(record.id, [])],
                    "links": links.get(record.id, []),
                }

    def import_item(self, item: dict[str, Any]) -> bool:
        """Insert one exported item verbatim; False if its id or fingerprint is already here."""
        return self.import_items([item])[0] == 1

    def import_items(self, items: list[dict[str, Any]]) -> tuple[int, int]:
        """Insert exported items verbatim in one transaction; returns (added, skipped).

        Every item is checked before anything is written, so a bad one changes nothing.
        An item whose id or fingerprint is already in this tenant is skipped.
        """
        parsed = parse_export_items(items, dim=self._dim())
        added = 0
        with self._write("import") as cur:
            for p in parsed:
                added += self._import_one(cur, p)
        return added, len(parsed) - added

    def _counts(self) -> dict[str, Any]:
        """The tenant's part of :meth:`stats`: memories, users, sessions, kinds, history, links, model."""
        p, t = self.dialect.mark, (self.tenant,)
        by_kind = {r["kind"]: r["n"] for r in self._select(
            f"SELECT kind, count(*) AS n FROM memories WHERE tenant = {p} AND deleted_at IS NULL GROUP BY kind", t)}
        one = self._select(
            "SELECT count(*) AS total, count(deleted_at) AS deleted, count(DISTINCT user_id) AS users, "
            f"count(DISTINCT session_id) AS sessions FROM memories WHERE tenant = {p}", t)[0]
        meta = {r["key"]: r["value"] for r in self._select(f"SELECT key, value FROM {self.dialect.meta_table}", ())}
        return {
            "memories": int(one["total"] or 0) - int(one["deleted"] or 0),
            "deleted": int(one["deleted"] or 0),
            "users": int(one["users"] or 0),
            "sessions": int(one["sessions"] or 0),
            "by_kind": by_kind,
            "history_entries": self._select(f"SELECT count(*) AS n FROM history WHERE tenant = {p}", t)[0]["n"],
            "links": self._select(f"SELECT count(*) AS n FROM links WHERE tenant = {p}", t)[0]["n"],
            "embed_model": meta.get("embed_model"),
            "embed_dim": int(meta["embed_dim"]) if "embed_dim" in meta else None,
            "schema_version": SCHEMA_VERSION,
        }
