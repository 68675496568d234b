"""Every prompt remem sends to an LLM, versioned, each with its pydantic output schema.

A :class:`Prompt` is rendered with ``str.format`` placeholders (templates contain no
other braces) into a system + user message pair.  Output schemas are small and
compatible with strict structured output: every field is required, optional
values are nullable, no extra keys.  Validators may consult a pydantic
validation *context* (passed through ``complete_json(..., context=...)``) to
reject ids the model invented; the client then re-asks with the error.

Bump ``version`` whenever a prompt's wording or schema changes, so evaluation
results and caches can tell prompt generations apart.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from remem.errors import InvalidInputError
from remem.llm.schema import strict_json_schema

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, eq=False)
class Prompt(Generic[T]):
    """A named, versioned prompt: system text, user template and output schema."""

    name: str
    version: int
    system: str
    user: str
    schema: type[T]
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", self.name):
            raise ValueError(f"prompt name {self.name!r} must match [a-zA-Z0-9_-]{{1,64}}")

    @property
    def id(self) -> str:
        """``name@version``, e.g. ``extract_facts@1``."""
        return f"{self.name}@{self.version}"

    @cached_property
    def variables(self) -> frozenset[str]:
        """Placeholder names used by the system and user templates."""
        names: set[str] = set()
        for template in (self.system, self.user):
            names.update(f for _, f, _, _ in string.Formatter().parse(template) if f)
        return frozenset(names)

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """The strict-mode JSON Schema of :attr:`schema`."""
        return strict_json_schema(self.schema)

    def render(self, variables: Mapping[str, Any]) -> list[dict[str, str]]:
        """Fill the templates; raises :class:`InvalidInputError` on missing variables."""
        missing = sorted(self.variables - set(variables))
        if missing:
            raise InvalidInputError(f"prompt {self.id} needs variables: {', '.join(missing)}")
        values = {k: _as_text(v) for k, v in variables.items()}
        return [
            {"role": "system", "content": self.system.format_map(values)},
            {"role": "user", "content": self.user.format_map(values)},
        ]


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- rendering helpers


def _get(item: Any, *names: str) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
        if value not in (None, ""):
            return value
    return None


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M (%A)")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d (%A)")
    return str(value) if value else "unknown time"


def render_messages(messages: Iterable[Any]) -> str:
    """One line per message: ``[id] 2023-05-08 13:56 (Monday) | speaker: text``.

    Accepts mappings or objects (e.g. :class:`remem.models.Message`) with
    ``id``, ``name``/``speaker``/``role``, ``content``/``text`` and ``timestamp``.
    Messages without an id are numbered ``m1``, ``m2``...
    """
    lines = []
    for i, msg in enumerate(messages, 1):
        ident = _get(msg, "id") or f"m{i}"
        who = _get(msg, "name", "speaker", "role") or "user"
        text = _get(msg, "content", "text") or ""
        lines.append(f"[{ident}] {_when(_get(msg, 'timestamp', 'time'))} | {who}: {text}")
    return "\n".join(lines) if lines else "(none)"


def render_memories(memories: Iterable[Any], *, ids: Iterable[str] | None = None) -> str:
    """One line per memory: ``[id] content (event: 2023-05-07)``.

    ``ids`` overrides the ids shown (e.g. short numbers ``1``, ``2``... that the
    caller maps back), which LLMs copy more reliably than long uuids.
    """
    shown = list(ids) if ids is not None else None
    lines = []
    for i, mem in enumerate(memories):
        ident = shown[i] if shown is not None else (_get(mem, "id") or str(i + 1))
        text = _get(mem, "content", "text") or ""
        when = _get(mem, "event_time", "valid_from", "timestamp")
        suffix = f" (event: {_when(when)})" if when else ""
        lines.append(f"[{ident}] {text}{suffix}")
    return "\n".join(lines) if lines else "(none)"


# --------------------------------------------------------------------------- schemas


class StrictModel(BaseModel):
    """Base for output schemas: closed objects."""

    model_config = ConfigDict(extra="forbid")


def _allowed(info: ValidationInfo, key: str) -> set[str] | None:
    ctx = info.context if isinstance(info.context, Mapping) else None
    if ctx is None or ctx.get(key) is None:
        return None
    return {str(x) for x in ctx[key]}


def _check_ids(ids: list[str], info: ValidationInfo, key: str) -> list[str]:
    allowed = _allowed(info, key)
    if allowed is not None:
        unknown = [i for i in ids if i not in allowed]
        if unknown:
            raise ValueError(f"unknown id(s) {unknown}; use only ids from the list: {sorted(allowed)}")
    return ids


_ISO_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _iso_date(value: str | None) -> str | None:
    """Accept ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO datetime; '' means null."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _ISO_DATE.fullmatch(text):
        parts = [int(p) for p in text.split("-")]
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
        return text
    try:
        return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not an absolute ISO date (YYYY-MM-DD, YYYY-MM or YYYY)") from None


def _clean_list(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v and v.lower() not in {x.lower() for x in out}:
            out.append(v)
    return out


MemoryKindName = Literal["semantic", "procedural", "profile"]


class ExtractedFact(StrictModel):
    """One self-contained fact pulled out of a conversation."""

    content: str = Field(description="Self-contained statement naming the person; dates made absolute.")
    kind: MemoryKindName = Field(
        description="semantic: fact/event/preference; procedural: how-to or strategy; profile: stable trait."
    )
    event_time: str | None = Field(description="ISO date (YYYY-MM-DD, or YYYY-MM / YYYY) the fact refers to, or null.")
    importance: float = Field(ge=0.0, le=1.0, description="0 = trivia, 1 = essential to remember.")
    source_ids: list[str] = Field(description="Ids of the messages the fact comes from.")
    keywords: list[str] = Field(description="2-6 salient words.")
    tags: list[str] = Field(description="1-3 broad categories, e.g. family, work, health, hobby.")

    @field_validator("content")
    @classmethod
    def _content(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("content is empty")
        return v.strip()

    @field_validator("event_time")
    @classmethod
    def _event_time(cls, v: str | None) -> str | None:
        return _iso_date(v)

    @field_validator("source_ids")
    @classmethod
    def _sources(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return _check_ids(_clean_list(v), info, "message_ids")

    @field_validator("keywords", "tags")
    @classmethod
    def _lists(cls, v: list[str]) -> list[str]:
        return _clean_list(v)


class ExtractedFacts(StrictModel):
    """Output of :data:`EXTRACT_FACTS`; an empty list when nothing is worth keeping."""

    facts: list[ExtractedFact]


ResolveAction = Literal["ADD", "UPDATE", "INVALIDATE", "NOOP"]


class Resolution(StrictModel):
    """Output of :data:`RESOLVE`: what to do with one new fact."""

    action: ResolveAction
    target_ids: list[str] = Field(description="Ids of existing facts acted on; empty for ADD.")
    content: str | None = Field(description="For UPDATE: the merged fact; otherwise null.")
    reason: str = Field(description="One short sentence.")

    @field_validator("target_ids")
    @classmethod
    def _targets(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return _check_ids(_clean_list(v), info, "memory_ids")

    @model_validator(mode="after")
    def _consistent(self) -> Resolution:
        n = len(self.target_ids)
        if self.action == "ADD" and n:
            raise ValueError("ADD takes no target_ids")
        if self.action in ("UPDATE", "NOOP") and n != 1:
            raise ValueError(f"{self.action} needs exactly one target id")
        if self.action == "INVALIDATE" and not n:
            raise ValueError("INVALIDATE needs at least one target id")
        if self.action == "UPDATE" and not (self.content or "").strip():
            raise ValueError("UPDATE needs the merged content")
        if self.action != "UPDATE":
            self.content = None
        return self


class NeighbourUpdate(StrictModel):
    """A refreshed context/tags for one existing linked memory."""

    id: str
    context: str | None = Field(description="New one-line context, or null to keep.")
    tags: list[str] | None = Field(description="New tags, or null to keep.")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str, info: ValidationInfo) -> str:
        return _check_ids([v.strip()], info, "memory_ids")[0]


class Enrichment(StrictModel):
    """Output of :data:`ENRICH` (A-MEM note construction and memory evolution)."""

    keywords: list[str]
    tags: list[str]
    context: str = Field(description="One line: what the memory is about and why it matters.")
    neighbours: list[NeighbourUpdate] = Field(description="Only neighbours whose context or tags should change.")

    @field_validator("keywords", "tags")
    @classmethod
    def _lists(cls, v: list[str]) -> list[str]:
        return _clean_list(v)


class SessionSummary(StrictModel):
    """Output of :data:`SUMMARIZE_SESSION`."""

    summary: str
    keywords: list[str]


class ProfileUpdate(StrictModel):
    """Output of :data:`UPDATE_PROFILE`."""

    profile: str = Field(description="The whole updated profile, short lines 'Topic: detail'.")
    changed: bool


class Answer(StrictModel):
    """Output of :data:`ANSWER`."""

    reasoning: str = Field(description="At most two sentences: which memories, which dates.")
    answer: str = Field(description="The short answer.")


class Judgement(StrictModel):
    """Output of :data:`JUDGE`."""

    reasoning: str = Field(description="One sentence.")
    label: Literal["CORRECT", "WRONG"]


# --------------------------------------------------------------------------- prompts

_JSON_ONLY = "Reply with a single JSON object and nothing else."

EXTRACT_FACTS: Prompt[ExtractedFacts] = Prompt(
    name="extract_facts",
    version=1,
    schema=ExtractedFacts,
    description="New messages (+ context) -> self-contained facts with absolute dates.",
    system=(
        "You extract long-term memories from a conversation. From the NEW messages only, list the facts, "
        "preferences, plans, events, relationships and lessons about the people in the conversation that "
        "would be useful to remember weeks later.\n"
        "Rules:\n"
        "- Each fact is one self-contained sentence: name the person (the speaker's name, or 'The user'), "
        "never 'I', 'he', 'she' or 'they' without a name.\n"
        "- Resolve relative times against the timestamp of the message that mentions them and write absolute "
        "dates in the content: 'yesterday' said on 2023-05-08 becomes 'on 2023-05-07'; 'last year' said in "
        "2023 becomes 'in 2022'; 'next month' said in May 2023 becomes 'in June 2023'.\n"
        "- event_time is the ISO date the fact happened or will happen (YYYY-MM-DD; YYYY-MM or YYYY when "
        "only that is known); null for timeless facts.\n"
        "- kind: 'semantic' for facts, events and preferences; 'procedural' for how-to knowledge or a strategy "
        "that worked or failed; 'profile' for stable traits (name, job, family, where they live, values).\n"
        "- importance from 0 to 1: 0.2 small talk, 0.5 ordinary detail, 0.9 health, family, major life events.\n"
        "- source_ids: the ids in brackets of the NEW messages the fact comes from.\n"
        "- Skip greetings, filler, questions without an answer and the assistant's generic advice. "
        "Do not repeat facts that only appear in the context. Return an empty list when nothing is worth keeping.\n"
        + _JSON_ONLY
    ),
    user=(
        "Earlier messages (context only, do not extract from these):\n{context}\n\n"
        "NEW messages:\n{messages}\n\n"
        "Extract the facts as JSON."
    ),
)

RESOLVE: Prompt[Resolution] = Prompt(
    name="resolve",
    version=1,
    schema=Resolution,
    description="New fact vs similar stored facts -> ADD / UPDATE / INVALIDATE / NOOP.",
    system=(
        "You maintain a memory of facts about people. Compare one NEW fact with the EXISTING facts that are "
        "most similar to it and choose one action:\n"
        "- ADD: the new fact is new information. target_ids empty.\n"
        "- UPDATE: the new fact refines or adds detail to exactly one existing fact about the same thing "
        "(e.g. 'likes pizza' + 'likes pepperoni pizza'). target_ids = [that id]; content = one merged sentence "
        "keeping every detail and date from both.\n"
        "- INVALIDATE: the new fact contradicts or supersedes existing facts that are no longer true "
        "(e.g. moved to another city, changed job, broke up). target_ids = the ids that stop being true; "
        "the new fact will be stored as well.\n"
        "- NOOP: the new fact says nothing that one existing fact does not already say. target_ids = [that id].\n"
        "Facts about different events on different dates are not contradictions: ADD them. "
        "Use only ids shown in brackets. content is null unless the action is UPDATE. "
        "reason: one short sentence.\n" + _JSON_ONLY
    ),
    user="NEW fact:\n{fact}\n\nEXISTING facts:\n{existing}\n\nChoose the action as JSON.",
)

ENRICH: Prompt[Enrichment] = Prompt(
    name="enrich",
    version=1,
    schema=Enrichment,
    description="A-MEM note: keywords, tags, context; optional evolution of linked neighbours.",
    system=(
        "You organise a memory store like a Zettelkasten. For the NEW memory give: keywords (2-6 salient "
        "words, most important first), tags (1-3 broad categories such as family, work, health, travel, "
        "hobby, food, plans) and context (one line: what it is about and why it matters).\n"
        "You also see related memories already stored. If the new memory changes how one of them should be "
        "understood, give that neighbour a new one-line context and/or new tags; leave the others out. "
        "Use only ids shown in brackets; neighbours is usually empty.\n" + _JSON_ONLY
    ),
    user="NEW memory:\n{memory}\n\nRelated memories:\n{neighbours}\n\nAnswer as JSON.",
)

SUMMARIZE_SESSION: Prompt[SessionSummary] = Prompt(
    name="summarize_session",
    version=1,
    schema=SessionSummary,
    description="One conversation session -> dated summary + keywords.",
    system=(
        "Summarise a conversation session for long-term memory in at most 6 sentences. Name the people, "
        "keep concrete details (names, places, numbers) and write every date as an absolute date, "
        "resolved against the message timestamps. Give 3-8 keywords.\n" + _JSON_ONLY
    ),
    user="Session messages:\n{messages}\n\nSummarise as JSON.",
)

UPDATE_PROFILE: Prompt[ProfileUpdate] = Prompt(
    name="update_profile",
    version=1,
    schema=ProfileUpdate,
    description="Old profile + new facts -> updated profile (incremental).",
    system=(
        "You keep a short profile of a person: stable traits, preferences, relationships, work, places, "
        "goals and important dated events, as lines 'Topic: detail'. Merge the NEW facts into the OLD "
        "profile: add what is new, replace what changed (newer facts win), keep the rest unchanged, drop "
        "trivia. Return the whole updated profile (at most 40 lines) and changed=false if nothing changed.\n"
        + _JSON_ONLY
    ),
    user="Person: {subject}\n\nOLD profile:\n{profile}\n\nNEW facts:\n{facts}\n\nReturn the updated profile as JSON.",
)

ANSWER: Prompt[Answer] = Prompt(
    name="answer",
    version=1,
    schema=Answer,
    description="Question + retrieved memories -> short answer (eval harness).",
    system=(
        "You answer questions about people from their memories. Use only the memories given; when they "
        "contain conflicting information prefer the most recent one. For questions about time, work from "
        "the dates on the memories and answer with an absolute date, month or year (never 'yesterday' or "
        "'last week'). If the memories do not contain the answer, say you do not know. "
        "Keep the answer short: a few words or one sentence.\n" + _JSON_ONLY
    ),
    user="Memories:\n{memories}\n\nQuestion (asked on {question_time}): {question}\n\nAnswer as JSON.",
)

JUDGE: Prompt[Judgement] = Prompt(
    name="judge",
    version=1,
    schema=Judgement,
    description="LLM judge following the Mem0/LoCoMo accuracy criteria.",
    system=(
        "Your task is to label an answer to a question as CORRECT or WRONG. You get (1) a question, asked "
        "about what one person should know about another from their earlier conversations, (2) a gold "
        "(ground truth) answer, usually short, and (3) a generated answer to grade.\n"
        "Be generous: the generated answer may be much longer, but as long as it touches on the same topic "
        "as the gold answer, it is CORRECT. For time questions the gold answer is a specific date, month or "
        "year; the generated answer may be longer or use another format ('May 7th' vs '7 May' vs "
        "'2023-05-07'); as long as it refers to the same date or time period it is CORRECT. It is WRONG if "
        "it gives a different answer, misses the point of the gold answer, or says it does not know.\n"
        "First give a one-sentence reasoning, then the label CORRECT or WRONG.\n" + _JSON_ONLY
    ),
    user="Question: {question}\nGold answer: {gold}\nGenerated answer: {answer}\n\nLabel it as JSON.",
)

PROMPTS: dict[str, Prompt[Any]] = {
    p.name: p for p in (EXTRACT_FACTS, RESOLVE, ENRICH, SUMMARIZE_SESSION, UPDATE_PROFILE, ANSWER, JUDGE)
}
"""Every prompt by name."""
