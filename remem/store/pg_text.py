"""Text search for :class:`~remem.store.postgres.PostgresStore`: the derived text index
(:mod:`remem.store.text_search`), fed from the ``texts`` log that a trigger keeps (see
``pg_migrations/0003_texts.sql``), so BM25 costs what it costs in SQLite (not a walk of every
matching row in SQL) and ranks the same tokens; each server process keeps its own index and
catches up from the database on its next search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remem.store.base import DOC_FREQ_CAP, Query
from remem.store.text_index import TextIndex
from remem.store.text_search import DerivedTextSearch

# the lock the texts log's trigger takes (pg_migrations/0003_texts.sql): one per schema and tenant
TEXTS_LOCK = "SELECT pg_advisory_xact_lock(hashtext('remem-texts:' || current_schema() || ':' || %s))"


class PostgresTextSearch(DerivedTextSearch):
    """The PostgreSQL side of the derived text search; the store provides ``_db``, ``_select``
    and ``_where``."""

    if TYPE_CHECKING:  # provided by the store
        _db: Any
        def _select(self, query: Any, params: Any = ()) -> list[dict[str, Any]]: ...
        def _where(self, query: Query) -> tuple[str, list[Any]]: ...
        def _corpus(self) -> tuple[float, float]: ...

    @property
    def _text_index(self) -> TextIndex:
        return self._db.text_index

    def _text_state(self, user_key: str) -> tuple[int, int] | None:
        rows = self._select(
            "SELECT p.generation, (SELECT max(seq) FROM texts t WHERE t.tenant = p.tenant AND t.user_key = p.user_key) AS top "
            "FROM text_partitions p WHERE p.tenant = %s AND p.user_key = %s",
            (self.tenant, user_key),
        )
        return None if not rows else (int(rows[0]["generation"]), int(rows[0]["top"] or 0))

    def _text_page(self, user_key: str, after: int, limit: int) -> list[tuple[int, int, str]]:
        rows = self._select(
            "SELECT t.seq, t.rid, m.index_text FROM texts t JOIN memories m ON m.rid = t.rid "
            "WHERE t.tenant = %s AND t.user_key = %s AND t.seq > %s ORDER BY t.seq LIMIT %s",
            (self.tenant, user_key, after, limit),
        )
        return [(r["seq"], r["rid"], r["index_text"] or "") for r in rows]

    def _text_row(self, user_key: str, seq: int) -> tuple[int, str] | None:
        rows = self._select(
            "SELECT t.rid, m.index_text FROM texts t JOIN memories m ON m.rid = t.rid "
            "WHERE t.tenant = %s AND t.user_key = %s AND t.seq = %s",
            (self.tenant, user_key, seq),
        )
        return (rows[0]["rid"], rows[0]["index_text"] or "") if rows else None

    def _alive_ids(self, rowids: list[int], query: Query) -> dict[int, str]:
        if not rowids:
            return {}
        where, params = self._where(query)
        rows = self._select(f"SELECT m.rid, m.id FROM memories m WHERE m.rid = ANY(%s) AND {where}", (list(rowids), *params))
        return {r["rid"]: r["id"] for r in rows}

    def _user_keys(self) -> list[str]:
        return [r["user_key"] for r in self._select("SELECT user_key FROM text_partitions WHERE tenant = %s", (self.tenant,))]

    def _table_doc_freqs(self, words: list[str]) -> tuple[int, dict[str, int]]:
        n_docs, _ = self._corpus()
        freqs: dict[str, int] = {}
        for w in words:
            rows = self._select(
                "SELECT count(*) AS n FROM (SELECT 1 FROM memories m WHERE m.tenant = %s "
                "AND m.tsv @@ plainto_tsquery('english', %s) LIMIT %s) s",
                (self.tenant, w, DOC_FREQ_CAP),
            )
            freqs[w] = int(rows[0]["n"])
        return int(n_docs), freqs
