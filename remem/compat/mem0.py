"""A Mem0-compatible facade: code written for Mem0 OSS runs on remem by changing one import.

    from remem.compat.mem0 import Memory      # instead of: from mem0 import Memory

    m = Memory()                                # remem's default SQLite store; Memory(path="my.db")
    m.add([{"role": "user", "content": "I love sci-fi movies"}], user_id="alice")
    m.search("what movies does alice like?", filters={"user_id": "alice"})["results"][0]["memory"]
    # 'I love sci-fi movies'

The methods, arguments and returned dicts follow Mem0 OSS (``mem0.Memory``): ``add``,
``search``, ``get``, ``get_all``, ``update``, ``delete``, ``delete_all``, ``history``,
``reset``, ``Memory.from_config`` and the awaitable twin :class:`AsyncMemory`. ``run_id`` is
remem's ``session_id``. The remem memory underneath is ``.memory`` (a :class:`remem.Memory`)
for everything Mem0 has no word for (``context``, ``export_file``, ``purge``, ...).

Differences from Mem0:

- **Offline by default**: ``Memory()`` uses no OpenAI key; it embeds with remem's bundled
  local model and has an LLM only when one is configured. **Without an LLM, ``infer=True``
  stores the raw messages** (one memory per message, as Mem0's ``infer=False`` does). With an LLM (``Memory(llm=...)``,
  ``REMEM_LLM_BASE_URL``/``REMEM_LLM_MODEL``, or ``from_config({"llm": ...})``) remem's LLM
  write path runs: the raw turns are kept as memories too (remem never throws the source
  away) and come back in ``add``'s results as ``ADD`` events, followed by the facts written
  (``ADD``/``UPDATE``, ``DELETE`` for a fact it ended, ``NONE`` for one already known). If
  fact extraction fails, :class:`remem.LLMError` is raised and the raw turns stay stored.
- **Scores are remem's**: ``score`` is an estimated probability of relevance (0-1,
  comparable across queries), not a cosine similarity, and ``threshold`` defaults to None
  (Mem0's newest default, 0.1, would drop relevant hits for short queries).
- **Top-level ids and ``filters`` both work** in ``search``/``get_all``: the old
  ``search(q, user_id="alice", limit=5)`` and the new ``search(q, filters={"user_id":
  "alice"}, top_k=5)``. Defaults: ``top_k=20`` for search, 100 for ``get_all``.
- **Filters**: equality, lists (any of), ``eq ne gt gte lt lte in nin`` and ``AND`` of
  simple conditions work; ``OR``, ``NOT``, ``contains``, ``icontains`` and the ``"*"``
  wildcard raise :class:`remem.InvalidInputError`. ``actor_id`` filters on the speaker. Keys
  that are remem fields (``role``, ``kind``, ``speaker``, ``created_at``, ...) filter on the
  field, other keys on metadata.
- **Deletes are soft**: ``delete``/``delete_all`` hide the memory (``get`` returns None,
  search skips it) but keep it in ``history``, as Mem0's history database does. A fact the
  LLM path ended (event ``DELETE`` in ``add``) is left out of ``search`` and ``get_all`` but
  ``get(id)`` still returns it (remem keeps it for ``as_of`` queries).
  ``reset`` erases every user's memories with :meth:`remem.Memory.purge` (rows, history
  and indexes); memories stored without a ``user_id`` can only be soft-deleted.
- **Errors** are :class:`remem.RememError` subclasses; validation errors are also
  ``ValueError`` (as in Mem0), and an unknown id in ``update``/``delete`` raises
  :class:`MemoryNotFoundError`, which is both a ``ValueError`` and remem's ``NotFoundError``.
  Messages that are not dicts with ``role`` and string ``content`` raise instead of being
  skipped; system messages are skipped, as Mem0 does.
- **Not supported** (raise :class:`remem.InvalidInputError`): ``memory_type`` (procedural
  memories), ``prompt``, ``expiration_date``, vision/multimodal content, ``OR``/``NOT``
  filters. ``timestamp`` is supported (remem keeps when each message was said), though
  Mem0 OSS refuses it. ``rerank`` is accepted and ignored (remem's ranker always runs).
- **IDs and times**: ids are remem's 32-hex-digit ids, not UUIDs; times are ISO 8601 in UTC.
  History entries have Mem0's keys plus ``remem_op`` (remem's own operation; ``INVALIDATE``,
  a fact ended by a newer one, shows as event ``DELETE``).
- **``from_config``** reads a Mem0 config dict and maps what has a remem meaning:
  ``vector_store.config.path``/``db_path`` (a ``.db``/``.sqlite`` file, or a directory to put
  ``remem.db`` in) or ``connection_string``/``url``/``dbname``+``host``... (PostgreSQL);
  ``vector_store.config.collection_name`` becomes remem's tenant; ``llm`` with provider
  ``openai``, ``ollama``, ``lmstudio`` or ``vllm`` and ``config.model``, ``api_key``,
  ``openai_base_url`` (or ``ollama_base_url``, ...), ``temperature``, ``max_tokens``. The
  vector-store provider itself, ``embedder`` (remem embeds with its own local model; pass
  ``embedder=`` for another), ``history_db_path`` (history lives in the store),
  ``reranker``, ``graph_store``, ``version`` and the custom prompts are ignored. Other LLM
  providers and unknown keys raise :class:`remem.InvalidInputError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any


from remem.embed import Embedder
from remem.errors import InvalidInputError, NotFoundError
from remem.compat import mem0_args as args
from remem.compat.mem0_config import from_config_options
from remem.memory import Memory as RememMemory
from remem.models import HistoryEntry, MemoryRecord, Operation, utcnow

__all__ = ["AsyncMemory", "Memory", "MemoryNotFoundError"]


PAGE = 1_000
SEARCH_TOP_K = 20
GET_ALL_TOP_K = 100

EVENTS = {
    Operation.ADD: "ADD", Operation.UPDATE: "UPDATE", Operation.DELETE: "DELETE",
    Operation.INVALIDATE: "DELETE", Operation.RESTORE: "ADD", Operation.NOOP: "NONE",
}  # fmt: skip


class MemoryNotFoundError(NotFoundError, ValueError):
    """No live memory with that id (a ``ValueError`` too, as Mem0 raises)."""


class Memory:
    """Mem0's ``Memory`` API over a :class:`remem.Memory`.

    ``path``/``url``/``tenant``/``embedder``/``llm`` are passed to :class:`remem.Memory`
    (``llm="auto"`` reads ``REMEM_LLM_*``); or give a ready ``memory=``. A dict as the first
    argument is taken as a Mem0 config (as :meth:`from_config`).
    """

    def __init__(
        self,
        path: str | Path | dict[str, Any] | None = None,
        *,
        url: str | None = None,
        tenant: str | None = None,
        embedder: Embedder | None = None,
        llm: Any = "auto",
        memory: RememMemory | None = None,
    ) -> None:
        if isinstance(path, dict):
            options = from_config_options(path)
            path, url = options.get("path"), options.get("url", url)
            tenant = options.get("tenant", tenant)
            llm = options.get("llm", llm)
        if memory is not None:
            if not isinstance(memory, RememMemory):
                raise InvalidInputError(f"memory must be a remem.Memory, got {type(memory).__name__}")
            if path is not None or url is not None:
                raise InvalidInputError("give memory= or a location (path/url), not both")
            self.memory = memory
            return
        kwargs: dict[str, Any] = {"url": url, "embedder": embedder, "llm": llm}
        if tenant is not None:
            kwargs["tenant"] = tenant
        self.memory = RememMemory(path, **kwargs)

    @classmethod
    def from_config(cls, config_dict: dict[str, Any], **kwargs: Any) -> "Memory":
        """Build from a Mem0 config dict (see the module docstring for what is mapped);
        ``kwargs`` (``embedder=``, ``llm=``, ...) override it."""
        options = from_config_options(config_dict)
        return cls(options.pop("path", None), **{**options, **kwargs})

    # -- context manager -----------------------------------------------------------------
    def __enter__(self) -> "Memory":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.memory.close()

    # -- writes --------------------------------------------------------------------------
    def add(
        self,
        messages: str | dict[str, Any] | list[dict[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool = True,
        memory_type: str | None = None,
        prompt: str | None = None,
        timestamp: Any = None,
        expiration_date: Any = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """Store messages; ``{"results": [{"id", "memory", "event"}, ...]}``."""
        scope = args.scope_of(user_id, agent_id, run_id, required=True)
        for name, value in (("memory_type", memory_type), ("prompt", prompt), ("expiration_date", expiration_date)):
            if value is not None:
                raise InvalidInputError(f"{name} is not supported by remem's Mem0 facade")
        if not isinstance(infer, bool):
            raise InvalidInputError("infer must be True or False")
        turns = args.to_messages(messages)
        meta = args.clean_metadata(metadata)
        if not turns:
            return {"results": []}
        use_llm = infer and self.memory.llm is not None
        done = len(self.memory.pipeline.operations) if use_llm else 0
        records = self.memory.add(turns, **scope, metadata=meta, timestamp=timestamp, infer=use_llm)
        results = [self._event(r) for r in records]
        if use_llm:  # facts the LLM found already known: Mem0's NONE events
            for step in self.memory.pipeline.operations[done:]:
                if step.action == "NOOP" and step.memory_id:
                    results.append({"id": step.memory_id, "memory": step.fact, "event": "NONE"})
        return {"results": results}

    def update(
        self, memory_id: str, data: str | None = None, *, text: str | None = None, metadata: dict[str, Any] | None = None
    ) -> dict[str, str]:
        """Replace a memory's text (``data``, or ``text`` as newer Mem0 names it) and/or merge metadata."""
        content = text if text is not None else data
        if content is None and metadata is None:
            raise InvalidInputError("update needs data/text or metadata")
        self._live(memory_id)
        meta = args.clean_metadata(metadata) if metadata is not None else None
        self.memory.update(memory_id, content=content, metadata=meta, reason="mem0 update")
        return {"message": "Memory updated successfully!"}

    def delete(self, memory_id: str) -> dict[str, str]:
        """Delete one memory (soft: it stays in :meth:`history`)."""
        self._live(memory_id)
        self.memory.delete(memory_id, reason="mem0 delete")
        return {"message": "Memory deleted successfully!"}

    def delete_all(self, user_id: str | None = None, agent_id: str | None = None, run_id: str | None = None) -> dict[str, str]:
        """Delete every memory in a scope (at least one id; use :meth:`reset` for everything)."""
        scope = args.scope_of(user_id, agent_id, run_id)
        if not any(scope.values()):
            raise InvalidInputError("delete_all needs at least one of user_id, agent_id or run_id; reset() deletes everything")
        while batch := self.memory.get_all(**scope, limit=PAGE):
            for record in batch:
                self.memory.delete(record.id, reason="mem0 delete_all")
        return {"message": "Memories deleted successfully!"}

    def reset(self) -> None:
        """Erase everything in this store's tenant (see the module docstring)."""
        users: set[str] = set()
        unowned: list[str] = []
        offset = 0
        while batch := self.memory.get_all(limit=PAGE, offset=offset, include_deleted=True):
            for record in batch:
                if record.user_id is not None:
                    users.add(record.user_id)
                elif not record.is_deleted:
                    unowned.append(record.id)
            offset += len(batch)
        for memory_id in unowned:
            self.memory.delete(memory_id, reason="mem0 reset")
        for user_id in sorted(users):
            self.memory.purge(user_id=user_id)

    # -- reads ---------------------------------------------------------------------------
    def get(self, memory_id: str) -> dict[str, Any] | None:
        """One memory as a Mem0 dict, or None if there is none (or it was deleted)."""
        try:
            record = self.memory.get(memory_id)
        except NotFoundError:
            return None
        return None if record.is_deleted else _item(record)

    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        limit: int | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """Memories in scope, newest first: ``{"results": [...]}``."""
        scope, rest = args.scope_and_filters(user_id, agent_id, run_id, filters)
        n = args.page_size(top_k, limit, GET_ALL_TOP_K)
        if n == 0:
            return {"results": []}
        now = utcnow()
        current: list[MemoryRecord] = []
        offset = 0
        while len(current) < n:  # facts ended by a newer one are left out, as search does
            batch = self.memory.get_all(**scope, filters=rest or None, limit=min(n, PAGE), offset=offset)
            current += [r for r in batch if r.valid_to is None or r.valid_to > now]
            offset += len(batch)
            if len(batch) < min(n, PAGE):
                break
        return {"results": [_item(r) for r in current[:n]]}

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        limit: int | None = None,
        threshold: float | None = None,
        rerank: bool = False,
        explain: bool = False,
    ) -> dict[str, list[dict[str, Any]]]:
        """Best matches first: ``{"results": [{..., "score"}, ...]}``; ``explain=True`` adds
        remem's ``score_details`` (features and their contributions)."""
        scope, rest = args.scope_and_filters(user_id, agent_id, run_id, filters)
        if not isinstance(query, str) or not query.strip():
            raise InvalidInputError("query must be a non-empty string")
        n = args.page_size(top_k, limit, SEARCH_TOP_K)
        if n == 0:
            return {"results": []}
        hits = self.memory.search(query.strip(), **scope, filters=rest or None, limit=n, threshold=threshold)
        results = []
        for hit in hits:
            item = _item(hit.memory, score=hit.score)
            if explain:
                item["score_details"] = hit.explanation
            results.append(item)
        return {"results": results}

    def history(self, memory_id: str) -> list[dict[str, Any]]:
        """Every change of a memory, oldest first (``[]`` for an unknown id)."""
        try:
            entries = self.memory.history(memory_id)
        except NotFoundError:
            return []
        out: list[dict[str, Any]] = []
        previous: str | None = None
        for entry in entries:
            out.append(_history(entry, previous))
            previous = entry.record.content
        return out

    # -- helpers -------------------------------------------------------------------------
    def _live(self, memory_id: str) -> MemoryRecord:
        try:
            record = self.memory.get(memory_id)
        except NotFoundError:
            record = None
        if record is None or record.is_deleted:
            raise MemoryNotFoundError(f"Memory with id {memory_id} not found")
        return record

    def _event(self, record: MemoryRecord) -> dict[str, Any]:
        """One ``add`` result: what happened to this memory."""
        event, previous = "ADD", None
        if record.version > 1:  # changed by this add: what the change was (UPDATE, or INVALIDATE -> DELETE)
            versions = self.memory.history(record.id)
            at = next((i for i, e in enumerate(versions) if e.version == record.version), len(versions) - 1)
            event = EVENTS.get(versions[at].op, "UPDATE")
            previous = versions[at - 1].record.content if at > 0 else None
        out: dict[str, Any] = {"id": record.id, "memory": record.content, "event": event}
        if event == "UPDATE" and previous is not None:
            out["previous_memory"] = previous
        if record.speaker is not None:
            out["actor_id"] = record.speaker
        if record.role is not None:
            out["role"] = record.role
        return out


class AsyncMemory:
    """The same API, awaitable: each call runs :class:`Memory`'s in a worker thread."""

    def __init__(self, *args: Any, memory: Memory | RememMemory | None = None, **kwargs: Any) -> None:
        if isinstance(memory, Memory):
            if args or kwargs:
                raise InvalidInputError("give a Memory or the arguments to build one, not both")
            self.sync = memory
        else:
            self.sync = Memory(*args, memory=memory, **kwargs)

    @classmethod
    def from_config(cls, config_dict: dict[str, Any], **kwargs: Any) -> "AsyncMemory":
        return cls(memory=Memory.from_config(config_dict, **kwargs))

    @property
    def memory(self) -> RememMemory:
        return self.sync.memory

    async def __aenter__(self) -> "AsyncMemory":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)

    async def add(self, messages: Any, **kwargs: Any) -> dict[str, list[dict[str, Any]]]:
        return await asyncio.to_thread(self.sync.add, messages, **kwargs)

    async def search(self, query: str, **kwargs: Any) -> dict[str, list[dict[str, Any]]]:
        return await asyncio.to_thread(self.sync.search, query, **kwargs)

    async def get(self, memory_id: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self.sync.get, memory_id)

    async def get_all(self, **kwargs: Any) -> dict[str, list[dict[str, Any]]]:
        return await asyncio.to_thread(self.sync.get_all, **kwargs)

    async def update(self, memory_id: str, data: str | None = None, **kwargs: Any) -> dict[str, str]:
        return await asyncio.to_thread(self.sync.update, memory_id, data, **kwargs)

    async def delete(self, memory_id: str) -> dict[str, str]:
        return await asyncio.to_thread(self.sync.delete, memory_id)

    async def delete_all(self, **kwargs: Any) -> dict[str, str]:
        return await asyncio.to_thread(self.sync.delete_all, **kwargs)

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.sync.history, memory_id)

    async def reset(self) -> None:
        await asyncio.to_thread(self.sync.reset)


# -- shapes ------------------------------------------------------------------------------
def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _item(record: MemoryRecord, *, score: float | None = None) -> dict[str, Any]:
    """A memory as Mem0 returns it from get/get_all/search."""
    out: dict[str, Any] = {
        "id": record.id,
        "memory": record.content,
        "hash": hashlib.md5(record.content.encode()).hexdigest(),
        "metadata": dict(record.metadata) or None,
    }
    if score is not None:
        out["score"] = score
    out["created_at"] = _time(record.created_at)
    out["updated_at"] = _time(record.updated_at)
    for key, value in (("user_id", record.user_id), ("agent_id", record.agent_id), ("run_id", record.session_id),
                       ("actor_id", record.speaker), ("role", record.role)):  # fmt: skip
        if value is not None:
            out[key] = value
    return out


def _history(entry: HistoryEntry, previous: str | None) -> dict[str, Any]:
    record = entry.record
    deleted = entry.op == Operation.DELETE
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"remem:{entry.memory_id}:{entry.version}")),
        "memory_id": entry.memory_id,
        "old_memory": previous,
        "new_memory": None if deleted else record.content,
        "event": EVENTS.get(entry.op, entry.op.value),
        "created_at": _time(record.created_at),
        "updated_at": _time(entry.changed_at),
        "is_deleted": deleted,
        "actor_id": record.speaker,
        "role": record.role,
        "remem_op": entry.op.value,
    }
