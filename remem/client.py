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
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

import httpx

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
from remem import client_calls
from remem.client_calls import Call, check_page_args, import_batch, list_page, scope_params
from remem.models import MemoryRecord

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


def _build(build: Callable[..., Call], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """The request for a call; arguments that cannot become one are an InvalidInputError."""
    try:
        return build(*args, **kwargs)
    except RememError:
        raise
    except (UnicodeError, TypeError, ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{build.__name__}: cannot send these arguments ({exc})") from None


def _sync(build: Callable[..., Call]) -> Callable[..., Any]:
    @functools.wraps(build)
    def method(self: "RememClient", *args: Any, **kwargs: Any) -> Any:
        return self._send(_build(build, args, kwargs))

    return method


def _async(build: Callable[..., Call]) -> Callable[..., Any]:
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

    def _send(self, call: Call) -> Any:
        try:
            response = self._http.request(call.method, call.path, params=call.params or None, json=call.json)
        except httpx.TransportError as exc:
            raise _unavailable(self.base_url, exc) from exc
        except (UnicodeError, TypeError, ValueError, RecursionError) as exc:  # the request itself cannot be encoded
            raise InvalidInputError(f"cannot send this request: {exc}") from None
        _raise_for(response)
        return call.parse(response.json())


    def get_all(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
                kind: Any = None, filters: dict[str, Any] | None = None, time_range: tuple[Any, Any] | None = None,
                limit: int = 100, offset: int = 0, include_deleted: bool = False,
                include_archived: bool = False) -> list[MemoryRecord]:
        """Memories in scope, newest first (pages of the server are fetched as needed)."""
        check_page_args(limit, offset)
        scope = scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted, include_archived)
        out: list[MemoryRecord] = []
        while len(out) < limit:
            page = self._send(list_page(scope, min(PAGE, limit - len(out)), offset + len(out)))
            out += [MemoryRecord.model_validate(r) for r in page["items"]]
            if page["next_offset"] is None:
                break
        return out

    def count(self, *, user_id: str | None = None, agent_id: str | None = None, session_id: str | None = None,
              kind: Any = None, filters: dict[str, Any] | None = None, time_range: tuple[Any, Any] | None = None,
              include_deleted: bool = False, include_archived: bool = False) -> int:
        """How many memories match."""
        scope = scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted, include_archived)
        return int(self._send(list_page(scope, 1, 0))["total"])

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
                a, s = self._send(import_batch(batch))
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

    async def _send(self, call: Call) -> Any:
        try:
            response = await self._http.request(call.method, call.path, params=call.params or None, json=call.json)
        except httpx.TransportError as exc:
            raise _unavailable(self.base_url, exc) from exc
        except (UnicodeError, TypeError, ValueError, RecursionError) as exc:  # the request itself cannot be encoded
            raise InvalidInputError(f"cannot send this request: {exc}") from None
        _raise_for(response)
        return call.parse(response.json())


    async def get_all(self, *, user_id: str | None = None, agent_id: str | None = None,
                      session_id: str | None = None, kind: Any = None, filters: dict[str, Any] | None = None,
                      time_range: tuple[Any, Any] | None = None, limit: int = 100, offset: int = 0,
                      include_deleted: bool = False, include_archived: bool = False) -> list[MemoryRecord]:
        """Memories in scope, newest first (pages of the server are fetched as needed)."""
        check_page_args(limit, offset)
        scope = scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted, include_archived)
        out: list[MemoryRecord] = []
        while len(out) < limit:
            page = await self._send(list_page(scope, min(PAGE, limit - len(out)), offset + len(out)))
            out += [MemoryRecord.model_validate(r) for r in page["items"]]
            if page["next_offset"] is None:
                break
        return out

    async def count(self, *, user_id: str | None = None, agent_id: str | None = None,
                    session_id: str | None = None, kind: Any = None, filters: dict[str, Any] | None = None,
                    time_range: tuple[Any, Any] | None = None, include_deleted: bool = False,
                    include_archived: bool = False) -> int:
        """How many memories match."""
        scope = scope_params(user_id, agent_id, session_id, kind, filters, time_range, include_deleted, include_archived)
        return int((await self._send(list_page(scope, 1, 0)))["total"])

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
            a, s = await self._send(import_batch(items[start : start + IMPORT_BATCH]))
            added, skipped = added + a, skipped + s
        return added, skipped

    async def import_file(self, file: str | Path | IO[str]) -> tuple[int, int]:
        with open_text(file, "r") as fh:
            items = list(read_jsonl(fh))
        return await self.import_(items)


def _bind() -> None:
    """Give both clients a method for every operation: derived from its row when it ``posts``,
    else from its request builder in :mod:`remem.client_calls` (paging, streaming and batching
    methods are written above)."""
    from remem.operations import OPERATIONS

    for op in OPERATIONS:
        if op.posts is not None and op.rest is not None:
            build = client_calls.posted(op.name, op.rest[1], op.posts, op.returns)
        else:
            build = getattr(client_calls, op.name, None)
        if op.client and build is not None:
            for cls, wrap in ((RememClient, _sync), (AsyncRememClient, _async)):
                if op.name not in cls.__dict__:
                    setattr(cls, op.name, wrap(build))


_bind()
