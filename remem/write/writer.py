"""The one owner of writing: what a memory is indexed and embedded as, and how it is stored
(new, or as a next version). ``Memory`` and the LLM write path both write through it."""

from __future__ import annotations

from typing import Any

import numpy as np

from remem.embed import Embedder
from remem.models import MemoryRecord, Operation, utcnow
from remem.store import Query, Store, Write
from remem.write.ingest import IndexConfig, index_text, index_texts

MAX_SESSION_TURNS = 10_000  # how far back a turn's neighbours are looked up on update


class Writer:
    """Writes memories into ``store``: index text (with the turns before, per
    ``index_config``), vector (``embedder``), fingerprint, version and history."""

    def __init__(self, store: Store, embedder: Embedder, index_config: IndexConfig | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.index_config = index_config or IndexConfig()

    # -- texts ------------------------------------------------------------------------
    def index_texts(self, records: list[MemoryRecord]) -> list[str]:
        """The texts indexed for these consecutive records of one session (with the turns
        stored just before the first of them, per :class:`IndexConfig`)."""
        before: list[MemoryRecord] = []
        first = records[0] if records else None
        if first is not None and first.session_id and self.index_config.previous_turns > 0:
            q = Query(user_id=first.user_id, agent_id=first.agent_id, session_id=first.session_id, kinds=[first.kind])
            before = self.store.list(q, limit=self.index_config.previous_turns, newest_first=True)[::-1]
        return index_texts(records, before, self.index_config)

    def vector_texts(self, records: list[MemoryRecord]) -> list[str]:
        """The texts embedded for these records (the index text, or the turn alone)."""
        if self.index_config.context_in_vectors:
            return self.index_texts(records)
        return index_texts(records, (), self.index_config.for_vectors())

    def derived_text(self, record: MemoryRecord) -> str:
        """The indexed (and embedded) text of a derived memory: facts, summaries and profiles
        are self-contained, so no earlier record of the session is prefixed."""
        return index_text(record, config=self.index_config)

    def turns_before(self, record: MemoryRecord) -> list[MemoryRecord]:
        """The turns just before ``record`` in its session (for its index text)."""
        n = self.index_config.previous_turns
        if n <= 0 or not record.session_id:
            return []
        q = Query(user_id=record.user_id, agent_id=record.agent_id, session_id=record.session_id, kinds=[record.kind])
        turns = self.store.list(q, limit=MAX_SESSION_TURNS, newest_first=False)
        pos = next((i for i, t in enumerate(turns) if t.id == record.id), len(turns))
        return turns[max(0, pos - n) : pos]

    # -- writes -----------------------------------------------------------------------
    def write(self, items: list[tuple[MemoryRecord, str | None]], *, actor: str | None = None) -> list[MemoryRecord]:
        """Store new (record, fingerprint) pairs in one transaction, embedded in one batch;
        a known fingerprint is a no-op that returns the stored record."""
        stamp = utcnow()
        for rec, _ in items:
            rec.updated_at = stamp  # when remem stored it (history and rollback go by this), whatever the caller set
        records = [rec for rec, _ in items]
        texts = self.index_texts(records)
        vectors = self.embedder.embed(self.vector_texts(records))
        writes = [
            Write(record=rec, index_text=text, vector=vec, fingerprint=fp)
            for (rec, fp), text, vec in zip(items, texts, vectors)
        ]
        return self.store.insert(writes, actor=actor)

    def insert_derived(
        self,
        record: MemoryRecord,
        *,
        fp: str | None = None,
        reason: str | None = None,
        vector: np.ndarray | None = None,
        actor: str | None = None,
    ) -> tuple[MemoryRecord, bool]:
        """Store a derived memory; returns (stored record, whether it is new)."""
        text = self.derived_text(record)
        if vector is None:
            vector = self.embedder.embed([text])[0]
        write = Write(record=record, index_text=text, vector=vector, reason=reason, fingerprint=fp)
        stored = self.store.insert([write], actor=actor)[0]
        return stored, stored.id == record.id

    def write_derived(
        self,
        items: list[tuple[MemoryRecord, str | None]],
        *,
        vectors: list[np.ndarray | None] | None = None,
        reason: str | None = None,
        actor: str | None = None,
    ) -> list[MemoryRecord]:
        """Store new derived (record, fingerprint) pairs — facts, summaries — in one transaction;
        those without a given vector are embedded in one batch. A known fingerprint is a
        no-op that returns the stored record."""
        if not items:
            return []
        texts = [self.derived_text(rec) for rec, _ in items]
        given = list(vectors) if vectors is not None else [None] * len(items)
        missing = [i for i, v in enumerate(given) if v is None]
        if missing:
            for i, vec in zip(missing, self.embedder.embed([texts[i] for i in missing])):
                given[i] = vec
        vectors = given
        writes = [
            Write(record=rec, index_text=text, vector=vec, reason=reason, fingerprint=fp)
            for (rec, fp), text, vec in zip(items, texts, vectors)
        ]
        return self.store.insert(writes, actor=actor)

    def mark(
        self, items: list[tuple[MemoryRecord, str | None]], *, op: Operation, actor: str | None = None, **changes: Any
    ) -> list[MemoryRecord]:
        """Save the same field ``changes`` (not content: nothing is re-indexed) as the next
        version of many (record, reason) pairs in one transaction, e.g. archiving."""
        if "content" in changes or "event_time" in changes:
            raise ValueError("mark() does not re-index; use new_version() to change content or event time")
        stamp = utcnow()
        updated = [
            (rec.model_copy(update={**changes, "version": rec.version + 1, "updated_at": stamp}), reason)
            for rec, reason in items
            if any(getattr(rec, k) != v for k, v in changes.items())
        ]
        return self.store.save_versions(updated, op=op, changed_fields=sorted(changes), actor=actor)

    def new_version(
        self,
        current: MemoryRecord,
        *,
        op: Operation,
        reason: str | None,
        actor: str | None = None,
        with_context: bool = False,
        force: bool = False,
        **changes: Any,
    ) -> MemoryRecord:
        """Save ``current`` with ``changes`` as its next version (history keeps the old one).

        Re-indexed and re-embedded when the content or the event time changes (the date is
        indexed with ``IndexConfig(dates=True)``); ``with_context``: index a raw turn with the
        turns before it, as ``add`` did. Returns ``current`` unchanged, writing nothing, when
        no field actually changes (unless ``force``: an explicit update is always a version).
        """
        changed = [k for k, v in changes.items() if getattr(current, k) != v]
        if not changed and not force:
            return current
        new = MemoryRecord.model_validate(
            {**current.model_dump(), **changes, "version": current.version + 1, "updated_at": utcnow()}
        )
        text = vector = None
        if "content" in changed or "event_time" in changed:
            if with_context:
                text = index_text(new, self.turns_before(new), self.index_config)
                own = text if self.index_config.context_in_vectors else index_text(new, (), self.index_config.for_vectors())
            else:
                text = own = self.derived_text(new)
            vector = self.embedder.embed([own])[0]
        return self.store.save_version(
            new, op=op, reason=reason, changed_fields=changed, index_text=text, vector=vector, actor=actor
        )
