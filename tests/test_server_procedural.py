"""Procedural memory over a real server: REST, both HTTP clients and the MCP tools
(learn, recall_procedures), tenant-scoped; and the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import anyio
import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("mcp")

from remem import AsyncRememClient, RememClient  # noqa: E402
from remem.models.procedural import FeedbackResult, LearnResult, ProcedureHit  # noqa: E402
from remem.server import create_app  # noqa: E402
from remem.server.auth import create_key  # noqa: E402
from remem.server.testing import running  # noqa: E402
from remem.store import open_store  # noqa: E402

TASK = "Convert 77 F to Celsius"
STEPS = ["read the temperature: 77 F", "subtract 32 first: 45", "multiply by 5/9: 25 C"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, dict[str, str]]]:  # noqa: ANN001
    path = tmp_path_factory.mktemp("proc") / "memory.db"
    store = open_store(path)
    keys = {t: create_key(store, t) for t in ("acme", "globex")}
    store.close()
    with running(create_app(path, embedder=embedder)) as url:
        yield url, keys


def test_rest_learn_procedures_feedback(server) -> None:  # noqa: ANN001
    url, keys = server
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['acme']}"}, timeout=60) as c:
        learned = c.post("/v1/learn", json={"task": TASK, "trajectory": STEPS, "outcome": "success", "agent_id": "bot"})
        assert learned.status_code == 201 and learned.json()["trajectory"]["kind"] == "episodic"
        found = c.post("/v1/procedures", json={"task": "Convert 50 F to Celsius", "agent_id": "bot", "task_id": "t9"}).json()
        assert found["results"][0]["type"] == "trajectory" and found["results"][0]["task"] == TASK
        bad = c.post("/v1/learn", json={"task": TASK, "trajectory": [], "outcome": "success"})
        assert bad.status_code == 422
        assert c.post("/v1/learn", json={"task": TASK, "trajectory": STEPS, "outcome": "maybe"}).status_code == 422
        assert c.post("/v1/feedback", json={"task_id": "nope", "outcome": "success", "agent_id": "bot"}).status_code == 404
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['globex']}"}, timeout=60) as c:
        assert c.post("/v1/procedures", json={"task": TASK, "agent_id": "bot"}).json()["results"] == []


def test_clients_mirror_learn_procedures_feedback(server) -> None:  # noqa: ANN001
    url, keys = server
    with RememClient(url, api_key=keys["acme"]) as mem:
        out = mem.learn(TASK, STEPS, "success", agent_id="c-bot")
        assert isinstance(out, LearnResult)
        hits = mem.procedures("Convert 59 F to Celsius", agent_id="c-bot", task_id="t1")
        assert isinstance(hits[0], ProcedureHit) and hits[0].memory.id == out.trajectory.id
        result = mem.learn("Convert 59 F to Celsius", ["subtract 32", "times 5/9"], "success", agent_id="c-bot", task_id="t1")
        assert result.trajectory.metadata["outcome"] == "success"

    async def run() -> Any:
        async with AsyncRememClient(url, api_key=keys["acme"]) as amem:
            await amem.procedures("Convert 41 F to Celsius", agent_id="c-bot", task_id="t2")
            return await amem.feedback("t2", "failure", agent_id="c-bot")

    fb = anyio.run(run)
    assert isinstance(fb, FeedbackResult) and fb.counted


def test_mcp_tools_learn_and_recall(server) -> None:  # noqa: ANN001
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client

    url, keys = server

    async def run() -> tuple[Any, Any]:
        http = httpx.AsyncClient(headers={"Authorization": f"Bearer {keys['acme']}"}, timeout=60)
        async with Client(streamable_http_client(url + "/mcp", http_client=http), read_timeout_seconds=60) as client:
            learned = await client.call_tool("learn", {"task": TASK, "trajectory": STEPS, "outcome": "failure",
                                                      "agent_id": "m-bot", "feedback": "forgot to subtract"})
            recalled = await client.call_tool("recall_procedures", {"task": "Convert 68 F to Celsius", "agent_id": "m-bot"})
            return learned, recalled

    learned, recalled = anyio.run(run)
    assert not learned.is_error and learned.structured_content["trajectory_id"]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['acme']}"}, timeout=60) as c:
        entries = c.get("/v1/audit", params={"memory_id": learned.structured_content["trajectory_id"]}).json()["items"]
    assert entries and entries[0]["actor"].endswith("(mcp)") and entries[0]["request_id"]  # the key, not "local"
    first = recalled.structured_content["procedures"][0]
    assert first["type"] == "trajectory" and first["polarity"] == "avoid"


def test_cli_learn_procedures_feedback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from remem.cli.main import app

    db, runner = str(tmp_path / "cli.db"), CliRunner()
    steps = tmp_path / "steps.json"
    steps.write_text(json.dumps(STEPS))
    r = runner.invoke(app, ["learn", TASK, "-o", "success", "--file", str(steps), "-a", "bot", "--path", db])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["procedures", "Convert 86 F to Celsius", "-a", "bot", "--task-id", "k1", "--json", "--path", db])
    assert r.exit_code == 0 and json.loads(r.output)[0]["task"] == TASK
    r = runner.invoke(app, ["feedback", "k1", "-o", "success", "-a", "bot", "--path", db])
    assert r.exit_code == 0 and "counted success" in r.output
    r = runner.invoke(app, ["learn", TASK, "-o", "sometimes", "-s", "x", "--path", db])
    assert r.exit_code != 0 and "outcome" in r.output
    assert runner.invoke(app, ["learn", TASK, "-o", "success", "--path", db]).exit_code != 0  # no steps
