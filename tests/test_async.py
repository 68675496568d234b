"""AsyncMemory mirrors Memory and runs concurrent calls safely."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from remem import AsyncMemory, NotFoundError


def test_async_api_round_trip(tmp_path: Path, embedder) -> None:
    async def scenario() -> None:
        async with AsyncMemory(tmp_path / "a.db", embedder=embedder) as mem:
            added = await asyncio.gather(*(mem.add(f"note number {i} about rivers", user_id="u") for i in range(10)))
            assert sum(len(a) for a in added) == 10
            hits = await mem.search("note number 7", user_id="u", limit=3)
            assert hits[0].memory.content == "note number 7 about rivers"
            rec = hits[0].memory
            updated = await mem.update(rec.id, content="note number 7 about lakes")
            assert updated.version == 2
            assert [h.version for h in await mem.history(rec.id)] == [1, 2]
            await mem.delete(rec.id)
            assert await mem.count(user_id="u") == 9
            ctx = await mem.context("lakes", user_id="u")
            assert ctx.complete and len(ctx.memories) == 9
            assert (await mem.stats())["memories"] == 9
            with pytest.raises(NotFoundError):
                await mem.get("missing")
            assert await mem.purge(user_id="u") == 10

    asyncio.run(scenario())
