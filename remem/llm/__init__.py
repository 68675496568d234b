"""LLM access for remem: one OpenAI-compatible client, versioned prompts, a scripted fake.

Typical use on the write path::

    from remem.llm import EXTRACT_FACTS, llm_from_env, render_messages

    llm = llm_from_env()                       # None when REMEM_LLM_* is unset
    out = llm.complete_json(
        EXTRACT_FACTS,
        {"context": render_messages(earlier), "messages": render_messages(new)},
        context={"message_ids": [m.id for m in new]},   # rejects invented ids
    )
    for fact in out.facts: ...
"""

from remem.llm.base import USAGE_KEYS, BaseLLM, LLMClient, Usage, parse_json_reply, validate_reply
from remem.llm.client import OpenAILLM, llm_from_env
from remem.llm.config import LLMConfig
from remem.llm.prompts import (
    ANSWER,
    ENRICH,
    EXTRACT_FACTS,
    JUDGE,
    PROMPTS,
    RESOLVE,
    SUMMARIZE_SESSION,
    UPDATE_PROFILE,
    Answer,
    Enrichment,
    ExtractedFact,
    ExtractedFacts,
    Judgement,
    NeighbourUpdate,
    ProfileUpdate,
    Prompt,
    Resolution,
    SessionSummary,
    render_memories,
    render_messages,
)
from remem.llm.scripted import ScriptedCall, ScriptedLLM, ScriptExhaustedError

__all__ = [
    "ANSWER",
    "ENRICH",
    "EXTRACT_FACTS",
    "JUDGE",
    "PROMPTS",
    "RESOLVE",
    "SUMMARIZE_SESSION",
    "UPDATE_PROFILE",
    "USAGE_KEYS",
    "Answer",
    "BaseLLM",
    "Enrichment",
    "ExtractedFact",
    "ExtractedFacts",
    "Judgement",
    "LLMClient",
    "LLMConfig",
    "NeighbourUpdate",
    "OpenAILLM",
    "ProfileUpdate",
    "Prompt",
    "Resolution",
    "ScriptExhaustedError",
    "ScriptedCall",
    "ScriptedLLM",
    "SessionSummary",
    "Usage",
    "llm_from_env",
    "parse_json_reply",
    "render_memories",
    "render_messages",
    "validate_reply",
]
