"""LLM connection settings, from code or from ``REMEM_LLM_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from remem.errors import InvalidInputError

StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]

# env var -> LLMConfig field (besides the three core ones)
_OPTIONAL_ENV = {
    "REMEM_LLM_TIMEOUT_S": "timeout_s",
    "REMEM_LLM_MAX_RETRIES": "max_retries",
    "REMEM_LLM_OUTPUT_RETRIES": "output_retries",
    "REMEM_LLM_MAX_CONCURRENCY": "max_concurrency",
    "REMEM_LLM_TEMPERATURE": "temperature",
    "REMEM_LLM_MAX_TOKENS": "max_tokens",
    "REMEM_LLM_STRUCTURED_OUTPUT": "structured_output",
}


class LLMConfig(BaseModel):
    """Where and how to reach an OpenAI-compatible chat endpoint.

    ``max_retries`` is the SDK's transport retries (connection errors, 408/429/5xx,
    with backoff); ``output_retries`` is how many times an invalid structured reply
    is re-asked with the validation error.  ``structured_output`` picks how the
    schema is sent: ``json_schema`` (OpenAI strict mode, vLLM, Ollama, LM Studio,
    llama.cpp's llama-server), ``json_object`` (``{"type": "json_object", "schema":
    ...}``, llama-cpp-python's server), ``prompt`` (schema in the system message
    only) or ``auto`` (``json_schema``, falling back to ``json_object`` once if the
    server rejects it with 400/422).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    output_retries: int = Field(default=2, ge=0, le=10)
    max_concurrency: int = Field(default=4, ge=1)
    queue_timeout_s: float = Field(default=600.0, gt=0)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    structured_output: StructuredOutput = "auto"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMConfig | None:
        """Read ``REMEM_LLM_BASE_URL``, ``REMEM_LLM_MODEL``, ``REMEM_LLM_API_KEY`` (and
        optional ``REMEM_LLM_TIMEOUT_S``, ``_MAX_RETRIES``, ``_OUTPUT_RETRIES``,
        ``_MAX_CONCURRENCY``, ``_TEMPERATURE``, ``_MAX_TOKENS``, ``_STRUCTURED_OUTPUT``).

        Returns None when neither base URL nor model is set; raises
        :class:`InvalidInputError` when only one is, or a value is malformed.
        """
        env = os.environ if environ is None else environ
        base_url = env.get("REMEM_LLM_BASE_URL", "").strip()
        model = env.get("REMEM_LLM_MODEL", "").strip()
        if not base_url and not model:
            return None
        if not base_url or not model:
            missing = "REMEM_LLM_BASE_URL" if not base_url else "REMEM_LLM_MODEL"
            raise InvalidInputError(
                f"{missing} is not set; set both REMEM_LLM_BASE_URL (e.g. https://api.openai.com/v1 or "
                "http://127.0.0.1:8080/v1) and REMEM_LLM_MODEL, or neither"
            )
        values: dict[str, Any] = {"base_url": base_url, "model": model}
        api_key = env.get("REMEM_LLM_API_KEY", "").strip()
        if api_key:
            values["api_key"] = api_key
        for var, name in _OPTIONAL_ENV.items():
            raw = env.get(var, "").strip()
            if raw:
                values[name] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            raise InvalidInputError(f"invalid REMEM_LLM_* setting: {problems}") from None

    def describe(self) -> str:
        """``model @ base_url`` for messages (never the key)."""
        return f"{self.model} @ {self.base_url}"
