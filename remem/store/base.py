"""The storage interface every backend (SQLite, PostgreSQL) implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Protocol

import numpy as np

from remem.models import Filters, HistoryEntry, Kind, MemoryRecord, Operation

SCHEMA_VERSION = 1
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
    ids: list[str] | None = None

    @property
    def only_scope(self) -> bool:
        """True when nothing but user scope narrows the query (index search needs no filter)."""
        return not (
            self.agent_id or self.session_id or self.kinds or self.filters or self.time_range
            or self.valid_at or self.not_ended_at or self.ids
        )


@dataclass
class Write:
    """One memory to insert: the record, the text to index, its vector."""

    record: MemoryRecord
    index_text: str
    vector: np.ndarray
    reason: str | None = None
    fingerprint: str | None = None  # a stable key of the source; re-inserting it is a no-op


@dataclass
class Link:
    src: str
    dst: str
    relation: str = "related"
    weight: float = 1.0


class Store(Protocol):
    """A tenant-bound view of one storage backend.

    Every method acts inside ``self.tenant``; there is no way to reach another
    tenant's rows except through :meth:`with_tenant`.
    """

    tenant: str

    def with_tenant(self, tenant: str) -> "Store": ...
    def check_embedding(self, model: str, dim: int) -> None: ...
    def insert(self, writes: list[Write], *, actor: str | None = None) -> list[MemoryRecord]: ...
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
    ) -> MemoryRecord: ...
    def get(self, memory_id: str) -> MemoryRecord | None: ...
    def get_many(self, ids: list[str]) -> list[MemoryRecord]: ...
    def list(self, query: Query, *, limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[MemoryRecord]: ...
    def count(self, query: Query) -> int: ...
    def history(self, memory_id: str) -> list[HistoryEntry]: ...
    def purge(self, *, user_id: str) -> int: ...
    def text_search(self, text: str, query: Query, limit: int) -> list[tuple[str, float]]: ...
    def vector_search(self, vector: np.ndarray, query: Query, limit: int) -> list[tuple[str, float]]: ...
    def index_entries(self, ids: list[str], vectors_for: set[str] | None = None) -> dict[str, tuple[str, np.ndarray | None]]:
        """For each id: the text the text index holds for it and its vector (the read path scores
        candidates with them); with ``vectors_for``, vectors only for those ids (None elsewhere)."""
        ...
    def doc_freqs(self, words: list[str]) -> tuple[int, dict[str, int]]:
        """(rows in the text index, {word: rows whose indexed text holds it}), each word stemmed
        as the index stems it; counts may be capped at DOC_FREQ_CAP (rarer words are what matter)."""
        ...
    def touch(self, ids: list[str], when: datetime) -> None: ...
    def add_links(self, links: list[Link]) -> None: ...
    def links(self, memory_id: str) -> list[Link]: ...
    def export(self, query: Query) -> Iterator[dict[str, Any]]: ...
    def import_item(self, item: dict[str, Any]) -> bool: ...
    def import_items(self, items: list[dict[str, Any]]) -> tuple[int, int]: ...  # all or nothing; (added, skipped)
    def stats(self) -> dict[str, Any]: ...
    # API keys are admin operations: not bound to self.tenant (the key names its tenant)
    def create_api_key(self, key_hash: str, tenant: str, name: str | None = None) -> None: ...
    def resolve_api_key(self, key_hash: str) -> str | None: ...
    def list_api_keys(self) -> list[dict[str, Any]]: ...
    def revoke_api_key(self, key_hash: str) -> bool: ...
    def import_api_key(self, row: dict[str, Any]) -> bool: ...  # a list_api_keys() row, times kept
    def tenants(self) -> list[str]: ...
    def close(self) -> None: ...
