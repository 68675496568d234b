"""Python clients for a remem server, with the same methods and return types as
:class:`remem.Memory` — moving from embedded to server is one line::

    mem = Memory("memory.db")                                   # embedded
    mem = RememClient("http://127.0.0.1:8080", api_key="rk_…")  # server

``AsyncRememClient`` is the awaitable twin (like :class:`remem.AsyncMemory`).
Server errors come back as remem's own exceptions (``NotFoundError``,
``InvalidInputError``, …); auth failures as :class:`AuthenticationError`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator
from urllib.parse import quote

import httpx
from pydantic_core import to_jsonable_python

from remem.errors import (
    APIError,
    AuthenticationError,
    EmbeddingMismatchError,
    InvalidInputError,
    NotFoundError,
    RememError,
    ServerUnavailableError,
    StoreError,
)
from remem.jsonl import open_text, read_jsonl
from remem.models import HistoryEntry, Kind, MemoryRecord, SearchHit
from remem.store.base import Link
from remem.models import Context

__all__ = ["APIError", "AsyncRememClient", "AuthenticationError", "RememClient", "ServerUnavailableError"]

PAGE = 1000  # the server's largest page
IMPORT_BATCH = 500


_ERRORS: dict[str, type[RememError]] = {
    "invalid_input": InvalidInputError,
    "not_found": NotFoundError,
    "store_error": StoreError,
    "embedding_mismatch": EmbeddingMismatchError,
}


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        err = response.json()["error"]
        code, message = str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", f"HTTP {response.status_code}: {response.text[:200]}"
    if response.status_code in (401, 403):
        raise AuthenticationError(message, status=response.status_code, code=code)
    cls = _ERRORS.get(code)
    if cls is not None:
        raise cls(message)
    raise APIError(message, status=response.status_code, code=code)


def _unavailable(base_url: str, exc: httpx.TransportError) -> ServerUnavailableError:
    if isinstance(exc, httpx.TimeoutException):
        return ServerUnavailableError(f"remem server at {base_url} did not answer in time ({type(exc).__name__})", code="timeout")
    return ServerUnavailableError(f"cannot reach the remem server at {base_url}: {exc or type(exc).__name__}")


@dataclass
class _Call:
    """One HTTP request and how to turn its JSON into the return value."""

    method: str
    path: str
    parse: Callable[[Any], Any]
    params: list[tuple[str, Any]] = field(default_factory=list)
    json: Any = None


def _body(**values: Any) -> dict[str, Any]:
    return to_jsonable_python({k: v for k, v in values.items() if v is not None})


def _kinds(kind: Any) -> list[str] | None:
    if kind is None:
        return None
    return [Kind(k).value if isinstance(k, Kind) else k for k in (kind if isinstance(kind, list) else [kind])]


def _time(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _scope_params(user_id: Any, agent_id: Any, session_id: Any, kind: Any, filters: Any, time_range: Any,
                  include_deleted: bool) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = [
        (k, v) for k, v in (("user_id", user_id), ("agent_id", agent_id), ("session_id", session_id)) if v is not None
    ]
    params += [("kind", k) for k in _kinds(kind) or []]
    if filters is not None:
        if not isinstance(filters, dict):
            raise InvalidInputError("filters must be a dict")
        try:
            params.append(("filters", json.dumps(to_jsonable_python(filters))))
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidInputError(f"filters cannot be sent as JSON ({exc})") from None
    if time_range is not None:
        if not isinstance(time_range, (tuple, list)) or len(time_range) != 2:
            raise InvalidInputError("time_range must be a (start, end) pair; either may be None")
        for name, value in zip(("since", "until"), time_range, strict=True):
            if value is not None:
                params.append((name, str(_time(value))))
    if include_deleted:
        params.append(("include_deleted", "true"))
    return params


def _seg(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError("id must be a non-empty string")
    return quote(value, safe="")


def _records(data: Any) -> list[MemoryRecord]:
    return [MemoryRecord.model_validate(r) for r in data["items"]]


# -- request builders: one per Memory method, no I/O ----------------------------------------


def add(messages: str | dict[str, Any] | list[dict[str, Any]], *, user_id: str | None = None,
        agent_id: str | None = None, session_id: str | None = None, timestamp: Any = None,
        metadata: dict[str, Any] | None = None, kind: Kind | str = Kind.EPISODIC) -> _Call:
    """Store messages as memories (one per message); see :meth:`remem.Memory.add`."""
    body = _body(messages=messages, user_id=user_id, agent_id=agent_id, session_id=session_id,
                 timestamp=timestamp, metadata=metadata, kind=kind)
    return _Call("POST", "/v1/memories", _records, json=body)


def add_records(records: Iterable[MemoryRecord]) -> _Call:
    """Store ready-made records of any kind; see :meth:`remem.Memory.add_records`."""
    body = {"records": [r.model_dump(mode="json") for r in records]}
    return _Call("POST", "/v1/records", _records, json=body)


def search(query: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
           limit: int = 10, filters: dict[str, Any] | None = None, time_range: tuple[Any, Any] | None = None,
           kind: Any = None, mode: str | None = None, now: Any = None, as_of: Any = None,
           threshold: float | None = None) -> _Call:
    """Hybrid search, best first; see :meth:`remem.Memory.search`."""
    body = _body(query=query, user_id=user_id, agent_id=agent_id, session_id=session_id, limit=limit,
                 filters=filters, time_range=list(time_range) if isinstance(time_range, tuple) else time_range,
                 kind=kind, mode=mode, now=now, as_of=as_of, threshold=threshold)
    return _Call("POST", "/v1/search", lambda d: [SearchHit.model_validate(h) for h in d["items"]], json=body)


def context(query: str, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
            token_budget: int = 2000, filters: dict[str, Any] | None = None, kind: Any = None,
            now: Any = None, as_of: Any = None, neighbors: int = 1) -> _Call:
    """A ready-to-prompt block within ``token_budget``; see :meth:`remem.Memory.context`."""
    body = _body(query=query, user_id=user_id, agent_id=agent_id, session_id=session_id,
                 token_budget=token_budget, filters=filters, kind=kind, now=now, as_of=as_of, neighbors=neighbors)
    return _Call("POST", "/v1/context", Context.model_validate, json=body)


def get(memory_id: str) -> _Call:
    """One memory (deleted ones too); ``NotFoundError`` if absent."""
    return _Call("GET", f"/v1/memories/{_seg(memory_id)}", MemoryRecord.model_validate, params=[("include_deleted", "true")])


def update(memory_id: str, *, content: str | None = None, metadata: dict[str, Any] | None = None,
           reason: str | None = None, **fields: Any) -> _Call:
    """Change a memory; the old version stays in history; see :meth:`remem.Memory.update`."""
    body = {**_body(content=content, metadata=metadata, reason=reason), **to_jsonable_python(fields)}
    return _Call("PATCH", f"/v1/memories/{_seg(memory_id)}", MemoryRecord.model_validate, json=body)


def delete(memory_id: str, *, reason: str | None = None) -> _Call:
    """Soft-delete a memory (kept in history)."""
    params = [("reason", reason)] if reason is not None else []
    return _Call("DELETE", f"/v1/memories/{_seg(memory_id)}", MemoryRecord.model_validate, params=params)


def purge(*, user_id: str) -> _Call:
    """Erase everything about a user. Irreversible. Returns how many memories went."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidInputError("user_id is required")
    return _Call("DELETE", f"/v1/users/{quote(user_id, safe='')}", lambda d: int(d["purged"]))


def history(memory_id: str) -> _Call:
    """Every version of a memory, oldest first."""
    return _Call("GET", f"/v1/memories/{_seg(memory_id)}/history",
                 lambda d: [HistoryEntry.model_validate(h) for h in d["items"]], params=[("include_deleted", "true")])


def links(memory_id: str) -> _Call:
    """Links from and to a memory (related, supersedes, …)."""
    return _Call("GET", f"/v1/memories/{_seg(memory_id)}/links",
                 lambda d: [Link(**link) for link in d["items"]], params=[("include_deleted", "true")])


def stats() -> _Call:
    """Counts for this tenant."""
    return _Call("GET", "/v1/stats", dict)


def _import_batch(items: list[dict[str, Any]]) -> _Call:
    return _Call("POST", "/v1/import", lambda d: (int(d["added"]), int(d["skipped"])), json={"items": items})


def _list_page(scope: list[tuple[str, Any]], limit: int, offset: int) -> _Call:
    return _Call("GET", "/v1/memories", lambda d: d, params=[*scope, ("limit", limit), ("offset", offset)])


def _check_page_args(limit: Any, offset: Any) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise InvalidInputError("limit must be an integer from 1 to 10000")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidInputError("offset must be a non-negative integer")


def _build(build: Callable[..., _Call], args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
    """The request for a call; arguments that cannot become one are an InvalidInputError."""
    try:
        return build(*args, **kwargs)
    except RememError:
        raise
    except (UnicodeError, TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{build.__name__}: cannot send these arguments ({exc})") from None


def _sync(build: Callable[..., _Call]) -> Callable[..., Any]:
    @functools.wraps(build)
    def method(self: "RememClient", *args: Any, **kwargs: Any) -> Any:
        return self._send(_build(build, args, kwargs))

    return method


def _async(build: Callable[..., _Call]) -> Callable[..., Any]:
    @functools.wraps(build)
    async def method(self: "AsyncRememClient", *args: Any, **kwargs: Any) -> Any:
        return await self._send(_build(build, args, kwargs))

    return method


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


class RememClient:
    """A remem server, used like :class:`remem.Memory`.

    >>> mem = RememClient("http://127.0.0.1:8080", api_key="rk_…")
    >>> mem.add("I moved to Lisbon", user_id="alice")
    >>> mem.search("where does alice live?", user_id="alice")[0].memory.content
    'I moved to Lisbon'
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8080", api_key: str | None = None, *,
                 timeout: float = 60.0, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout, headers=_headers(api_key))
        if http is not None:
            self._http.headers.update(_headers(api_key))

    def __enter__(self) -> "RememClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: _Call) -> Any:
        try:
            response = self._http.request(call.method, call.path, params=call.params or None, json=call.json)
        except httpx.TransportError as exc:
            raise _unavailable(self.base_url, exc) from exc
        except (UnicodeError, TypeError, ValueError, RecursionError) as exc:  # the request itself cannot be encoded
            raise InvalidInputError(f"cannot send this request: {exc}") from None
        _raise_for(response)
        return call.parse(response.json())

    add = _sync(add)
    add_records = _sync(add_records)
    search = _sync(search)
    context = _sync(context)
    get = _sync(get)
    update = _sync(update)
    delete = _sync(delete)
    purge = _sync(purge)
    history = _sync(history)
    links = _sync(links)
    stats = _sync(stats)

    def get_all(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
                kind: Any = None, filters: dict[str, Any] | None = None, time_range: tuple[Any, Any] | None = None,
                limit: int = 100, offset: int = 0, include_deleted: bool = False) -> list[MemoryRecord]:
        """Memories in scope, newest first (pages of the server are fetched as needed)."""
        _check_page_args(limit, offset)
        scope = _scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted)
        out: list[MemoryRecord] = []
        while len(out) < limit:
            page = self._send(_list_page(scope, min(PAGE, limit - len(out)), offset + len(out)))
            out += [MemoryRecord.model_validate(r) for r in page["items"]]
            if page["next_offset"] is None:
                break
        return out

    def count(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
              kind: Any = None, filters: dict[str, Any] | None = None, time_range: tuple[Any, Any] | None = None,
              include_deleted: bool = False) -> int:
        """How many memories match."""
        scope = _scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted)
        return int(self._send(_list_page(scope, 1, 0))["total"])

    def export(self, *, user_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield every memory (deleted included) with history and vectors, streamed."""
        params = {"user_id": user_id} if user_id is not None else None
        try:
            with self._http.stream("GET", "/v1/export", params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for(response)
                for line in response.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TransportError as exc:
            raise _unavailable(self.base_url, exc) from exc

    def export_file(self, file: str | Path | IO[str], *, user_id: str | None = None) -> int:
        """Write :meth:`export` as JSON Lines; returns the number of memories."""
        with open_text(file, "w") as fh:
            n = 0
            for item in self.export(user_id=user_id):
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
                n += 1
        return n

    def import_(self, items: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Load exported items (sent in batches); returns (imported, skipped)."""
        added = skipped = 0
        batch: list[dict[str, Any]] = []
        for item in [*items, None]:
            if item is not None:
                batch.append(item)
            if batch and (item is None or len(batch) == IMPORT_BATCH):
                a, s = self._send(_import_batch(batch))
                added, skipped, batch = added + a, skipped + s, []
        return added, skipped

    def import_file(self, file: str | Path | IO[str]) -> tuple[int, int]:
        """Read a JSON Lines export; the whole file is parsed before anything is sent."""
        with open_text(file, "r") as fh:
            items = list(read_jsonl(fh))
        return self.import_(items)


class AsyncRememClient:
    """The awaitable twin of :class:`RememClient` (like :class:`remem.AsyncMemory`)."""

    def __init__(self, base_url: str = "http://127.0.0.1:8080", api_key: str | None = None, *,
                 timeout: float = 60.0, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=_headers(api_key))
        if http is not None:
            self._http.headers.update(_headers(api_key))

    async def __aenter__(self) -> "AsyncRememClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, call: _Call) -> Any:
        try:
            response = await self._http.request(call.method, call.path, params=call.params or None, json=call.json)
        except httpx.TransportError as exc:
            raise _unavailable(self.base_url, exc) from exc
        except (UnicodeError, TypeError, ValueError, RecursionError) as exc:  # the request itself cannot be encoded
            raise InvalidInputError(f"cannot send this request: {exc}") from None
        _raise_for(response)
        return call.parse(response.json())

    add = _async(add)
    add_records = _async(add_records)
    search = _async(search)
    context = _async(context)
    get = _async(get)
    update = _async(update)
    delete = _async(delete)
    purge = _async(purge)
    history = _async(history)
    links = _async(links)
    stats = _async(stats)

    async def get_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                      session_id: str | None = None, kind: Any = None, filters: dict[str, Any] | None = None,
                      time_range: tuple[Any, Any] | None = None, limit: int = 100, offset: int = 0,
                      include_deleted: bool = False) -> list[MemoryRecord]:
        """Memories in scope, newest first (pages of the server are fetched as needed)."""
        _check_page_args(limit, offset)
        scope = _scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted)
        out: list[MemoryRecord] = []
        while len(out) < limit:
            page = await self._send(_list_page(scope, min(PAGE, limit - len(out)), offset + len(out)))
            out += [MemoryRecord.model_validate(r) for r in page["items"]]
            if page["next_offset"] is None:
                break
        return out

    async def count(self, *, user_id: str | None = None, agent_id: str | None = None,
                    session_id: str | None = None, kind: Any = None, filters: dict[str, Any] | None = None,
                    time_range: tuple[Any, Any] | None = None, include_deleted: bool = False) -> int:
        """How many memories match."""
        scope = _scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted)
        return int((await self._send(_list_page(scope, 1, 0)))["total"])

    async def export(self, *, user_id: str | None = None) -> list[dict[str, Any]]:
        """Every memory (deleted included) with history and vectors."""
        params = {"user_id": user_id} if user_id is not None else None
        items = []
        try:
            async with self._http.stream("GET", "/v1/export", params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                    _raise_for(response)
                async for line in response.aiter_lines():
                    if line.strip():
                        items.append(json.loads(line))
        except httpx.TransportError as exc:
            raise _unavailable(self.base_url, exc) from exc
        return items

    async def export_file(self, file: str | Path | IO[str], *, user_id: str | None = None) -> int:
        items = await self.export(user_id=user_id)
        with open_text(file, "w") as fh:
            for item in items:
                fh.write(json.dumps(item, ensure_ascii=False) + "\n")
        return len(items)

    async def import_(self, items: Iterable[dict[str, Any]]) -> tuple[int, int]:
        added = skipped = 0
        items = list(items)
        for start in range(0, len(items), IMPORT_BATCH):
            a, s = await self._send(_import_batch(items[start : start + IMPORT_BATCH]))
            added, skipped = added + a, skipped + s
        return added, skipped

    async def import_file(self, file: str | Path | IO[str]) -> tuple[int, int]:
        with open_text(file, "r") as fh:
            items = list(read_jsonl(fh))
        return await self.import_(items)
