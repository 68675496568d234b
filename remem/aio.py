"""``AsyncMemory``: the same API as :class:`Memory`, awaitable.

Each call runs the synchronous implementation in a worker thread, so the event
loop never blocks on embedding or disk I/O.
"""

from __future__ import annotations

import asyncio
from typing import Any

from remem.memory import Memory
from remem.models import HistoryEntry, MemoryRecord, SearchHit
from remem.models import Context


class AsyncMemory:
    """``await mem.add(...)``, ``await mem.search(...)`` and so on."""

    def __init__(self, *args: Any, memory: Memory | None = None, **kwargs: Any) -> None:
        self.sync = memory or Memory(*args, **kwargs)

    async def __aenter__(self) -> "AsyncMemory":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _run(self, name: Any, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(self.sync, name) if isinstance(name, str) else name
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def add(self, messages: Any, **kwargs: Any) -> list[MemoryRecord]:
        return await self._run("add", messages, **kwargs)

    async def add_records(self, records: Any) -> list[MemoryRecord]:
        return await self._run("add_records", list(records))

    async def search(self, query: str, **kwargs: Any) -> list[SearchHit]:
        return await self._run("search", query, **kwargs)

    async def context(self, query: str, **kwargs: Any) -> Context:
        return await self._run("context", query, **kwargs)

    async def get(self, memory_id: str) -> MemoryRecord:
        return await self._run("get", memory_id)

    async def get_many(self, memory_ids: list[str]) -> list[MemoryRecord]:
        return await self._run("get_many", memory_ids)

    async def get_all(self, **kwargs: Any) -> list[MemoryRecord]:
        return await self._run("get_all", **kwargs)

    async def count(self, **kwargs: Any) -> int:
        return await self._run("count", **kwargs)

    async def update(self, memory_id: str, **kwargs: Any) -> MemoryRecord:
        return await self._run("update", memory_id, **kwargs)

    async def delete(self, memory_id: str, **kwargs: Any) -> MemoryRecord:
        return await self._run("delete", memory_id, **kwargs)

    async def purge(self, *, user_id: str) -> int:
        return await self._run("purge", user_id=user_id)

    async def history(self, memory_id: str) -> list[HistoryEntry]:
        return await self._run("history", memory_id)

    async def links(self, memory_id: str) -> list[Any]:
        return await self._run("links", memory_id)

    async def export(self, **kwargs: Any) -> list[dict[str, Any]]:
        return await self._run(lambda: list(self.sync.export(**kwargs)))

    async def import_(self, items: Any) -> tuple[int, int]:
        return await self._run("import_", list(items))

    async def wait(self, timeout: float | None = None) -> None:
        await self._run("wait", timeout)

    async def stats(self) -> dict[str, Any]:
        return await self._run("stats")

    async def export_file(self, file: Any, **kwargs: Any) -> int:
        return await self._run("export_file", file, **kwargs)

    async def import_file(self, file: Any) -> tuple[int, int]:
        return await self._run("import_file", file)

    async def close(self) -> None:
        await self._run("close")
