"""The LLM protocol, token accounting, and the validate-and-re-ask loop shared by clients."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from remem.errors import LLMError
from remem.llm.prompts import Prompt

log = logging.getLogger("remem.llm")

T = TypeVar("T", bound=BaseModel)
ChatMessage = Mapping[str, str]
Usage = dict[str, dict[str, int]]

USAGE_KEYS = ("calls", "prompt_tokens", "completion_tokens", "failures", "retries")
"""Per-operation counters: requests sent, tokens in/out, calls that ended in
:class:`LLMError`, and re-asks after invalid output."""


@runtime_checkable
class LLMClient(Protocol):
    """What remem needs from an LLM."""

    def complete_json(
        self,
        prompt: Prompt[T],
        variables: Mapping[str, Any],
        *,
        operation: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> T:
        """Render ``prompt``, get a reply matching its schema, return the validated model."""
        ...

    def chat(self, messages: Sequence[ChatMessage], *, operation: str = "chat") -> str:
        """Plain chat completion; returns the reply text."""
        ...

    @property
    def usage(self) -> Usage:
        """Snapshot: operation -> counters named in :data:`USAGE_KEYS`."""
        ...


class UsageMeter:
    """Thread-safe per-operation counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: Usage = {}

    def add(self, operation: str, **counts: int) -> None:
        with self._lock:
            row = self._data.setdefault(operation, dict.fromkeys(USAGE_KEYS, 0))
            for key, n in counts.items():
                row[key] += int(n)

    def snapshot(self) -> Usage:
        with self._lock:
            return copy.deepcopy(self._data)

    def reset(self) -> None:
        with self._lock:
            self._data.clear()


class InvalidOutput(Exception):
    """A reply that is not JSON or does not match the schema (internal)."""


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_json_reply(text: str | None) -> Any:
    """Parse a JSON reply, tolerating code fences and text around one object."""
    if text is None or not text.strip():
        raise InvalidOutput("the reply was empty")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        return json.loads(body)
    except json.JSONDecodeError as first:
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(body[start : end + 1])
            except json.JSONDecodeError:
                pass
        raise InvalidOutput(f"the reply is not valid JSON ({first.msg} at position {first.pos})") from None


def validate_reply(prompt: Prompt[T], text: str | None, context: Mapping[str, Any] | None = None) -> T:
    """Parse ``text`` and validate it with ``prompt.schema``; raises :class:`InvalidOutput`."""
    data = parse_json_reply(text)
    try:
        return prompt.schema.model_validate(data, context=dict(context) if context is not None else None)
    except ValidationError as exc:
        raise InvalidOutput(summarize_validation_error(exc)) from None


def summarize_validation_error(exc: ValidationError, limit: int = 8) -> str:
    """``path: message`` for the first ``limit`` errors, on one line."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


def reask_messages(reply: str | None, error: str, schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """The two messages appended after an invalid reply."""
    return [
        {"role": "assistant", "content": (reply or "")[:4000]},
        {
            "role": "user",
            "content": (
                f"That reply was invalid: {error}\n"
                "Reply again with only one JSON object that matches this JSON Schema:\n"
                + json.dumps(schema, separators=(",", ":"))
            ),
        },
    ]


@dataclass
class Request:
    """One completion request handed to a client's transport."""

    operation: str
    messages: list[dict[str, str]]
    prompt: Prompt[Any] | None = None  # None for plain chat
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    """One raw completion as a client's transport returns it."""

    text: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class BaseLLM:
    """Shared logic: rendering, validation with bounded re-asks, usage, async wrappers.

    Subclasses implement :meth:`_send` (and may override :meth:`_asend`); both
    raise :class:`LLMError` for transport failures.
    """

    output_retries: int = 2

    def __init__(self, *, output_retries: int = 2) -> None:
        self.output_retries = output_retries
        self._meter = UsageMeter()

    # -- transport, to implement -------------------------------------------------
    def _send(self, request: Request) -> Reply:
        raise NotImplementedError

    async def _asend(self, request: Request) -> Reply:
        return await asyncio.to_thread(self._send, request)

    def describe(self) -> str:
        return type(self).__name__

    # -- public API -------------------------------------------------------------
    @property
    def usage(self) -> Usage:
        return self._meter.snapshot()

    def reset_usage(self) -> None:
        self._meter.reset()

    def complete_json(
        self,
        prompt: Prompt[T],
        variables: Mapping[str, Any],
        *,
        operation: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> T:
        """See :meth:`LLMClient.complete_json`; ``context`` reaches the schema's validators."""
        op = operation or prompt.name
        messages = prompt.render(variables)
        error = ""
        for attempt in range(self.output_retries + 1):
            if attempt:
                self._meter.add(op, retries=1)
            reply = self._checked_send(Request(op, messages, prompt, variables))
            try:
                return validate_reply(prompt, reply.text, context)
            except InvalidOutput as exc:
                error = str(exc)
                log.info("%s: invalid output from %s (attempt %d): %s", op, self.describe(), attempt + 1, error)
                messages = messages + reask_messages(reply.text, error, prompt.json_schema)
        raise self._give_up(op, prompt, error)

    async def acomplete_json(
        self,
        prompt: Prompt[T],
        variables: Mapping[str, Any],
        *,
        operation: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> T:
        """Async :meth:`complete_json`."""
        op = operation or prompt.name
        messages = prompt.render(variables)
        error = ""
        for attempt in range(self.output_retries + 1):
            if attempt:
                self._meter.add(op, retries=1)
            reply = await self._checked_asend(Request(op, messages, prompt, variables))
            try:
                return validate_reply(prompt, reply.text, context)
            except InvalidOutput as exc:
                error = str(exc)
                messages = messages + reask_messages(reply.text, error, prompt.json_schema)
        raise self._give_up(op, prompt, error)

    def chat(self, messages: Sequence[ChatMessage], *, operation: str = "chat") -> str:
        """Plain completion; returns the text ('' when the model sent none)."""
        return self._checked_send(Request(operation, [dict(m) for m in messages])).text or ""

    async def achat(self, messages: Sequence[ChatMessage], *, operation: str = "chat") -> str:
        """Async :meth:`chat`."""
        return (await self._checked_asend(Request(operation, [dict(m) for m in messages]))).text or ""

    # -- helpers ----------------------------------------------------------------
    def _checked_send(self, request: Request) -> Reply:
        try:
            reply = self._send(request)
        except LLMError:
            self._meter.add(request.operation, failures=1)
            raise
        self._meter.add(
            request.operation, calls=1, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens
        )
        return reply

    async def _checked_asend(self, request: Request) -> Reply:
        try:
            reply = await self._asend(request)
        except LLMError:
            self._meter.add(request.operation, failures=1)
            raise
        self._meter.add(
            request.operation, calls=1, prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens
        )
        return reply

    def _give_up(self, op: str, prompt: Prompt[Any], error: str) -> LLMError:
        self._meter.add(op, failures=1)
        attempts = self.output_retries + 1
        return LLMError(
            f"{op}: {self.describe()} gave no valid {prompt.id} output in {attempts} attempt(s); last error: {error}"
        )
