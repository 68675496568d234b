"""RememClient / AsyncRememClient against a real server: same methods and types as Memory."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("fastapi")

from remem import AsyncMemory, Context, HistoryEntry, Memory, MemoryRecord, SearchHit  # noqa: E402
from remem.client import AsyncRememClient, AuthenticationError, RememClient  # noqa: E402
from remem.errors import InvalidInputError, NotFoundError  # noqa: E402
from remem.server import create_app  # noqa: E402
from remem.server.auth import create_key  # noqa: E402
from remem.server.testing import running  # noqa: E402
from remem.store import open_store  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, str, str]]:
    path = tmp_path_factory.mktemp("client") / "memory.db"
    store = open_store(path)
    key, other = create_key(store, "main"), create_key(store, "other")
    store.close()
    with running(create_app(path, embedder=embedder)) as url:
        yield url, key, other


def scenario(mem: Any) -> dict[str, Any]:
    """The same code for Memory and RememClient; returns what it observed."""
    added = mem.add(
        [{"role": "user", "content": "My daughter Mia turns 7 in June", "timestamp": "2024-03-01T10:00:00Z"},
         {"role": "user", "content": "I am allergic to peanuts"}],
        user_id="dana", session_id="s1", metadata={"src": "test"},
    )
    fact = mem.add_records([MemoryRecord(content="Dana lives in Oslo", kind="semantic", user_id="dana")])[0]
    hits = mem.search("what is dana allergic to?", user_id="dana", limit=3)
    ctx = mem.context("family", user_id="dana", token_budget=300)
    updated = mem.update(added[0].id, content="My daughter Mia turns 8 in June", reason="birthday passed", tags=["family"])
    mem.delete(added[1].id, reason="outdated")
    listed = mem.get_all(user_id="dana")
    counted = mem.count(user_id="dana", include_deleted=True)
    semantic = mem.get_all(user_id="dana", kind="semantic")
    hist = mem.history(added[0].id)
    got = mem.get(added[1].id)
    buf = io.StringIO()
    exported = mem.export_file(buf, user_id="dana")
    stats = mem.stats()
    purged = mem.purge(user_id="dana")
    return {
        "types": (type(added[0]), type(hits[0]), type(ctx), type(hist[0])),
        "added": [r.content for r in added],
        "fact": fact.kind.value,
        "top_hit": hits[0].memory.content,
        "explained": sorted(hits[0].explanation),
        "ctx_complete": ctx.complete and "Oslo" in ctx.text,
        "updated": (updated.version, updated.tags, updated.content),
        "listed": sorted(r.content for r in listed),
        "counted": counted,
        "semantic": [r.content for r in semantic],
        "history": [(h.version, h.op.value, h.reason) for h in hist],
        "deleted": got.deleted_at is not None,
        "exported": exported,
        "export_lines": len(buf.getvalue().splitlines()),
        "stats_memories": stats["memories"],
        "purged": purged,
    }


def test_client_behaves_like_embedded_memory(served: tuple[str, str, str], tmp_path: Path, embedder) -> None:
    url, key, _ = served
    with Memory(tmp_path / "embedded.db", embedder=embedder) as mem:
        embedded = scenario(mem)
    with RememClient(url, api_key=key) as client:  # the one line that changes
        remote = scenario(client)
    assert embedded["types"] == (MemoryRecord, SearchHit, Context, HistoryEntry)
    assert remote == embedded


def test_errors_map_to_remem_exceptions(served: tuple[str, str, str]) -> None:
    url, key, _ = served
    with RememClient(url, api_key=key) as client:
        with pytest.raises(NotFoundError):
            client.get("0" * 32)
        with pytest.raises(InvalidInputError):
            client.add("  ", user_id="x")
        with pytest.raises(InvalidInputError):
            client.update("whatever", colour="red")
        with pytest.raises(InvalidInputError):
            client.search("x", kind="dream")
    with RememClient(url, api_key="rk_wrong") as bad, pytest.raises(AuthenticationError) as info:
        bad.stats()
    assert info.value.code == "unauthorized" and info.value.status == 401


def test_tenants_are_isolated_through_the_client(served: tuple[str, str, str]) -> None:
    url, key, other = served
    with RememClient(url, api_key=key) as a, RememClient(url, api_key=other) as b:
        rec = a.add("only main may see this", user_id="iso")[0]
        with pytest.raises(NotFoundError):
            b.get(rec.id)
        assert b.search("only main", user_id="iso") == [] and b.get_all(user_id="iso") == []
        assert b.purge(user_id="iso") == 0 and a.get(rec.id).content == "only main may see this"
        a.purge(user_id="iso")


def test_pagination_beyond_one_server_page_and_import(served: tuple[str, str, str], tmp_path: Path) -> None:
    url, key, other = served
    with RememClient(url, api_key=key) as a, RememClient(url, api_key=other) as b:
        a.add([{"content": f"item number {i}"} for i in range(1100)], user_id="many")
        everything = a.get_all(user_id="many", limit=1500)
        assert len(everything) == 1100 and len({r.id for r in everything}) == 1100
        assert [r.id for r in a.get_all(user_id="many", limit=5, offset=1095)] == [r.id for r in everything[1095:]]
        assert a.count(user_id="many") == 1100
        path = tmp_path / "many.jsonl"
        assert a.export_file(path, user_id="many") == 1100
        a.purge(user_id="many")
        assert a.import_file(path) == (1100, 0)  # several import batches
        assert a.count(user_id="many") == 1100 and b.count(user_id="many") == 0
        assert a.import_file(path) == (0, 1100)
        a.purge(user_id="many")


def test_async_client_matches_async_memory(served: tuple[str, str, str], tmp_path: Path, embedder) -> None:
    url, key, _ = served

    async def run(mem: Any) -> tuple[Any, ...]:
        added = await mem.add("I play the cello on Sundays", user_id="ada")
        hits = await mem.search("which instrument?", user_id="ada")
        ctx = await mem.context("music", user_id="ada")
        upd = await mem.update(added[0].id, content="I play the viola on Sundays")
        hist = await mem.history(added[0].id)
        n = await mem.count(user_id="ada")
        await mem.delete(added[0].id)
        listed = await mem.get_all(user_id="ada")
        purged = await mem.purge(user_id="ada")
        return (type(hits[0]), hits[0].memory.content, type(ctx), ctx.complete, upd.version,
                [h.op.value for h in hist], n, listed, purged)

    async def both() -> tuple[Any, Any]:
        async with AsyncRememClient(url, api_key=key) as client:
            remote = await run(client)
        local_mem = AsyncMemory(tmp_path / "a.db", embedder=embedder)
        try:
            local = await run(local_mem)
        finally:
            await local_mem.close()
        return remote, local

    remote, local = asyncio.run(both())
    assert remote == local and remote[0] is SearchHit


def timed(mem: Any) -> dict[str, Any]:
    """A fact valid 2020-2023: what search and context see now, then, and with ``now``."""
    fact = mem.add_records([MemoryRecord(content="Omar lives in Cairo", kind="semantic", user_id="omar",
                                         valid_from="2020-01-01T00:00:00Z")])[0]
    mem.update(fact.id, valid_to="2023-01-01T00:00:00Z", reason="moved")
    then = datetime(2021, 6, 1, tzinfo=timezone.utc)

    def seen(hits: list[SearchHit]) -> bool:
        return any(h.memory.id == fact.id for h in hits)

    out = {
        "search_now": seen(mem.search("where does Omar live?", user_id="omar")),
        "search_as_of": seen(mem.search("where does Omar live?", user_id="omar", as_of=then)),
        "search_as_of_str": seen(mem.search("where does Omar live?", user_id="omar", as_of="2021-06-01")),
        "search_with_now": seen(mem.search("where does Omar live?", user_id="omar", now=then)),
        "ctx_now": "Cairo" in mem.context("Omar", user_id="omar").text,
        "ctx_as_of": "Cairo" in mem.context("Omar", user_id="omar", as_of=then, neighbors=0).text,
        "ctx_with_now": "Cairo" in mem.context("Omar", user_id="omar", now="2021-06-01T00:00:00Z", neighbors=2).text,
    }
    mem.purge(user_id="omar")
    return out


def test_client_passes_now_as_of_and_neighbors(served: tuple[str, str, str], tmp_path: Path, embedder) -> None:
    url, key, _ = served
    with Memory(tmp_path / "timed.db", embedder=embedder) as mem:
        embedded = timed(mem)
    with RememClient(url, api_key=key) as client:
        remote = timed(client)
        with pytest.raises(InvalidInputError):
            client.context("Omar", user_id="omar", neighbors=-1)
        with pytest.raises(InvalidInputError):
            client.search("Omar", user_id="omar", as_of="not a time, not at all")
    assert embedded == {"search_now": False, "search_as_of": True, "search_as_of_str": True, "search_with_now": True,
                        "ctx_now": False, "ctx_as_of": True, "ctx_with_now": True}
    assert remote == embedded

    async def run() -> tuple[bool, bool, bool]:
        async with AsyncRememClient(url, api_key=key) as client:
            rec = (await client.add_records([MemoryRecord(content="Omar lives in Cairo", kind="semantic",
                                                          user_id="omar-async", valid_from="2020-01-01")]))[0]
            await client.update(rec.id, valid_to="2023-01-01")
            now = await client.search("Omar", user_id="omar-async")
            then = await client.search("Omar", user_id="omar-async", as_of="2021-06-01", now="2025-01-01")
            ctx = await client.context("Omar", user_id="omar-async", now="2021-06-01", neighbors=0)
            await client.purge(user_id="omar-async")
            return bool(now), [h.memory.id for h in then] == [rec.id], "Cairo" in ctx.text

    assert asyncio.run(run()) == (False, True, True)


def test_links_over_the_client_match_memory(served, tmp_path) -> None:  # noqa: ANN001
    url, key, path = served
    with RememClient(url, api_key=key) as client:
        a, b = client.add(["Alice adopted a cat named Miso", "Miso the cat loves tuna"], user_id="linker")
        assert client.links(a.id) == []  # no LLM here: nothing links them
        with pytest.raises(NotFoundError):
            client.links("no-such-memory")
