"""The maintenance part of :class:`remem.Memory`: forgetting, consolidation, archive and
restore, the audit log and rollback (implemented in :mod:`remem.maintain`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from remem._args import check_bool, check_id_arg, check_limit
from remem.errors import InvalidInputError
from remem.maintain import Maintainer, MaintenancePolicy, MaintenanceReport, RollbackReport
from remem.models import AuditEntry, MemoryRecord, parse_time, utcnow

if TYPE_CHECKING:
    from remem.store import Store
    from remem.write.writer import Writer

AUDIT_OPS = frozenset({
    "ADD", "UPDATE", "INVALIDATE", "DELETE", "RESTORE", "ARCHIVE", "MERGE", "ROLLBACK",
    "PURGE", "REFUSE", "IMPORT", "MAINTAIN",
})


MAX_SEQ = 2**63 - 1


def _audit_ops(op: Any) -> list[str] | None:
    """The operations an audit query names (one, or a list or tuple of them), upper-cased."""
    if op is None:
        return None
    ops = [op] if isinstance(op, str) else op
    if not isinstance(ops, (list, tuple)) or not all(isinstance(o, str) for o in ops):
        raise InvalidInputError("op must be an operation name or a list of them")
    unknown = sorted({o.upper() for o in ops} - AUDIT_OPS)
    if unknown:
        raise InvalidInputError(f"unknown audit op(s) {unknown}; use {sorted(AUDIT_OPS)}")
    return [o.upper() for o in ops] or None


class MaintenanceMethods:
    """Mixed into :class:`remem.Memory`."""

    store: "Store"
    llm: Any
    maintenance_policy: MaintenancePolicy | None
    _writer: "Writer"

    if TYPE_CHECKING:
        def get(self, memory_id: str) -> MemoryRecord: ...
        @property
        def pipeline(self) -> Any: ...

    def _maintainer(self) -> Maintainer:
        summarizer = (lambda turns: self.pipeline.run(turns)) if self.llm is not None else None
        return Maintainer(self._writer, summarizer)

    def maintain(
        self,
        *,
        user_id: str | None = None,
        policy: MaintenancePolicy | dict[str, Any] | None = None,
        dry_run: bool = False,
        now: Any = None,
    ) -> MaintenanceReport:
        """Apply a retention and consolidation policy (default: ``Memory(maintenance=...)``,
        else :class:`~remem.maintain.MaintenancePolicy()`) to one user, or to every user of
        the tenant. Nothing is deleted: what goes is archived (see :meth:`restore`); near-
        duplicates are merged with history pointing at every original; old sessions get a
        summary. ``dry_run=True`` reports what would change and writes nothing."""
        check_id_arg("user_id", user_id)
        check_bool(dry_run, "dry_run")
        if isinstance(policy, dict):
            policy = MaintenancePolicy.model_validate(policy)
        elif policy is not None and not isinstance(policy, MaintenancePolicy):
            raise InvalidInputError("policy must be a MaintenancePolicy or a dict of its fields")
        chosen = policy or self.maintenance_policy or MaintenancePolicy()
        when = parse_time(now, field="now") or utcnow()
        return self._maintainer().run(chosen, user_id=user_id, now=when, dry_run=dry_run)

    def archive(self, memory_id: str, *, reason: str | None = None) -> MemoryRecord:
        """Take a memory out of default search and context without deleting it (a version in history)."""
        current = self.get(memory_id)
        if current.is_deleted:
            raise InvalidInputError(f"memory {memory_id!r} is deleted")
        return self._maintainer().archive(current, reason or "archived")

    def restore(self, memory_id: str, *, reason: str | None = None) -> MemoryRecord:
        """Bring an archived memory back into search and context (a version in history)."""
        return self._maintainer().restore(self.get(memory_id), reason)

    def audit(
        self,
        *,
        user_id: str | None = None,
        memory_id: str | None = None,
        since: Any = None,
        until: Any = None,
        op: str | list[str] | None = None,
        limit: int = 100,
        after: int = 0,
    ) -> list[AuditEntry]:
        """The append-only audit log, oldest first: every operation with its time, actor
        (API key name, or ``"local"``), request id and before/after versions. ``after``: only
        entries with a larger ``seq`` (to page). A purged user's entries keep ids and
        operations, not content."""
        check_id_arg("user_id", user_id)
        check_id_arg("memory_id", memory_id)
        ops = _audit_ops(op)
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_SEQ:
            raise InvalidInputError(f"after must be an integer from 0 to {MAX_SEQ}")
        start, end = parse_time(since, field="since"), parse_time(until, field="until")
        return self.store.audit(
            user_id=user_id, memory_id=memory_id, since=start, until=end, ops=ops, limit=check_limit(limit), after_seq=after
        )

    def rollback(self, *, user_id: str, to: Any, dry_run: bool = False) -> RollbackReport:
        """Restore a user's memories to exactly what they were at ``to`` (content, validity,
        deletions, archiving), as new versions: nothing is lost, and
        ``rollback(user_id=..., to=report.undo_to)`` undoes it. ``dry_run=True`` previews."""
        check_id_arg("user_id", user_id, required=True)
        check_bool(dry_run, "dry_run")
        target: datetime | None = parse_time(to, field="to")
        if target is None:
            raise InvalidInputError("rollback needs to= (a time)")
        return self._maintainer().rollback(user_id, target, dry_run=dry_run)
