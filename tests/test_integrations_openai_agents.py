"""remem.integrations.openai_agents against the real OpenAI Agents SDK (openai-agents 0.24).

* Protocol tests drive ``RememSession`` directly on every store backend.
* Runner tests run a real ``agents.Runner`` with a tiny ``Model`` subclass that returns fixed
  output (a tool call, then text), so the Runner + session path runs offline, in ``--fast``
  runs too; one ``@pytest.mark.llm`` test runs two turns against the llama.cpp server.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

agents = pytest.importorskip("agents", reason="needs pip install 'remem[openai-agents]'")

from agents import Agent, ModelSettings, RunConfig, RunHooks, Runner, function_tool, set_tracing_disabled  # noqa: E402
from agents.items import ModelResponse  # noqa: E402
from agents.memory import Session, SessionSettings, SQLiteSession  # noqa: E402
from agents.models.interface import Model  # noqa: E402
from agents.usage import Usage  # noqa: E402
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText  # noqa: E402

from remem import AsyncMemory, InvalidInputError, Memory  # noqa: E402
from remem.integrations.openai_agents import ITEM_KEY, RememSearchSession, RememSession, item_text  # noqa: E402

try:
    from llm_server import LlamaServer, llama_server  # noqa: F401
except ImportError:  # tests/ became a package
    from tests.llm_server import LlamaServer, llama_server  # noqa: F401

set_tracing_disabled(True)

ITEMS: list[dict[str, Any]] = [
    {"role": "user", "content": "What's the weather in Lisbon?"},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Look it up."}]},
    {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": '{"city": "Lisbon"}', "status": "completed"},
    {"type": "function_call_output", "call_id": "call_1", "output": "sunny, 24 C"},
    {
        "type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
        "content": [{"type": "output_text", "text": "It is sunny in Lisbon.", "annotations": [], "logprobs": []}],
        "provider_data": {"model": "m", "n": 1.5, "flags": [True, None]},
    },
    {"role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}, {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}]},
    {"role": "user", "content": "And tomorrow?"},  # an exact repeat is a new item, not a duplicate
]  # fmt: skip


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --------------------------------------------------------------------------- protocol


def test_is_a_session_with_the_protocol_attributes(sqlite_mem: Memory) -> None:
    session = RememSession("s1", sqlite_mem, user_id="alice")
    assert isinstance(session, Session)
    assert session.session_id == "s1"
    assert isinstance(session.session_settings, SessionSettings) and session.session_settings.limit is None
    assert "s1" in repr(session)


def test_round_trip_add_get_limit_pop_clear(mem: Memory) -> None:
    session = RememSession("s1", mem, user_id="alice", agent_id="helper")

    async def story() -> None:
        assert await session.get_items() == [] and await session.pop_item() is None
        await session.add_items(copy.deepcopy(ITEMS[:3]))
        await session.add_items([])
        await session.add_items(copy.deepcopy(ITEMS[3:]))
        assert await session.get_items() == ITEMS  # exactly, in order
        assert await session.get_items(limit=2) == ITEMS[-2:]
        assert await session.get_items(limit=100) == ITEMS
        assert await session.get_items(limit=0) == []

        assert await session.pop_item() == ITEMS[-1]
        assert await session.pop_item() == ITEMS[-2]
        assert await session.get_items() == ITEMS[:-2]  # popped items do not come back
        assert await session.get_items(limit=1) == [ITEMS[-3]]

        await session.clear_session()
        assert await session.get_items() == [] and await session.pop_item() is None
        await session.add_items([{"role": "user", "content": "again"}])
        assert await session.get_items() == [{"role": "user", "content": "again"}]

    run(story())
    # soft deletes: gone from the session and from search, kept in history
    deleted = [r for r in mem.get_all(session_id="s1", include_deleted=True, limit=100) if r.is_deleted]
    assert len(deleted) == len(ITEMS)
    assert mem.history(deleted[0].id)[-1].op.value == "DELETE"
    assert all(h.memory.id not in {r.id for r in deleted} for h in mem.search("weather Lisbon", user_id="alice"))


def test_order_survives_many_single_adds(sqlite_mem: Memory) -> None:
    session = RememSession("s1", sqlite_mem)
    items = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(30)]

    async def story() -> None:
        for item in items:
            await session.add_items([item])
        assert await session.get_items() == items
        assert await session.get_items(limit=7) == items[-7:]

    run(story())


def test_items_are_searchable_memories_with_their_text(sqlite_mem: Memory) -> None:
    session = RememSession("s1", sqlite_mem, user_id="alice", metadata={"channel": "web"})
    run(session.add_items(copy.deepcopy(ITEMS)))
    records = sqlite_mem.get_all(user_id="alice", session_id="s1", limit=100)[::-1]
    assert [r.content for r in records] == [
        "What's the weather in Lisbon?", "Look it up.", 'weather({"city": "Lisbon"})', "sunny, 24 C",
        "It is sunny in Lisbon.", "And tomorrow?\n[input_image]", "And tomorrow?",
    ]  # fmt: skip
    assert [r.role for r in records] == ["user", "assistant", "tool", "tool", "assistant", "user", "user"]
    assert all(r.metadata["channel"] == "web" and r.metadata[ITEM_KEY] == i for r, i in zip(records, ITEMS))
    hit = sqlite_mem.search("sunny weather", user_id="alice", filters={"channel": "web"})[0]
    assert hit.memory.session_id == "s1" and "sunny" in hit.memory.content
    assert item_text({"type": "computer_call"}) == "[computer_call]"


def test_session_settings_limit_and_explicit_limit(sqlite_mem: Memory) -> None:
    session = RememSession("s1", sqlite_mem, session_settings={"limit": 2})
    assert session.session_settings.limit == 2
    items = [{"role": "user", "content": f"m{i}"} for i in range(5)]

    async def story() -> None:
        await session.add_items(items)
        assert await session.get_items() == items[-2:]
        assert await session.get_items(limit=4) == items[-4:]

    run(story())


def test_persists_across_sessions_on_the_same_sqlite_file(tmp_path: Path, embedder: Any) -> None:
    path = tmp_path / "agents.db"
    with Memory(path, embedder=embedder) as first:
        run(RememSession("chat", first, user_id="alice").add_items(copy.deepcopy(ITEMS)))
    with Memory(path, embedder=embedder) as second:
        session = RememSession("chat", AsyncMemory(memory=second), user_id="alice")
        assert run(session.get_items()) == ITEMS
        assert run(session.pop_item()) == ITEMS[-1]
    with Memory(path, embedder=embedder) as third:
        assert run(RememSession("chat", third, user_id="alice").get_items()) == ITEMS[:-1]


def test_a_session_can_open_and_close_its_own_store(tmp_path: Path) -> None:
    session = RememSession("chat", str(tmp_path / "own.db"), user_id="alice")
    run(session.add_items([{"role": "user", "content": "hello"}]))
    session.close()
    again = RememSession("chat", tmp_path / "own.db", user_id="alice")
    assert run(again.get_items()) == [{"role": "user", "content": "hello"}]
    again.close()


def test_sessions_and_users_are_isolated(mem: Memory) -> None:
    alice_1 = RememSession("s1", mem, user_id="alice")
    alice_2 = RememSession("s2", mem, user_id="alice")
    bob_1 = RememSession("s1", mem, user_id="bob")

    async def story() -> None:
        await alice_1.add_items([{"role": "user", "content": "alice in s1"}])
        await alice_2.add_items([{"role": "user", "content": "alice in s2"}])
        await bob_1.add_items([{"role": "user", "content": "bob in s1"}])
        assert await alice_1.get_items() == [{"role": "user", "content": "alice in s1"}]
        assert await alice_2.get_items() == [{"role": "user", "content": "alice in s2"}]
        assert await bob_1.get_items() == [{"role": "user", "content": "bob in s1"}]
        assert await bob_1.pop_item() == {"role": "user", "content": "bob in s1"}
        await alice_2.clear_session()
        assert await alice_1.get_items() == [{"role": "user", "content": "alice in s1"}]
        assert await alice_2.get_items() == [] and await bob_1.get_items() == []

    run(story())
    # memories that are not session items (plain Memory.add in the same session) are not items
    mem.add("a note, not an agent item", user_id="alice", session_id="s1")
    assert run(alice_1.get_items()) == [{"role": "user", "content": "alice in s1"}]


def test_bad_input_is_an_invalid_input_error(sqlite_mem: Memory) -> None:
    session = RememSession("s1", sqlite_mem)
    for bad in ({"role": "user", "content": "x"}, "hello", None):
        with pytest.raises(InvalidInputError, match="items must be a list"):
            run(session.add_items(bad))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"items\[1\] must be a dict"):
        run(session.add_items([{"role": "user", "content": "ok"}, "not an item"]))  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="JSON"):
        run(session.add_items([{"role": "user", "content": {1, 2}}]))
    assert run(session.get_items()) == []  # nothing half-written
    with pytest.raises(InvalidInputError, match="limit"):
        run(session.get_items(limit=-1))
    for kwargs in ({"session_id": ""}, {"session_id": None}, {"session_id": "s", "user_id": " "}):
        with pytest.raises(InvalidInputError):
            RememSession(memory=sqlite_mem, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="reserved"):
        RememSession("s1", sqlite_mem, metadata={ITEM_KEY: 1})
    with pytest.raises(InvalidInputError, match="session_settings"):
        RememSession("s1", sqlite_mem, session_settings=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        RememSearchSession("s1", sqlite_mem, recent=-1)
    with pytest.raises(InvalidInputError, match="user_id"):
        RememSearchSession("s1", sqlite_mem, scope="user")


# --------------------------------------------------------------------------- the real Runner


class ScriptModel(Model):
    """A Model that calls the ``weather`` tool once when it has tools, then answers with text."""

    def __init__(self) -> None:
        self.calls = 0

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any, tools: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.calls += 1
        last = input[-1] if isinstance(input, list) and input else {}
        if tools and last.get("type") != "function_call_output":
            output: list[Any] = [ResponseFunctionToolCall(
                type="function_call", id=f"fc_{self.calls}", call_id=f"call_{self.calls}", name="weather",
                arguments='{"city": "Lisbon"}', status="completed",
            )]  # fmt: skip
        else:
            output = [ResponseOutputMessage(
                id=f"msg_{self.calls}", type="message", role="assistant", status="completed",
                content=[ResponseOutputText(type="output_text", text=f"reply {self.calls}", annotations=[])],
            )]  # fmt: skip
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class Inputs(RunHooks):
    """Records what the Runner sends to the model."""

    def __init__(self) -> None:
        self.seen: list[list[dict[str, Any]]] = []

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: Any, input_items: Any) -> None:
        self.seen.append(copy.deepcopy(list(input_items)))


@function_tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    return f"sunny in {city}"


async def two_turns(session: Any, hooks: Inputs) -> list[str]:
    agent = Agent(name="helper", instructions="Be brief.", model=ScriptModel(), tools=[weather])
    first = await Runner.run(agent, "What's the weather in Lisbon?", session=session, hooks=hooks)
    second = await Runner.run(agent, "Thanks! And tomorrow?", session=session, hooks=hooks)
    return [first.final_output, second.final_output]


def test_runner_stores_and_replays_the_conversation(sqlite_mem: Memory, tmp_path: Path) -> None:
    session = RememSession("chat", sqlite_mem, user_id="alice")
    hooks = Inputs()
    assert run(two_turns(session, hooks)) == ["reply 2", "reply 4"]
    stored = run(session.get_items())
    first_turn = hooks.seen[1][:3] + [stored[3]]  # user, tool call, tool output, reply
    assert [i.get("type") for i in stored] == [None, "function_call", "function_call_output", "message"] * 2
    assert stored[0] == {"role": "user", "content": "What's the weather in Lisbon?"}
    assert stored[2]["output"] == "sunny in Lisbon"
    # the second run's input began with the first turn, read back from remem
    assert hooks.seen[2][:4] == first_turn == stored[:4]
    assert hooks.seen[2][4] == {"role": "user", "content": "Thanks! And tomorrow?"}
    # the SDK's own SQLiteSession stores exactly the same items
    reference = SQLiteSession("chat", tmp_path / "sdk.db")
    run(two_turns(reference, Inputs()))
    assert run(reference.get_items()) == stored
    reference.close()
    # and a new RememSession on the same store continues the conversation
    again = RememSession("chat", sqlite_mem, user_id="alice")
    later = Inputs()
    run(Runner.run(Agent(name="helper", model=ScriptModel()), "Bye", session=again, hooks=later))
    assert later.seen[0][:8] == stored and len(run(again.get_items())) == 10


@pytest.mark.llm
def test_runner_with_a_real_model_over_two_turns(tmp_path: Path, embedder: Any, llama_server: LlamaServer) -> None:
    from agents import OpenAIChatCompletionsModel
    from openai import AsyncOpenAI

    async def story(session: RememSession) -> Inputs:
        client = AsyncOpenAI(base_url=llama_server.base_url, api_key="x")
        model = OpenAIChatCompletionsModel(model=llama_server.model, openai_client=client)
        agent = Agent(name="helper", instructions="Answer in a few words.", model=model,
                      model_settings=ModelSettings(max_tokens=12, temperature=0))  # fmt: skip
        hooks = Inputs()
        await Runner.run(agent, "My name is Ann and I live in Lisbon.", session=session, hooks=hooks)
        await Runner.run(agent, "Where do I live?", session=session, hooks=hooks)
        await client.close()
        return hooks

    with Memory(tmp_path / "llm.db", embedder=embedder) as mem:
        session = RememSession("chat", mem, user_id="ann")
        hooks = run(story(session))
        stored = run(session.get_items())
        assert len(stored) == 4 and [i.get("role") for i in stored] == ["user", "assistant", "user", "assistant"]
        assert stored[0] == {"role": "user", "content": "My name is Ann and I live in Lisbon."}
        assert hooks.seen[1][:2] == stored[:2]  # the second run's input held the first turn
        assert hooks.seen[1][2] == {"role": "user", "content": "Where do I live?"}
        assert mem.search("Lisbon", user_id="ann")[0].memory.content == stored[0]["content"]


# --------------------------------------------------------------------------- search-backed session

FILLER = [
    "Can you help me plan my week?", "Sure, what do you have going on?", "Meetings on Monday and Tuesday.",
    "Shall I block time for focused work?", "Yes please, mornings are best.", "Done: 9 to 11 every morning.",
    "What about the gym?", "Tuesday and Thursday evenings work.", "Add a dentist appointment on Friday.",
    "Added the dentist on Friday at 3pm.", "Remind me to call the bank.", "I'll remind you on Wednesday.",
]  # fmt: skip


def long_history() -> list[dict[str, Any]]:
    items = [
        {"role": "user", "content": "My cat is called Pixel and she is a tabby."},
        {"role": "assistant", "content": "Pixel sounds lovely!"},
        {"type": "function_call", "call_id": "c0", "name": "pet_lookup", "arguments": '{"cat": "Pixel"}'},
        {"type": "function_call_output", "call_id": "c0", "output": "Pixel: tabby cat"},
    ]
    for i, text in enumerate(FILLER * 2):
        items.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return items


def test_search_session_returns_recent_items_plus_relevant_older_ones(mem: Memory) -> None:
    history = long_history() + [{"role": "user", "content": "What is my cat called again?"}]
    session = RememSearchSession("chat", mem, user_id="alice", recent=3, relevant=2)
    run(session.add_items(copy.deepcopy(history)))
    view = run(session.get_items())
    assert view[-3:] == history[-3:]  # the recent window, in order
    recalled = view[:-3]
    assert 1 <= len(recalled) <= 2 and history[0] in recalled  # the Pixel message, found by search
    assert all(i.get("type", "message") == "message" for i in recalled)  # never a lone tool call/output
    positions = [history.index(i) for i in recalled]
    assert positions == sorted(positions) and positions[-1] < len(history) - 3  # older, in time order
    # with a limit it is the plain protocol: exactly the latest items
    assert run(session.get_items(limit=5)) == history[-5:]
    assert run(RememSession("chat", mem, user_id="alice").get_items()) == history
    # relevant=0 (or no user message in the window) gives the recent window alone
    assert run(RememSearchSession("chat", mem, user_id="alice", recent=3, relevant=0).get_items()) == history[-3:]
    assert run(RememSearchSession("chat", mem, user_id="bob", recent=3).get_items()) == []


def test_search_session_can_search_all_of_a_users_sessions(sqlite_mem: Memory) -> None:
    run(RememSession("old", sqlite_mem, user_id="alice").add_items([{"role": "user", "content": "My cat is called Pixel."}]))
    run(RememSession("old", sqlite_mem, user_id="bob").add_items([{"role": "user", "content": "My cat is called Tiger."}]))
    new = RememSearchSession("new", sqlite_mem, user_id="alice", recent=2, relevant=3, scope="user")
    mine = RememSearchSession("new", sqlite_mem, user_id="alice", recent=2, relevant=3)
    run(new.add_items([{"role": "user", "content": "What is my cat called?"}]))
    assert run(new.get_items()) == [{"role": "user", "content": "My cat is called Pixel."}, {"role": "user", "content": "What is my cat called?"}]
    assert run(mine.get_items()) == [{"role": "user", "content": "What is my cat called?"}]  # this session only
    assert run(new.recall("cat", exclude=[{"role": "user", "content": "My cat is called Pixel."}])) == [
        {"role": "user", "content": "What is my cat called?"}
    ]
    high = RememSearchSession("new", sqlite_mem, user_id="alice", recent=1, scope="user", threshold=1.0)
    assert run(high.get_items()) == [{"role": "user", "content": "What is my cat called?"}]


def test_search_session_in_a_runner_recalls_for_the_new_question(sqlite_mem: Memory) -> None:
    history = long_history()
    session = RememSearchSession("chat", sqlite_mem, user_id="alice", recent=4, relevant=2)
    run(session.add_items(copy.deepcopy(history)))
    hooks = Inputs()
    agent = Agent(name="helper", model=ScriptModel())
    config = RunConfig(call_model_input_filter=session.model_input_filter)
    run(Runner.run(agent, "Which cat breed did I mention?", session=session, hooks=hooks, run_config=config))
    sent = hooks.seen[0]
    assert sent[-1] == {"role": "user", "content": "Which cat breed did I mention?"}
    assert history[0] in sent and sent.index(history[0]) < len(sent) - 5  # recalled, before the recent window
    assert sent[-5:-1] == history[-4:]
    assert len([i for i in sent if i == history[0]]) == 1
    # recalled items were shown to the model, not stored again: the session grew by one turn
    stored = run(RememSession("chat", sqlite_mem, user_id="alice").get_items())
    assert stored[:-2] == history and stored[-2] == {"role": "user", "content": "Which cat breed did I mention?"}
