"""Public data types: memory records, messages, search hits, history entries."""

from remem.models.records import (
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
