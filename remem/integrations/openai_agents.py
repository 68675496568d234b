"""Session memory for the OpenAI Agents SDK, stored in remem.

``RememSession`` implements the SDK's ``Session`` protocol (``agents.memory.Session``):
every conversation item the Runner saves becomes one episodic remem memory, so the
history survives restarts, is searchable, and shows up in remem's history, export and
dashboard like any other memory::

    from agents import Agent, Runner
    from remem.integrations.openai_agents import RememSession

    session = RememSession("chat-42", "memory.db", user_id="alice")
    result = await Runner.run(agent, "Hi, I'm Alice", session=session)

How items map onto remem:

- the item itself (the SDK's ``TResponseInputItem`` dict) is kept verbatim in the
  memory's metadata under ``"openai_agents_item"``, so ``get_items`` returns exactly what
  ``add_items`` got, in order; the memory's content is the item's text (message text,
  ``tool(arguments)`` for a tool call, the tool output), which is what search sees;
- ``session_id`` is remem's ``session_id``; ``user_id`` and ``agent_id`` scope it further.
  Without ``user_id`` two users with the same session id share the session;
- ``pop_item`` and ``clear_session`` soft-delete (the items are gone from the session and
  from search, and stay in :meth:`remem.Memory.history`); ``Memory.purge(user_id=...)``
  erases them for good;
- items are marked with the metadata ``{"openai_agents": "session_item"}``; other memories
  in the same remem session (``Memory.add(..., session_id=...)``) are not session items;
- items are stored as they are (``infer=False``): the LLM write path does not run on them;
- order is the store's time order (each ``add_items`` batch is stamped with the time it was
  added), so it holds as long as the system clock does not step back.

``RememSearchSession`` is for long histories: ``get_items()`` returns the ``recent`` latest
items plus up to ``relevant`` older items that :meth:`remem.Memory.search` finds for the
latest user message, so the model sees the start of a long conversation only where it
matters. See its docstring.

Needs ``pip install 'remem[openai-agents]'``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Literal, cast

try:
    from agents.items import TResponseInputItem
    from agents.memory import SessionSettings
    from agents.run_config import CallModelData, ModelInputData
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "remem.integrations.openai_agents needs the OpenAI Agents SDK: pip install 'remem[openai-agents]'"
    ) from exc

from remem.aio import AsyncMemory
from remem.errors import InvalidInputError
from remem.memory import Memory
from remem.models import MemoryRecord

__all__ = ["ITEM_KEY", "RememSearchSession", "RememSession", "item_text"]

ITEM_KEY = "openai_agents_item"  # metadata key holding the SDK item, verbatim
MARK_KEY = "openai_agents"  # metadata key marking a memory as a session item
MARK = "session_item"
TEXT_LIMIT = 20_000  # characters of an item's text kept as the memory's content
PAGE = 1_000  # memories read per call when listing a whole session
RECALLED_ROLES = {"user", "assistant"}  # what recall may bring back (no tool calls, no system text)


class RememSession:
    """An OpenAI Agents SDK session whose items are remem memories.

    ``memory``: a :class:`remem.Memory`, a :class:`remem.AsyncMemory` (its memory is used),
    a store location (SQLite path or ``postgresql://`` URL, opened here and closed by
    :meth:`close`), or None for remem's default store. ``session_settings`` works as in the
    SDK (``limit`` caps how many items the Runner reads back). ``metadata`` is added to every
    item's memory (e.g. ``{"channel": "web"}``), for filters.
    """

    session_settings: SessionSettings | None = None

    def __init__(
        self,
        session_id: str,
        memory: Memory | AsyncMemory | str | Path | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_settings: SessionSettings | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        for name, value in (("session_id", session_id), ("user_id", user_id), ("agent_id", agent_id)):
            if (value is not None or name == "session_id") and (not isinstance(value, str) or not value.strip()):
                raise InvalidInputError(f"{name} must be a non-empty string")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
        if metadata and (ITEM_KEY in metadata or MARK_KEY in metadata):
            raise InvalidInputError(f"metadata keys {ITEM_KEY!r} and {MARK_KEY!r} are reserved")
        self.session_id = session_id
        self.user_id = user_id
        self.agent_id = agent_id
        self.metadata = dict(metadata or {})
        self.session_settings = _settings(session_settings)
        self._owned = not isinstance(memory, (Memory, AsyncMemory))
        if isinstance(memory, AsyncMemory):
            self.memory = memory.sync
        elif isinstance(memory, Memory):
            self.memory = memory
        else:
            self.memory = Memory(memory)

    # -- the Session protocol ----------------------------------------------------------
    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """The session's items, oldest first; with ``limit`` (or ``session_settings.limit``),
        only the latest ``limit`` of them."""
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        records = await asyncio.to_thread(self._latest, _check_limit(limit))
        return [_item(r) for r in records]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        """Append items (stored in one batch, in order)."""
        if not isinstance(items, list):
            raise InvalidInputError(f"items must be a list of item dicts, got {type(items).__name__}")
        if not items:
            return
        messages = [self._message(i, item) for i, item in enumerate(items)]
        await asyncio.to_thread(self.memory.add, messages, **self._scope(), infer=False)

    async def pop_item(self) -> TResponseInputItem | None:
        """Remove and return the latest item (None if the session is empty)."""

        def pop() -> TResponseInputItem | None:
            latest = self._latest(1)
            if not latest:
                return None
            self.memory.delete(latest[0].id, reason="openai-agents pop_item")
            return _item(latest[0])

        return await asyncio.to_thread(pop)

    async def clear_session(self) -> None:
        """Remove every item of this session."""

        def clear() -> None:
            while batch := self._list(PAGE):
                for record in batch:
                    self.memory.delete(record.id, reason="openai-agents clear_session")

        await asyncio.to_thread(clear)

    # -- extras --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the store if this session opened it."""
        if self._owned:
            self.memory.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(session_id={self.session_id!r}, user_id={self.user_id!r}, agent_id={self.agent_id!r})"

    # -- helpers -------------------------------------------------------------------------
    def _scope(self, *, whole_user: bool = False) -> dict[str, Any]:
        session = None if whole_user else self.session_id
        return {"user_id": self.user_id, "agent_id": self.agent_id, "session_id": session}

    def _list(self, limit: int, offset: int = 0) -> list[MemoryRecord]:
        """Session items, newest first."""
        return self.memory.get_all(**self._scope(), filters={MARK_KEY: MARK}, limit=limit, offset=offset)

    def _latest(self, limit: int | None) -> list[MemoryRecord]:
        """The latest ``limit`` items (all when None), oldest first."""
        if limit == 0:
            return []
        if limit is not None and limit <= PAGE:
            return self._list(limit)[::-1]
        out: list[MemoryRecord] = []
        while limit is None or len(out) < limit:
            size = PAGE if limit is None else min(PAGE, limit - len(out))
            batch = self._list(size, offset=len(out))
            out += batch
            if len(batch) < size:
                break
        return out[::-1]

    def _message(self, index: int, item: Any) -> dict[str, Any]:
        """The remem message for one SDK item: its text, a role, and the item in metadata."""
        item = _plain(item, index)
        role = item.get("role")
        if not isinstance(role, str) or not role.strip():
            role = "assistant" if item.get("type") == "reasoning" else "tool"
        metadata = {**self.metadata, MARK_KEY: MARK, ITEM_KEY: item}
        return {"role": role, "content": item_text(item), "metadata": metadata}


class RememSearchSession(RememSession):
    """A :class:`RememSession` for long histories: recent items plus relevant older ones.

    ``get_items()`` without a limit returns up to ``relevant`` older items that
    :meth:`remem.Memory.search` finds for the latest user message (searched in this
    session, or in all of the user's sessions with ``scope="user"``; only messages, never a
    lone tool call or output), then the ``recent`` latest items. Both parts are in
    chronological order. ``threshold`` drops weak hits (``hit.score`` is 0-1).

    With an explicit ``limit`` it returns exactly the latest ``limit`` items, as the protocol
    says (the SDK reads the tail that way when it rewinds), so leave
    ``session_settings.limit`` unset and size the window with ``recent``.

    The Runner reads the session *before* it stores the new input, so ``get_items`` searches
    for the previous user message. To search for the new one too, pass the session's
    :meth:`model_input_filter` to the run::

        session = RememSearchSession("chat-42", mem, user_id="alice", recent=20, relevant=5)
        await Runner.run(agent, question, session=session,
                         run_config=RunConfig(call_model_input_filter=session.model_input_filter))

    Items it recalls are only shown to the model; they are not stored again.
    """

    def __init__(
        self,
        session_id: str,
        memory: Memory | AsyncMemory | str | Path | None = None,
        *,
        recent: int = 20,
        relevant: int = 5,
        scope: Literal["session", "user"] = "session",
        threshold: float | None = None,
        **kwargs: Any,
    ) -> None:
        for name, value in (("recent", recent), ("relevant", relevant)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= PAGE:
                raise InvalidInputError(f"{name} must be an integer from 0 to {PAGE}")
        if scope not in ("session", "user"):
            raise InvalidInputError("scope must be 'session' or 'user'")
        if scope == "user" and kwargs.get("user_id") is None:
            raise InvalidInputError("scope='user' needs a user_id")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1):
            raise InvalidInputError("threshold must be a number between 0 and 1")
        super().__init__(session_id, memory, **kwargs)
        self.recent = recent
        self.relevant = relevant
        self.scope = scope
        self.threshold = threshold

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        """Relevant older items, then the ``recent`` latest ones; the latest ``limit`` with a limit."""
        if limit is not None or (self.session_settings is not None and self.session_settings.limit is not None):
            return await super().get_items(limit)

        def view() -> list[MemoryRecord]:
            tail = self._latest(self.recent)
            query = next((t for t in (_user_text(_item(r)) for r in reversed(tail)) if t), None)
            if query is None:
                return tail
            return self._recall(query, skip_ids={r.id for r in tail}) + tail

        return [_item(r) for r in await asyncio.to_thread(view)]

    async def recall(self, query: str, *, exclude: list[TResponseInputItem] | None = None) -> list[TResponseInputItem]:
        """Up to ``relevant`` stored messages relevant to ``query``, oldest first, leaving
        out those with the same role and text as an item in ``exclude``."""
        records = await asyncio.to_thread(self._recall, query, skip_items=exclude or [])
        return [_item(r) for r in records]

    async def model_input_filter(self, data: CallModelData[Any]) -> ModelInputData:
        """For ``RunConfig(call_model_input_filter=...)``: put the items relevant to the latest
        user message of the model input in front of it (items already there are skipped)."""
        items = list(data.model_data.input)
        query = next((t for t in (_user_text(i) for i in reversed(items)) if t), None)
        if query is None:
            return data.model_data
        found = await self.recall(query, exclude=items)
        return ModelInputData(input=found + items, instructions=data.model_data.instructions)

    def _recall(
        self, query: str, *, skip_ids: set[str] | None = None, skip_items: list[Any] | None = None
    ) -> list[MemoryRecord]:
        """The ``relevant`` best message hits for ``query`` not skipped, in time order."""
        if self.relevant == 0:
            return []
        skip_ids = skip_ids or set()
        skip_keys = {_key(i) for i in skip_items or [] if isinstance(i, dict)}
        hits = self.memory.search(
            query[:TEXT_LIMIT], **self._scope(whole_user=self.scope == "user"), filters={MARK_KEY: MARK},
            limit=min(self.relevant + len(skip_ids) + len(skip_keys) + 5, PAGE), threshold=self.threshold,
        )
        found: list[MemoryRecord] = []
        for hit in hits:
            item = _item(hit.memory)
            if hit.memory.id in skip_ids or not _is_message(item) or _key(item) in skip_keys:
                continue
            found.append(hit.memory)
            if len(found) == self.relevant:
                break
        return sorted(found, key=lambda r: (r.event_time or r.created_at, r.created_at))


def item_text(item: dict[str, Any]) -> str:
    """The searchable text of an SDK item: message text, ``name(arguments)`` for a tool call,
    the output of a tool, a reasoning summary; ``[type]`` when there is none."""
    parts: list[str] = []
    kind = item.get("type")
    if kind == "function_call" or (kind and "arguments" in item and "name" in item):
        parts.append(f"{item.get('name')}({item.get('arguments', '')})")
    elif kind == "reasoning":
        parts += [s.get("text", "") for s in item.get("summary") or [] if isinstance(s, dict)]
    else:
        for key in ("content", "output"):
            parts += _texts(item.get(key))
    text = "\n".join(p for p in parts if isinstance(p, str) and p.strip()).strip()
    if not text:
        text = f"[{kind or item.get('role') or 'item'}]"
    return text[:TEXT_LIMIT]


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    out: list[str] = []
    if isinstance(value, list):
        for part in value:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif isinstance(part.get("refusal"), str):
                    out.append(part["refusal"])
                elif part.get("type") in ("input_file", "input_image"):
                    out.append(f"[{part.get('filename') or part['type']}]")
    return out


def _plain(item: Any, index: int) -> dict[str, Any]:
    """The item as plain JSON (a dict; pydantic models are dumped)."""
    if hasattr(item, "model_dump") and not isinstance(item, dict):
        item = item.model_dump(mode="json", exclude_unset=True)
    if not isinstance(item, dict):
        raise InvalidInputError(f"items[{index}] must be a dict (a TResponseInputItem), got {type(item).__name__}")
    try:
        plain = json.loads(json.dumps(item))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"items[{index}] is not JSON-serialisable: {exc}") from None
    if not isinstance(plain, dict):  # pragma: no cover - a dict always dumps to an object
        raise InvalidInputError(f"items[{index}] must be a JSON object")
    return plain


def _item(record: MemoryRecord) -> TResponseInputItem:
    """The SDK item a memory holds."""
    item = record.metadata.get(ITEM_KEY)
    plain = dict(item) if isinstance(item, dict) else {"role": record.role or "user", "content": record.content}
    return cast(TResponseInputItem, plain)


def _is_message(item: Any) -> bool:
    return item.get("role") in RECALLED_ROLES and item.get("type", "message") == "message"


def _user_text(item: Any) -> str | None:
    """The text of a user message item (None for anything else)."""
    if not isinstance(item, dict) or item.get("role") != "user" or item.get("type", "message") != "message":
        return None
    text = "\n".join(t for t in _texts(item.get("content")) if t.strip())
    return text or None


def _key(item: Any) -> tuple[Any, str]:
    """What makes two items "the same" for recall: role and text (ids and status aside)."""
    return (item.get("role"), item_text(item))


def _check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise InvalidInputError("limit must be None or a non-negative integer")
    return limit


def _settings(value: SessionSettings | dict[str, Any] | None) -> SessionSettings:
    if value is None:
        return SessionSettings()
    if isinstance(value, SessionSettings):
        return value
    if isinstance(value, dict):
        try:
            return SessionSettings(**value)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"invalid session_settings: {exc}") from None
    raise InvalidInputError(f"session_settings must be a SessionSettings or dict, got {type(value).__name__}")
