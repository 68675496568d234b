"""``OpenAILLM``: the one client for OpenAI-compatible chat endpoints, on the official SDK."""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import Mapping
from typing import Any

try:
    import openai
except ImportError:  # the optional "llm" extra is not installed; ScriptedLLM and prompts still work
    openai = None  # type: ignore[assignment]

from remem.errors import LLMError, LLMNotConfiguredError
from remem.llm.base import BaseLLM, Reply, Request, log
from remem.llm.config import LLMConfig
from remem.llm.prompts import Prompt

_NO_KEY = "not-needed"  # local servers ignore the key; the SDK insists on one


class OpenAILLM(BaseLLM):
    """Structured output via JSON Schema, validated with pydantic, with bounded re-asks.

    Works with OpenAI, Azure OpenAI (v1 endpoint ``https://NAME.openai.azure.com/openai/v1``),
    vLLM, Ollama, llama.cpp, LM Studio.  Each request is bounded by ``timeout_s``
    (times ``max_retries + 1`` SDK attempts); at most ``max_concurrency`` requests run
    at once across threads.  Every failure surfaces as :class:`LLMError`.
    """

    def __init__(self, config: LLMConfig | None = None, *, client: openai.OpenAI | None = None, **overrides: Any):
        """``config`` defaults to :meth:`LLMConfig.from_env`; keyword ``overrides`` replace
        fields (``OpenAILLM(base_url=..., model=...)`` works without a config).
        ``client`` injects a pre-built SDK client (e.g. ``openai.AzureOpenAI``)."""
        if openai is None:
            raise LLMError("OpenAILLM needs the openai package: pip install 'remem[llm]' (or 'openai>=1.40')")
        if config is None and {"base_url", "model"} <= overrides.keys():
            config = LLMConfig(**overrides)
        elif config is None:
            config = LLMConfig.from_env()
            if config is None:
                raise LLMNotConfiguredError("no LLM configured: set REMEM_LLM_BASE_URL and REMEM_LLM_MODEL")
            config = config.model_copy(update=overrides) if overrides else config
        elif overrides:
            config = LLMConfig.model_validate({**config.model_dump(), **overrides})
        super().__init__(output_retries=config.output_retries)
        self.config = config
        self._client = client or openai.OpenAI(**self._client_kwargs())
        self._slots = threading.BoundedSemaphore(config.max_concurrency)
        self._mode = "json_schema" if config.structured_output == "auto" else config.structured_output
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[openai.AsyncOpenAI, asyncio.Semaphore]]
        self._async = weakref.WeakKeyDictionary()

    def describe(self) -> str:
        return self.config.describe()

    @property
    def structured_mode(self) -> str:
        """How schemas are sent now (``auto`` resolves to json_schema or json_object)."""
        return self._mode

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # -- request building ----------------------------------------------------------
    def _client_kwargs(self) -> dict[str, Any]:
        cfg = self.config
        key = cfg.api_key.get_secret_value() if cfg.api_key else _NO_KEY
        return {"base_url": cfg.base_url, "api_key": key, "timeout": cfg.timeout_s, "max_retries": cfg.max_retries}

    def _request(self, messages: list[dict[str, str]], prompt: Prompt[Any] | None) -> dict[str, Any]:
        cfg = self.config
        kwargs: dict[str, Any] = {"model": cfg.model, "messages": messages, "temperature": cfg.temperature}
        if cfg.max_tokens is not None:
            kwargs["max_tokens"] = cfg.max_tokens
        if prompt is None:
            return kwargs
        schema = prompt.json_schema
        if self._mode == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": prompt.name, "schema": schema, "strict": True},
            }
        else:
            if self._mode == "json_object":
                kwargs["response_format"] = {"type": "json_object", "schema": schema}
            hint = "\n\nThe JSON object must match this JSON Schema:\n" + json.dumps(schema, separators=(",", ":"))
            kwargs["messages"] = [{**messages[0], "content": messages[0]["content"] + hint}, *messages[1:]]
        return kwargs

    def _fallback(self, exc: openai.APIStatusError, prompt: Prompt[Any] | None) -> bool:
        """In ``auto`` mode, switch to json_object once when json_schema is rejected."""
        if (
            prompt is not None
            and self.config.structured_output == "auto"
            and self._mode == "json_schema"
            and (exc.status_code in (400, 422) or "response_format" in str(exc.message))
        ):  # llama-cpp-python answers 500 to an unknown response_format type
            log.warning("%s rejected response_format json_schema (%s); using json_object", self.describe(), exc)
            self._mode = "json_object"
            return True
        return False

    def _error(self, exc: Exception, operation: str) -> LLMError:
        where = self.describe()
        if isinstance(exc, openai.APITimeoutError):
            tries = self.config.max_retries + 1
            return LLMError(f"{operation}: {where} timed out after {self.config.timeout_s:g}s ({tries} attempt(s))")
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"{operation}: cannot reach {where}: {exc.__cause__ or exc}")
        if isinstance(exc, openai.APIStatusError):
            return LLMError(f"{operation}: {where} answered HTTP {exc.status_code}: {_short(exc.message)}")
        return LLMError(f"{operation}: {where} failed: {type(exc).__name__}: {_short(str(exc))}")

    def _reply(self, response: Any, operation: str) -> Reply:
        choices = getattr(response, "choices", None)
        if not choices:
            raise LLMError(f"{operation}: {self.describe()} returned no choices")
        message = choices[0].message
        text = message.content
        if text is None and getattr(message, "refusal", None):
            text = f"(refused: {message.refusal})"
        usage = getattr(response, "usage", None)
        return Reply(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
        )

    # -- sync transport ---------------------------------------------------------
    def _send(self, request: Request) -> Reply:
        messages, prompt, operation = request.messages, request.prompt, request.operation
        if not self._slots.acquire(timeout=self.config.queue_timeout_s):
            raise LLMError(f"{operation}: no free LLM slot within {self.config.queue_timeout_s:g}s")
        try:
            for _ in range(2):  # a second pass only after an auto-mode fallback
                try:
                    response = self._client.chat.completions.create(**self._request(messages, prompt))
                except openai.APIStatusError as exc:
                    if self._fallback(exc, prompt):
                        continue
                    raise self._error(exc, operation) from exc
                except (openai.OpenAIError, ValueError) as exc:
                    raise self._error(exc, operation) from exc
                return self._reply(response, operation)
            raise AssertionError("unreachable")
        finally:
            self._slots.release()

    # -- async transport --------------------------------------------------------
    def _async_parts(self) -> tuple[openai.AsyncOpenAI, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        parts = self._async.get(loop)
        if parts is None:
            parts = (openai.AsyncOpenAI(**self._client_kwargs()), asyncio.Semaphore(self.config.max_concurrency))
            self._async[loop] = parts
        return parts

    async def _asend(self, request: Request) -> Reply:
        messages, prompt, operation = request.messages, request.prompt, request.operation
        client, slots = self._async_parts()
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.config.queue_timeout_s)
        except TimeoutError:
            raise LLMError(f"{operation}: no free LLM slot within {self.config.queue_timeout_s:g}s") from None
        try:
            for _ in range(2):
                try:
                    response = await client.chat.completions.create(**self._request(messages, prompt))
                except openai.APIStatusError as exc:
                    if self._fallback(exc, prompt):
                        continue
                    raise self._error(exc, operation) from exc
                except (openai.OpenAIError, ValueError) as exc:
                    raise self._error(exc, operation) from exc
                return self._reply(response, operation)
            raise AssertionError("unreachable")
        finally:
            slots.release()


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def llm_from_env(environ: Mapping[str, str] | None = None) -> OpenAILLM | None:
    """An :class:`OpenAILLM` from ``REMEM_LLM_*`` variables, or None when unset."""
    config = LLMConfig.from_env(environ)
    return OpenAILLM(config) if config is not None else None
