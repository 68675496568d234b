"""The MCP server (official ``mcp`` SDK): seven memory tools for agents and IDEs.

Each tool carries MCP annotations (read-only, destructive, idempotent hints) and
returns compact JSON text beside its structured result; invalid arguments come back
as one ``invalid_input: field: problem`` line, remem's errors as ``code: message``.

Served over stdio by ``remem mcp`` (one tenant, chosen on the command line) and
over streamable HTTP at ``/mcp`` by ``remem serve``, where the tenant comes from
the request's bearer key (set on the ASGI scope by :class:`MCPAuth`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Callable, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import BaseModel, Field, ValidationError
from starlette.types import Receive, Scope, Send

from remem._version import __version__
from remem.errors import RememError
from remem.memory import Memory
from remem.models import AuditEntry, HistoryEntry, Kind, MemoryRecord
from remem.models.procedural import ProcedureHit
from remem.models.audit import LOCAL_ACTOR, set_actor
from remem.models.checks import describe

TENANT_SCOPE_KEY = "remem.tenant"
ACTOR_SCOPE_KEY = "remem.actor"  # the key's name: audit entries of the request are attributed to it

INSTRUCTIONS = (
    "remem is the user's long-term memory. Call search_memory or get_context before answering "
    "questions that may depend on earlier conversations; call add_memory to remember facts, "
    "preferences and events worth keeping. Always pass the same user_id for the same person."
)

UserId = Annotated[str, Field(min_length=1, max_length=256, description="Whose memory: a stable id of the end user.")]
OptSession = Annotated[str | None, Field(max_length=256, description="Optional conversation/session id to narrow to.")]
KindArg = Annotated[
    Kind | None,
    Field(description="Optional memory kind: episodic (a conversation turn), semantic (a fact), "
                      "procedural, profile or summary."),
]

OptNow = Annotated[
    str | None,
    Field(max_length=100, description="Optional current date/time (ISO 8601, e.g. 2024-05-01T12:00:00Z) that "
                                      "relative words like 'last week' refer to; default: now."),
]


class MemoryOut(BaseModel):
    """A memory as the tools return it (the essentials of remem's MemoryRecord)."""

    id: str
    content: str
    kind: Kind
    user_id: str | None
    session_id: str | None
    role: str | None
    created_at: datetime
    event_time: datetime | None
    metadata: dict[str, Any]

    @classmethod
    def of(cls, rec: MemoryRecord) -> "MemoryOut":
        return cls(**{name: getattr(rec, name) for name in cls.model_fields})


class HitOut(MemoryOut):
    score: float = Field(description="Fused relevance score; higher is better.")


class ContextOut(BaseModel):
    text: str = Field(description="Ready-to-prompt block of memories, grouped by session, in time order.")
    tokens: int
    complete: bool = Field(description="True when every memory in scope fit in the budget.")
    memory_ids: list[str]


class MemoryList(BaseModel):
    memories: list[MemoryOut]
    total: int


class HitList(BaseModel):
    hits: list[HitOut]


class Deleted(BaseModel):
    id: str
    deleted: bool


class VersionOut(BaseModel):
    version: int
    op: str = Field(description="ADD, UPDATE, INVALIDATE, DELETE, ...")
    changed_at: datetime
    reason: str | None
    changed_fields: list[str]
    content: str


class History(BaseModel):
    id: str
    versions: list[VersionOut] = Field(description="Every version, oldest first.")


class AuditOut(BaseModel):
    seq: int
    at: datetime
    op: str = Field(description="ADD, UPDATE, DELETE, ARCHIVE, RESTORE, MERGE, ROLLBACK, PURGE, REFUSE, ...")
    memory_id: str | None
    actor: str | None = Field(description="The API key's name, or 'local'")
    versions: str = Field(description="before→after version")
    reason: str | None


class AuditLog(BaseModel):
    entries: list[AuditOut] = Field(description="Oldest first.")
    next_after: int | None = Field(description="Pass as after= for the next page; null when this was the last.")


def _audit(entry: AuditEntry) -> AuditOut:
    return AuditOut(seq=entry.seq, at=entry.at, op=entry.op, memory_id=entry.memory_id, actor=entry.actor,
                    versions=f"{entry.before_version or '-'}→{entry.after_version or '-'}",
                    reason=entry.detail.get("reason"))


class StrategyOut(BaseModel):
    id: str
    type: str = Field(description="strategy (learned), or trajectory (a past attempt)")
    title: str
    when_to_apply: str | None
    steps: list[str] = Field(description="What to do (polarity do) or to avoid")
    polarity: str
    level: str | None = Field(description="instance (this kind of task) or concept (transfers)")
    success_rate: float | None
    score: float


class Procedures(BaseModel):
    procedures: list[StrategyOut]


class Learned(BaseModel):
    trajectory_id: str
    changes: list[dict[str, Any]] = Field(description="ADD / UPDATE / NOOP per distilled strategy")


def _strategy(hit: ProcedureHit) -> StrategyOut:
    return StrategyOut(id=hit.memory.id, type=hit.type, title=hit.title, when_to_apply=hit.when_to_apply, steps=hit.steps,
                       polarity=hit.polarity, level=hit.level, success_rate=hit.success_rate, score=hit.score)


def _version(entry: HistoryEntry) -> VersionOut:
    return VersionOut(version=entry.version, op=entry.op.value, changed_at=entry.changed_at, reason=entry.reason,
                      changed_fields=entry.changed_fields, content=entry.record.content)


def _out(model: BaseModel) -> CallToolResult:
    """The structured result, and the same as compact JSON text (no indentation: tokens)."""
    return CallToolResult(content=[TextContent(type="text", text=model.model_dump_json())],
                          structured_content=model.model_dump(mode="json"))


READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
ADD = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False)
UPDATE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
DELETE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False)


class _Server(MCPServer):
    """Reports invalid tool arguments in one line, like remem's own errors."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(f"invalid_input: {describe(exc.__cause__)}") from None
            raise


def build_mcp(memory_for: Callable[[str | None], Memory]) -> MCPServer:
    """An MCP server whose tools act on ``memory_for(tenant)``.

    ``tenant`` is what the HTTP layer put on the request scope, or None over stdio;
    ``memory_for`` decides (stdio: the configured tenant; HTTP: refuse None).
    """
    server = _Server("remem", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    def memory(ctx: Context) -> Memory:
        request = ctx.request_context.request if ctx.request_context is not None else None
        scope = getattr(request, "scope", None)
        tenant = scope.get(TENANT_SCOPE_KEY) if isinstance(scope, dict) else None
        actor = scope.get(ACTOR_SCOPE_KEY) if isinstance(scope, dict) else None
        set_actor(f"{actor or LOCAL_ACTOR} (mcp)", uuid.uuid4().hex[:16])  # this tool call's audit entries
        return memory_for(tenant)

    async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
        except RememError as exc:
            raise ToolError(f"{exc.code}: {exc}") from None

    @server.tool(description="Remember something about a user: store a message or fact as a memory. "
                             "Returns the stored memory (re-adding the same message is a no-op).", annotations=ADD)
    async def add_memory(
        content: Annotated[str, Field(min_length=1, max_length=100_000, description="The text to remember.")],
        user_id: UserId,
        ctx: Context,
        session_id: OptSession = None,
        role: Annotated[str, Field(max_length=64, description="Who said it: user, assistant, ...")] = "user",
        kind: Annotated[Kind, Field(description="episodic (default: a conversation turn) or semantic (a fact), "
                                               "procedural, profile, summary.")] = Kind.EPISODIC,
        metadata: Annotated[dict[str, Any] | None, Field(description="Optional JSON metadata to keep.")] = None,
    ) -> Annotated[CallToolResult, MemoryList]:
        mem = memory(ctx)
        records = await call(
            mem.add, {"role": role, "content": content}, user_id=user_id, session_id=session_id,
            metadata=metadata, kind=kind,
        )
        return _out(MemoryList(memories=[MemoryOut.of(r) for r in records], total=len(records)))

    @server.tool(description="Search a user's memories by meaning and keywords (hybrid search); best first.",
                 annotations=READ)
    async def search_memory(
        query: Annotated[str, Field(min_length=1, max_length=10_000, description="What to look for.")],
        user_id: UserId,
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=50, description="How many results.")] = 5,
        session_id: OptSession = None,
        kind: KindArg = None,
        now: OptNow = None,
        threshold: Annotated[float | None, Field(ge=0, le=1, description="Drop hits scoring below this (estimated probability of relevance).")] = None,
    ) -> Annotated[CallToolResult, HitList]:
        mem = memory(ctx)
        hits = await call(mem.search, query, user_id=user_id, session_id=session_id, limit=limit, kind=kind, now=now, threshold=threshold)
        return _out(HitList(hits=[HitOut(**MemoryOut.of(h.memory).model_dump(), score=h.score) for h in hits]))

    @server.tool(description="Get a ready-to-prompt block of a user's memories relevant to a query, "
                             "within a token budget (everything, when it all fits).", annotations=READ)
    async def get_context(
        query: Annotated[str, Field(min_length=1, max_length=10_000, description="The question or task at hand.")],
        user_id: UserId,
        ctx: Context,
        token_budget: Annotated[int, Field(ge=50, le=100_000, description="Maximum tokens of the block.")] = 1000,
        session_id: OptSession = None,
        now: OptNow = None,
    ) -> Annotated[CallToolResult, ContextOut]:
        mem = memory(ctx)
        c = await call(mem.context, query, user_id=user_id, session_id=session_id, token_budget=token_budget, now=now)
        return _out(ContextOut(text=c.text, tokens=c.tokens, complete=c.complete, memory_ids=[m.id for m in c.memories]))

    @server.tool(description="List a user's memories, newest first, a page at a time.", annotations=READ)
    async def list_memories(
        user_id: UserId,
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=200, description="Page size.")] = 20,
        offset: Annotated[int, Field(ge=0, description="How many to skip.")] = 0,
        session_id: OptSession = None,
        kind: KindArg = None,
    ) -> Annotated[CallToolResult, MemoryList]:
        mem = memory(ctx)
        scope = dict(user_id=user_id, session_id=session_id, kind=kind)
        records = await call(mem.get_all, **scope, limit=limit, offset=offset)
        total = await call(mem.count, **scope)
        return _out(MemoryList(memories=[MemoryOut.of(r) for r in records], total=total))

    @server.tool(description="Correct or refine one memory by id: new content and/or metadata (merged). "
                             "The previous version stays in its history.", annotations=UPDATE)
    async def update_memory(
        memory_id: Annotated[str, Field(min_length=1, max_length=256, description="The id of the memory.")],
        ctx: Context,
        content: Annotated[str | None, Field(min_length=1, max_length=100_000, description="The new text.")] = None,
        metadata: Annotated[dict[str, Any] | None, Field(description="Keys to set (null removes a key).")] = None,
        reason: Annotated[str | None, Field(max_length=1000, description="Why (kept in history).")] = None,
    ) -> Annotated[CallToolResult, MemoryOut]:
        mem = memory(ctx)
        record = await call(mem.update, memory_id, content=content, metadata=metadata, reason=reason)
        return _out(MemoryOut.of(record))

    @server.tool(description="Every version of one memory, oldest first: what changed, when and why.",
                 annotations=READ)
    async def memory_history(
        memory_id: Annotated[str, Field(min_length=1, max_length=256, description="The id of the memory.")],
        ctx: Context,
    ) -> Annotated[CallToolResult, History]:
        mem = memory(ctx)
        entries = await call(mem.history, memory_id)
        return _out(History(id=memory_id, versions=[_version(e) for e in entries]))

    @server.tool(description="Learn from a finished task: store its steps and outcome (success or failure); with an "
                             "LLM, distil reusable strategies (what to do, or what to avoid).", annotations=UPDATE)
    async def learn(
        task: Annotated[str, Field(min_length=1, max_length=10_000, description="The task that was attempted.")],
        trajectory: Annotated[list[str | dict[str, Any]], Field(min_length=1, max_length=500, description="The steps taken.")],
        outcome: Annotated[Literal["success", "failure"], Field(description="How it ended.")],
        ctx: Context,
        feedback: Annotated[str | None, Field(max_length=10_000, description="What the user or environment said.")] = None,
        task_id: Annotated[str | None, Field(max_length=256, description="The id given to recall_procedures.")] = None,
        agent_id: Annotated[str | None, Field(max_length=256, description="The agent that learns.")] = None,
        user_id: Annotated[str | None, Field(max_length=256, description="Optional: a user-specific lesson.")] = None,
    ) -> Annotated[CallToolResult, Learned]:
        mem = memory(ctx)
        result = await call(mem.learn, task, trajectory, outcome, feedback=feedback, task_id=task_id,
                            agent_id=agent_id, user_id=user_id)
        return _out(Learned(trajectory_id=result.trajectory.id, changes=[c.model_dump() for c in result.changes]))

    @server.tool(description="Before a task: recall strategies learned from earlier successes and failures, best "
                             "first (pass task_id, then report the outcome with learn). With task_id it notes "
                             "what it showed, to count the outcome on it.", annotations=ADD)
    async def recall_procedures(
        task: Annotated[str, Field(min_length=1, max_length=10_000, description="The new task.")],
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=20, description="At most this many.")] = 5,
        task_id: Annotated[str | None, Field(max_length=256, description="An id for this task, to learn its outcome.")] = None,
        agent_id: Annotated[str | None, Field(max_length=256, description="The agent.")] = None,
        user_id: Annotated[str | None, Field(max_length=256, description="Optional: the user.")] = None,
    ) -> Annotated[CallToolResult, Procedures]:
        mem = memory(ctx)
        hits = await call(mem.procedures, task, agent_id=agent_id, user_id=user_id, limit=limit, task_id=task_id)
        return _out(Procedures(procedures=[_strategy(h) for h in hits]))

    @server.tool(description="The audit log of a user's memories, oldest first: every add, change, deletion, "
                             "archiving, merge and rollback with when and who. Read-only.", annotations=READ)
    async def audit_log(
        user_id: UserId,
        ctx: Context,
        memory_id: Annotated[str | None, Field(max_length=256, description="Only this memory.")] = None,
        since: Annotated[str | None, Field(max_length=100, description="Only entries from this time (ISO 8601).")] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many entries.")] = 50,
        after: Annotated[int, Field(ge=0, le=2**63 - 1, description="Only entries after this seq (paging).")] = 0,
    ) -> Annotated[CallToolResult, AuditLog]:
        mem = memory(ctx)
        entries = await call(mem.audit, user_id=user_id, memory_id=memory_id, since=since, limit=limit, after=after)
        nxt = entries[-1].seq if len(entries) == limit else None
        return _out(AuditLog(entries=[_audit(e) for e in entries], next_after=nxt))

    @server.tool(description="Delete (forget) one memory by id. It disappears from search and lists; "
                             "its history is kept.", annotations=DELETE)
    async def delete_memory(
        memory_id: Annotated[str, Field(min_length=1, max_length=256, description="The id of the memory.")],
        ctx: Context,
        reason: Annotated[str | None, Field(max_length=1000, description="Why (kept in history).")] = None,
    ) -> Annotated[CallToolResult, Deleted]:
        mem = memory(ctx)
        record = await call(mem.delete, memory_id, reason=reason)
        return _out(Deleted(id=record.id, deleted=record.is_deleted))

    return server


class MCPAuth:
    """ASGI wrapper in front of the MCP endpoint: resolve the bearer key, put the
    tenant on the scope, or answer 401 in the REST error shape."""

    def __init__(self, app: Any, resolve: Callable[[Scope], Any]) -> None:
        self.app = app
        self.resolve = resolve  # scope -> a Caller (tenant, actor), or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from remem.server.errors import error_response

        caller = await anyio.to_thread.run_sync(lambda: self.resolve(scope))
        if caller is None:
            response = error_response(
                401, "unauthorized", "missing, unknown or revoked API key (Authorization: Bearer <key>)",
                {"WWW-Authenticate": 'Bearer realm="remem"'},
            )
            await response(scope, receive, send)
            return
        scope[TENANT_SCOPE_KEY] = caller.tenant
        scope[ACTOR_SCOPE_KEY] = caller.actor
        await self.app(scope, receive, send)


def http_endpoint(server: MCPServer, resolve: Callable[[Scope], Any], host: str) -> tuple[Any, Any]:
    """(ASGI endpoint for ``/mcp``, the session manager whose ``run()`` the app lifespan must enter).

    Stateless JSON mode: each POST is self-contained, so any worker can answer it.
    """
    security = None
    if host in ("127.0.0.1", "localhost", "::1"):
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    server.streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True, transport_security=security, host=host,
    )
    manager = server.session_manager
    return MCPAuth(StreamableHTTPASGIApp(manager), resolve), manager
