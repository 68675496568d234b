"""BM25 text search over a derived :class:`~remem.store.text_index.TextIndex`, for any store
that keeps a ``texts`` log (SQLite and PostgreSQL): the partition per (tenant, user) is
brought up to the log before each search, its best rows are checked against the query's
filters, and the window widens when filters drop too many."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from remem.store.base import DOC_FREQ_CAP, Query
from remem.store.text import stem
from remem.store.text_index import TextIndex, TextPartition, query_tokens

PAGE = 20_000  # log rows read per statement while a partition catches up
MAX_WINDOW = 1_000_000


class DerivedTextSearch:
    """``text_search`` and ``doc_freqs``. The store provides ``tenant``, ``_text_index``, the
    log readers (``_text_state``, ``_text_page``, ``_text_row``), ``_alive_ids``, ``_user_keys``
    and ``_table_doc_freqs`` (document frequencies over the whole table)."""

    tenant: str

    if TYPE_CHECKING:  # provided by the store
        @property
        def _text_index(self) -> TextIndex: ...
        def _text_state(self, user_key: str) -> tuple[int, int] | None: ...
        def _text_page(self, user_key: str, after: int, limit: int) -> list[tuple[int, int, str]]: ...
        def _text_row(self, user_key: str, seq: int) -> tuple[int, str] | None: ...
        def _alive_ids(self, rowids: list[int], query: Query) -> dict[int, str]: ...
        def _user_keys(self) -> list[str]: ...
        def _table_doc_freqs(self, words: list[str]) -> tuple[int, dict[str, int]]: ...

    def text_search(self, text: str, query: Query, limit: int) -> list[tuple[str, float]]:
        """BM25 over the indexed text, best first; scores are positive. Each partition ranks
        with its own statistics (a user's results never move with other users' data)."""
        terms = query_tokens(text)
        if not terms or limit < 1:
            return []
        keys = [query.user_id] if query.user_id is not None else self._user_keys()
        results: list[tuple[int, str, float]] = []
        for user_key in keys:
            part = self._text_partition(user_key)
            if part is not None:
                results.extend(self._filtered(part, terms, query, limit))
        results.sort(key=lambda r: (-r[2], r[0]))  # ties: the older row first, in every store
        return [(memory_id, score) for _, memory_id, score in results[:limit]]

    def _filtered(self, part: TextPartition, terms: list[str], query: Query, limit: int) -> list[tuple[int, str, float]]:
        # only scope and validity (what Memory.search sends): nearly every row passes
        window = limit * 4 if query.only_scope or query.scope_and_validity else limit * 16
        while True:
            found = part.search(terms, window)
            alive = self._alive_ids([k for k, _ in found], query)
            kept = [(k, alive[k], s) for k, s in found if k in alive]
            if len(kept) >= limit or len(found) < window or window >= MAX_WINDOW:
                return kept[:limit]
            window *= 8

    def doc_freqs(self, words: list[str], user_id: str | None = None) -> tuple[int, dict[str, int]]:
        """(rows, {word: rows whose indexed text holds its Porter stem}, capped at DOC_FREQ_CAP):
        within ``user_id``'s partition when given, else over the whole table."""
        if user_id is None:
            return self._table_doc_freqs(words)
        stems = {w: stem(w) for w in words}
        part = self._text_partition(user_id)
        if part is None:
            return 0, {w: 0 for w in words}
        n_docs, found = part.doc_freqs(list(dict.fromkeys(stems.values())))
        return n_docs, {w: min(found.get(s, 0), DOC_FREQ_CAP) for w, s in stems.items()}

    def _text_partition(self, user_key: str) -> TextPartition | None:
        """The up-to-date text partition of one user of this tenant (None if it has no rows)."""
        state = self._text_state(user_key)
        if state is None:
            return None

        def delta(after: int) -> Iterator[tuple[int, int, str]]:
            while True:
                page = self._text_page(user_key, after, PAGE)
                yield from page
                if len(page) < PAGE:
                    return
                after = page[-1][0]

        return self._text_index.partition(
            (self.tenant, user_key), state, delta, lambda seq: self._text_row(user_key, seq)
        )
