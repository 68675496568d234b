"""The storage interface every backend (SQLite, PostgreSQL) implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from remem.models import AuditEntry, Filters, HistoryEntry, Kind, MemoryRecord, Operation

SCHEMA_VERSION = 3  # 2: archived_at, the audit log; 3: SQLite's texts log (derived text index)
DOC_FREQ_CAP = 5_000  # doc_freqs stops counting there: an IDF that low barely weighs anyway
DEFAULT_TENANT = "default"


@dataclass
class Query:
    """Which memories an operation may see. Tenant scoping is the store's own job."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    kinds: list[Kind] | None = None
    filters: Filters | None = None
    time_range: tuple[datetime | None, datetime | None] | None = None  # on event_time
    valid_at: datetime | None = None  # only facts valid at that time (valid_from <= t < valid_to)
    not_ended_at: datetime | None = None  # only facts whose validity has not ended at t (valid_to > t)
    include_deleted: bool = False
    include_archived: bool = False
    ids: list[str] | None = None

    @property
    def only_scope(self) -> bool:
        """True when nothing but user scope narrows the query (index search needs no filter)."""
        return not (self._narrowed() or self.valid_at or self.not_ended_at)

    @property
    def scope_and_validity(self) -> bool:
        """True when only user scope and validity narrow the query (what ``Memory.search``
        always sends): nearly every row passes, so an index walk with the rows checked
        afterwards beats scanning the filtered candidates."""
        return not (self._narrowed() or self.include_deleted or self.include_archived)

    def _narrowed(self) -> bool:
        """Whether anything but user scope and validity narrows the query."""
        return bool(self.agent_id or self.session_id or self.kinds or self.filters or self.time_range or self.ids)


@dataclass
class Write:
    """One memory to insert: the record, the text to index, its vector."""

    record: MemoryRecord
    index_text: str
    vector: np.ndarray
    reason: str | None = None
    fingerprint: str | None = None  # a stable key of the source; re-inserting it is a no-op


class RankingRow:
    """A candidate memory as the read path scores it: the fields the features read, the text the
    text index holds for it and its vector. The full :class:`MemoryRecord` is built only when
    ``record`` is first read (for the hits returned, not for every candidate)."""

    __slots__ = ("id", "user_id", "session_id", "speaker", "content", "event_time", "index_text", "vector", "_raw", "_build", "_record")

    def __init__(
        self, raw: dict[str, Any], event_time: datetime | None, index_text: str, vector: np.ndarray | None,
        build: "Callable[[dict[str, Any]], MemoryRecord]",
    ) -> None:
        self.id: str = raw["id"]
        self.user_id: str | None = raw["user_id"]
        self.session_id: str | None = raw["session_id"]
        self.speaker: str | None = raw["speaker"]
        self.content: str = raw["content"]
        self.event_time = event_time
        self.index_text = index_text
        self.vector = vector
        self._raw, self._build = raw, build
        self._record: MemoryRecord | None = None

    @property
    def record(self) -> MemoryRecord:
        if self._record is None:
            self._record = self._build(self._raw)
        return self._record


@dataclass
class Link:
    """A directed, weighted relation between two memories of one tenant."""

    src: str
    dst: str
    relation: str = "related"
    weight: float = 1.0


class VectorSearcher(Protocol):
    """Nearest-neighbour search over one partition's vectors (exact or HNSW)."""

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (row key, cosine) pairs, best first."""
        ...

    def search_subset(self, query: np.ndarray, keys: list[int], k: int) -> list[tuple[int, float]]:
        """The ``k`` best (row key, cosine) pairs among ``keys``, best first."""
        ...


class VectorPartition(Protocol):
    """One (tenant, user) partition of a derived vector index, kept up to date by the store."""

    @property
    def impl(self) -> VectorSearcher:
        """The searcher currently holding the partition's vectors."""
        ...


class Store(Protocol):
    """A tenant-bound view of one storage backend.

    Every method acts inside ``self.tenant``; there is no way to reach another
    tenant's rows except through :meth:`with_tenant`. Every method may raise
    :class:`~remem.errors.StoreError` when the database fails; writes are all or nothing.
    """

    tenant: str

    def with_tenant(self, tenant: str) -> "Store":
        """A view of the same storage bound to ``tenant`` (InvalidInputError if empty)."""
        ...

    def check_embedding(self, model: str, dim: int) -> None:
        """Record the embedding model on first use; EmbeddingMismatchError if the store has another."""
        ...

    def insert(self, writes: list[Write], *, actor: str | None = None) -> list[MemoryRecord]:
        """Insert new memories (rows, history ADD, text, vectors) in one transaction; the stored
        records, a known fingerprint's stored record in its place; InvalidInputError on a taken id."""
        ...

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
        """Overwrite a memory with a newer version and log it in history; returns ``record``;
        NotFoundError if unknown, InvalidInputError if not newer or moved to another user."""
        ...

    def save_versions(
        self, items: list[tuple[MemoryRecord, str | None]], *, op: Operation, changed_fields: list[str], actor: str | None = None
    ) -> list[MemoryRecord]:
        """Save many (record, reason) new versions whose text and vector stay, in one transaction."""
        ...

    def get(self, memory_id: str) -> MemoryRecord | None:
        """The record with that id (deleted ones too), or None."""
        ...

    def get_many(self, ids: list[str]) -> list[MemoryRecord]:
        """The records with those ids in the order asked; unknown ids are left out."""
        ...

    def list(self, query: Query, *, limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[MemoryRecord]:
        """One page of the records the query allows, ordered by event (else creation) time."""
        ...

    def count(self, query: Query) -> int:
        """How many records the query allows."""
        ...

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Every version of a memory, oldest first (empty if unknown)."""
        ...

    def histories(self, ids: list[str]) -> dict[str, list[HistoryEntry]]:
        """The history of each of ``ids``, oldest first (ids without history are left out)."""
        ...

    def user_ids(self) -> list[str | None]:
        """Every user with memories in this tenant (None stands for memories without a user)."""
        ...

    def purge(self, *, user_id: str) -> int:
        """Erase every trace of a user (rows, history, links, indexes); how many memories went;
        InvalidInputError without a user_id."""
        ...

    def text_search(self, text: str, query: Query, limit: int) -> list[tuple[str, float]]:
        """BM25 matches of ``text`` the query allows: (id, positive score), best first."""
        ...

    def vector_search(self, vector: np.ndarray, query: Query, limit: int) -> list[tuple[str, float]]:
        """Nearest memories the query allows: (id, cosine), best first; StoreError before check_embedding."""
        ...

    def index_entries(self, ids: list[str], vectors_for: set[str] | None = None) -> dict[str, tuple[str, np.ndarray | None]]:
        """For each id: the text the text index holds for it and its vector (the read path scores
        candidates with them); with ``vectors_for``, vectors only for those ids (None elsewhere)."""
        ...

    def ranking_rows(self, ids: list[str]) -> list[RankingRow]:
        """The memories ``ids`` (in the order asked, missing ones left out) with their index text
        and vector, in one statement: what the read path scores its candidates with."""
        ...

    def doc_freqs(self, words: list[str], user_id: str | None = None) -> tuple[int, dict[str, int]]:
        """(rows in the text index, {word: rows whose indexed text holds it}), each word stemmed
        as the index stems it; counts may be capped at DOC_FREQ_CAP (rarer words are what matter).
        With ``user_id``, a store may count within that user's rows (SQLite does)."""
        ...

    def touch(self, ids: list[str], when: datetime) -> None:
        """Count an access to each memory at ``when`` (no new version)."""
        ...

    def add_links(self, links: list[Link]) -> None:
        """Add links; an existing (src, dst, relation) gets the new weight."""
        ...

    def links(self, memory_id: str) -> list[Link]:
        """The links from or to a memory."""
        ...

    def record_audit(self, entries: list[AuditEntry]) -> None:
        """Append audit entries for operations that make no version (every version a write
        makes is audited by the store itself, in the same transaction)."""
        ...

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
        """This tenant's audit entries after ``after_seq``, oldest first, narrowed by user,
        memory, time (inclusive) and operation."""
        ...

    def export(self, query: Query) -> Iterator[dict[str, Any]]:
        """Every matching memory, deleted ones too, as an item with its history, index text, vector and links."""
        ...

    def import_item(self, item: dict[str, Any]) -> bool:
        """Insert one export item verbatim; False if its id or fingerprint is here; InvalidInputError if malformed."""
        ...

    def import_items(self, items: list[dict[str, Any]]) -> tuple[int, int]:
        """Insert export items verbatim, all or nothing; (added, skipped); InvalidInputError naming a bad item."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counts (memories, deleted, users, sessions, by kind, history, links), the embedding model and size."""
        ...

    # API keys are admin operations: not bound to self.tenant (the key names its tenant)
    def create_api_key(self, key_hash: str, tenant: str, name: str | None = None, scope: str = "member") -> None:
        """Store a key hash bound to ``tenant`` (admin operation); ``scope``: "member" or "admin"."""
        ...

    def resolve_api_key(self, key_hash: str) -> str | None:
        """The tenant of a live key, or None (unknown or revoked)."""
        ...

    def api_key_info(self, key_hash: str) -> dict[str, Any] | None:
        """``{"tenant", "name", "scope"}`` of a live key, or None (admin operation)."""
        ...

    def list_api_keys(self) -> list[dict[str, Any]]:
        """Every key: key_hash, tenant, name, created_at and revoked_at (UTC text), oldest first."""
        ...

    def revoke_api_key(self, key_hash: str) -> bool:
        """Revoke a live key; False if there is none."""
        ...

    def import_api_key(self, row: dict[str, Any]) -> bool:
        """Copy a list_api_keys() row, times kept; False if the hash is here."""
        ...

    def tenants(self) -> list[str]:
        """Every tenant with memories, history, links or API keys (admin operation)."""
        ...

    def close(self) -> None:
        """Release the connections (and save derived indexes)."""
        ...
