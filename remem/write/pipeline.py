"""The LLM write path: extraction, resolution, linking, summaries and profile.

``Memory.add(..., infer=True)`` stores the raw turns, then hands them to
:class:`InferencePipeline`. For each scope (user, agent, session) in the batch it

1. extracts self-contained facts from the new turns, with a few earlier turns as context;
2. reconciles each fact with the nearest facts that still hold: ADD, UPDATE (new version
   of the same memory), INVALIDATE (the old facts get ``valid_to`` = the new fact's time,
   as a new version; nothing is deleted) or NOOP;
3. gives each new fact keywords, tags and a context, links it to its neighbours and lets
   the LLM refresh their context/tags (A-MEM);
4. updates the session summary and the user's profile (MemoryBank);
5. marks the turns as processed (``metadata.remem_inferred``), so a retried batch is skipped.

Every change is a version in history with its reason and actor ``remem.infer``; new facts
carry a fingerprint (user, agent, content, batch turn ids) and name the facts they end
(``metadata.supersedes``) in the same transaction, so re-running a batch that failed or crashed
half-way adds no duplicates and finishes the invalidations and links it had left undone.
``submit`` queues batches for one worker thread per pipeline (order kept); failures are logged and kept in :attr:`InferencePipeline.errors`.
"""

from __future__ import annotations

import logging
import queue
import contextvars
import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from remem.errors import LLMError, RememError
from remem.llm import EXTRACT_FACTS
from remem.models import Kind, MemoryRecord, Operation, utcnow
from remem.store import Link
from remem.write.enrich import enrich
from remem.write.extract import Fact, context_turns, extract_facts
from remem.write.profile import update_profile
from remem.write.resolve import Candidate, decide, nearest_facts
from remem.write.summarize import update_session_summary
from remem.write.versions import fingerprint, insert, new_version, normalise
from remem.write.writer import Writer

log = logging.getLogger("remem.infer")

PROCESSED_KEY = "remem_inferred"
"""Metadata key set on raw turns once the pipeline has processed them (value: the prompt id)."""

SUPERSEDES_KEY = "supersedes"
"""Metadata key of a new fact that ends older ones (value: their ids); each old fact gets ``superseded_by``."""


@dataclass
class PipelineConfig:
    """Knobs of the LLM write path."""

    context_turns: int = 4  # earlier turns of the same session shown to extraction
    candidates: int = 5  # nearest known facts shown to resolution
    links: int = 3  # neighbours a new fact is linked to
    enrich: bool = True  # A-MEM keywords/tags/context + neighbour evolution (one LLM call per new fact)
    summarize: bool = True  # per-session summary
    profile: bool = True  # per-user profile
    about_agent: bool = False  # keep facts that come only from assistant turns


@dataclass
class Step:
    """One decision the pipeline took, for reports and evaluation."""

    action: str  # ADD | UPDATE | INVALIDATE | NOOP | SKIP
    fact: str
    memory_id: str | None = None  # the fact written (ADD/INVALIDATE) or changed (UPDATE) or matched (NOOP)
    targets: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class StageFailure:
    """A failure kept for inspection: which stage, which raw turns, what went wrong."""

    stage: str
    message: str
    record_ids: list[str]
    exception: BaseException | None = field(default=None, repr=False)
    at: datetime = field(default_factory=utcnow)


@dataclass
class RunReport:
    """What one run wrote and decided."""

    records: list[MemoryRecord] = field(default_factory=list)
    operations: list[Step] = field(default_factory=list)
    errors: list[StageFailure] = field(default_factory=list)
    skipped_turns: int = 0  # already processed

    def count(self, action: str) -> int:
        return sum(1 for op in self.operations if op.action == action)


class InferencePipeline:
    """The LLM write path: facts from raw turns, written through ``writer`` (its store,
    embedder and index settings) with the decisions of ``llm``."""

    def __init__(self, writer: Writer, llm: Any, config: PipelineConfig | None = None) -> None:
        self.writer = writer
        self.llm = llm
        self.config = config or PipelineConfig()
        self.errors: list[StageFailure] = []
        self.operations: list[Step] = []  # every decision, in order (for evaluation)
        self._run_lock = threading.Lock()  # one batch at a time, in order
        self._cond = threading.Condition()
        self._pending = 0
        self._queue: queue.Queue[tuple[list[str], contextvars.Context] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._closed = False

    # -- public API ----------------------------------------------------------------
    def run(self, records: list[MemoryRecord]) -> list[MemoryRecord]:
        """Process raw turns now (after any queued work); returns the memories written.

        Raises :class:`LLMError` when fact extraction fails (the raw turns stay stored and
        unprocessed, so the same ``add`` can be retried); failures of the optional steps
        (resolution of one fact, enrichment, summary, profile) are logged and kept in
        :attr:`errors`.
        """
        self.wait()
        report = self.process(records)
        fatal = [e for e in report.errors if e.stage == "extract"]
        if fatal:
            raise LLMError(f"fact extraction failed (the raw turns are stored; retry to extract): {fatal[0].message}")
        return report.records

    def process(self, records: list[MemoryRecord]) -> RunReport:
        """Process raw turns and return the full report (never raises for LLM failures)."""
        with self._run_lock:
            report = RunReport()
            turns = self._fresh(records, report)
            for group in _groups(turns):
                self._process_group(group, report)
            self.operations.extend(report.operations)
            self.errors.extend(report.errors)
            return report

    def submit(self, records: list[MemoryRecord]) -> None:
        """Queue raw turns for the background worker (started on first use)."""
        if self._closed:
            raise RememError("the inference pipeline is closed")
        ids = [r.id for r in records]
        with self._cond:
            self._pending += 1
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="remem-infer", daemon=True)
                self._worker.start()
        self._queue.put((ids, contextvars.copy_context()))  # the caller's context: its audit actor

    def wait(self, timeout: float | None = None) -> None:
        """Block until queued work is done; raises TimeoutError if it is not within ``timeout`` s."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"{self._pending} queued batch(es) still running after {timeout:g}s")

    @property
    def pending(self) -> int:
        """Queued batches not yet finished."""
        with self._cond:
            return self._pending

    def close(self) -> None:
        """Finish queued work, then stop the worker."""
        if self._closed:
            return
        self._closed = True
        worker = self._worker
        if worker is not None and worker.is_alive():
            self.wait()
            self._queue.put(None)
            worker.join()

    # -- worker --------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            ids, context = item
            try:
                records = self.writer.store.get_many(ids)
                report = context.run(self.process, records)
                for err in report.errors:
                    log.warning("background inference: %s failed for %d turn(s): %s", err.stage, len(err.record_ids), err.message)
            except Exception as exc:  # noqa: BLE001 - a worker must survive anything and keep the error
                err = StageFailure("pipeline", f"{type(exc).__name__}: {exc}", ids, exc)
                self.errors.append(err)
                log.error("background inference failed for %d turn(s):\n%s", len(ids), traceback.format_exc())
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    # -- one batch -------------------------------------------------------------------
    def _fresh(self, records: list[MemoryRecord], report: RunReport) -> list[MemoryRecord]:
        """Current versions of the raw turns that still need processing."""
        ids = [r.id for r in records if r.kind == Kind.EPISODIC]
        current = self.writer.store.get_many(ids)
        fresh = [r for r in current if r.deleted_at is None and PROCESSED_KEY not in r.metadata]
        report.skipped_turns = len(current) - len(fresh)
        return fresh

    def _error(self, report: RunReport, stage: str, turns: list[MemoryRecord], exc: BaseException) -> None:
        log.warning("inference %s failed: %s", stage, exc)
        report.errors.append(StageFailure(stage, str(exc), [t.id for t in turns], exc))

    def _process_group(self, turns: list[MemoryRecord], report: RunReport) -> None:
        cfg, writer = self.config, self.writer
        try:
            context = context_turns(writer.store, turns, cfg.context_turns)
            facts = extract_facts(self.llm, turns, context, about_agent=cfg.about_agent)
        except LLMError as exc:
            self._error(report, "extract", turns, exc)
            return
        batch_key = sorted(t.id for t in turns)
        complete = True
        current: list[MemoryRecord] = []  # facts added or updated
        ended: list[MemoryRecord] = []  # facts invalidated
        for fact in facts:
            try:
                written, stopped = self._apply(fact, turns[0], batch_key, report)
            except LLMError as exc:
                self._error(report, "resolve", turns, exc)
                complete = False
                continue
            current += written
            ended += stopped
        report.records += current + ended
        user_id = turns[0].user_id
        if cfg.profile and user_id is not None and (current or ended):
            try:
                profile = update_profile(writer, self.llm, user_id, current, ended, _subject(turns))
                if profile is not None:
                    report.records.append(profile)
            except LLMError as exc:
                self._error(report, "profile", turns, exc)
        if cfg.summarize and turns[0].session_id is not None:
            try:
                summary = update_session_summary(writer, self.llm, turns)
                if summary is not None:
                    report.records.append(summary)
            except LLMError as exc:
                self._error(report, "summarize", turns, exc)
        if complete:
            for turn in turns:
                new_version(
                    writer, turn, op=Operation.UPDATE, reason="processed by the LLM write path",
                    metadata={**turn.metadata, PROCESSED_KEY: EXTRACT_FACTS.id},
                )

    def _apply(
        self, fact: Fact, first: MemoryRecord, batch_key: list[str], report: RunReport
    ) -> tuple[list[MemoryRecord], list[MemoryRecord]]:
        """Resolve one fact and write the outcome; returns (facts added/updated, facts invalidated)."""
        writer, cfg = self.writer, self.config
        record = MemoryRecord(
            content=fact.content, kind=fact.kind, user_id=first.user_id, agent_id=first.agent_id,
            session_id=first.session_id, event_time=fact.event_time or fact.said_at, valid_from=fact.valid_from,
            importance=fact.importance, source=fact.sources, keywords=fact.keywords, tags=fact.tags,
            metadata={"fact_kind": fact.fact_kind},
        )
        vector = writer.embedder.embed([writer.derived_text(record)])[0]
        found = nearest_facts(
            writer.store, vector, user_id=first.user_id, agent_id=first.agent_id, when=fact.said_at,
            limit=max(cfg.candidates, cfg.links),
        )
        earlier = _written_from(fact, found, batch_key)
        if earlier is not None:  # an earlier run of this batch stored it: finish what it began
            return self._complete(earlier, fact, found, report)
        decision = decide(self.llm, fact, found[: cfg.candidates])
        targets = [t.id for t in decision.targets]
        if decision.action == "NOOP":
            report.operations.append(Step("NOOP", fact.content, targets[0], targets, decision.reason))
            return [], []
        if decision.action == "UPDATE":
            target = decision.targets[0]
            updated = new_version(
                writer, target, op=Operation.UPDATE, reason=decision.reason or "refined by a new fact",
                content=(decision.content or fact.content).strip(),
                source=list(dict.fromkeys(target.source + fact.sources)),
                importance=max(target.importance, fact.importance),
                keywords=list(dict.fromkeys(target.keywords + fact.keywords)),
                tags=list(dict.fromkeys(target.tags + fact.tags)),
            )
            report.operations.append(Step("UPDATE", fact.content, updated.id, targets, decision.reason))
            return [updated], []
        # ADD or INVALIDATE: the new fact is stored, naming the facts it ends, in one transaction;
        # ending them and linking happen after it, so a retry after a crash can finish them
        olds = decision.targets if decision.action == "INVALIDATE" else []
        if olds:
            record.metadata[SUPERSEDES_KEY] = targets
        neighbours = [c for c in found if c.record.id not in targets][: cfg.links]
        self._enrich(record, fact, neighbours, report, [first])
        fp = fingerprint("fact", first.user_id, first.agent_id, normalise(fact.content), batch_key)
        stored, created = insert(writer, record, fp=fp, reason=decision.reason or None, vector=vector)
        if not created:
            return self._complete(stored, fact, found, report, olds)
        ended = self._end_and_link(stored, fact, olds, neighbours, decision.reason)
        report.operations.append(Step(decision.action, fact.content, stored.id, targets, decision.reason))
        return [stored], ended

    def _complete(
        self, stored: MemoryRecord, fact: Fact, found: list[Candidate], report: RunReport, olds: list[MemoryRecord] | None = None
    ) -> tuple[list[MemoryRecord], list[MemoryRecord]]:
        """``stored`` was written from these turns by an earlier run, which may have stopped
        before ending the facts it supersedes (its ``supersedes`` metadata, plus ``olds``) or
        linking it: do both now (idempotent: unchanged facts get no new version, links are upserted)."""
        if stored.deleted_at is None:  # (a fact deleted since ends nothing)
            ids = list(dict.fromkeys([*stored.metadata.get(SUPERSEDES_KEY, []), *(o.id for o in olds or [])]))
            pending = [  # skip facts deleted or ended by another fact since
                r for r in self.writer.store.get_many(ids)
                if r.deleted_at is None and r.metadata.get("superseded_by") in (None, stored.id)
            ]
            neighbours = [c for c in found if c.record.id != stored.id and c.record.id not in ids][: self.config.links]
            history = self.writer.store.history(stored.id)
            reason = (history[0].reason or "") if history else ""
            versions = {r.id: r.version for r in pending}
            written = self._end_and_link(stored, fact, pending, neighbours, reason)
            ended = [r for r in written if r.version != versions[r.id]]
            if ended:
                report.operations.append(
                    Step("INVALIDATE", fact.content, stored.id, [r.id for r in ended], "finished after an interrupted run")
                )
                return [stored], ended
        report.operations.append(Step("NOOP", fact.content, stored.id, [stored.id], "already written from these turns"))
        return [], []

    def _end_and_link(
        self, new: MemoryRecord, fact: Fact, olds: list[MemoryRecord], neighbours: list[Candidate], reason: str
    ) -> list[MemoryRecord]:
        """End ``olds`` (superseded by ``new``) and link ``new`` to them and to its neighbours."""
        links = [Link(new.id, c.record.id, "related", round(c.similarity, 4)) for c in neighbours]
        ended: list[MemoryRecord] = []
        for old in olds:
            ended.append(self._invalidate(old, new, fact, reason))
            links.append(Link(new.id, old.id, "supersedes", 1.0))
        self.writer.store.add_links(links)
        return ended

    def _invalidate(self, old: MemoryRecord, new: MemoryRecord, fact: Fact, reason: str) -> MemoryRecord:
        """End ``old`` when ``new`` starts to hold (never before ``old`` itself started)."""
        end = fact.valid_from
        if old.valid_from is not None and end <= old.valid_from:
            end = max(fact.said_at, old.valid_from)
        return new_version(
            self.writer, old, op=Operation.INVALIDATE, reason=reason or f"superseded by {new.id}",
            valid_to=end, metadata={**old.metadata, "superseded_by": new.id},
        )

    def _enrich(
        self, record: MemoryRecord, fact: Fact, neighbours: list[Candidate], report: RunReport, turns: list[MemoryRecord]
    ) -> None:
        """A-MEM note for ``record`` (in place) and evolution of its neighbours."""
        if not self.config.enrich:
            return
        try:
            note = enrich(self.llm, fact.describe(), [c.record for c in neighbours])
        except LLMError as exc:
            self._error(report, "enrich", turns, exc)
            return
        record.keywords = list(dict.fromkeys(note.keywords + record.keywords))[:8] or record.keywords
        record.tags = list(dict.fromkeys(record.tags + note.tags)) or record.tags
        record.context = note.context or None
        for change in note.neighbours:
            fields: dict[str, Any] = {}
            if change.context and change.context.strip():
                fields["context"] = change.context.strip()
            if change.tags:
                fields["tags"] = change.tags
            if fields:
                new_version(
                    self.writer, change.record, op=Operation.UPDATE,
                    reason=f"memory evolution: related to the new fact {fact.content!r}", **fields,
                )


def _groups(turns: list[MemoryRecord]) -> list[list[MemoryRecord]]:
    """Turns by (user, agent, session), each group in spoken order, groups in first-seen order."""
    groups: dict[tuple[str | None, str | None, str | None], list[MemoryRecord]] = {}
    for t in turns:
        groups.setdefault((t.user_id, t.agent_id, t.session_id), []).append(t)
    return [sorted(g, key=lambda t: (t.event_time or t.created_at)) for g in groups.values()]


def _written_from(fact: Fact, found: list[Candidate], batch_key: list[str]) -> MemoryRecord | None:
    """The stored fact with this content whose sources all lie in this batch, if any.

    The batch's turns are not yet marked processed, so such a fact was written by an earlier
    run of this batch that stopped before the end (or by this run, for a repeated fact).
    """
    key, batch = normalise(fact.content), set(batch_key)
    for c in found:
        if c.record.source and set(c.record.source) <= batch and normalise(c.record.content) == key:
            return c.record
    return None


def _subject(turns: list[MemoryRecord]) -> str:
    names = [t.speaker for t in turns if t.role == "user" and t.speaker]
    user_id = turns[0].user_id
    return f"{names[0]} (user {user_id})" if names else f"the user {user_id}"
