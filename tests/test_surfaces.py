"""Every operation in remem.operations is offered by every surface the table names: a new
Memory method that one surface lacks (or a surface that grows one the table lacks) fails here."""

from __future__ import annotations

import inspect

import anyio
import pytest
import typer

from remem import AsyncMemory, AsyncRememClient, Memory, RememClient
from remem.operations import OPERATIONS

NOT_OPERATIONS = {"close", "wait", "pipeline", "index_texts", "vector_texts"}  # lifecycle and introspection


def _public_methods(cls: type) -> set[str]:
    return {n for n, _ in inspect.getmembers(cls) if not n.startswith("_")} - NOT_OPERATIONS


def test_the_table_lists_every_public_memory_method() -> None:
    assert {op.name for op in OPERATIONS} == _public_methods(Memory)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_async_memory_and_clients_offer_it(op) -> None:  # noqa: ANN001
    assert inspect.iscoroutinefunction(getattr(AsyncMemory, op.name)), f"AsyncMemory.{op.name}"
    if op.client:
        assert callable(getattr(RememClient, op.name, None)), f"RememClient.{op.name}"
        assert callable(getattr(AsyncRememClient, op.name, None)), f"AsyncRememClient.{op.name}"


def test_rest_routes_cover_the_table(tmp_path, embedder) -> None:  # noqa: ANN001
    pytest.importorskip("fastapi")
    from remem.server import create_app

    app = create_app(tmp_path / "m.db", embedder=embedder)
    paths = app.openapi()["paths"]
    routes = {(method.upper(), path) for path, item in paths.items() for method in item}
    missing = [op.name for op in OPERATIONS if op.rest and op.rest not in routes]
    assert not missing, f"no REST route for {missing}"


def test_cli_commands_cover_the_table() -> None:
    from remem.cli.main import app

    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    missing = [op.name for op in OPERATIONS if op.cli and op.cli not in commands]
    assert not missing, f"no CLI command for {missing}"


def test_mcp_tools_are_exactly_the_tables(tmp_path, embedder) -> None:  # noqa: ANN001
    pytest.importorskip("mcp")
    from remem.server.mcp_server import build_mcp

    mem = Memory(tmp_path / "m.db", embedder=embedder)
    server = build_mcp(lambda tenant: mem)
    tools = {t.name for t in anyio.run(server.list_tools)}
    assert tools == {op.mcp for op in OPERATIONS if op.mcp}
    mem.close()


def test_posted_operations_match_their_routes(tmp_path, embedder) -> None:  # noqa: ANN001
    """A row with ``posts`` gets its client methods from the row: its route must take those fields
    (required) and answer with the declared return type."""
    pytest.importorskip("fastapi")
    from remem.server import create_app

    spec = create_app(tmp_path / "m.db", embedder=embedder).openapi()
    posted = [op for op in OPERATIONS if op.posts is not None]
    assert posted, "no operation uses the derived client path"
    for op in posted:
        assert op.rest is not None and op.rest[0] == "POST", op.name
        route = spec["paths"][op.rest[1]]["post"]
        ref = route["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        body = spec["components"]["schemas"][ref]
        assert set(op.posts) <= set(body.get("required", [])), f"{op.name}: route does not require {op.posts}"
        reply = next(r for code, r in route["responses"].items() if code.startswith("2"))
        reply_ref = reply["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert reply_ref == op.returns.__name__, f"{op.name} replies {reply_ref}, the row says {op.returns.__name__}"


def test_a_posted_operation_builds_its_request_from_the_row() -> None:
    from remem import client_calls
    from remem.operations import OPERATIONS as ops

    learn = next(op for op in ops if op.name == "learn")
    build = client_calls.posted(learn.name, learn.rest[1], learn.posts, learn.returns)
    call = build("convert 5 km", [{"role": "assistant", "content": "3.1 mi"}], "success", agent_id="a1", feedback=None)
    assert (call.method, call.path) == ("POST", "/v1/learn")
    assert call.json == {"task": "convert 5 km", "trajectory": [{"role": "assistant", "content": "3.1 mi"}],
                         "outcome": "success", "agent_id": "a1"}
    with pytest.raises(TypeError, match="missing required arguments: outcome"):
        build("t", [])
    with pytest.raises(TypeError, match="multiple values for task"):
        build("t", [], "success", task="again")
