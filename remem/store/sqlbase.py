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

from remem.models import AuditEntry, HistoryEntry, MemoryRecord, Operation
from remem.store import sql
from remem.store.base import SCHEMA_VERSION, Link, Query, RankingRow
from remem.store.common import ParsedItem, decode_vectors, encode_vector, parse_export_items
from remem.store.dialect import Dialect
from remem.store.keys import ApiKeys


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_audit(record: MemoryRecord) -> AuditEntry:
    """The audit entry of one imported memory (its history came with it, unaudited)."""
    return AuditEntry(
        at=datetime.now(timezone.utc), op="IMPORT", memory_id=record.id, user_id=record.user_id,
        after_version=record.version, detail={"content": record.content},
    )


def _fetch(cur: Any, text: str, params: Any) -> list[dict[str, Any]]:
    """Rows as dicts from a cursor of either backend (an sqlite3 connection or a psycopg dict cursor)."""
    result = cur.execute(text, params)  # sqlite3: a new cursor; psycopg: the cursor itself
    rows = result.fetchall()
    if rows and not isinstance(rows[0], dict):
        names = [c[0] for c in result.description]
        rows = [dict(zip(names, r)) for r in rows]
    return rows


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

    def _history(
        self, cur: Any, entries: list[sql.HistoryItem], *, audited: bool = True, rows: dict[str, MemoryRecord] | None = None
    ) -> None:
        """Append history rows, and their audit entries, inside the caller's transaction. An entry
        that is its memory's row as just written (``rows``: id -> record) is stored compactly."""
        if entries:
            params = sql.history_params(self.tenant, entries, self.dialect, rows)
            cur.executemany(sql.history_insert(self.dialect), params)
            if audited:
                self._audit(cur, [sql.audit_of_version(*entry) for entry in entries])

    def _audit(self, cur: Any, entries: list[AuditEntry]) -> None:
        """Append audit entries inside the caller's transaction (actor and request id from
        :func:`~remem.models.audit.acting_as` unless the entry names them)."""
        if entries:
            cur.executemany(sql.audit_insert(self.dialect), sql.audit_params(self.tenant, entries, self.dialect))

    def _scrub_audit(self, cur: Any, user_id: str, ids: list[str]) -> None:
        """Purge: the user's audit entries keep their memory ids and operations, lose their
        content, and name the user only by a one-way token (:func:`sql.purged_user`)."""
        d, token = self.dialect, sql.purged_user(self.tenant, user_id)
        cur.execute(
            f"UPDATE audit SET detail = NULL, user_id = {d.mark} WHERE tenant = {d.mark} AND user_id = {d.mark}",
            (token, self.tenant, user_id),
        )
        for chunk in chunks(ids, d.chunk):
            cond, params = d.in_list("memory_id", chunk)
            cur.execute(f"UPDATE audit SET detail = NULL WHERE tenant = {d.mark} AND {cond}", (self.tenant, *params))
        self._audit(cur, [AuditEntry(at=datetime.now(timezone.utc), op="PURGE", user_id=token, detail={"memories": len(ids)})])

    def record_audit(self, entries: list[AuditEntry]) -> None:
        """Append entries for operations that make no version (refusals, rollbacks, maintenance runs)."""
        with self._write("audit") as cur:
            self._audit(cur, entries)

    def audit(
        self,
        *,
        user_id: str | None = None,
        memory_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        ops: list[str] | None = None,
        limit: int = 100,
        after_seq: int = 0,
    ) -> list[AuditEntry]:
        """The tenant's audit entries, oldest first, narrowed by user, memory, time and operation."""
        text, params = sql.audit_select(self.tenant, self.dialect, user_id, memory_id, since, until, ops, after_seq)
        rows = self._select(text, (*params, limit))
        return [sql.audit_entry(r, self.dialect) for r in rows]

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

    def ranking_rows(self, ids: list[str]) -> list[RankingRow]:
        """The memories ``ids`` with their index text and vector (one statement per chunk, the
        export's join); records are built lazily, vectors decoded in one pass."""
        d = self.dialect
        dim = self._dim()
        found: dict[str, RankingRow] = {}

        def build(raw: dict[str, Any]) -> MemoryRecord:
            return sql.from_row(raw, d)

        for chunk in chunks(ids, d.chunk):
            cond, params = d.in_list("m.id", chunk)
            rows = self._select(f"SELECT {self._EXPORT_SELECT} WHERE m.tenant = {d.mark} AND {cond}", (self.tenant, *params))
            vectors = decode_vectors([r["_vec"] for r in rows], dim)
            for row, vector in zip(rows, vectors):
                found[row["id"]] = RankingRow(row, d.load_time(row["event_time"]), row["_text"] or "", vector, build)
        return [found[i] for i in ids if i in found]

    def index_entries(self, ids: list[str], vectors_for: set[str] | None = None) -> dict[str, tuple[str, np.ndarray | None]]:
        """For each id: its index text and vector (with ``vectors_for``, only for those ids)."""
        return {
            r.id: (r.index_text, r.vector if vectors_for is None or r.id in vectors_for else None)
            for r in self.ranking_rows(ids)
        }

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

    def histories(self, ids: list[str]) -> dict[str, list[HistoryEntry]]:
        """The history of each of ``ids`` (oldest first), in one round trip per chunk."""
        out: dict[str, list[HistoryEntry]] = {}
        for chunk in chunks(ids, self.dialect.chunk):
            out.update(self._histories(chunk))
        return out

    def user_ids(self) -> list[str | None]:
        """Every user with memories in this tenant (None for memories without one)."""
        rows = self._select(f"SELECT DISTINCT user_id FROM memories WHERE tenant = {self.dialect.mark}", (self.tenant,))
        return sorted((r["user_id"] for r in rows), key=lambda u: (u is not None, u or ""))

    def _histories(self, ids: list[str]) -> dict[str, list[HistoryEntry]]:
        text, params = sql.history_select(self.dialect, ids)
        found = self._select(text, (self.tenant, *params))
        compact = list({r["memory_id"] for r in found if sql.load_snapshot(r["snapshot"]) is not None})
        rows = {rec.id: rec for rec in self.get_many(compact)} if compact else {}
        out: dict[str, list[HistoryEntry]] = {}
        for r in found:
            out.setdefault(r["memory_id"], []).append(sql.history_entry(r, self.dialect, rows.get(r["memory_id"])))
        return out

    def _expand_history(self, cur: Any, memory_id: str) -> None:
        """Before a new version replaces the memory's row: give the history row of the version
        stored now its full snapshot (it was compact: it is the row). In the caller's transaction."""
        d, p = self.dialect, self.dialect.mark
        lock = " FOR UPDATE" if d.name == "postgresql" else ""  # SQLite's writers are serialised already
        found = _fetch(cur, f"SELECT {sql.COLS} FROM memories WHERE tenant = {p} AND id = {p}{lock}", (self.tenant, memory_id))
        if not found:
            return
        row = sql.from_row(found[0], d)
        for h in _fetch(
            cur, f"SELECT hid, snapshot FROM history WHERE tenant = {p} AND memory_id = {p} AND version = {p}",
            (self.tenant, memory_id, row.version),
        ):
            if sql.load_snapshot(h["snapshot"]) is not None:
                full = sql.snapshot_record(h["snapshot"], row, row.version)
                cur.execute(f"UPDATE history SET snapshot = {p} WHERE hid = {p}", (d.snapshot(full), h["hid"]))

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
            self._save_in(cur, [(record, reason)], op, changed_fields or [], index_text, vector, actor)
        return record

    def save_versions(
        self, items: list[tuple[MemoryRecord, str | None]], *, op: Operation, changed_fields: list[str], actor: str | None = None
    ) -> list[MemoryRecord]:
        """Save many (record, reason) new versions that keep their text and vector (archiving,
        restoring) in one transaction."""
        if items:
            with self._write("save_versions") as cur:
                self._save_in(cur, items, op, changed_fields, None, None, actor)
        return [record for record, _ in items]

    def _save_in(
        self, cur: Any, items: list[tuple[MemoryRecord, str | None]], op: Operation, changed: list[str],
        index_text: str | None, vector: np.ndarray | None, actor: str | None,
    ) -> None:
        """Overwrite each row with its new version and log them in history, in the caller's transaction."""
        for record, _ in items:
            self._expand_history(cur, record.id)
            self._overwrite(cur, record, index_text, vector)
        self._history(cur, [(r, op, reason, actor, changed) for r, reason in items], rows={r.id: r for r, _ in items})

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
        """Every matching memory (deleted and archived ones too) with its history, index text, vector and links."""
        d = self.dialect
        where, params = self._where(Query(**{**query.__dict__, "include_deleted": True, "include_archived": True}))
        last, dim = 0, self._dim()  # dim: stored int8 vectors export as float32
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
                    "vector": encode_vector(row["_vec"], dim),
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
            f"SELECT kind, count(*) AS n FROM memories WHERE tenant = {p} AND deleted_at IS NULL AND archived_at IS NULL "
            "GROUP BY kind", t)}
        one = self._select(
            "SELECT count(*) AS total, count(deleted_at) AS deleted, "
            "count(CASE WHEN archived_at IS NOT NULL AND deleted_at IS NULL THEN 1 END) AS archived, count(DISTINCT user_id) AS users, "
            f"count(DISTINCT session_id) AS sessions FROM memories WHERE tenant = {p}", t)[0]
        meta = {r["key"]: r["value"] for r in self._select(f"SELECT key, value FROM {self.dialect.meta_table}", ())}
        return {
            "memories": int(one["total"] or 0) - int(one["deleted"] or 0) - int(one["archived"] or 0),
            "deleted": int(one["deleted"] or 0),
            "archived": int(one["archived"] or 0),
            "users": int(one["users"] or 0),
            "sessions": int(one["sessions"] or 0),
            "by_kind": by_kind,
            "history_entries": self._select(f"SELECT count(*) AS n FROM history WHERE tenant = {p}", t)[0]["n"],
            "links": self._select(f"SELECT count(*) AS n FROM links WHERE tenant = {p}", t)[0]["n"],
            "embed_model": meta.get("embed_model"),
            "embed_dim": int(meta["embed_dim"]) if "embed_dim" in meta else None,
            "schema_version": SCHEMA_VERSION,
        }
