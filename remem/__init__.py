"""remem: offline-first long-term memory for LLM agents.

>>> from remem import Memory
>>> mem = Memory()                      # one SQLite file in your data directory
>>> mem.add("I moved to Lisbon", user_id="alice")
>>> mem.search("where does alice live?", user_id="alice")
"""

from remem._version import __version__
from remem.aio import AsyncMemory
from remem.client import AsyncRememClient, RememClient
from remem.errors import (
    APIError,
    AuthenticationError,
    EmbeddingMismatchError,
    InvalidInputError,
    LLMError,
    LLMNotConfiguredError,
    NotFoundError,
    RememError,
    ServerUnavailableError,
    StoreError,
)
from remem.memory import Memory
from remem.models import Context, HistoryEntry, Kind, MemoryRecord, Message, Operation, SearchHit
from remem.read import SearchConfig

__all__ = [
    "APIError",
    "AsyncMemory",
    "AuthenticationError",
    "AsyncRememClient",
    "Context",
    "EmbeddingMismatchError",
    "HistoryEntry",
    "InvalidInputError",
    "Kind",
    "LLMError",
    "LLMNotConfiguredError",
    "Memory",
    "MemoryRecord",
    "Message",
    "NotFoundError",
    "Operation",
    "RememClient",
    "RememError",
    "SearchConfig",
    "SearchHit",
    "ServerUnavailableError",
    "StoreError",
    "__version__",
]
