"""LangGraph long-term memory kept by remem: :class:`RememStore`, a LangGraph ``BaseStore``.

>>> from remem import Memory
>>> from remem.integrations.langgraph import RememStore, namespace_scope
>>> store = RememStore(Memory("memory.db"), scope=namespace_scope(user_id=1))
>>> store.put(("memories", "alice"), "diet", {"text": "Alice is vegetarian"})
>>> store.search(("memories", "alice"), query="what does alice eat?")[0].value
{'text': 'Alice is vegetarian'}
>>> graph = builder.compile(store=store)   # nodes that take ``store: BaseStore`` get it

How items map onto memories
---------------------------
One item is one remem memory (kind ``semantic`` unless ``kind=`` says otherwise):

- ``content`` is the item's searchable text: the value fields named by ``put(..., index=[...])``,
  else by the store's ``index={"fields": [...]}``, else the whole value as ``path: value``
  lines. LangGraph paths work (``"a.b"``, ``"items[*].text"``, ``"$"`` for the whole value).
- ``metadata`` holds the item: ``lg_ns`` (the namespace joined by "."; labels cannot contain
  one), ``lg_ns0``, ``lg_ns1``, … (one key a level, so a namespace prefix is an equality
  filter), ``lg_depth``, ``lg_key``, ``lg_value`` (the JSON value, returned exactly) and
  ``lg_indexed`` (False after ``put(..., index=False)`` or when no indexed field has text).
- ``user_id`` / ``agent_id`` / ``session_id`` come from the store (``RememStore(mem,
  user_id="alice")``) or from ``scope(namespace)``, a function returning some of them, e.g.
  :func:`namespace_scope`. It also sees search prefixes (a prefix too short to name an id
  leaves that id open: the search spans every user, still limited to the prefix).
- ``created_at`` / ``updated_at`` are the item's.

A ``put`` on an existing (namespace, key) is a ``Memory.update`` (the old value stays in
``Memory.history``); ``put(..., None)`` and ``delete`` soft-delete it. ``search(prefix,
query=...)`` is ``Memory.search``, remem's hybrid dense + BM25 read path, over the indexed
items under the prefix, and ``SearchItem.score`` is remem's score (a probability of
relevance); without a query it lists the prefix, newest first. ``filter`` matches value
fields exactly (nested dicts, dotted paths ``"a.b"``) or with ``$eq $ne $gt $gte $lt $lte``;
the simple conditions run inside the store and every condition is checked again on the values.

Limits: several indexed fields make one text and one vector (LangGraph's own stores embed
each field apart); ``list_namespaces`` reads every item under its prefix; TTL is not
supported (``supports_ttl = False``: ``put(..., ttl=...)`` raises ``NotImplementedError``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice, takewhile
from typing import Any

try:
    from langgraph.store.base import (
        BaseStore,
        GetOp,
        InvalidNamespaceError,
        Item,
        ListNamespacesOp,
        MatchCondition,
        Op,
        PutOp,
        Result,
        SearchItem,
        SearchOp,
        get_text_at_path,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "remem.integrations.langgraph needs LangGraph: pip install 'remem[langgraph]'"
    ) from exc

from remem import AsyncMemory, InvalidInputError, Kind, Memory, MemoryRecord
from remem.integrations.langgraph_filters import check_filter, matches, pushed_filters

__all__ = ["RememStore", "namespace_scope"]

ScopeFn = Callable[[tuple[str, ...]], Mapping[str, Any]]
SCOPE_KEYS = ("user_id", "agent_id", "session_id")
MAX_PAGE = 10_000  # the largest limit Memory.search and Memory.get_all take
MAX_TEXT = 100_000  # remem's content limit


def namespace_scope(
    *, user_id: int | None = None, agent_id: int | None = None, session_id: int | None = None
) -> ScopeFn:
    """A ``scope`` reading remem ids from namespace levels: with ``namespace_scope(user_id=1)``
    the item ``("memories", "alice"), "k"`` belongs to user ``alice``."""
    levels = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}
    for name, level in levels.items():
        if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 0):
            raise InvalidInputError(f"namespace_scope: {name} must be a namespace level (an integer >= 0)")

    def scope(namespace: tuple[str, ...]) -> dict[str, str]:
        return {name: namespace[i] for name, i in levels.items() if i is not None and i < len(namespace)}

    return scope


class RememStore(BaseStore):
    """A LangGraph store whose items are remem memories (see the module docstring).

    ``memory``: a :class:`remem.Memory` (or ``AsyncMemory``); the store does not close it.
    ``user_id``/``agent_id``/``session_id``: the scope of every item; ``scope(namespace)``
    may name them per namespace instead. ``index``: LangGraph's index config; only
    ``fields`` is used (remem embeds with the Memory's embedder). ``kind``: the kind of the
    memories written. ``search_kwargs``: passed to ``Memory.search`` (e.g. ``mode``,
    ``threshold``).
    """

    supports_ttl = False

    def __init__(
        self,
        memory: Memory | AsyncMemory,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        scope: ScopeFn | None = None,
        index: Mapping[str, Any] | None = None,
        kind: Kind | str = Kind.SEMANTIC,
        search_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.memory = memory.sync if isinstance(memory, AsyncMemory) else memory
        self.ids = {"user_id": user_id, "agent_id": agent_id, "session_id": session_id}
        if scope is not None and not callable(scope):
            raise InvalidInputError("scope must be a function of the namespace")
        self.scope = scope
        self.fields = _index_fields(index)
        try:
            self.kind = Kind(kind)
        except ValueError:
            raise InvalidInputError(f"unknown kind {kind!r}; use one of {[k.value for k in Kind]}") from None
        self.search_kwargs = dict(search_kwargs or {})
        taken = {"query", "limit", "filters", *SCOPE_KEYS} & set(self.search_kwargs)
        if taken:
            raise InvalidInputError(f"search_kwargs cannot set {sorted(taken)}: the store sets them")

    # -- BaseStore -------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the ops in order; every op is checked first, so a bad one changes nothing."""
        ops = [self._checked(op) for op in ops]
        results: list[Result] = [None] * len(ops)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for i, op in enumerate(ops):
            if isinstance(op, PutOp):  # consecutive puts are written together, the last per item wins
                puts.pop((op.namespace, op.key), None)
                puts[(op.namespace, op.key)] = op
                continue
            self._write(list(puts.values()))
            puts = {}
            if isinstance(op, GetOp):
                results[i] = self._get(op.namespace, op.key)
            elif isinstance(op, SearchOp):
                results[i] = self._search(op)
            else:
                results[i] = self._list_namespaces(op)
        self._write(list(puts.values()))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """:meth:`batch` in a worker thread."""
        return await asyncio.to_thread(self.batch, list(ops))

    # -- checks --------------------------------------------------------------------------
    def _checked(self, op: Op) -> Op:
        """The op with its namespace as a tuple; LangGraph's or remem's error if it is bad."""
        if isinstance(op, GetOp):
            _check_key(op.key)
            return op._replace(namespace=_namespace_arg(op.namespace))
        if isinstance(op, SearchOp):
            _check_page(op.limit, op.offset)
            check_filter(op.filter)
            if op.query is not None and not isinstance(op.query, str):
                raise InvalidInputError("query must be a string")
            return op._replace(namespace_prefix=_namespace_arg(op.namespace_prefix))
        if isinstance(op, ListNamespacesOp):
            _check_page(op.limit, op.offset)
            if op.max_depth is not None and (not isinstance(op.max_depth, int) or op.max_depth < 1):
                raise InvalidInputError("max_depth must be a positive integer")
            conditions = []
            for cond in op.match_conditions or ():
                if cond.match_type not in ("prefix", "suffix"):
                    raise InvalidInputError(f"unknown match type {cond.match_type!r}")
                conditions.append(cond._replace(path=_namespace_arg(cond.path)))
            return op._replace(match_conditions=tuple(conditions))
        if isinstance(op, PutOp):
            op = op._replace(namespace=_namespace_arg(op.namespace, writing=True))
            _check_key(op.key)
            if op.ttl is not None:
                raise NotImplementedError("RememStore does not support TTL (supports_ttl is False); set ttl=None")
            if op.value is not None:
                value = _json_value(op.value)
                if op.index is not None and op.index is not False and (
                    not isinstance(op.index, list) or not all(isinstance(p, str) for p in op.index)
                ):
                    raise InvalidInputError("index must be False, None or a list of field paths")
                try:  # remem's own checks (text, JSON, depth), before anything is written
                    MemoryRecord(content=".", metadata={**_item_metadata(op.namespace, op.key), "lg_value": value})
                except ValueError as exc:
                    raise InvalidInputError(f"cannot store {op.namespace}/{op.key}: {exc}") from None
                return op._replace(value=value)
            return op
        raise InvalidInputError(f"unknown store operation {type(op).__name__}")

    def _ids(self, namespace: tuple[str, ...]) -> dict[str, str | None]:
        ids = dict(self.ids)
        if self.scope is not None:
            found = self.scope(tuple(namespace))
            if not isinstance(found, Mapping) or set(found) - set(SCOPE_KEYS):
                raise InvalidInputError(f"scope() must return a dict with some of {list(SCOPE_KEYS)}, got {found!r}")
            ids.update({k: v for k, v in found.items() if v is not None})
        return ids

    # -- writes --------------------------------------------------------------------------
    def _write(self, puts: list[PutOp]) -> None:
        new: list[MemoryRecord] = []
        for op in puts:
            found = self._find(op.namespace, op.key)
            for stale in found if op.value is None else found[1:]:
                self.memory.delete(stale.id, reason="langgraph delete")
            if op.value is None:
                continue
            content, indexed = self._content(op.namespace, op.key, op.value, op.index)
            meta = {"lg_value": op.value, "lg_indexed": indexed}
            if found:
                self.memory.update(found[0].id, content=content, metadata=meta, reason="langgraph put")
            else:
                new.append(MemoryRecord(
                    content=content, kind=self.kind, **self._ids(op.namespace),
                    metadata={**_item_metadata(op.namespace, op.key), **meta},
                ))
        if new:
            self.memory.add_records(new)  # one embedding batch

    def _content(
        self, namespace: tuple[str, ...], key: str, value: dict[str, Any], index: Any
    ) -> tuple[str, bool]:
        """The memory's text and whether it is searchable."""
        if index is not False:
            text = _text(value, self.fields if index is None else index)
            if text.strip():
                return text[:MAX_TEXT], True
        fallback = "\n".join(_leaf_lines(value)) or "/".join(namespace) + "/" + key
        return fallback[:MAX_TEXT], False

    # -- reads ---------------------------------------------------------------------------
    def _find(self, namespace: tuple[str, ...], key: str) -> list[MemoryRecord]:
        where = {"lg_ns": ".".join(namespace), "lg_key": key}
        return self.memory.get_all(**self._ids(namespace), filters=where, limit=10)

    def _get(self, namespace: tuple[str, ...], key: str) -> Item | None:
        found = self._find(namespace, key)
        return _item(found[0]) if found else None

    def _search(self, op: SearchOp) -> list[SearchItem]:
        if op.limit == 0:
            return []
        ids = self._ids(op.namespace_prefix)
        where = {**_prefix_filters(op.namespace_prefix), **pushed_filters(op.filter or {})}
        want = op.offset + op.limit
        if not (op.query and op.query.strip()):
            if op.filter:
                page = min(MAX_PAGE, want)
                matching = (r for r in self._scan(ids, where, page) if matches(r.metadata["lg_value"], op.filter))
                rows = islice(matching, op.offset, want)
            else:
                rows = islice(self._scan(ids, where, min(MAX_PAGE, op.limit), start=op.offset), op.limit)
            return [_search_item(r) for r in rows]
        where["lg_indexed"] = True
        n = min(MAX_PAGE, want)
        while True:  # fetch more when conditions the store could not check drop hits
            hits = self.memory.search(op.query, **ids, filters=where, limit=n, **self.search_kwargs)
            kept = [h for h in hits if matches(h.memory.metadata["lg_value"], op.filter or {})]
            if len(kept) >= want or len(hits) < n or n == MAX_PAGE:
                break
            n = min(MAX_PAGE, n * 4)
        return [_search_item(h.memory, h.score) for h in kept[op.offset:want]]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        conditions = op.match_conditions or ()
        prefix = next((c.path for c in conditions if c.match_type == "prefix"), ())
        fixed = tuple(takewhile(lambda label: label != "*", prefix))
        found = set()
        for record in self._scan(self._ids(fixed), _prefix_filters(prefix, wildcards=True), MAX_PAGE):
            namespace = _namespace(record)
            if all(_namespacematches(c, namespace) for c in conditions):
                found.add(namespace if op.max_depth is None else namespace[: op.max_depth])
        return sorted(found)[op.offset : op.offset + op.limit]

    def _scan(self, ids: dict[str, Any], where: dict[str, Any], page: int, start: int = 0) -> Iterator[MemoryRecord]:
        """Every matching memory, newest first, read ``page`` at a time as needed."""
        offset = start
        while True:
            records = self.memory.get_all(**ids, filters=where, limit=page, offset=offset)
            yield from records
            if len(records) < page:
                return
            offset += len(records)


# -- mapping ------------------------------------------------------------------------------
def _item_metadata(namespace: tuple[str, ...], key: str) -> dict[str, Any]:
    levels = {f"lg_ns{i}": label for i, label in enumerate(namespace)}
    return {"lg_ns": ".".join(namespace), **levels, "lg_depth": len(namespace), "lg_key": key}


def _namespace(record: MemoryRecord) -> tuple[str, ...]:
    return tuple(record.metadata["lg_ns"].split("."))


def _fields(record: MemoryRecord) -> dict[str, Any]:
    meta = record.metadata
    return dict(namespace=_namespace(record), key=meta["lg_key"], value=meta["lg_value"],
                created_at=record.created_at, updated_at=record.updated_at)


def _item(record: MemoryRecord) -> Item:
    return Item(**_fields(record))


def _search_item(record: MemoryRecord, score: float | None = None) -> SearchItem:
    return SearchItem(**_fields(record), score=score)


def _prefix_filters(prefix: tuple[str, ...], *, wildcards: bool = False) -> dict[str, Any]:
    """remem filters for the items under ``prefix`` (all items for an empty one)."""
    where: dict[str, Any] = {"lg_depth": {"gte": max(1, len(prefix))}}
    where.update({f"lg_ns{i}": label for i, label in enumerate(prefix) if not (wildcards and label == "*")})
    return where


def _namespacematches(cond: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(cond.path)
    if len(namespace) < len(path):
        return False
    part = namespace[: len(path)] if cond.match_type == "prefix" else namespace[len(namespace) - len(path):]
    return all(p == "*" or p == label for p, label in zip(path, part))


def _index_fields(index: Mapping[str, Any] | None) -> list[str]:
    if index is None:
        return ["$"]
    if not isinstance(index, Mapping):
        raise InvalidInputError("index must be a dict like {'fields': ['text']}")
    if "embed" in index:
        raise InvalidInputError("RememStore embeds with the Memory's embedder: give index={'fields': [...]} "
                                "and choose the model with Memory(embedder=...)")
    unknown = set(index) - {"fields", "dims"}
    if unknown:
        raise InvalidInputError(f"unknown index settings {sorted(unknown)}; RememStore uses 'fields'")
    fields = index.get("fields") or ["$"]
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise InvalidInputError("index fields must be a list of field paths")
    return list(fields)


def _text(value: dict[str, Any], paths: list[str]) -> str:
    parts: list[str] = []
    for path in paths:
        parts.extend(_leaf_lines(value) if path == "$" else get_text_at_path(value, path))
    return "\n".join(p for p in parts if p.strip())


def _leaf_lines(value: Any, path: str = "") -> Iterator[str]:
    """The whole value as text: one ``path: value`` line per non-empty scalar."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaf_lines(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for v in value:
            yield from _leaf_lines(v, path)
    elif value is not None and str(value).strip():
        yield f"{path}: {value}" if path else str(value)


# -- input checks -------------------------------------------------------------------------
def _namespace_arg(namespace: Any, *, writing: bool = False) -> tuple[str, ...]:
    """A namespace (tuple or list) checked by LangGraph's rules, as a tuple."""
    if not isinstance(namespace, (tuple, list)):
        raise InvalidNamespaceError(f"namespace must be a tuple of strings, got {namespace!r}")
    namespace = tuple(namespace)
    if writing and not namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    if writing and namespace[0] == "langgraph":
        raise InvalidNamespaceError(f'Root label for namespace cannot be "langgraph". Got: {namespace}')
    for label in namespace:
        if not isinstance(label, str) or not label or "." in label or "\x00" in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} in {namespace}: labels are non-empty strings "
                "without periods or NUL characters"
            )
    return namespace


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise InvalidInputError(f"key must be a string, got {type(key).__name__}")


def _check_page(limit: Any, offset: Any) -> None:
    for name, v in (("limit", limit), ("offset", offset)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise InvalidInputError(f"{name} must be a non-negative integer")


def _json_value(value: Any) -> dict[str, Any]:
    """The value as JSON gives it back (tuples become lists); InvalidInputError if it is not JSON."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(f"value must be a dict (or None to delete), got {type(value).__name__}")
    try:
        return json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"value must be JSON-serialisable: {exc}") from None
