"""Mem0 configuration dicts mapped onto remem: where it stores, and which LLM it uses.
What Mem0 configures that remem does without (its embedder, history DB, reranker, graph
store, custom prompts) is accepted and ignored; anything else unknown is refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from remem.errors import InvalidInputError

IGNORED_CONFIG = {
    "embedder", "history_db_path", "reranker", "graph_store", "version", "custom_instructions",
    "custom_prompt", "custom_fact_extraction_prompt", "custom_update_memory_prompt", "enable_graph",
}  # fmt: skip
LLM_BASE_URLS = {  # provider -> (config key of its base URL, environment variable, default)
    "openai": ("openai_base_url", "OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "ollama": ("ollama_base_url", "OLLAMA_BASE_URL", "http://localhost:11434"),
    "lmstudio": ("lmstudio_base_url", "LMSTUDIO_BASE_URL", "http://localhost:1234/v1"),
    "vllm": ("vllm_base_url", "VLLM_BASE_URL", "http://localhost:8000/v1"),
}
SQLITE_SUFFIXES = {".db", ".sqlite", ".sqlite3"}


def from_config_options(config: Any) -> dict[str, Any]:
    """Mem0 config dict -> keyword arguments of :class:`Memory`."""
    if not isinstance(config, dict):
        raise InvalidInputError(f"a Mem0 config must be a dict, got {type(config).__name__}")
    unknown = set(config) - IGNORED_CONFIG - {"vector_store", "llm"}
    if unknown:
        raise InvalidInputError(f"unknown Mem0 config key(s) {sorted(unknown)}")
    options: dict[str, Any] = {}
    if config.get("vector_store") is not None:
        options.update(_vector_store(config["vector_store"]))
    if config.get("llm") is not None:
        options["llm"] = _llm(config["llm"])
    return options


def _section(value: Any, name: str) -> tuple[str | None, dict[str, Any]]:
    if not isinstance(value, dict):
        raise InvalidInputError(f"config {name!r} must be a dict with 'provider' and 'config'")
    provider = value.get("provider")
    settings = value.get("config") or {}
    if provider is not None and not isinstance(provider, str):
        raise InvalidInputError(f"config {name}.provider must be a string")
    if not isinstance(settings, dict):
        raise InvalidInputError(f"config {name}.config must be a dict")
    return provider, settings


def _vector_store(value: Any) -> dict[str, Any]:
    """Where remem stores: an SQLite file or a PostgreSQL URL; ``collection_name`` -> tenant."""
    provider, cfg = _section(value, "vector_store")
    out: dict[str, Any] = {}
    url = cfg.get("connection_string") or cfg.get("url")
    if isinstance(url, str) and url.startswith(("postgresql://", "postgres://")):
        out["url"] = "postgresql://" + url.split("://", 1)[1]
    elif provider == "pgvector" and cfg.get("dbname"):
        auth = quote(str(cfg.get("user") or "postgres"), safe="")
        if cfg.get("password"):
            auth += ":" + quote(str(cfg["password"]), safe="")
        out["url"] = f"postgresql://{auth}@{cfg.get('host') or 'localhost'}:{cfg.get('port') or 5432}/{cfg['dbname']}"
    elif cfg.get("db_path") or cfg.get("path"):
        location = Path(str(cfg.get("db_path") or cfg.get("path"))).expanduser()
        if location.suffix.lower() not in SQLITE_SUFFIXES:  # a directory, as Qdrant's and Chroma's paths are
            location.mkdir(parents=True, exist_ok=True)
            location = location / "remem.db"
        out["path"] = location
    elif provider == "pgvector":
        raise InvalidInputError("vector_store pgvector needs config.connection_string or config.dbname")
    collection = cfg.get("collection_name")
    if collection is not None:
        if not isinstance(collection, str) or not collection.strip():
            raise InvalidInputError("vector_store.config.collection_name must be a non-empty string")
        out["tenant"] = collection
    return out


def _llm(value: Any) -> Any:
    """An OpenAI-compatible remem LLM client from Mem0's ``llm`` section."""
    provider, cfg = _section(value, "llm")
    provider = provider or "openai"
    if provider not in LLM_BASE_URLS:
        raise InvalidInputError(
            f"llm provider {provider!r} is not supported by remem's Mem0 facade; use one of "
            f"{sorted(LLM_BASE_URLS)} (any OpenAI-compatible server), or pass llm= a remem LLM client"
        )
    key, env, default = LLM_BASE_URLS[provider]
    base_url = str(cfg.get(key) or cfg.get("base_url") or os.environ.get(env) or default).rstrip("/")
    if provider == "ollama" and not base_url.endswith("/v1"):
        base_url += "/v1"
    if not cfg.get("model"):
        raise InvalidInputError("llm.config.model is required")
    values: dict[str, Any] = {"base_url": base_url, "model": cfg["model"]}
    api_key = cfg.get("api_key") or (os.environ.get("OPENAI_API_KEY") if provider == "openai" else None)
    if api_key:
        values["api_key"] = api_key
    for name in ("temperature", "max_tokens"):
        if cfg.get(name) is not None:
            values[name] = cfg[name]
    from remem.llm import LLMConfig, OpenAILLM

    try:
        config = LLMConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"invalid llm config: {problems}") from None
    return OpenAILLM(config)
