"""``Procedures``: learn from trajectories, close the feedback loop, retrieve strategies.

``Memory.learn`` / ``feedback`` / ``procedures`` delegate here. The layout of the records is in
:mod:`remem.procedural.records`; the LLM steps in :mod:`~remem.procedural.distil` and
:mod:`~remem.procedural.reconcile`; the counters in :mod:`~remem.procedural.evidence`.

The feedback loop: ``procedures(task, task_id=...)`` notes which memories it returned on the
task's record (a trajectory not learned yet: ``procedural="task"``); ``learn(..., task_id=...)``
or ``feedback(task_id, outcome)``, whichever comes first, counts the outcome once on each
strategy shown and marks the task ``counted``. The task record is written before the counters,
so a crash in between loses a count rather than doubling one.
"""

from __future__ import annotations

import reprlib
import threading
from collections.abc import Callable
from typing import Any

from remem.errors import InvalidInputError, LLMError, LLMNotConfiguredError, NotFoundError
from remem.models import Kind, MemoryRecord, Operation, utcnow
from remem.models.checks import check_id, check_json
from remem.models.procedural import FeedbackResult, LearnResult, ProcedureHit
from remem.procedural import inputs
from remem.procedural.distil import DISTIL_STRATEGIES, distil
from remem.procedural.evidence import reward
from remem.procedural.reconcile import reconcile
from remem.procedural.records import ACTOR, SCOPE_KEY, TASK, TRAJECTORY, TYPE_KEY, scope_key
from remem.procedural.retrieve import search
from remem.procedural.summary import key_lines, summarize
from remem.read import SearchConfig
from remem.read.context import how_to_section
from remem.store import Query
from remem.write.ingest import fingerprint
from remem.write.writer import Writer

RESERVED = frozenset({TYPE_KEY, SCOPE_KEY, "task", "task_id", "outcome", "feedback", "steps", "key_lines", "shown", "counted", "distilled", "strategies"})
MIN_RELEVANCE = 0.015
"""Relevance probability below which a strategy does not "apply" to a task (the "How to" section)."""


class Procedures:
    """Procedural memory over ``writer`` (its store and embedder); ``search_config`` and ``llm``
    are read through getters, so a Memory whose settings change is followed."""

    def __init__(self, writer: Writer, *, search_config: Callable[[], SearchConfig], llm: Callable[[], Any]) -> None:
        self.writer = writer
        self._config = search_config
        self._llm = llm
        self._lock = threading.RLock()  # counters are read-modify-write: one change at a time

    # -- learn -------------------------------------------------------------------------
    def learn(
        self,
        task: str,
        trajectory: list[Any],
        outcome: str,
        *,
        feedback: str | None = None,
        agent_id: str | None = None,
        user_id: str | None = None,
        task_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        infer: bool | None = None,
    ) -> LearnResult:
        """Store the trajectory with its outcome; close the task's feedback loop; with an LLM
        (``infer`` defaults to whether one is configured) distil and reconcile strategies.

        Raises :class:`InvalidInputError` (nothing stored) on bad input, and
        :class:`LLMError` when distillation fails (the trajectory is stored; retry ``learn``).
        """
        task = inputs.check_task(task)
        steps = inputs.check_steps(trajectory)
        outcome = inputs.check_outcome(outcome)
        feedback = inputs.check_feedback(feedback)
        _scope(agent_id, user_id)
        task_id = inputs.check_task_id(task_id)
        extra = _metadata(metadata)
        llm = self._llm_for(infer)
        with self._lock:
            existing = self._task(task_id, agent_id, user_id) if task_id else None
            record, rewarded = self._store(existing, task, steps, outcome, feedback, agent_id, user_id, task_id, extra)
        result = LearnResult(trajectory=record, rewarded=[r.id for r in rewarded], distilled=bool(record.metadata.get("distilled")))
        if llm is None or result.distilled:
            return result
        try:
            items = distil(llm, task, outcome, feedback, steps)
        except LLMError as exc:
            raise LLMError(f"strategy distillation failed (trajectory {record.id} is stored; retry learn to distil): {exc}") from exc
        polarity = "do" if outcome == "success" else "avoid"
        with self._lock:
            strategies, changes = reconcile(self.writer, llm, items, polarity, record)
            meta = {**record.metadata, "distilled": DISTIL_STRATEGIES.id, "strategies": list(dict.fromkeys(c.memory_id for c in changes))}
            record = self.writer.new_version(record, op=Operation.UPDATE, reason="strategies distilled", actor=ACTOR, metadata=meta)
        return LearnResult(trajectory=record, strategies=strategies, changes=changes, rewarded=result.rewarded, distilled=True)

    def _llm_for(self, infer: bool | None) -> Any:
        if infer is not None and not isinstance(infer, bool):
            raise InvalidInputError("infer must be True, False or None")
        llm = self._llm() if infer is not False else None
        if infer is True and llm is None:
            raise LLMNotConfiguredError("learn(infer=True) needs an LLM: pass Memory(llm=...) or set REMEM_LLM_BASE_URL and REMEM_LLM_MODEL")
        return llm

    def _store(
        self, existing: MemoryRecord | None, task: str, steps: list[dict[str, str | None]], outcome: str, feedback: str | None,
        agent_id: str | None, user_id: str | None, task_id: str | None, extra: dict[str, Any],
    ) -> tuple[MemoryRecord, list[MemoryRecord]]:
        """Write (or find) the trajectory record and close the loop; returns (record, strategies rewarded)."""
        counted = existing.metadata.get("counted") if existing else None
        if counted not in (None, outcome):
            raise InvalidInputError(f"task {task_id!r} was already closed as a {counted}; it cannot be learned as a {outcome}")
        if existing is not None and existing.metadata.get(TYPE_KEY) == TRAJECTORY:
            meta = existing.metadata
            if (meta.get("task"), meta.get("steps"), meta.get("outcome"), meta.get("feedback")) != (task, steps, outcome, feedback):
                raise InvalidInputError(f"task {task_id!r} was already learned with another trajectory; use a new task_id")
            return existing, []
        lines = key_lines(steps)
        meta = {
            **extra, TYPE_KEY: TRAJECTORY, SCOPE_KEY: scope_key(agent_id, user_id), "task": task, "task_id": task_id,
            "outcome": outcome, "feedback": feedback, "steps": steps, "key_lines": lines,
            "shown": list(existing.metadata.get("shown") or []) if existing else [], "counted": outcome,
        }
        content = summarize(task, outcome, lines, feedback)
        if existing is not None:  # the task was looked up with procedures(task_id=...): it is learned now
            record = self.writer.new_version(
                existing, op=Operation.UPDATE, reason=f"trajectory learned: {outcome}", actor=ACTOR, content=content, metadata=meta,
            )
            shown = meta["shown"] if counted is None else []
            return record, reward(self.writer, shown, outcome, task_id or "") if shown else []
        new = MemoryRecord(
            content=content, kind=Kind.EPISODIC, agent_id=agent_id, user_id=user_id, event_time=utcnow(), metadata=meta,
        )
        key = ("task_id", task_id) if task_id else ("trajectory", task, outcome, feedback, steps)
        record, _ = self.writer.insert_derived(
            new, fp=fingerprint("procedural", meta[SCOPE_KEY], *key), reason=f"trajectory learned: {outcome}", actor=ACTOR,
        )
        return record, []

    # -- feedback ----------------------------------------------------------------------
    def feedback(self, task_id: str, outcome: str, *, agent_id: str | None = None, user_id: str | None = None) -> FeedbackResult:
        """Close the loop of a task looked up with ``procedures(task, task_id=...)``: count
        ``outcome`` once on each strategy it returned. Again with the same outcome: nothing
        changes (``counted=False``); with the other: :class:`InvalidInputError`."""
        task_id = inputs.check_task_id(task_id, required=True)  # type: ignore[assignment]
        outcome = inputs.check_outcome(outcome)
        _scope(agent_id, user_id)
        with self._lock:
            record = self._task_anywhere(task_id, agent_id, user_id)
            counted = record.metadata.get("counted")
            if counted == outcome:
                return FeedbackResult(task_id=task_id, outcome=outcome, counted=False)
            if counted is not None:
                raise InvalidInputError(f"task {task_id!r} was already closed as a {counted}")
            self.writer.new_version(
                record, op=Operation.UPDATE, reason=f"feedback: {outcome}", actor=ACTOR,
                metadata={**record.metadata, "counted": outcome},
            )
            changed = reward(self.writer, list(record.metadata.get("shown") or []), outcome, task_id)
        return FeedbackResult(task_id=task_id, outcome=outcome, counted=True, strategies=changed)

    # -- retrieve ----------------------------------------------------------------------
    def procedures(
        self, task: str, *, agent_id: str | None = None, user_id: str | None = None, limit: int = 5, task_id: str | None = None,
    ) -> list[ProcedureHit]:
        """The strategies (and past trajectories) for ``task``, best first; ``task_id`` notes
        what was returned, for :meth:`feedback` or the next :meth:`learn` of that task."""
        task = inputs.check_task(task)
        _scope(agent_id, user_id)
        limit = inputs.check_limit(limit)
        task_id = inputs.check_task_id(task_id)
        hits = search(self.writer.store, self.writer.embedder, self._config(), task, agent_id=agent_id, user_id=user_id, limit=limit)
        if task_id is not None:
            with self._lock:
                self._note_shown(task_id, task, agent_id, user_id, [h.memory.id for h in hits])
        if hits:
            self.writer.store.touch([h.memory.id for h in hits], utcnow())
        return hits

    def how_to(
        self, task: str, *, agent_id: str | None = None, user_id: str | None = None, limit: int = 3,
        token_budget: int = 400, task_id: str | None = None, min_relevance: float = MIN_RELEVANCE,
    ) -> tuple[str, list[ProcedureHit], int]:
        """The "How to" section of a context for ``task``: the strategies that apply (relevance at
        least ``min_relevance``) within ``token_budget`` tokens. Returns (text, hits, tokens);
        the text is empty when none apply."""
        hits = self.procedures(task, agent_id=agent_id, user_id=user_id, limit=limit, task_id=task_id)
        applying = [h for h in hits if h.explanation.get("relevance", 0.0) >= min_relevance]
        return how_to_section(applying, token_budget)

    # -- task records --------------------------------------------------------------------
    def _task(self, task_id: str, agent_id: str | None, user_id: str | None) -> MemoryRecord | None:
        """The record of ``task_id`` in exactly this scope (a task looked up, or a trajectory)."""
        found = self._tasks(task_id, agent_id, user_id, exact=True)
        return found[0] if found else None

    def _task_anywhere(self, task_id: str, agent_id: str | None, user_id: str | None) -> MemoryRecord:
        found = self._tasks(task_id, agent_id, user_id, exact=False)
        if not found:
            raise NotFoundError(f"no task {task_id!r}: call procedures(task, task_id=...) or learn(..., task_id=...) first")
        if len(found) > 1:
            raise InvalidInputError(f"task_id {reprlib.repr(task_id)} is used in several scopes; pass agent_id and user_id")
        return found[0]

    def _tasks(self, task_id: str, agent_id: str | None, user_id: str | None, *, exact: bool) -> list[MemoryRecord]:
        filters: dict[str, Any] = {f"metadata.{TYPE_KEY}": [TASK, TRAJECTORY], "metadata.task_id": task_id}
        if exact:
            filters[f"metadata.{SCOPE_KEY}"] = scope_key(agent_id, user_id)
        q = Query(agent_id=agent_id, user_id=user_id, kinds=[Kind.EPISODIC], filters=filters)
        return self.writer.store.list(q, limit=2)

    def _note_shown(self, task_id: str, task: str, agent_id: str | None, user_id: str | None, ids: list[str]) -> None:
        """Remember on the task's record which memories ``procedures`` returned for it."""
        existing = self._task(task_id, agent_id, user_id)
        if existing is not None:
            if existing.metadata.get("counted") is not None:
                return  # the loop is closed: later lookups count for nothing
            shown = list(dict.fromkeys([*(existing.metadata.get("shown") or []), *ids]))
            self.writer.new_version(
                existing, op=Operation.UPDATE, reason="strategies shown", actor=ACTOR, metadata={**existing.metadata, "shown": shown},
            )
            return
        scope = scope_key(agent_id, user_id)
        stub = MemoryRecord(
            content=f"Task: {task}", kind=Kind.EPISODIC, agent_id=agent_id, user_id=user_id, event_time=utcnow(),
            metadata={TYPE_KEY: TASK, SCOPE_KEY: scope, "task": task, "task_id": task_id, "outcome": None, "shown": ids, "counted": None},
        )
        self.writer.insert_derived(stub, fp=fingerprint("procedural", scope, "task_id", task_id), reason="task looked up", actor=ACTOR)


def _scope(agent_id: Any, user_id: Any) -> None:
    check_id(agent_id, "agent_id")
    check_id(user_id, "user_id")


def _metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a dict, got {type(metadata).__name__}")
    check_json(metadata, "metadata")
    reserved = sorted(RESERVED & set(metadata))
    if reserved:
        raise InvalidInputError(f"metadata keys {reserved} are kept by procedural memory; use other names")
    return dict(metadata)
