"""``ScriptedLLM``: a deterministic LLM for unit tests, validated exactly like the real one."""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from remem.errors import LLMError
from remem.llm.base import BaseLLM, Reply, Request

ScriptedResponse = Mapping[str, Any] | str | BaseModel | BaseException
"""A dict / model (sent as JSON), raw text (sent as is, may be invalid), or an
exception (an :class:`LLMError` is raised as a transport failure; others are
wrapped in one)."""
Responder = Callable[[str, Mapping[str, Any]], ScriptedResponse]
"""``(prompt_name, variables) -> response``; for :meth:`chat` the name is ``"chat"``
and the variables are ``{"messages": [...], "operation": ...}``."""


class ScriptExhaustedError(AssertionError):
    """The test asked for more replies than it scripted (a test bug, not an LLM failure)."""


@dataclass
class ScriptedCall:
    """One request the code under test made."""

    operation: str
    prompt: str | None  # prompt id (``name@version``); None for chat()
    variables: dict[str, Any]
    messages: list[dict[str, str]]
    reply: str | None = field(default=None)


class ScriptedLLM(BaseLLM):
    """Replays scripted replies in order, or asks a responder function.

    Replies go through the same JSON parsing, schema validation and bounded
    re-asks (``output_retries``) as :class:`~remem.llm.client.OpenAILLM`, and
    usage is counted (tokens estimated as characters / 4).
    """

    def __init__(self, responses: Iterable[ScriptedResponse] | Responder = (), *, output_retries: int = 2) -> None:
        super().__init__(output_retries=output_retries)
        self._lock = threading.Lock()
        self._responder: Responder | None = responses if callable(responses) else None
        self._queue: deque[ScriptedResponse] = deque() if callable(responses) else deque(responses)
        self.calls: list[ScriptedCall] = []

    def describe(self) -> str:
        return "ScriptedLLM"

    @property
    def remaining(self) -> int:
        """Scripted replies not yet consumed (0 with a responder)."""
        return len(self._queue)

    def add(self, *responses: ScriptedResponse) -> None:
        """Queue more replies."""
        with self._lock:
            self._queue.extend(responses)

    def _send(self, request: Request) -> Reply:
        prompt, messages, operation = request.prompt, request.messages, request.operation
        if prompt is not None:
            name, variables = prompt.name, dict(request.variables)
        else:
            name, variables = "chat", {"messages": [dict(m) for m in messages], "operation": operation}
        with self._lock:
            call = ScriptedCall(operation, prompt.id if prompt else None, variables, [dict(m) for m in messages])
            self.calls.append(call)
            if self._responder is None and not self._queue:
                raise ScriptExhaustedError(f"ScriptedLLM has no reply left for {operation} ({call.prompt or 'chat'})")
            response = self._responder(name, variables) if self._responder else self._queue.popleft()
        if isinstance(response, LLMError):
            raise response
        if isinstance(response, BaseException):
            raise LLMError(f"{operation}: scripted failure: {response}") from response
        text = _to_text(response)
        call.reply = text
        prompt_chars = sum(len(m.get("content", "")) for m in messages)
        return Reply(text, math.ceil(prompt_chars / 4), math.ceil(len(text) / 4))


def _to_text(response: ScriptedResponse) -> str:
    if isinstance(response, str):
        return response
    if isinstance(response, BaseModel):
        return response.model_dump_json()
    if isinstance(response, Mapping):
        return json.dumps(response)
    raise TypeError(f"cannot script a reply of type {type(response).__name__}")
