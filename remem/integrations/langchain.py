"""A LangChain retriever over remem: :class:`RememRetriever`, a ``BaseRetriever``.

>>> from remem import Memory
>>> from remem.integrations.langchain import RememRetriever
>>> mem = Memory("memory.db")
>>> mem.add("I moved to Lisbon last spring", user_id="alice")
>>> retriever = RememRetriever(memory=mem, user_id="alice", k=3)
>>> retriever.invoke("where does alice live?")[0].page_content
'I moved to Lisbon last spring'

Each hit of ``Memory.search`` (remem's hybrid dense + BM25 read path) becomes a ``Document``
whose ``page_content`` is the memory's content, whose ``id`` is the memory's id and whose
``metadata`` has ``id``, ``score`` (remem's probability of relevance), ``kind``,
``created_at`` and ``updated_at`` (ISO text), the memory's scope, ``role``, ``speaker`` and
``event_time`` when it has them, and its own ``metadata``. Search settings are fields of the
retriever and may be given per call too: ``retriever.invoke(q, k=1, filters={...})``.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

try:
    from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "remem.integrations.langchain needs LangChain: pip install 'remem[langchain]'"
    ) from exc

from pydantic import ConfigDict, Field

from remem import InvalidInputError, SearchHit

__all__ = ["RememRetriever", "hit_to_document"]

# Memory.search's arguments a call may set (``k`` is ``limit``).
SEARCH_ARGS = {"user_id", "agent_id", "session_id", "limit", "filters", "time_range", "kind", "mode",
               "now", "as_of", "threshold"}


class RememRetriever(BaseRetriever):
    """Documents from ``memory.search(query, ...)``, best first.

    ``memory``: a :class:`remem.Memory` or :class:`remem.AsyncMemory` (or a ``RememClient`` /
    ``AsyncRememClient``); async calls await an async one and run a sync one in a thread.
    ``k`` (or ``limit``): how many documents; ``filters``, ``threshold``, ``mode``, ``kind``
    and the scope ids as in ``Memory.search``; ``search_kwargs``: any other of its arguments
    (``time_range``, ``now``, ``as_of``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    memory: Any
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    k: int = Field(default=4, alias="limit")
    filters: dict[str, Any] | None = None
    threshold: float | None = None
    mode: str | None = None
    kind: str | list[str] | None = None
    search_kwargs: dict[str, Any] = Field(default_factory=dict)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **overrides: Any
    ) -> list[Document]:
        memory = self.memory
        if _is_async(memory):
            memory = getattr(memory, "sync", None)
            if memory is None:
                raise InvalidInputError("this memory is async only: use ainvoke(), or give a sync Memory/RememClient")
        return [hit_to_document(h) for h in memory.search(query, **self._params(overrides))]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **overrides: Any
    ) -> list[Document]:
        params = self._params(overrides)
        if _is_async(self.memory):
            hits = await self.memory.search(query, **params)
        else:
            hits = await asyncio.to_thread(self.memory.search, query, **params)
        return [hit_to_document(h) for h in hits]

    def _params(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """``Memory.search`` keyword arguments: the fields, then this call's overrides."""
        params: dict[str, Any] = {
            "user_id": self.user_id, "agent_id": self.agent_id, "session_id": self.session_id,
            "limit": self.k, "filters": self.filters, "threshold": self.threshold, "mode": self.mode,
            "kind": self.kind, **self.search_kwargs,
        }
        for name, value in overrides.items():
            name = "limit" if name == "k" else name
            if name not in SEARCH_ARGS:
                raise InvalidInputError(f"unknown search argument {name!r}; use k or one of {sorted(SEARCH_ARGS)}")
            params[name] = value
        unknown = set(params) - SEARCH_ARGS
        if unknown:
            raise InvalidInputError(f"unknown search_kwargs {sorted(unknown)}; use some of {sorted(SEARCH_ARGS)}")
        return {name: value for name, value in params.items() if value is not None}


def hit_to_document(hit: SearchHit) -> Document:
    """A search hit as a LangChain ``Document`` (see the module docstring)."""
    rec = hit.memory
    metadata: dict[str, Any] = {
        "id": rec.id, "score": hit.score, "kind": rec.kind.value,
        "created_at": rec.created_at.isoformat(), "updated_at": rec.updated_at.isoformat(),
    }
    optional = {
        "user_id": rec.user_id, "agent_id": rec.agent_id, "session_id": rec.session_id, "role": rec.role,
        "speaker": rec.speaker, "event_time": rec.event_time.isoformat() if rec.event_time else None,
        "metadata": rec.metadata or None,
    }
    metadata.update({k: v for k, v in optional.items() if v is not None})
    return Document(page_content=rec.content, metadata=metadata, id=rec.id)


def _is_async(memory: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(memory, "search", None))
