"""Admission control: a write-time gate that decides what is stored.

Off by default (everything is admitted). Each refusal is recorded in the audit log as
``REFUSE`` with its reason, so nothing is dropped silently.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ConfigDict, Field

from remem.llm.prompts import Prompt, StrictModel, render_messages
from remem.models import AuditEntry, MemoryRecord, utcnow
from remem.models.records import CheckedModel
from remem.store import Query, Store
from remem.store.text import content_words, normalized

log = logging.getLogger("remem")


class AdmissionPolicy(CheckedModel):
    """What a memory needs to be stored. ``None``/False leaves a rule off.

    - ``min_chars`` / ``min_content_words``: refuse fragments ("ok", "haha").
    - ``refuse_duplicates``: refuse a memory whose normalised text an active memory of the
      same user, agent and kind already holds (or an earlier message of the same batch).
    - ``min_importance``: refuse memories less important than this (the message's
      ``metadata["importance"]``, else the LLM's estimate when ``ask_llm``, else 0.5).
    - ``ask_llm``: with an LLM configured, let it judge whether the message is worth
      remembering long-term.
    """

    model_config = ConfigDict(extra="forbid")

    min_chars: int = Field(0, ge=0)
    min_content_words: int = Field(0, ge=0)
    refuse_duplicates: bool = False
    min_importance: float | None = Field(None, ge=0, le=1)
    ask_llm: bool = False


class AdmissionVerdict(StrictModel):
    """Output of :data:`JUDGE_ADMISSION`."""

    remember: bool
    importance: float = Field(ge=0, le=1)
    reason: str = Field(description="A few words.")


JUDGE_ADMISSION: Prompt[AdmissionVerdict] = Prompt(
    name="judge_admission",
    version=1,
    schema=AdmissionVerdict,
    description="One message -> whether it is worth long-term memory, and how important.",
    system=(
        "You decide what an assistant's long-term memory keeps about its user. Keep facts, preferences, "
        "plans, events, relationships and anything the user may ask about later; drop greetings, filler "
        "and acknowledgements. Rate importance from 0 (trivial) to 1 (vital). "
        "Reply with a single JSON object and nothing else."
    ),
    user="Message:\n{messages}\n\nJudge it as JSON.",
)


def _importance(record: MemoryRecord) -> float | None:
    value = record.metadata.get("importance")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class Gate:
    """Applies an :class:`AdmissionPolicy` to records about to be written."""

    def __init__(self, policy: AdmissionPolicy, store: Store, llm: Any = None) -> None:
        self.policy = policy
        self.store = store
        self.llm = llm if policy.ask_llm else None

    def admit(self, records: list[MemoryRecord]) -> tuple[list[MemoryRecord], list[tuple[MemoryRecord, str]]]:
        """(records to store, [(refused record, reason)]); refusals are audited."""
        admitted: list[MemoryRecord] = []
        refused: list[tuple[MemoryRecord, str]] = []
        seen: set[tuple[Any, ...]] = set()
        for rec in records:
            reason = self._reason(rec, seen)
            if reason is None:
                admitted.append(rec)
            else:
                refused.append((rec, reason))
        if refused:
            self.store.record_audit([
                AuditEntry(at=utcnow(), op="REFUSE", memory_id=rec.id, user_id=rec.user_id,
                           detail={"reason": reason, "content": rec.content})
                for rec, reason in refused
            ])
            log.info("admission refused %d of %d memories", len(refused), len(records))
        return admitted, refused

    def _reason(self, rec: MemoryRecord, seen: set[tuple[Any, ...]]) -> str | None:
        p = self.policy
        if len(rec.content.strip()) < p.min_chars:
            return f"shorter than {p.min_chars} characters"
        if content_words(rec.content) < p.min_content_words:
            return f"fewer than {p.min_content_words} content words"
        if p.refuse_duplicates:
            key = (rec.user_id, rec.agent_id, rec.kind, normalized(rec.content))
            if key in seen or self._stored(rec):
                return "duplicate of a stored memory"
            seen.add(key)
        importance = _importance(rec)
        if self.llm is not None:
            verdict = self.llm.complete_json(JUDGE_ADMISSION, {"messages": render_messages([rec])})
            if not verdict.remember:
                return f"the LLM judged it not worth remembering: {verdict.reason}"
            importance = verdict.importance if importance is None else importance
            rec.importance = importance
        if p.min_importance is not None and (importance if importance is not None else 0.5) < p.min_importance:
            return f"importance below {p.min_importance}"
        return None

    def _stored(self, rec: MemoryRecord) -> bool:
        """Whether an active memory of the same scope and kind holds the same normalised text."""
        q = Query(user_id=rec.user_id, agent_id=rec.agent_id, kinds=[rec.kind])
        target = normalized(rec.content)
        ids = [i for i, _ in self.store.text_search(rec.content, q, 20)]
        return any(normalized(r.content) == target for r in self.store.get_many(ids))
