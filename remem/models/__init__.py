"""Public data types: memory records, messages, search hits, history and audit entries."""

from remem.models.audit import AuditEntry, acting_as
from remem.models.maintenance import MaintenanceReport, RollbackReport

from remem.models.records import (
    Context,
    Filters,
    HistoryEntry,
    Kind,
    MemoryRecord,
    Message,
    Operation,
    SearchHit,
    check_content,
    new_id,
    parse_time,
    utcnow,
)

__all__ = [
    "AuditEntry",
    "acting_as",
    "Context",
    "Filters",
    "HistoryEntry",
    "Kind",
    "MaintenanceReport",
    "MemoryRecord",
    "Message",
    "Operation",
    "RollbackReport",
    "SearchHit",
    "check_content",
    "new_id",
    "parse_time",
    "utcnow",
]
