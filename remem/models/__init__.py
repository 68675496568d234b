"""Public data types: memory records, messages, search hits, history entries."""

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
    "Context",
    "Filters",
    "HistoryEntry",
    "Kind",
    "MemoryRecord",
    "Message",
    "Operation",
    "SearchHit",
    "check_content",
    "new_id",
    "parse_time",
    "utcnow",
]
