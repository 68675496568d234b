"""Tests for remem.llm: config, prompts/schemas, ScriptedLLM, OpenAILLM over real HTTP.

* Unit tests use :class:`ScriptedLLM` and pure functions.
* ``stub_server`` tests run :class:`OpenAILLM` (the official SDK) against a real
  loopback HTTP server that replies from a script: retries, timeouts, fallback,
  concurrency and token accounting.
* ``@pytest.mark.llm`` tests talk to a real llama.cpp server with SmolLM2-135M;
  they check protocol and bookkeeping, not the tiny model's wisdom.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import field_validator

from remem.errors import InvalidInputError, LLMError, LLMNotConfiguredError
from remem.llm import (
    ANSWER,
    EXTRACT_FACTS,
    JUDGE,
    PROMPTS,
    RESOLVE,
    USAGE_KEYS,
    ExtractedFacts,
    Judgement,
    LLMClient,
    LLMConfig,
    OpenAILLM,
    Prompt,
    Resolution,
    ScriptedLLM,
    ScriptExhaustedError,
    llm_from_env,
    parse_json_reply,
    render_memories,
    render_messages,
)
from remem.llm.base import InvalidOutput
from remem.llm.prompts import StrictModel

try:
    from llm_server import LlamaServer, StubAction, StubOpenAIServer, llama_server, stub_server
except ImportError:  # tests/ became a package
    from tests.llm_server import LlamaServer, StubAction, StubOpenAIServer, llama_server, stub_server  # noqa: F401

# --------------------------------------------------------------------------- fixtures & helpers

JUDGE_VARS = {"question": "When did Ann move?", "gold": "7 May 2023", "answer": "On 2023-05-07."}
GOOD_JUDGEMENT = {"reasoning": "Same day.", "label": "CORRECT"}

FACT = {
    "content": "Ann moved to Lisbon on 2023-05-07.",
    "kind": "semantic",
    "event_time": "2023-05-07",
    "importance": 0.8,
    "source_ids": ["m2"],
    "keywords": ["Ann", "Lisbon", "move"],
    "tags": ["travel"],
}


def openai_llm(server: StubOpenAIServer, **kw: Any) -> OpenAILLM:
    defaults: dict[str, Any] = {"base_url": server.base_url, "model": "stub-model", "max_retries": 0, "timeout_s": 5}
    return OpenAILLM(**{**defaults, **kw})


def walk_objects(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for v in node.values():
            found.extend(walk_objects(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(walk_objects(v))
    return found


# --------------------------------------------------------------------------- config


def test_config_from_env_none_when_unset() -> None:
    assert LLMConfig.from_env({}) is None
    assert llm_from_env({}) is None


def test_config_from_env_reads_variables() -> None:
    cfg = LLMConfig.from_env(
        {
            "REMEM_LLM_BASE_URL": "http://127.0.0.1:8080/v1",
            "REMEM_LLM_MODEL": "qwen",
            "REMEM_LLM_API_KEY": "sk-secret",
            "REMEM_LLM_TIMEOUT_S": "12.5",
            "REMEM_LLM_MAX_CONCURRENCY": "3",
            "REMEM_LLM_STRUCTURED_OUTPUT": "json_object",
        }
    )
    assert cfg is not None
    assert (cfg.base_url, cfg.model, cfg.timeout_s, cfg.max_concurrency) == (
        "http://127.0.0.1:8080/v1",
        "qwen",
        12.5,
        3,
    )
    assert cfg.structured_output == "json_object"
    assert cfg.temperature == 0.0
    assert cfg.api_key is not None and cfg.api_key.get_secret_value() == "sk-secret"
    assert "sk-secret" not in repr(cfg) and "sk-secret" not in cfg.describe()


def test_config_from_env_uses_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEM_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("REMEM_LLM_MODEL", "m")
    monkeypatch.delenv("REMEM_LLM_API_KEY", raising=False)
    llm = llm_from_env()
    assert isinstance(llm, OpenAILLM) and llm.config.model == "m" and llm.config.api_key is None


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"REMEM_LLM_MODEL": "m"}, "REMEM_LLM_BASE_URL"),
        ({"REMEM_LLM_BASE_URL": "http://x/v1"}, "REMEM_LLM_MODEL"),
        ({"REMEM_LLM_BASE_URL": "http://x/v1", "REMEM_LLM_MODEL": "m", "REMEM_LLM_TIMEOUT_S": "soon"}, "timeout_s"),
        (
            {"REMEM_LLM_BASE_URL": "http://x/v1", "REMEM_LLM_MODEL": "m", "REMEM_LLM_MAX_CONCURRENCY": "0"},
            "max_concurrency",
        ),
    ],
)
def test_config_from_env_rejects_half_or_bad_settings(env: dict[str, str], needle: str) -> None:
    with pytest.raises(InvalidInputError, match=needle):
        LLMConfig.from_env(env)


def test_openai_llm_without_configuration_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REMEM_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("REMEM_LLM_MODEL", raising=False)
    with pytest.raises(LLMNotConfiguredError):
        OpenAILLM()


# --------------------------------------------------------------------------- prompts & schemas


@pytest.mark.parametrize("prompt", list(PROMPTS.values()), ids=list(PROMPTS))
def test_prompt_schema_is_strict_mode_compatible(prompt: Prompt[Any]) -> None:
    schema = prompt.json_schema
    text = json.dumps(schema)
    for banned in ('"$ref"', '"$defs"', '"title"', '"default"'):
        assert banned not in text
    objects = walk_objects(schema)
    assert objects and schema["type"] == "object"
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])


@pytest.mark.parametrize("prompt", list(PROMPTS.values()), ids=list(PROMPTS))
def test_prompt_renders_every_variable(prompt: Prompt[Any]) -> None:
    values = {name: f"<<{name}>>" for name in prompt.variables}
    system, user = prompt.render(values)
    assert system["role"] == "system" and user["role"] == "user"
    rendered = system["content"] + user["content"]
    for name in prompt.variables:
        assert f"<<{name}>>" in rendered
    assert "{" not in rendered and "}" not in rendered
    assert prompt.id == f"{prompt.name}@{prompt.version}"


def test_prompt_missing_variable_is_an_error() -> None:
    with pytest.raises(InvalidInputError, match="messages"):
        EXTRACT_FACTS.render({"context": "x"})


def test_extracted_fact_dates_are_normalised_and_checked() -> None:
    facts = ExtractedFacts.model_validate({"facts": [{**FACT, "event_time": "2023-05-07T18:00:00Z"}]})
    assert facts.facts[0].event_time == "2023-05-07"
    assert ExtractedFacts.model_validate({"facts": [{**FACT, "event_time": ""}]}).facts[0].event_time is None
    assert (
        ExtractedFacts.model_validate({"facts": [{**FACT, "event_time": "2023-05"}]}).facts[0].event_time == "2023-05"
    )
    for bad in ("yesterday", "2023-13-01", "May 7"):
        with pytest.raises(ValueError):
            ExtractedFacts.model_validate({"facts": [{**FACT, "event_time": bad}]})
    with pytest.raises(ValueError):
        ExtractedFacts.model_validate({"facts": [{**FACT, "importance": 1.5}]})
    with pytest.raises(ValueError):
        ExtractedFacts.model_validate({"facts": [{**FACT, "kind": "episodic"}]})


def test_source_ids_checked_against_context() -> None:
    data = {"facts": [FACT]}
    assert ExtractedFacts.model_validate(data, context={"message_ids": ["m1", "m2"]}).facts[0].source_ids == ["m2"]
    with pytest.raises(ValueError, match="unknown id"):
        ExtractedFacts.model_validate(data, context={"message_ids": ["m1"]})


@pytest.mark.parametrize(
    "data, ok",
    [
        ({"action": "ADD", "target_ids": [], "content": None, "reason": "new"}, True),
        ({"action": "ADD", "target_ids": ["1"], "content": None, "reason": "new"}, False),
        ({"action": "UPDATE", "target_ids": ["1"], "content": "Ann likes pepperoni pizza.", "reason": "r"}, True),
        ({"action": "UPDATE", "target_ids": ["1"], "content": None, "reason": "r"}, False),
        ({"action": "UPDATE", "target_ids": ["1", "2"], "content": "x", "reason": "r"}, False),
        ({"action": "INVALIDATE", "target_ids": ["1", "2"], "content": None, "reason": "moved"}, True),
        ({"action": "INVALIDATE", "target_ids": [], "content": None, "reason": "moved"}, False),
        ({"action": "NOOP", "target_ids": ["2"], "content": "ignored", "reason": "dup"}, True),
        ({"action": "DELETE", "target_ids": ["2"], "content": None, "reason": "?"}, False),
        ({"action": "NOOP", "target_ids": ["9"], "content": None, "reason": "dup"}, False),  # 9 not listed
    ],
)
def test_resolution_rules(data: dict[str, Any], ok: bool) -> None:
    ctx = {"memory_ids": ["1", "2", "3"]}
    if ok:
        res = Resolution.model_validate(data, context=ctx)
        assert res.action == data["action"]
        assert res.content is None or res.action == "UPDATE"
    else:
        with pytest.raises(ValueError):
            Resolution.model_validate(data, context=ctx)


def test_render_helpers() -> None:
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    text = render_messages(
        [{"id": "a1", "name": "Ann", "content": "I moved yesterday!", "timestamp": when}, {"content": "hi"}]
    )
    assert text.splitlines() == [
        "[a1] 2023-05-08 13:56 (Monday) | Ann: I moved yesterday!",
        "[m2] unknown time | user: hi",
    ]
    mems = render_memories([{"id": "x", "content": "Ann lives in Lisbon.", "event_time": when}], ids=["1"])
    assert mems == "[1] Ann lives in Lisbon. (event: 2023-05-08 13:56 (Monday))"
    assert render_memories([]) == "(none)"


def test_render_messages_accepts_remem_message_objects() -> None:
    models = pytest.importorskip("remem.models")
    msg = models.Message(role="user", name="Ann", content="hello", timestamp="2023-05-08T10:00:00Z", id="u1")
    assert render_messages([msg]) == "[u1] 2023-05-08 10:00 (Monday) | Ann: hello"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Sure! Here it is: {"a": {"b": 2}} Hope that helps.', {"a": {"b": 2}}),
    ],
)
def test_parse_json_reply_tolerates_wrapping(text: str, expected: Any) -> None:
    assert parse_json_reply(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "not json", '{"a": 1'])
def test_parse_json_reply_rejects_garbage(text: str) -> None:
    with pytest.raises(InvalidOutput):
        parse_json_reply(text)


# --------------------------------------------------------------------------- ScriptedLLM


def test_scripted_llm_satisfies_protocol_and_validates() -> None:
    llm = ScriptedLLM([GOOD_JUDGEMENT, Judgement(reasoning="No.", label="WRONG")])
    assert isinstance(llm, LLMClient)
    first = llm.complete_json(JUDGE, JUDGE_VARS)
    second = llm.complete_json(JUDGE, JUDGE_VARS, operation="eval.judge")
    assert isinstance(first, Judgement) and first.label == "CORRECT"
    assert second.label == "WRONG"
    assert [c.operation for c in llm.calls] == ["judge", "eval.judge"]
    assert llm.calls[0].prompt == "judge@1" and llm.calls[0].variables == JUDGE_VARS
    assert "7 May 2023" in llm.calls[0].messages[1]["content"]
    assert llm.usage["judge"]["calls"] == 1 and llm.usage["judge"]["prompt_tokens"] > 0
    assert set(llm.usage["eval.judge"]) == set(USAGE_KEYS)


def test_scripted_llm_reasks_with_the_validation_error() -> None:
    llm = ScriptedLLM(["this is not json", {"reasoning": "x", "label": "MAYBE"}, GOOD_JUDGEMENT])
    result = llm.complete_json(JUDGE, JUDGE_VARS)
    assert result.label == "CORRECT"
    assert len(llm.calls) == 3
    second, third = llm.calls[1].messages, llm.calls[2].messages
    assert second[-2] == {"role": "assistant", "content": "this is not json"}
    assert "not valid JSON" in second[-1]["content"]
    assert "label" in third[-1]["content"] and "CORRECT" in third[-1]["content"]  # error names the field + schema
    assert llm.usage["judge"] == {**llm.usage["judge"], "calls": 3, "retries": 2, "failures": 0}


def test_scripted_llm_gives_up_after_bounded_retries() -> None:
    llm = ScriptedLLM(["nope"] * 5, output_retries=1)
    with pytest.raises(LLMError, match=r"judge@1 output in 2 attempt\(s\)"):
        llm.complete_json(JUDGE, JUDGE_VARS)
    assert llm.remaining == 3
    assert llm.usage["judge"]["failures"] == 1 and llm.usage["judge"]["calls"] == 2


def test_scripted_llm_context_rejects_invented_ids() -> None:
    bad = {"action": "NOOP", "target_ids": ["42"], "content": None, "reason": "dup"}
    good = {"action": "NOOP", "target_ids": ["2"], "content": None, "reason": "dup"}
    llm = ScriptedLLM([bad, good])
    res = llm.complete_json(RESOLVE, {"fact": "f", "existing": "[1] a\n[2] b"}, context={"memory_ids": ["1", "2"]})
    assert res.target_ids == ["2"]
    assert "unknown id" in llm.calls[1].messages[-1]["content"]


def test_scripted_llm_responder_callable_and_chat() -> None:
    seen: list[str] = []

    def responder(name: str, variables: Any) -> Any:
        seen.append(name)
        if name == "chat":
            return "hello " + variables["messages"][-1]["content"]
        return {"reasoning": "r", "answer": variables["question"].upper()}

    llm = ScriptedLLM(responder)
    assert llm.chat([{"role": "user", "content": "there"}]) == "hello there"
    out = llm.complete_json(ANSWER, {"memories": "-", "question": "why?", "question_time": "2023-05-08"})
    assert out.answer == "WHY?"
    assert seen == ["chat", "answer"]
    assert set(llm.usage) == {"chat", "answer"}


def test_scripted_llm_failures_and_exhaustion() -> None:
    llm = ScriptedLLM([LLMError("boom"), RuntimeError("socket closed")])
    with pytest.raises(LLMError, match="boom"):
        llm.complete_json(JUDGE, JUDGE_VARS)
    with pytest.raises(LLMError, match="socket closed"):
        llm.chat([{"role": "user", "content": "x"}], operation="ping")
    assert llm.usage["judge"]["failures"] == 1 and llm.usage["ping"]["failures"] == 1
    with pytest.raises(ScriptExhaustedError):
        llm.complete_json(JUDGE, JUDGE_VARS)
    llm.reset_usage()
    assert llm.usage == {}


def test_scripted_llm_async() -> None:
    llm = ScriptedLLM([GOOD_JUDGEMENT, "pong"])
    result = asyncio.run(llm.acomplete_json(JUDGE, JUDGE_VARS))
    assert result.label == "CORRECT"
    assert asyncio.run(llm.achat([{"role": "user", "content": "ping"}])) == "pong"


# --------------------------------------------------------------------------- OpenAILLM over real HTTP (stub)


def test_sends_strict_json_schema_and_parses(stub_server: StubOpenAIServer) -> None:
    stub_server.script(StubAction(json.dumps(GOOD_JUDGEMENT), prompt_tokens=120, completion_tokens=15))
    llm = openai_llm(stub_server, api_key="sk-test")
    assert isinstance(llm, LLMClient)
    result = llm.complete_json(JUDGE, JUDGE_VARS)
    assert isinstance(result, Judgement) and result.label == "CORRECT"
    (req,) = stub_server.requests
    body = req["json"]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["authorization"] == "Bearer sk-test"
    assert body["model"] == "stub-model" and body["temperature"] == 0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "judge", "schema": JUDGE.json_schema, "strict": True},
    }
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert llm.usage == {
        "judge": {"calls": 1, "prompt_tokens": 120, "completion_tokens": 15, "failures": 0, "retries": 0}
    }


def test_retries_invalid_output_then_succeeds(stub_server: StubOpenAIServer) -> None:
    stub_server.script(
        "{oops",  # not JSON
        json.dumps({"facts": [{**FACT, "importance": 7}]}),  # JSON, fails the schema
        json.dumps({"facts": [FACT]}),
    )
    llm = openai_llm(stub_server)
    variables = {"context": "(none)", "messages": "[m2] 2023-05-08 | Ann: I moved to Lisbon yesterday"}
    out = llm.complete_json(EXTRACT_FACTS, variables, operation="write.extract")
    assert isinstance(out, ExtractedFacts) and out.facts[0].event_time == "2023-05-07"
    assert len(stub_server.requests) == 3
    second = stub_server.requests[1]["json"]["messages"]
    assert second[-2] == {"role": "assistant", "content": "{oops"}
    assert "not valid JSON" in second[-1]["content"]
    third = stub_server.requests[2]["json"]["messages"]
    assert "facts.0.importance" in third[-1]["content"]
    assert llm.usage["write.extract"] == {
        "calls": 3, "prompt_tokens": 33, "completion_tokens": 21, "failures": 0, "retries": 2
    }  # fmt: skip


def test_gives_up_with_llm_error_after_retries(stub_server: StubOpenAIServer) -> None:
    stub_server.default = StubAction("still not json")
    llm = openai_llm(stub_server, output_retries=2)
    with pytest.raises(LLMError, match="no valid judge@1 output in 3 attempt"):
        llm.complete_json(JUDGE, JUDGE_VARS)
    assert len(stub_server.requests) == 3
    assert llm.usage["judge"]["failures"] == 1 and llm.usage["judge"]["retries"] == 2


def test_timeout_raises_llm_error_quickly(stub_server: StubOpenAIServer) -> None:
    stub_server.default = StubAction(json.dumps(GOOD_JUDGEMENT), delay_s=3)
    llm = openai_llm(stub_server, timeout_s=0.4, max_retries=1)
    start = time.monotonic()
    with pytest.raises(LLMError, match=r"timed out after 0.4s \(2 attempt"):
        llm.complete_json(JUDGE, JUDGE_VARS)
    assert time.monotonic() - start < 2.9  # two 0.4 s attempts + SDK backoff, never the 3 s reply
    assert len(stub_server.requests) == 2  # the SDK retried the timeout once
    assert llm.usage["judge"]["failures"] == 1 and llm.usage["judge"]["calls"] == 0


def test_http_errors_and_unreachable_server(stub_server: StubOpenAIServer) -> None:
    stub_server.script(StubAction(status=500, body={"error": {"message": "kaput"}}))
    llm = openai_llm(stub_server)
    with pytest.raises(LLMError, match="HTTP 500"):
        llm.chat([{"role": "user", "content": "hi"}])
    dead = OpenAILLM(base_url="http://127.0.0.1:9/v1", model="m", max_retries=0, timeout_s=2)
    with pytest.raises(LLMError, match="cannot reach"):
        dead.complete_json(JUDGE, JUDGE_VARS)


def test_auto_mode_falls_back_to_json_object(stub_server: StubOpenAIServer) -> None:
    stub_server.script(
        StubAction(status=422, body={"detail": [{"msg": "Input should be 'text' or 'json_object'"}]}),
        json.dumps(GOOD_JUDGEMENT),
        json.dumps(GOOD_JUDGEMENT),
    )
    llm = openai_llm(stub_server)
    assert llm.complete_json(JUDGE, JUDGE_VARS).label == "CORRECT"
    assert llm.structured_mode == "json_object"
    llm.complete_json(JUDGE, JUDGE_VARS)
    formats = [r["json"]["response_format"]["type"] for r in stub_server.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    fallback = stub_server.requests[1]["json"]
    assert fallback["response_format"]["schema"] == JUDGE.json_schema
    assert "JSON Schema" in fallback["messages"][0]["content"]  # schema also stated in the prompt
    assert llm.usage["judge"]["calls"] == 2 and llm.usage["judge"]["failures"] == 0


def test_explicit_json_schema_mode_does_not_fall_back(stub_server: StubOpenAIServer) -> None:
    stub_server.script(StubAction(status=400, body={"error": {"message": "bad response_format"}}))
    llm = openai_llm(stub_server, structured_output="json_schema")
    with pytest.raises(LLMError, match="HTTP 400"):
        llm.complete_json(JUDGE, JUDGE_VARS)
    assert len(stub_server.requests) == 1


def test_concurrency_is_bounded(stub_server: StubOpenAIServer) -> None:
    stub_server.default = StubAction("pong", delay_s=0.3)
    llm = openai_llm(stub_server, max_concurrency=2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            assert llm.chat([{"role": "user", "content": "ping"}], operation="ping") == "pong"
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert stub_server.max_in_flight == 2
    assert llm.usage["ping"]["calls"] == 6


def test_async_complete_json(stub_server: StubOpenAIServer) -> None:
    stub_server.script("garbage", json.dumps(GOOD_JUDGEMENT), json.dumps(GOOD_JUDGEMENT))
    llm = openai_llm(stub_server)

    async def main() -> list[Judgement]:
        first = await llm.acomplete_json(JUDGE, JUDGE_VARS)
        second = await llm.acomplete_json(JUDGE, JUDGE_VARS, operation="again")
        return [first, second]

    results = asyncio.run(main())
    assert [r.label for r in results] == ["CORRECT", "CORRECT"]
    assert llm.usage["judge"]["retries"] == 1 and llm.usage["again"]["calls"] == 1


# --------------------------------------------------------------------------- real llama.cpp server


class Colour(StrictModel):
    """A tiny schema the 135M model can fill."""

    colour: str
    confidence: float


COLOUR = Prompt(
    name="colour",
    version=1,
    schema=Colour,
    system="You answer with JSON.",
    user="What colour is the sky on a clear day? {hint}",
)


@pytest.fixture
def real_llm(llama_server: LlamaServer) -> OpenAILLM:
    return OpenAILLM(base_url=llama_server.base_url, model=llama_server.model, timeout_s=120, max_tokens=96)


@pytest.mark.llm
def test_real_server_chat_and_token_accounting(real_llm: OpenAILLM) -> None:
    text = real_llm.chat([{"role": "user", "content": "Say hello."}], operation="hello")
    assert isinstance(text, str) and text.strip()
    real_llm.chat([{"role": "user", "content": "Say hello again."}], operation="hello")
    usage = real_llm.usage["hello"]
    assert usage["calls"] == 2 and usage["failures"] == 0
    assert usage["prompt_tokens"] > 10 and usage["completion_tokens"] > 0


@pytest.mark.llm
def test_real_server_structured_output_parses(real_llm: OpenAILLM) -> None:
    result = real_llm.complete_json(COLOUR, {"hint": "Answer in one word."})
    assert isinstance(result, Colour)
    assert isinstance(result.colour, str)
    assert real_llm.structured_mode in ("json_schema", "json_object")
    assert real_llm.usage["colour"]["calls"] >= 1 and real_llm.usage["colour"]["completion_tokens"] > 0


# llama-cpp-python applies the JSON grammar to the whole vocabulary at every token, which
# makes long structured replies slow on a CPU (~1 s/token); the real-server tests keep
# outputs short.  RESOLVE's cross-field rules and EXTRACT_FACTS' long outputs are beyond
# a 135M model on this budget; they are covered with ScriptedLLM and the stub above.
@pytest.mark.llm
def test_real_server_judge_prompt_returns_schema_object(real_llm: OpenAILLM) -> None:
    result = real_llm.complete_json(JUDGE, JUDGE_VARS, operation="eval.judge")
    assert isinstance(result, Judgement) and result.label in ("CORRECT", "WRONG")
    assert real_llm.usage["eval.judge"]["calls"] >= 1


@pytest.mark.llm
def test_real_server_timeout_is_llm_error(llama_server: LlamaServer) -> None:
    llm = OpenAILLM(
        base_url=llama_server.base_url, model=llama_server.model, timeout_s=0.01, max_retries=0, max_tokens=64
    )
    with pytest.raises(LLMError, match="timed out"):
        llm.chat([{"role": "user", "content": "Write a long story about the sea. " * 20}])
    assert llm.usage["chat"]["failures"] == 1


class Impossible(StrictModel):
    """Valid JSON structure, but the validator rejects every value."""

    colour: str

    @field_validator("colour")
    @classmethod
    def _never(cls, v: str) -> str:
        raise ValueError("colour must be the secret word")


IMPOSSIBLE = Prompt(
    name="impossible", version=1, schema=Impossible, system="Answer in JSON.", user="Name a colour.{hint}"
)


@pytest.mark.llm
def test_real_server_bounded_reasks_then_llm_error(real_llm: OpenAILLM) -> None:
    # "prompt" mode (schema in the system message, no grammar) keeps the three calls fast
    update = {"output_retries": 2, "max_tokens": 24, "structured_output": "prompt"}
    llm = OpenAILLM(real_llm.config.model_copy(update=update))
    with pytest.raises(LLMError, match="impossible@1 output in 3 attempt"):
        llm.complete_json(IMPOSSIBLE, {"hint": ""})
    usage = llm.usage["impossible"]
    assert (usage["calls"], usage["retries"], usage["failures"]) == (3, 2, 1)
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0


def test_openai_llm_without_the_sdk_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import remem.llm.client as client_module

    monkeypatch.setattr(client_module, "openai", None)
    with pytest.raises(LLMError, match=r"remem\[llm\]"):
        OpenAILLM(base_url="http://127.0.0.1:9/v1", model="m")
