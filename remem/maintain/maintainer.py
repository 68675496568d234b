"""The maintenance runs: forgetting, consolidation, archive/restore and rollback, written
through the :class:`~remem.write.writer.Writer` so every change is a version in history."""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Callable

from remem.errors import InvalidInputError
from remem.maintain.consolidate import (
    VECTOR_KINDS, Merge, centroid, informative_turns, plan_merges, sessions_to_summarize, summary_text,
)
from remem.maintain.forget import forget_reason, over_capacity
from remem.maintain.policy import MaintenancePolicy
from remem.maintain.rollback import plan_change
from remem.models import AuditEntry, Kind, MemoryRecord, Operation, utcnow
from remem.models.maintenance import MaintenanceReport, RollbackReport
from remem.procedural.records import TYPE_KEY as PROCEDURAL_KEY
from remem.store import Link, Query, Store
from remem.store.text import content_words, keywords
from remem.write.writer import Writer

log = logging.getLogger("remem")
ACTOR = "remem.maintain"
PAGE = 5_000
BATCH = 1_000  # archived per transaction
SUMMARY_BATCH = 500  # summaries written per transaction


class Maintainer:
    """Runs a :class:`MaintenancePolicy` over one store (a tenant-bound view)."""

    def __init__(self, writer: Writer, summarizer: Callable[[list[MemoryRecord]], Any] | None = None) -> None:
        """``summarizer``: the LLM write path's session consolidation, when an LLM is configured."""
        self.writer = writer
        self.store: Store = writer.store
        self.summarizer = summarizer

    # -- archive / restore -------------------------------------------------------------
    def archive(self, record: MemoryRecord, reason: str) -> MemoryRecord:
        """Archive one memory (a version in history); an archived one is returned as it is."""
        if record.is_archived:
            return record
        return self.writer.new_version(record, op=Operation.ARCHIVE, reason=reason, archived_at=utcnow())

    def restore(self, record: MemoryRecord, reason: str | None = None) -> MemoryRecord:
        """Restore one archived memory (a version in history); any other is returned as it is."""
        if not record.is_archived:
            return record
        return self.writer.new_version(record, op=Operation.RESTORE, reason=reason or "restored", archived_at=None)

    # -- maintenance -------------------------------------------------------------------
    def run(self, policy: MaintenancePolicy, *, user_id: str | None, now: datetime, dry_run: bool) -> MaintenanceReport:
        started = time.perf_counter()
        report = MaintenanceReport(dry_run=dry_run)
        users = [user_id] if user_id is not None else self.store.user_ids()
        for user in users:
            self._run_user(user, policy, now, report)
        report.users = len(users)
        report.seconds = round(time.perf_counter() - started, 3)
        if not dry_run:
            self.store.record_audit([AuditEntry(
                at=utcnow(), op="MAINTAIN", user_id=user_id,
                detail={k: v for k, v in report.as_dict().items() if k != "actions"},
            )])
        return report

    def _active(self, user_id: str | None) -> list[MemoryRecord]:
        out: list[MemoryRecord] = []
        q, offset = Query(user_id=user_id), 0
        while True:
            page = self.store.list(q, limit=PAGE, offset=offset, newest_first=False)
            offset += len(page)
            # procedural memory's records keep their own books (reconciled by learn, counted by feedback)
            out.extend(r for r in page if r.user_id == user_id and PROCEDURAL_KEY not in r.metadata)
            if len(page) < PAGE:
                return out

    def _run_user(self, user_id: str | None, policy: MaintenancePolicy, now: datetime, report: MaintenanceReport) -> None:
        active = self._active(user_id)
        summaries_before = report.summaries
        report.scanned += len(active)
        report.active_before += len(active)
        current = {r.id: r for r in active}
        pending: list[tuple[MemoryRecord, str]] = []  # (record, reason) to archive, in one transaction per batch
        if policy.merge_duplicates:
            for merge in self._merges(active, policy):
                survivor = self._merge(merge, report)
                current[survivor.id] = survivor  # later steps write on top of its new version
                pending += [(d, f"merged into {survivor.id}") for d in merge.duplicates]
        gone = {rec.id for rec, _ in pending}
        alive = [current[r.id] for r in active if r.id not in gone]
        if policy.summarize_sessions_after_days is not None:
            self._summarize_sessions(alive, policy, now, report)
        if policy.archive_filler:
            pending += self._filler(alive, policy, now)
            gone = {rec.id for rec, _ in pending}
            alive = [r for r in alive if r.id not in gone]
        forgotten = [(rec, why) for rec in alive if (why := forget_reason(rec, policy, now)) is not None]
        gone.update(rec.id for rec, _ in forgotten)
        alive = [r for r in alive if r.id not in gone]
        pending += forgotten + [(rec, "capacity") for rec in over_capacity(alive, policy, now)]
        for rec, why in pending:
            key = "merged" if why.startswith("merged into") else why
            report.archived[key] = report.archived.get(key, 0) + 1
            self._note(report, rec.id, "archive", why)
        if not report.dry_run:
            for start in range(0, len(pending), BATCH):
                self.writer.mark(pending[start : start + BATCH], op=Operation.ARCHIVE, actor=ACTOR, archived_at=utcnow())
        report.active_after += len(active) - len(pending) + report.summaries - summaries_before

    def _note(self, report: MaintenanceReport, memory_id: str, action: str, reason: str) -> None:
        if len(report.actions) < 1_000:
            report.actions.append({"memory_id": memory_id, "action": action, "reason": reason})

    # -- consolidation -----------------------------------------------------------------
    def _merges(self, active: list[MemoryRecord], policy: MaintenancePolicy) -> list[Merge]:
        wanted = [r.id for r in active if r.kind in VECTOR_KINDS]
        entries = self.store.index_entries(wanted, vectors_for=set(wanted)) if wanted else {}
        vectors = {i: v for i, (_, v) in entries.items() if v is not None}
        return plan_merges(active, vectors, policy.duplicate_similarity)

    def _merge(self, merge: Merge, report: MaintenanceReport) -> MemoryRecord:
        """Fold the duplicates into the survivor (its history and ``source`` name them, links
        point to it); returns the survivor as it is now. The caller archives the duplicates."""
        report.merged_groups += 1
        if report.dry_run:
            return merge.survivor
        survivor, dups = merge.survivor, merge.duplicates
        dup_ids = [d.id for d in dups]
        source = list(dict.fromkeys([*survivor.source, *dup_ids, *(s for d in dups for s in d.source)]))
        merged_from = list(dict.fromkeys([*survivor.metadata.get("merged_from", []), *dup_ids]))
        merged = self.writer.new_version(
            survivor, op=Operation.MERGE, reason=f"merged {len(dup_ids)} duplicate(s)", actor=ACTOR,
            source=source, metadata={**survivor.metadata, "merged_from": merged_from},
            importance=max([survivor.importance, *(d.importance for d in dups)]),
        )
        self.store.add_links([Link(d, survivor.id, "merged_into") for d in dup_ids])
        return merged

    def _filler(self, alive: list[MemoryRecord], policy: MaintenancePolicy, now: datetime) -> list[tuple[MemoryRecord, str]]:
        """The filler turns ("haha ok") of sessions wholly older than ``consolidate_after_days``."""
        cutoff = now - timedelta(days=policy.consolidate_after_days)
        sessions = sessions_to_summarize(alive, set(), cutoff)
        return [(t, "filler") for turns in sessions.values() for t in turns if content_words(t.content) < policy.filler_words]

    def _summarize_sessions(
        self, alive: list[MemoryRecord], policy: MaintenancePolicy, now: datetime, report: MaintenanceReport
    ) -> None:
        """One summary per old session that has none: the LLM write path's, or extractive."""
        assert policy.summarize_sessions_after_days is not None
        cutoff = now - timedelta(days=policy.summarize_sessions_after_days)
        sessions = sessions_to_summarize(alive, self._summarized(alive), cutoff)
        if not sessions:
            return
        turns = [r for r in alive if r.kind == Kind.EPISODIC]
        doc_freq: Counter[str] = Counter(w for r in turns for w in set(keywords(r.content)))
        chosen: dict[str, list[MemoryRecord]] = {}
        for session_id, session in sessions.items():
            report.summaries += 1  # (an LLM summarizer that writes nothing is still counted: it was asked)
            self._note(report, session_id, "summarize", "llm" if self.summarizer else "extractive")
            if not report.dry_run:
                if self.summarizer is not None:
                    self.summarizer(session)
                else:
                    chosen[session_id] = informative_turns(session, doc_freq, len(turns), policy.summary_lines)
        ids = list(chosen)
        for start in range(0, len(ids), SUMMARY_BATCH):
            self._write_extractive({sid: (sessions[sid], chosen[sid]) for sid in ids[start : start + SUMMARY_BATCH]})

    def _summarized(self, alive: list[MemoryRecord]) -> set[str]:
        """Sessions that already have a summary, archived or deleted ones included (not summarised
        again: a summary someone deleted or rolled back stays gone)."""
        users = {r.user_id for r in alive}
        out: set[str] = set()
        for user in users:
            q = Query(user_id=user, kinds=[Kind.SUMMARY], include_archived=True, include_deleted=True)
            out.update(r.session_id for r in self.store.list(q, limit=1_000_000) if r.session_id and r.user_id == user)
        return out

    def _write_extractive(self, batch: dict[str, tuple[list[MemoryRecord], list[MemoryRecord]]]) -> None:
        """One extractive summary per session: its most informative turns, and as its vector
        the centroid of theirs (the summary is made of them; nothing is embedded again)."""
        wanted = [t.id for _, picked in batch.values() for t in picked]
        vectors = {i: v for i, (_, v) in self.store.index_entries(wanted, vectors_for=set(wanted)).items() if v is not None}
        items, vecs = [], []
        for session, picked in batch.values():
            first = session[0]
            items.append((MemoryRecord(
                content=summary_text(picked), kind=Kind.SUMMARY, user_id=first.user_id, agent_id=first.agent_id,
                session_id=first.session_id, event_time=first.event_time, source=[t.id for t in session],
                metadata={"summary_of": "session", "extractive": True},
            ), f"summary:{first.session_id}:{first.user_id}"))
            vecs.append(centroid([vectors[t.id] for t in picked if t.id in vectors]))
        self.writer.write_derived(items, vectors=vecs, reason="session consolidated", actor=ACTOR)

    # -- rollback ----------------------------------------------------------------------
    def rollback(self, user_id: str, to: datetime, *, dry_run: bool) -> RollbackReport:
        undo_to = utcnow()
        if to > undo_to:
            raise InvalidInputError("rollback target is in the future")
        report = RollbackReport(user_id=user_id, to=to, undo_to=undo_to, dry_run=dry_run)
        q = Query(user_id=user_id, include_deleted=True, include_archived=True)
        offset = 0
        while True:
            page = self.store.list(q, limit=PAGE, offset=offset, newest_first=False)
            offset += len(page)
            changed = [r for r in page if r.user_id == user_id and r.updated_at > to]
            histories = self.store.histories([r.id for r in changed]) if changed else {}
            for rec in changed:
                change = plan_change(rec, histories.get(rec.id, []), to, undo_to)
                if change is None:
                    continue
                report.changed += 1
                if len(report.changes) < 1_000:
                    report.changes.append(change.as_dict())
                if not dry_run:
                    self.writer.new_version(
                        rec, op=Operation.ROLLBACK, reason=f"rollback to {to.isoformat()}",
                        with_context=rec.kind == Kind.EPISODIC, **change.fields,
                    )
            if len(page) < PAGE:
                break
        if not dry_run:
            self.store.record_audit([AuditEntry(
                at=utcnow(), op="ROLLBACK", user_id=user_id,
                detail={"to": to.isoformat(), "undo_to": undo_to.isoformat(), "changed": report.changed},
            )])
        return report
