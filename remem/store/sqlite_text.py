"""Text search for :class:`~remem.store.sqlite.SQLiteStore`: the derived text index
(:mod:`remem.store.text_search`) reads the ``texts`` log and the text FTS5 holds; FTS5's
vocabulary answers table-wide document frequencies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remem.store.base import DOC_FREQ_CAP
from remem.store.sqlbase import chunks
from remem.store.sqlite_db import Database
from remem.store.text import stem
from remem.store.text_index import TextIndex
from remem.store.text_search import DerivedTextSearch


class SQLiteTextSearch(DerivedTextSearch):
    """The SQLite side of the derived text search; the store provides ``_db`` and ``_select``."""

    _db: Database

    if TYPE_CHECKING:  # provided by the store
        def _select(self, sql: str, params: Any) -> list[dict[str, Any]]: ...

    @property
    def _text_index(self) -> TextIndex:
        return self._db.text_index

    def _text_state(self, user_key: str) -> tuple[int, int] | None:
        rows = self._select(
            "SELECT p.generation AS g, (SELECT max(seq) FROM texts t WHERE t.tenant = p.tenant AND t.user_key = p.user_key) AS top "
            "FROM partitions p WHERE p.tenant = ? AND p.user_key = ?",
            (self.tenant, user_key),
        )
        return None if not rows else (int(rows[0]["g"]), int(rows[0]["top"] or 0))

    def _text_page(self, user_key: str, after: int, limit: int) -> list[tuple[int, int, str]]:
        rows = self._select(
            "SELECT t.seq AS seq, t.mem_rowid AS rowid, f.text AS text FROM texts t JOIN memories_fts f ON f.rowid = t.mem_rowid "
            "WHERE t.tenant = ? AND t.user_key = ? AND t.seq > ? ORDER BY t.seq LIMIT ?",
            (self.tenant, user_key, after, limit),
        )
        return [(r["seq"], r["rowid"], r["text"] or "") for r in rows]

    def _text_row(self, user_key: str, seq: int) -> tuple[int, str] | None:
        rows = self._select(
            "SELECT t.mem_rowid AS rowid, f.text AS text FROM texts t JOIN memories_fts f ON f.rowid = t.mem_rowid "
            "WHERE t.tenant = ? AND t.user_key = ? AND t.seq = ?",
            (self.tenant, user_key, seq),
        )
        return (rows[0]["rowid"], rows[0]["text"] or "") if rows else None

    def _table_doc_freqs(self, words: list[str]) -> tuple[int, dict[str, int]]:
        """From FTS5's own vocabulary (fts5vocab, one index lookup per word), over the whole table."""
        stems = {w: stem(w) for w in words}
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
