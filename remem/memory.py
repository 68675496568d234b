"""``Memory``: the one public entry point, a thin facade over the layers."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from remem._maintenance import MaintenanceMethods
from remem._procedural import ProceduralMethods
from remem.procedural.records import TYPE_KEY
from remem._args import MAX_LIMIT, check_bool, check_id_arg, check_kind, check_limit, check_metadata, check_scope
from remem.embed import Embedder, default_embedder
from remem.errors import InvalidInputError, LLMNotConfiguredError, NotFoundError
from remem.jsonl import open_text, read_jsonl
from remem.models import Context, HistoryEntry, Kind, MemoryRecord, Operation, SearchHit, check_content, parse_time, utcnow
from remem.models.checks import check_id, check_int, check_json
from remem.read import SearchConfig, hybrid_search
from remem.read.context import MIN_LINE_TOKENS, expand_with_neighbors, pack
from remem.store import DEFAULT_TENANT, Link, Query, Store, open_store
from remem.store.common import encode_vector, parse_export_items
from remem.write.keywords import extract_keywords
from remem.write import IndexConfig, normalize_messages, records_from_messages
from remem.write.writer import Writer
from remem.write.admission import AdmissionPolicy, Gate
from remem.maintain import MaintenancePolicy

log = logging.getLogger("remem")

UPDATABLE = {"content", "metadata", "importance", "keywords", "tags", "context", "event_time", "valid_from", "valid_to"}


def default_path() -> str | Path:
    """``$REMEM_PATH`` (a file, ``sqlite:PATH`` or a ``postgresql://`` URL), else ``memory.db``
    in the user's data directory."""
    env = os.environ.get("REMEM_PATH")
    if env:
        return env if "://" in env or env.startswith("sqlite:") else Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("remem", appauthor=False)) / "memory.db"


class Memory(MaintenanceMethods, ProceduralMethods):
    """Long-term memory for agents, stored in one SQLite file by default.

    >>> mem = Memory(path="demo.db")
    >>> mem.add("I moved to Lisbon", user_id="alice")
    >>> mem.search("where does alice live?", user_id="alice")[0].memory.content
    'I moved to Lisbon'
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        url: str | None = None,
        tenant: str = DEFAULT_TENANT,
        embedder: Embedder | None = None,
        search_config: SearchConfig | None = None,
        store: Store | None = None,
        llm: Any = "auto",
        index_config: IndexConfig | None = None,
        infer_config: Any = None,
        maintenance: MaintenancePolicy | None = None,
        admission: AdmissionPolicy | None = None,
    ) -> None:
        """``llm``: an LLM client (see :mod:`remem.llm`), None for none, or "auto" to
        use ``REMEM_LLM_BASE_URL``/``REMEM_LLM_MODEL`` when they are set. ``maintenance``:
        the default policy of :meth:`maintain`; ``admission``: a write-time gate for
        :meth:`add` (:class:`~remem.write.admission.AdmissionPolicy`; off by default)."""
        if path is not None and url is not None:
            raise InvalidInputError("give either path= or url=, not both")
        self.embedder = embedder if embedder is not None else default_embedder()
        self.search_config = search_config or SearchConfig()
        self.index_config = index_config or IndexConfig()
        self.store: Store = store or open_store(url or path or default_path(), tenant=tenant)
        self.store.check_embedding(self.embedder.model_name, self.embedder.dim)
        self._writer = Writer(self.store, self.embedder, self.index_config)
        if llm == "auto":
            from remem.llm import llm_from_env

            llm = llm_from_env()
        self.llm = llm
        self.infer_config = infer_config  # remem.write.pipeline.PipelineConfig, or None for defaults
        self._pipeline: Any = None
        self.maintenance_policy = maintenance
        self.admission = admission

    # -- context manager -----------------------------------------------------------
    def __enter__(self) -> "Memory":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
        self.store.close()

    @property
    def pipeline(self) -> Any:
        """The LLM write path (extraction, resolution, linking, summaries)."""
        if self._pipeline is None:
            if self.llm is None:
                raise LLMNotConfiguredError(
                    "this needs an LLM: pass Memory(llm=...) or set REMEM_LLM_BASE_URL and REMEM_LLM_MODEL"
                )
            from remem.write.pipeline import InferencePipeline

            self._pipeline = InferencePipeline(self._writer, self.llm, self.infer_config)
        return self._pipeline

    def wait(self, timeout: float | None = None) -> None:
        """Block until background LLM work queued by ``add(..., background=True)`` is done;
        raises ``TimeoutError`` if it is still running after ``timeout`` seconds."""
        if self._pipeline is not None:
            self._pipeline.wait(timeout)

    # -- writes --------------------------------------------------------------------
    def add(
        self,
        messages: str | dict[str, Any] | list[dict[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        timestamp: datetime | str | float | None = None,
        metadata: dict[str, Any] | None = None,
        kind: Kind | str = Kind.EPISODIC,
        infer: bool | None = None,
        background: bool = False,
    ) -> list[MemoryRecord]:
        """Store messages as memories (one per message), embedding them in one batch.

        ``timestamp`` (when the messages were said) applies to messages without
        their own. Re-adding a message with the same timestamp or id is a no-op.

        With an LLM (``infer`` defaults to True when one is configured) the raw turns are
        stored first, then facts are extracted and reconciled with what is known; the
        returned list holds the raw turns followed by the facts written. ``background=True``
        returns after the raw turns and does the LLM work in a queue (see :meth:`wait`).
        """
        scope = _scope(user_id=user_id, agent_id=agent_id, session_id=session_id)
        meta = _metadata(metadata)
        kind = _kind(kind)
        msgs = normalize_messages(messages)
        when = parse_time(timestamp)
        if infer is None:
            infer = self.llm is not None
        pipeline = self.pipeline if infer else None  # fails early, before writing, without an LLM
        pairs = records_from_messages(msgs, timestamp=when, metadata=meta, kind=kind, **scope)
        for rec, _ in pairs:
            rec.keywords = rec.keywords or extract_keywords(rec.content)
        if self.admission is not None:
            admitted, _ = Gate(self.admission, self.store, self.llm).admit([rec for rec, _ in pairs])
            keep = {rec.id for rec in admitted}
            pairs = [(rec, fp) for rec, fp in pairs if rec.id in keep]
        records = self._write(pairs) if pairs else []
        if pipeline is None:
            return records
        if background:
            pipeline.submit(records)
            return records
        return records + pipeline.run(records)

    def add_records(self, records: Iterable[MemoryRecord]) -> list[MemoryRecord]:
        """Store ready-made records (any kind), embedding them in one batch."""
        items = []
        for rec in records:
            _check_id("id", rec.id, required=True)
            check_content(rec.content)
            _scope(user_id=rec.user_id, agent_id=rec.agent_id, session_id=rec.session_id)
            items.append((rec, None))
        return self._write(items)

    def index_texts(self, records: list[MemoryRecord]) -> list[str]:
        """The texts ``add`` indexes for these consecutive records (see :class:`IndexConfig`)."""
        return self._writer.index_texts(records)

    def vector_texts(self, records: list[MemoryRecord]) -> list[str]:
        """The texts ``add`` embeds for these records (the index text, or the turn alone)."""
        return self._writer.vector_texts(records)

    def _write(self, items: list[tuple[MemoryRecord, str | None]]) -> list[MemoryRecord]:
        return self._writer.write(items)

    def update(
        self,
        memory_id: str,
        *,
        content: str | None = None,
        metadata: dict[str, Any] | None = None,
        reason: str | None = None,
        **fields: Any,
    ) -> MemoryRecord:
        """Change a memory; the old version stays in :meth:`history`.

        ``metadata`` is merged into the existing metadata (a key set to None is removed).
        Other updatable fields: importance, keywords, tags, context, event_time, valid_from, valid_to.
        """
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise InvalidInputError(f"cannot update {sorted(unknown)}; updatable: {sorted(UPDATABLE)}")
        current = self.get(memory_id)
        if current.is_deleted:
            raise InvalidInputError(f"memory {memory_id!r} is deleted")
        changes: dict[str, Any] = {}
        if content is not None:
            changes["content"] = check_content(content)
        if metadata is not None:
            merged = {**current.metadata, **_metadata(metadata)}
            changes["metadata"] = {k: v for k, v in merged.items() if v is not None}
        for name, value in fields.items():
            if name in {"event_time", "valid_from", "valid_to"}:
                value = parse_time(value, field=name)
            changes[name] = value
        if not changes:
            raise InvalidInputError("update needs at least one field to change")
        return self._writer.new_version(current, op=Operation.UPDATE, reason=reason, with_context=True, force=True, **changes)

    def delete(self, memory_id: str, *, reason: str | None = None) -> MemoryRecord:
        """Soft-delete: hidden from search and lists, kept in history."""
        current = self.get(memory_id)
        if current.is_deleted:
            return current
        return self._writer.new_version(current, op=Operation.DELETE, reason=reason, deleted_at=utcnow())

    def purge(self, *, user_id: str) -> int:
        """Erase everything about a user, history and indexes included. Irreversible."""
        _check_id("user_id", user_id, required=True)
        return self.store.purge(user_id=user_id)

    # -- reads ---------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        limit: int = 10,
        filters: dict[str, Any] | None = None,
        time_range: tuple[Any, Any] | None = None,
        kind: Kind | str | list[Kind | str] | None = None,
        mode: str | None = None,
        now: Any = None,
        as_of: Any = None,
        threshold: float | None = None,
        include_archived: bool = False,
    ) -> list[SearchHit]:
        """Hybrid (dense + BM25) search, best first. ``hit.explanation`` says why.

        ``hit.score`` is the ranker's estimate of the probability that the memory is
        relevant (0-1, comparable across queries and stores); ``threshold`` drops hits
        scoring below it, so "nothing relevant" comes back as an empty list.
        ``now`` is the reference time for relative expressions in the query ("last
        week") and for memory strength (default: the current time). Only facts valid at
        ``as_of`` (default: ``now``) are returned; invalidated ones stay in history.
        Archived memories (see :meth:`maintain`) are searched only with ``include_archived``.
        """
        check_content(query, "query")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1):
            raise InvalidInputError("threshold must be a number between 0 and 1")
        q, when = self._read_query(user_id, agent_id, session_id, kind, filters, time_range, now, as_of)
        q.include_archived = check_bool(include_archived, "include_archived")
        hits = hybrid_search(self.store, self.embedder, query, q, _limit(limit), self.search_config, mode, when)
        return hits if threshold is None else [h for h in hits if h.score >= threshold]

    def context(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        token_budget: int = 2000,
        filters: dict[str, Any] | None = None,
        kind: Kind | str | list[Kind | str] | None = None,
        now: Any = None,
        as_of: Any = None,
        neighbors: int = 1,
    ) -> Context:
        """A ready-to-prompt block of memories within ``token_budget`` tokens: dated,
        with speakers, grouped by session, sessions and turns in time order.

        When everything in scope fits, all of it is returned (``strategy="full"``,
        ``complete=True``: full context beats retrieval on small histories). Otherwise the
        best search hits, each followed by ``neighbors`` adjacent turns of its session,
        fill the budget in rank order. The memories used count as recalled (strength). For an
        ``agent_id`` whose learned strategies apply to the query (:meth:`learn`), a separate
        "How to" section follows (``context.how_to``; at most a quarter of the budget).
        """
        check_content(query, "query")
        if not isinstance(token_budget, int) or isinstance(token_budget, bool) or token_budget < 1:
            raise InvalidInputError("token_budget must be a positive integer")
        check_int(neighbors, "neighbors", minimum=0, maximum=50)
        q, when = self._read_query(user_id, agent_id, session_id, kind, filters, None, now, as_of)
        how_to, how_tokens = self._how_to(query, user_id, agent_id, token_budget)
        budget = token_budget - how_tokens
        total = self.store.count(q)
        strategy, complete = "retrieval", False
        if total <= MAX_LIMIT and total * MIN_LINE_TOKENS <= budget:
            everything = _not_procedural(self.store.list(q, limit=MAX_LIMIT, newest_first=False))
            text, used, tokens = pack(everything, budget)
            strategy, complete = ("full", True) if len(used) == len(everything) else ("retrieval", False)
        if not complete:
            hits = hybrid_search(self.store, self.embedder, query, q, 100, self.search_config, None, when)
            ordered = expand_with_neighbors(self.store, q, _not_procedural([h.memory for h in hits]), neighbors)
            text, used, tokens = pack(ordered, budget)
        self.store.touch([r.id for r in used], utcnow())
        if how_to:
            text, tokens = (f"{text}\n\n{how_to}" if text else how_to), tokens + how_tokens
        return Context(text=text, memories=used, tokens=tokens, token_budget=token_budget, complete=complete,
                       strategy=strategy, how_to=how_to)

    def _read_query(
        self, user_id: Any, agent_id: Any, session_id: Any, kind: Any, filters: Any, time_range: Any, now: Any, as_of: Any
    ) -> tuple[Query, datetime]:
        """Current facts by default (validity not ended at ``now``: facts about planned,
        future events stay visible); with ``as_of``, exactly what was valid then."""
        q = self._query(user_id, agent_id, session_id, kind, filters, time_range)
        when = parse_time(now, field="now") or utcnow()
        past = parse_time(as_of, field="as_of")
        if past is not None:
            q.valid_at = past
        else:
            q.not_ended_at = when
        return q, when

    def get(self, memory_id: str) -> MemoryRecord:
        """The current version of a memory (deleted ones too); NotFoundError if absent."""
        _check_id("memory_id", memory_id, required=True)
        record = self.store.get(memory_id)
        if record is None:
            raise NotFoundError(f"no memory with id {memory_id!r}")
        return record

    def get_many(self, memory_ids: list[str]) -> list[MemoryRecord]:
        """The current versions of these memories (deleted ones too); unknown ids are left out."""
        if not isinstance(memory_ids, (list, tuple)):
            raise InvalidInputError("memory_ids must be a list of ids")
        for memory_id in memory_ids:
            _check_id("memory_id", memory_id, required=True)
        return self.store.get_many(list(memory_ids)) if memory_ids else []

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        kind: Kind | str | list[Kind | str] | None = None,
        filters: dict[str, Any] | None = None,
        time_range: tuple[Any, Any] | None = None,
        limit: int = 100,
        offset: int = 0,
        include_deleted: bool = False,
        as_of: Any = None,
        oldest_first: bool = False,
        include_archived: bool = False,
    ) -> list[MemoryRecord]:
        """Memories in scope, newest first (``oldest_first=True``: in time order), paginated
        with ``limit``/``offset``. ``as_of``: only facts valid at that time. Deleted and
        archived memories are left out unless ``include_deleted``/``include_archived``."""
        check_int(offset, "offset", minimum=0)
        q = self._list_query(user_id, agent_id, session_id, kind, filters, time_range, include_deleted, as_of, include_archived)
        return self.store.list(q, limit=_limit(limit), offset=offset, newest_first=not oldest_first)

    def count(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        kind: Kind | str | list[Kind | str] | None = None,
        filters: dict[str, Any] | None = None,
        time_range: tuple[Any, Any] | None = None,
        include_deleted: bool = False,
        as_of: Any = None,
        include_archived: bool = False,
    ) -> int:
        """How many memories match (same arguments as :meth:`get_all`, minus paging)."""
        q = self._list_query(user_id, agent_id, session_id, kind, filters, time_range, include_deleted, as_of, include_archived)
        return self.store.count(q)

    def _list_query(
        self, user_id: Any, agent_id: Any, session_id: Any, kind: Any, filters: Any, time_range: Any,
        include_deleted: Any, as_of: Any, include_archived: Any = False,
    ) -> Query:
        q = self._query(user_id, agent_id, session_id, kind, filters, time_range)
        q.include_deleted = check_bool(include_deleted, "include_deleted")
        q.include_archived = check_bool(include_archived, "include_archived")
        q.valid_at = parse_time(as_of, field="as_of")
        return q

    def history(self, memory_id: str) -> list[HistoryEntry]:
        """Every version of a memory, oldest first, with what changed and why."""
        self.get(memory_id)
        return self.store.history(memory_id)

    def links(self, memory_id: str) -> list[Link]:
        """Links from and to a memory (related, supersedes, …)."""
        self.get(memory_id)
        return self.store.links(memory_id)

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    # -- export / import -------------------------------------------------------------
    def export(self, *, user_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield every memory (deleted included) with history, vectors and links."""
        _check_id("user_id", user_id)
        return self.store.export(Query(user_id=user_id))

    def export_file(self, file: str | Path | IO[str], *, user_id: str | None = None) -> int:
        """Write :meth:`export` as JSON Lines; returns the number of memories."""
        n = 0
        with open_text(file, "w") as fh:
            for item in self.export(user_id=user_id):
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
                n += 1
        return n

    def import_(self, items: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Load exported items losslessly; returns (imported, skipped as already present).
        Every item is checked before anything is written: one bad item changes nothing."""
        if isinstance(items, (str, bytes, dict)) or not isinstance(items, Iterable):
            raise InvalidInputError("import needs an iterable of export items (dicts)")
        batch = list(items)
        parsed = parse_export_items(batch)  # check everything before embedding anything
        missing = [i for i, p in enumerate(parsed) if p.vector is None]
        if missing:
            for i, vec in zip(missing, self.embedder.embed([parsed[i].index_text for i in missing])):
                batch[i] = {**batch[i], "vector": encode_vector(vec)}
        return self.store.import_items(batch)

    def import_file(self, file: str | Path | IO[str]) -> tuple[int, int]:
        """Read a JSON Lines export made by :meth:`export_file`. The whole file is
        parsed before anything is written, so a malformed line changes nothing."""
        with open_text(file, "r") as fh:
            items = list(read_jsonl(fh))
        return self.import_(items)

    # -- helpers -------------------------------------------------------------------
    def _query(
        self,
        user_id: str | None,
        agent_id: str | None,
        session_id: str | None,
        kind: Any,
        filters: dict[str, Any] | None,
        time_range: tuple[Any, Any] | None,
    ) -> Query:
        scope = _scope(user_id=user_id, agent_id=agent_id, session_id=session_id)
        kinds = None
        if kind is not None:
            kinds = [_kind(k) for k in (kind if isinstance(kind, list) else [kind])]
        if filters is not None:
            if not isinstance(filters, dict):
                raise InvalidInputError("filters must be a dict")
            check_json(filters, "filters")
        tr = None
        if time_range is not None:
            if not isinstance(time_range, (tuple, list)) or len(time_range) != 2:
                raise InvalidInputError("time_range must be a (start, end) pair; either may be None")
            tr = (parse_time(time_range[0], field="time_range start"), parse_time(time_range[1], field="time_range end"))
            if tr[0] is not None and tr[1] is not None and tr[0] > tr[1]:
                raise InvalidInputError(f"time_range: start {tr[0].isoformat()} is after end {tr[1].isoformat()}")
        return Query(**scope, kinds=kinds, filters=filters, time_range=tr)


def _not_procedural(records: list[MemoryRecord]) -> list[MemoryRecord]:
    """Records that are not procedural memory's bookkeeping (trajectories, task records and
    strategies have their own "How to" section)."""
    return [r for r in records if TYPE_KEY not in r.metadata]


_check_id, _scope, _kind, _limit, _metadata = check_id_arg, check_scope, check_kind, check_limit, check_metadata
