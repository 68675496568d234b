"""The MCP server, driven by the official SDK's own client: `remem mcp` over stdio, and
streamable HTTP at /mcp of `remem serve` (bearer auth, tenant scoping)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterator

import anyio
import pytest

mcp = pytest.importorskip("mcp")
httpx2 = pytest.importorskip("httpx2")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

from remem import Memory  # noqa: E402
from remem.server import create_app  # noqa: E402
from remem.server.auth import create_key  # noqa: E402
from remem.server.testing import running  # noqa: E402
from remem.store import open_store  # noqa: E402

TOOLS = {"add_memory", "search_memory", "get_context", "list_memories", "update_memory", "memory_history", "delete_memory",
         "audit_log", "learn", "recall_procedures"}
READ_ONLY = {"search_memory", "get_context", "list_memories", "memory_history", "audit_log"}


def data(result: Any) -> Any:
    """The structured result of a tool call (falls back to its JSON text)."""
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def exercise(client: Client) -> dict[str, Any]:
    """Every tool, as an agent would use them."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    added = data(await client.call_tool("add_memory", {"content": "I am training for the Berlin marathon",
                                                       "user_id": "kim", "session_id": "run"}))
    data(await client.call_tool("add_memory", {"content": "Kim is vegetarian", "user_id": "kim", "kind": "semantic"}))
    hits = data(await client.call_tool("search_memory", {"query": "marathon training", "user_id": "kim", "limit": 2}))
    ctx = data(await client.call_tool("get_context", {"query": "food preferences", "user_id": "kim"}))
    listed = data(await client.call_tool("list_memories", {"user_id": "kim", "kind": "semantic"}))
    memory_id = added["memories"][0]["id"]
    raw = await client.call_tool("list_memories", {"user_id": "kim"})
    updated = data(await client.call_tool("update_memory", {"memory_id": memory_id, "content": "I am training for the Paris marathon",
                                                             "reason": "race changed"}))
    history = data(await client.call_tool("memory_history", {"memory_id": memory_id}))
    bad_update = await client.call_tool("update_memory", {"memory_id": memory_id, "content": ""})
    deleted = data(await client.call_tool("delete_memory", {"memory_id": memory_id, "reason": "done"}))
    after = data(await client.call_tool("list_memories", {"user_id": "kim"}))
    bad = await client.call_tool("search_memory", {"query": "x", "user_id": "kim", "limit": 0})
    missing = await client.call_tool("delete_memory", {"memory_id": "no-such-id"})
    audit = data(await client.call_tool("audit_log", {"user_id": "kim"}))
    return {"audit": audit, "tools": tools, "hits": hits, "ctx": ctx, "listed": listed, "deleted": deleted, "after": after,
            "bad": bad, "missing": missing, "id": memory_id, "raw": raw, "updated": updated, "history": history,
            "bad_update": bad_update}


def check(seen: dict[str, Any]) -> None:
    ops = [e["op"] for e in seen["audit"]["entries"]]
    assert ops[-2:] == ["UPDATE", "DELETE"] and ops.count("ADD") >= 1 and seen["audit"]["next_after"] is None
    tools = seen["tools"]
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description or "") > 30, tool.name
        assert tool.input_schema["type"] == "object"
    props = tools["search_memory"].input_schema["properties"]
    assert {"query", "user_id", "limit"} <= set(props) and props["query"].get("description")
    assert set(tools["add_memory"].input_schema["required"]) == {"content", "user_id"}
    hits = seen["hits"]["hits"]
    assert any("marathon" in h["content"] for h in hits)
    assert all(isinstance(h["score"], float) for h in hits) and hits[0]["score"] >= hits[-1]["score"]
    assert "vegetarian" in seen["ctx"]["text"] and seen["ctx"]["complete"] is True
    assert [m["content"] for m in seen["listed"]["memories"]] == ["Kim is vegetarian"]
    assert seen["deleted"] == {"id": seen["id"], "deleted": True}
    assert seen["after"]["total"] == 1
    assert seen["bad"].is_error
    bad_text = seen["bad"].content[0].text
    assert bad_text.startswith("invalid_input: limit") and "\n" not in bad_text and "pydantic" not in bad_text
    assert seen["bad_update"].is_error and seen["bad_update"].content[0].text.startswith("invalid_input: content")
    for name, tool in tools.items():  # hints for clients that ask before running a tool
        hints = tool.annotations
        assert hints is not None and hints.read_only_hint is (name in READ_ONLY), name
        assert hints.destructive_hint is (True if name == "delete_memory" else None if name in READ_ONLY else False), name
    text = seen["raw"].content[0].text
    assert json.loads(text) == seen["raw"].structured_content and "\n" not in text  # compact JSON: fewer tokens
    assert seen["updated"]["content"] == "I am training for the Paris marathon"
    versions = seen["history"]["versions"]
    assert [(v["version"], v["op"]) for v in versions] == [(1, "ADD"), (2, "UPDATE")]
    assert versions[0]["content"] == "I am training for the Berlin marathon" and versions[1]["reason"] == "race changed"
    assert seen["missing"].is_error and "not_found" in seen["missing"].content[0].text


def test_stdio_server_with_the_sdk_client(tmp_path: Path, embedder) -> None:
    db = tmp_path / "stdio.db"
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "remem.server", "mcp", "--path", str(db), "--tenant", "desk"],
    )

    async def main() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            return await exercise(client)

    seen = anyio.run(main)
    check(seen)
    # it wrote into tenant "desk" of that file, and nowhere else
    with Memory(db, tenant="desk", embedder=embedder) as desk:
        assert desk.count(user_id="kim") == 1 and desk.get(seen["id"]).is_deleted
    with Memory(db, embedder=embedder) as default:
        assert default.count(user_id="kim", include_deleted=True) == 0


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, dict[str, str]]]:
    db = tmp_path_factory.mktemp("mcp") / "http.db"
    store = open_store(db)
    keys = {t: create_key(store, t) for t in ("north", "south")}
    store.close()
    with running(create_app(db, embedder=embedder)) as url:
        yield url, keys


def connect(url: str, key: str | None) -> Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = httpx2.AsyncClient(headers=headers, timeout=60)
    return Client(streamable_http_client(url + "/mcp", http_client=http), read_timeout_seconds=60)


def test_http_transport_with_bearer_auth(http_server: tuple[str, dict[str, str]]) -> None:
    url, keys = http_server

    async def main() -> dict[str, Any]:
        async with connect(url, keys["north"]) as client:
            return await exercise(client)

    check(anyio.run(main))


def test_http_transport_is_tenant_scoped(http_server: tuple[str, dict[str, str]]) -> None:
    url, keys = http_server

    async def main() -> tuple[Any, ...]:
        async with connect(url, keys["north"]) as north:
            secret = data(await north.call_tool("add_memory", {"content": "north's vault code is 4711", "user_id": "x"}))
        async with connect(url, keys["south"]) as south:
            found = data(await south.call_tool("search_memory", {"query": "vault code", "user_id": "x"}))
            listed = data(await south.call_tool("list_memories", {"user_id": "x"}))
            ctx = data(await south.call_tool("get_context", {"query": "vault code", "user_id": "x"}))
            delete = await south.call_tool("delete_memory", {"memory_id": secret["memories"][0]["id"]})
        async with connect(url, keys["north"]) as north:
            still = data(await north.call_tool("list_memories", {"user_id": "x"}))
        return found, listed, ctx, delete, still

    found, listed, ctx, delete, still = anyio.run(main)
    assert found["hits"] == [] and listed == {"memories": [], "total": 0} and "4711" not in ctx["text"]
    assert delete.is_error and "not_found" in delete.content[0].text
    assert [m["content"] for m in still["memories"]] == ["north's vault code is 4711"]


@pytest.mark.parametrize("key", [None, "rk_not_a_real_key_at_all_000000000000000000"])
def test_http_transport_refuses_missing_or_bad_keys(http_server: tuple[str, dict[str, str]], key: str | None) -> None:
    url, _ = http_server
    response = httpx2.post(url + "/mcp", headers={"Authorization": f"Bearer {key}"} if key else {},
                           json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"

    async def main() -> None:
        async with connect(url, key) as client:
            await client.list_tools()

    with pytest.raises(Exception):  # noqa: B017 - how the SDK surfaces an HTTP 401 is its own business
        anyio.run(main)


def test_search_and_context_take_now(http_server: tuple[str, dict[str, str]]) -> None:
    """``now`` moves the reference time: a fact valid 2020-2023 is current again at 2021-06-01."""
    url, keys = http_server
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {keys['north']}"}, timeout=60) as rest:
        r = rest.post("/v1/records", json={"records": [{"content": "Lena drives a red Volvo", "kind": "semantic",
                                                        "user_id": "lena", "valid_from": "2020-01-01T00:00:00Z",
                                                        "valid_to": "2023-01-01T00:00:00Z"}]})
        assert r.status_code == 201, r.text

    async def main() -> tuple[Any, ...]:
        async with connect(url, keys["north"]) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            args = {"query": "what car does Lena drive?", "user_id": "lena"}
            now = data(await client.call_tool("search_memory", args))
            then = data(await client.call_tool("search_memory", {**args, "now": "2021-06-01T00:00:00Z"}))
            ctx_now = data(await client.call_tool("get_context", args))
            ctx_then = data(await client.call_tool("get_context", {**args, "now": "2021-06-01"}))
            bad = await client.call_tool("search_memory", {**args, "now": "not a time, not at all"})
        return tools, now, then, ctx_now, ctx_then, bad

    tools, now, then, ctx_now, ctx_then, bad = anyio.run(main)
    for name in ("search_memory", "get_context"):
        prop = tools[name].input_schema["properties"]["now"]
        assert "ISO 8601" in prop["description"] and "now" not in tools[name].input_schema.get("required", [])
    assert now["hits"] == [] and [h["content"] for h in then["hits"]] == ["Lena drives a red Volvo"]
    assert "Volvo" not in ctx_now["text"] and "Volvo" in ctx_then["text"]
    assert bad.is_error and "invalid_input" in bad.content[0].text
