"""An OpenAI Agents SDK agent whose conversation history lives in remem: ``RememSession``.

Run 1 talks to an agent (which calls a tool); run 2 opens the same SQLite file in a new
Memory and a new session and continues the conversation. Then a ``RememSearchSession``
shows a long history trimmed to the recent turns plus the relevant old ones. The model is
a tiny scripted ``Model`` subclass, so this runs offline in a few seconds:

    pip install 'remem[openai-agents]' && python examples/openai_agents_session.py

With a real model, use e.g. ``Agent(..., model="gpt-4.1-mini")`` or
``OpenAIChatCompletionsModel(model=..., openai_client=AsyncOpenAI(base_url=...))``.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from agents import Agent, RunConfig, RunHooks, Runner, function_tool, set_tracing_disabled
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from remem import Memory
from remem.integrations.openai_agents import RememSearchSession, RememSession


class ScriptedModel(Model):
    """Stands in for an LLM: calls ``weather`` when asked about it, else says how much it sees."""

    async def get_response(self, system_instructions: Any, input: Any, model_settings: Any, tools: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        last = input[-1]
        if tools and last.get("type") != "function_call_output" and "weather" in str(last.get("content", "")):
            call = ResponseFunctionToolCall(type="function_call", call_id="call_1", name="weather", arguments='{"city": "Lisbon"}')
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        text = f"(I can see {len(input)} items of our conversation.)"
        if last.get("type") == "function_call_output":
            text = f"The forecast says: {last['output']}."
        message = ResponseOutputMessage(
            id="msg", type="message", role="assistant", status="completed",
            content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
        )  # fmt: skip
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class SeenByModel(RunHooks):
    def __init__(self) -> None:
        self.items: list[Any] = []

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: Any, input_items: Any) -> None:
        self.items = list(input_items)


@function_tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    return f"sunny and 24 C in {city}"


async def main() -> None:
    set_tracing_disabled(True)
    agent = Agent(name="helper", instructions="Be brief.", model=ScriptedModel(), tools=[weather])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.db"

        with Memory(path, llm=None) as mem:  # run 1
            session = RememSession("chat-1", mem, user_id="alice")
            result = await Runner.run(agent, "What's the weather in Lisbon?", session=session)
            print("run 1:", result.final_output)
            assert result.final_output == "The forecast says: sunny and 24 C in Lisbon."
            stored = await session.get_items()
            print("stored:", [i.get("type", i.get("role")) for i in stored])
            assert [i.get("type") for i in stored] == [None, "function_call", "function_call_output", "message"]

        with Memory(path, llm=None) as mem:  # run 2: a new process would do the same
            session = RememSession("chat-1", mem, user_id="alice")
            seen = SeenByModel()
            result = await Runner.run(agent, "Thanks!", session=session, hooks=seen)
            print("run 2:", result.final_output)
            assert seen.items[:4] == stored and len(seen.items) == 5  # run 1's turn came back from remem
            assert len(await session.get_items()) == 6
            # the items are memories too: searchable, with history
            hit = mem.search("forecast sunny", user_id="alice", session_id="chat-1")[0]
            print("search:", hit.memory.content)
            assert "sunny" in hit.memory.content
            undone = await session.pop_item()
            assert undone is not None and undone.get("role") == "assistant" and len(await session.get_items()) == 5

            # a long history: only the recent window plus what is relevant to the question
            long = RememSearchSession("chat-2", mem, user_id="alice", recent=4, relevant=2)
            await long.add_items([{"role": "user", "content": "My cat is called Pixel."}])
            await long.add_items([{"role": "user" if i % 2 == 0 else "assistant", "content": f"Small talk number {i}."} for i in range(40)])
            seen = SeenByModel()
            config = RunConfig(call_model_input_filter=long.model_input_filter)
            result = await Runner.run(agent, "What is my cat called?", session=long, hooks=seen, run_config=config)
            print("run 3:", result.final_output, "| sent:", [i["content"] for i in seen.items])
            # sent: up to 2 recalled for the new question, get_items' 2 recalled + 4 recent, the question
            assert {"role": "user", "content": "My cat is called Pixel."} in seen.items and len(seen.items) <= 2 + 2 + 4 + 1


if __name__ == "__main__":
    asyncio.run(main())
