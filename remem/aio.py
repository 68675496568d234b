"""``AsyncMemory``: the same API as :class:`Memory`, awaitable.

Each call runs the synchronous implementation in a worker thread, so the event
loop never blocks on embedding or disk I/O. The methods are made from the table of
operations (:mod:`remem.operations`): a new ``Memory`` method needs nothing here.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable

from remem.memory import Memory
from remem.operations import OPERATIONS


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

    # what cannot simply run in a thread: iterators are drained there, and iterables too
    async def add_records(self, records: Any) -> list[Any]:
        """See :meth:`remem.Memory.add_records`."""
        return await self._run("add_records", list(records))

    async def export(self, **kwargs: Any) -> list[dict[str, Any]]:
        """See :meth:`remem.Memory.export` (returned as a list)."""
        return await self._run(lambda: list(self.sync.export(**kwargs)))

    async def import_(self, items: Any) -> tuple[int, int]:
        """See :meth:`remem.Memory.import_`."""
        return await self._run("import_", list(items))

    async def wait(self, timeout: float | None = None) -> None:
        await self._run("wait", timeout)

    async def close(self) -> None:
        await self._run("close")


def _awaitable(name: str) -> Callable[..., Any]:
    @functools.wraps(getattr(Memory, name))
    async def method(self: AsyncMemory, *args: Any, **kwargs: Any) -> Any:
        return await self._run(name, *args, **kwargs)

    return method


for _op in OPERATIONS:
    if _op.name not in AsyncMemory.__dict__:
        setattr(AsyncMemory, _op.name, _awaitable(_op.name))
