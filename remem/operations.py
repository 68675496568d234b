"""Every operation remem offers, and where each surface offers it.

One row per :class:`~remem.Memory` method. ``tests/test_surfaces.py`` checks every surface
against this table (``AsyncMemory``, both HTTP clients, the REST routes, the CLI commands,
the MCP tools), so a new operation that one surface lacks fails the suite instead of going
unnoticed.

Adding an operation touches four files: the method on ``Memory`` (or its mixin), a row here,
its REST route (request model beside it), and its CLI command (an MCP tool is optional). A row
with ``posts`` needs no client code: both HTTP clients POST the call's arguments as JSON (the
positional ones under the names in ``posts``) and read the reply as ``returns``, so the route
only has to take those fields and answer with the method's return value. Operations whose
request is not a plain POST (path segments, paging, streaming) have a builder in
:mod:`remem.client_calls` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from remem.models.procedural import FeedbackResult, LearnResult


@dataclass(frozen=True)
class Operation:
    """``name``: the method on Memory, AsyncMemory and (``client``) the HTTP clients;
    ``rest``: (HTTP method, path as the OpenAPI schema names it); ``cli``: the command;
    ``mcp``: the tool; ``posts``/``returns``: see the module docstring."""

    name: str
    rest: tuple[str, str] | None
    cli: str | None
    mcp: str | None = None
    client: bool = True
    posts: tuple[str, ...] | None = None
    returns: Any = None


OPERATIONS: tuple[Operation, ...] = (
    Operation("add", ("POST", "/v1/memories"), "add", "add_memory"),
    Operation("add_records", ("POST", "/v1/records"), None),
    Operation("search", ("POST", "/v1/search"), "search", "search_memory"),
    Operation("context", ("POST", "/v1/context"), "context", "get_context"),
    Operation("get", ("GET", "/v1/memories/{memory_id}"), "get"),
    Operation("get_many", None, None, client=False),  # for the dashboard and evaluations, in process
    Operation("get_all", ("GET", "/v1/memories"), "list", "list_memories"),
    Operation("count", ("GET", "/v1/memories"), "count"),
    Operation("update", ("PATCH", "/v1/memories/{memory_id}"), "update", "update_memory"),
    Operation("delete", ("DELETE", "/v1/memories/{memory_id}"), "delete", "delete_memory"),
    Operation("history", ("GET", "/v1/memories/{memory_id}/history"), "history", "memory_history"),
    Operation("links", ("GET", "/v1/memories/{memory_id}/links"), None),
    Operation("purge", ("DELETE", "/v1/users/{user_id}"), "purge"),
    Operation("export", ("GET", "/v1/export"), "export"),
    Operation("export_file", ("GET", "/v1/export"), "export"),
    Operation("import_", ("POST", "/v1/import"), "import"),
    Operation("import_file", ("POST", "/v1/import"), "import"),
    Operation("stats", ("GET", "/v1/stats"), "stats"),
    Operation("maintain", ("POST", "/v1/maintain"), "maintain"),  # admin-scoped key
    Operation("archive", ("POST", "/v1/memories/{memory_id}/archive"), "archive"),
    Operation("restore", ("POST", "/v1/memories/{memory_id}/restore"), "restore"),
    Operation("audit", ("GET", "/v1/audit"), "audit", "audit_log"),  # read-only for agents
    Operation("rollback", ("POST", "/v1/rollback"), "rollback"),  # admin-scoped key; no MCP tool by design
    Operation("learn", ("POST", "/v1/learn"), "learn", "learn",
              posts=("task", "trajectory", "outcome"), returns=LearnResult),
    Operation("feedback", ("POST", "/v1/feedback"), "feedback", posts=("task_id", "outcome"), returns=FeedbackResult),
    Operation("procedures", ("POST", "/v1/procedures"), "procedures", "recall_procedures"),
)
