"""Text search for :class:`~remem.store.sqlite.SQLiteStore`: BM25 from the derived in-memory
text index (:mod:`remem.store.text_index`), one partition per (tenant, user), fed from the
``texts`` log; FTS5 holds the indexed text (and its vocabulary answers tenant-wide document
frequencies)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from remem.store.base import DOC_FREQ_CAP, Query
from remem.store.sqlbase import chunks
from remem.store.sqlite_db import Database
from remem.store.text import stem
from remem.store.text_index import TextPartition, query_tokens

PAGE = 20_000  # rows read per statement while a partition catches up (the lock is let go between pages)
MAX_WINDOW = 1_000_000


class SQLiteTextSearch:
    """``text_search`` and ``doc_freqs``; the store provides ``_db``, ``tenant``, ``_select``,
    ``_alive_ids`` and ``_user_keys``."""

    _db: Database
    tenant: str

    if TYPE_CHECKING:  # provided by the store
        def _select(self, sql: str, params: Any) -> list[dict[str, Any]]: ...
        def _alive_ids(self, rowids: list[int], query: Query) -> dict[int, str]: ...
        def _user_keys(self) -> list[str]: ...

    def text_search(self, text: str, query: Query, limit: int) -> list[tuple[str, float]]:
        """BM25 over the indexed text, best first; scores are positive. Each partition ranks
        with its own statistics; the best are checked against the query's filters, and the
        window widens when filters drop too many."""
        terms = query_tokens(text)
        if not terms or limit < 1:
            return []
        keys = [query.user_id] if query.user_id is not None else self._user_keys()
        results: list[tuple[str, float]] = []
        for user_key in keys:
            part = self._text_partition(user_key)
            if part is not None:
                results.extend(self._filtered(part, terms, query, limit))
        results.sort(key=lambda kv: -kv[1])
        return results[:limit]

    def _filtered(self, part: TextPartition, terms: list[str], query: Query, limit: int) -> list[tuple[str, float]]:
        window = limit * 4 if query.only_scope else limit * 16
        while True:
            found = part.search(terms, window)
            alive = self._alive_ids([k for k, _ in found], query)
            kept = [(alive[k], s) for k, s in found if k in alive]
            if len(kept) >= limit or len(found) < window or window >= MAX_WINDOW:
                return kept[:limit]
            window *= 8

    def doc_freqs(self, words: list[str], user_id: str | None = None) -> tuple[int, dict[str, int]]:
        """(rows, {word: rows whose indexed text holds its Porter stem}): within ``user_id``'s
        partition (its live rows) when given, else over the whole text table (FTS5's vocabulary)."""
        stems = {w: stem(w) for w in words}
        if user_id is not None:
            part = self._text_partition(user_id)
            if part is None:
                return 0, {w: 0 for w in words}
            n_docs, found = part.doc_freqs(list(dict.fromkeys(stems.values())))
            return n_docs, {w: min(found.get(s, 0), DOC_FREQ_CAP) for w, s in stems.items()}
        top = self._select("SELECT rowid AS n FROM memories_fts ORDER BY rowid DESC LIMIT 1", ())
        n_docs = int(top[0]["n"]) if top else 0
        db = self._db
        if not db.vocab_ready:
            with db.lock:
                db.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.remem_vocab USING fts5vocab(main, memories_fts, 'row')")
            db.vocab_ready = True
        counts: dict[str, int] = {}
        for chunk in chunks(list(dict.fromkeys(stems.values())), 500):
            marks = ",".join("?" * len(chunk))
            for r in self._select(f"SELECT term, doc FROM temp.remem_vocab WHERE term IN ({marks})", chunk):
                counts[r["term"]] = min(int(r["doc"]), DOC_FREQ_CAP)
        return n_docs, {w: counts.get(s, 0) for w, s in stems.items()}

    def _text_partition(self, user_key: str) -> TextPartition | None:
        """The up-to-date text partition of one user of this tenant (None if it has no rows)."""
        db = self._db
        with db.lock:
            state = db.conn.execute(
                "SELECT p.generation, (SELECT max(seq) FROM texts t WHERE t.tenant = p.tenant AND t.user_key = p.user_key) "
                "FROM partitions p WHERE p.tenant = ? AND p.user_key = ?",
                (self.tenant, user_key),
            ).fetchone()
        if state is None:
            return None

        def delta(after: int) -> Iterator[tuple[int, int, str]]:
            while True:
                with db.lock:
                    page = db.conn.execute(
                        "SELECT t.seq, t.mem_rowid, f.text FROM texts t JOIN memories_fts f ON f.rowid = t.mem_rowid "
                        "WHERE t.tenant = ? AND t.user_key = ? AND t.seq > ? ORDER BY t.seq LIMIT ?",
                        (self.tenant, user_key, after, PAGE),
                    ).fetchall()
                yield from page
                if len(page) < PAGE:
                    return
                after = page[-1][0]

        def row_at(seq: int) -> tuple[int, str] | None:
            with db.lock:
                row = db.conn.execute(
                    "SELECT t.mem_rowid, f.text FROM texts t JOIN memories_fts f ON f.rowid = t.mem_rowid "
                    "WHERE t.tenant = ? AND t.user_key = ? AND t.seq = ?",
                    (self.tenant, user_key, seq),
                ).fetchone()
            return (row[0], row[1]) if row else None

        return db.text_index.partition((self.tenant, user_key), (state[0], state[1] or 0), delta, row_at)
