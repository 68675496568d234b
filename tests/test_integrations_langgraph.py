"""RememStore against the real LangGraph: BaseStore behaviour and a compiled graph.

The store cases follow LangGraph's own store tests (libs/checkpoint/tests/test_store.py and
libs/checkpoint-sqlite/tests/test_store.py in langchain-ai/langgraph): LangGraph ships no
reusable BaseStore conformance suite (``langgraph-checkpoint-conformance`` covers
checkpointers only), so the cases that apply are rewritten here. Tests taking ``mem`` run on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)
from typing_extensions import TypedDict

from remem import AsyncMemory, InvalidInputError, Memory, Operation, RememError
from remem.integrations.langgraph import RememStore, namespace_scope


@pytest.fixture
def store(mem: Memory) -> RememStore:
    return RememStore(mem)


@pytest.fixture
def sqlite_store(sqlite_mem: Memory) -> RememStore:
    return RememStore(sqlite_mem)


# -- batch ----------------------------------------------------------------------------------
def test_batch_runs_ops_in_order(store: RememStore) -> None:
    store.put(("test", "foo"), "key1", {"data": "value1"})
    store.put(("test", "bar"), "key2", {"data": "value2"})
    results = store.batch([
        GetOp(("test", "foo"), "key1"),
        PutOp(("test", "bar"), "key2", {"data": "value2b"}),
        SearchOp(("test",), filter={"data": "value1"}),
        ListNamespacesOp(),
        GetOp(("test",), "key3"),
        PutOp(("test",), "key3", {"data": "value3"}),
        GetOp(("test",), "key3"),
        GetOp(("test", "bar"), "key2"),
    ])
    assert isinstance(results[0], Item) and results[0].value == {"data": "value1"}
    assert results[0].namespace == ("test", "foo") and results[0].key == "key1"
    assert results[1] is None
    assert [(i.key, i.value) for i in results[2]] == [("key1", {"data": "value1"})]
    assert set(results[3]) == {("test", "foo"), ("test", "bar")}
    assert results[4] is None  # not there yet: ops run in order
    assert results[5] is None
    assert results[6].value == {"data": "value3"}
    assert results[7].value == {"data": "value2b"}


def test_batch_puts_and_deletes(store: RememStore) -> None:
    store.put(("test",), "gone", {"data": "x"})
    results = store.batch([
        PutOp(("test",), "key1", {"data": "value1"}),
        PutOp(("test",), "key2", {"data": "value2"}),
        PutOp(("test",), "key1", {"data": "value1b"}),  # the last put of an item wins
        PutOp(("test",), "gone", None),
        PutOp(("test",), "never", None),
    ])
    assert results == [None] * 5
    assert store.get(("test",), "key1").value == {"data": "value1b"}
    assert store.get(("test",), "key2").value == {"data": "value2"}
    assert store.get(("test",), "gone") is None
    assert store.memory.count(filters={"lg_key": "key1"}) == 1


def test_batch_search_and_list_ops(store: RememStore) -> None:
    for ns, key, value in [
        (("test", "foo"), "key1", {"data": "value1", "tag": "a"}),
        (("test", "bar"), "key2", {"data": "value2", "tag": "a"}),
        (("test", "baz"), "key3", {"data": "value3", "tag": "b"}),
        (("prod", "documents", "public"), "doc3", {"content": "prod doc"}),
    ]:
        store.put(ns, key, value)
    by_tag, first_two, foo, everything, shallow, public = store.batch([
        SearchOp(("test",), filter={"tag": "a"}),
        SearchOp(("test",), limit=2),
        SearchOp(("test", "foo")),
        ListNamespacesOp(),
        ListNamespacesOp(max_depth=1),
        ListNamespacesOp(match_conditions=(MatchCondition("suffix", ("public",)),)),
    ])
    assert {i.key for i in by_tag} == {"key1", "key2"}
    assert len(first_two) == 2
    assert [i.namespace for i in foo] == [("test", "foo")]
    assert len(everything) == 4
    assert shallow == [("prod",), ("test",)]
    assert public == [("prod", "documents", "public")]


# -- put / get / delete -------------------------------------------------------------------------
def test_put_get_update_delete(store: RememStore) -> None:
    ns = ("test", "documents")
    store.put(ns, "doc1", {"title": "Test Document", "content": "Hello, World!"})
    item = store.get(ns, "doc1")
    assert item is not None and item.namespace == ns and item.key == "doc1"
    assert item.value == {"title": "Test Document", "content": "Hello, World!"}
    assert item.created_at.tzinfo is not None and item.updated_at >= item.created_at

    store.put(ns, "doc1", {"title": "Updated", "content": "Hello, LangGraph!"})
    updated = store.get(ns, "doc1")
    assert updated.value == {"title": "Updated", "content": "Hello, LangGraph!"}
    assert updated.created_at == item.created_at and updated.updated_at > item.updated_at
    assert store.get(("test", "other_documents"), "doc1") is None
    assert store.get(("test",), "doc1") is None and store.get(ns + ("deeper",), "doc1") is None

    record = store.memory.get_all(filters={"lg_key": "doc1"})[0]
    store.delete(ns, "doc1")
    assert store.get(ns, "doc1") is None
    assert store.search(ns) == []
    history = store.memory.history(record.id)  # remem keeps every version
    assert [h.op for h in history] == [Operation.ADD, Operation.UPDATE, Operation.DELETE]
    assert history[0].record.metadata["lg_value"] == {"title": "Test Document", "content": "Hello, World!"}

    store.put(ns, "doc1", {"title": "Back"})  # a new item after a delete
    assert store.get(ns, "doc1").value == {"title": "Back"}


def test_values_round_trip_exactly(store: RememStore) -> None:
    value = {
        "text": "Olá, 世界 — ünïcödé ✓", "n": 3, "x": -2.5, "big": 2**62, "yes": True, "no": False,
        "none": None, "empty": "", "list": [1, "two", {"three": [3.0]}], "nested": {"a": {"b": {"c": []}}},
        "quote": "O'Brien's \"doc\"; DROP TABLE memories; --",
    }
    store.put(("docs",), "all", value)
    store.put(("docs",), "empty", {})
    assert store.get(("docs",), "all").value == value
    assert store.get(("docs",), "empty").value == {}
    store.put(("docs",), "tuple", {"t": (1, 2)})
    assert store.get(("docs",), "tuple").value == {"t": [1, 2]}  # as JSON gives it back
    assert {i.key for i in store.search(("docs",))} == {"all", "empty", "tuple"}


def test_bad_input_raises_and_changes_nothing(sqlite_store: RememStore) -> None:
    store = sqlite_store
    for namespace in [(), ("langgraph", "x"), ("a.b",), ("",), ("ok", 3)]:
        with pytest.raises(InvalidNamespaceError):
            store.put(namespace, "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.search(("a.b",))
    bad_values: list[Any] = [{"v": math.nan}, {"v": object()}, {"v": "nul\x00"}, "not a dict"]
    for value in bad_values:
        with pytest.raises(InvalidInputError):
            store.batch([PutOp(("ok",), "good", {"v": 1}), PutOp(("ok",), "bad", value)])
    assert store.get(("ok",), "good") is None  # the whole batch was refused
    with pytest.raises(NotImplementedError):
        store.put(("ok",), "k", {"v": 1}, ttl=5)
    with pytest.raises(InvalidInputError):
        store.search(("ok",), filter={"v": {"$regex": "x"}})
    with pytest.raises(InvalidInputError):
        store.search(("ok",), limit=-1)
    with pytest.raises(InvalidInputError):
        store.put(("ok",), "k", {"v": 1}, index="v")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="embedder"):
        RememStore(store.memory, index={"dims": 3, "embed": lambda texts: [[0.0] * 3 for _ in texts]})
    with pytest.raises(InvalidInputError):
        RememStore(store.memory, kind="nonsense")
    with pytest.raises(InvalidInputError):
        RememStore(store.memory, scope=lambda ns: {"tenant": "x"}).put(("a",), "k", {"v": 1})
    with pytest.raises(RememError):  # remem's errors, as everywhere
        store.put(("ok",), "k", {"v": math.inf})
    assert store.memory.count() == 0


# -- namespaces -------------------------------------------------------------------------------
def test_list_namespaces(store: RememStore) -> None:
    p = "pref"
    namespaces = [
        (p, "test", "documents", "public", p),
        (p, "test", "documents", "private", p),
        (p, "test", "images", "public", p),
        (p, "test", "images", "private", p),
        (p, "prod", "documents", "public", p),
        (p, "prod", "documents", "some", "nesting", "public", p),
        (p, "prod", "documents", "private", p),
    ]
    store.batch([PutOp(ns, "dummy", {"content": "dummy"}) for ns in namespaces])
    ls = store.list_namespaces
    assert set(ls(prefix=(p,))) == set(namespaces) and ls(prefix=(p,)) == sorted(namespaces)
    assert len(ls(prefix=(p, "test"))) == 4
    assert len(ls(prefix=(p, "test", "documents"))) == 2
    assert len(ls(suffix=("public", p))) == 4
    assert len(ls(prefix=(p, "test"), suffix=("public", p))) == 2
    assert len(ls(prefix=(p, "*", "documents"))) == 5
    assert len(ls(suffix=("*", "public", p))) == 4
    assert ls(suffix=("some", "*", "public", p)) == [namespaces[5]]
    assert ls(max_depth=2) == [(p, "prod"), (p, "test")]
    assert len(ls(prefix=(p, "*", "documents"), max_depth=4)) == 5
    assert len(ls(prefix=(p,), limit=3)) == 3
    assert ls(prefix=(p,), offset=3) == sorted(namespaces)[3:]
    assert ls(prefix=("nope",)) == []


def test_namespace_segments_are_exact(sqlite_store: RememStore) -> None:
    store = sqlite_store
    for ns in [("foo",), ("foo", "child"), ("foo", "child", "deep"), ("foobar",), ("foobar", "baz"), ("foo2",),
               ("user_1",), ("userX1",), ("a%b",), ("axxb",), ("star*",), ("starX",), ("Foo",),
               ("users", "alice"), ("users", "alice\n"), ("uid", "users", "malice")]:
        store.put(ns, "k", {"v": 1})

    def under(prefix: tuple[str, ...]) -> set[tuple[str, ...]]:
        return {i.namespace for i in store.search(prefix, limit=100)}

    assert under(("foo",)) == {("foo",), ("foo", "child"), ("foo", "child", "deep")}
    assert under(("foobar",)) == {("foobar",), ("foobar", "baz")}
    assert under(("fo",)) == set()
    assert under(("user_1",)) == {("user_1",)} and under(("a%b",)) == {("a%b",)}
    assert under(("star*",)) == {("star*",)}  # "*" is literal in a search prefix
    assert under(("Foo",)) == {("Foo",)}
    assert len(under(())) == 16
    assert set(store.list_namespaces(prefix=("foo",))) == {("foo",), ("foo", "child"), ("foo", "child", "deep")}
    assert set(store.list_namespaces(suffix=("alice",))) == {("users", "alice")}
    assert set(store.list_namespaces(prefix=("users", "alice"))) == {("users", "alice")}


# -- listing and filters ------------------------------------------------------------------------
def test_search_without_query_lists_and_pages(store: RememStore) -> None:
    data = [
        (("test", "docs"), "doc1", {"title": "First Doc", "author": "Alice", "tags": ["important"]}),
        (("test", "docs"), "doc2", {"title": "Second Doc", "author": "Bob", "tags": ["draft"]}),
        (("test", "images"), "img1", {"title": "Image 1", "author": "Alice", "tags": ["final"]}),
        (("test", "images"), "img2", {"title": "Image 2", "author": "Carol", "tags": ["draft"]}),
    ]
    for ns, key, value in data:
        store.put(ns, key, value)
    assert len(store.search(("test",))) == 4
    assert {i.key for i in store.search(("test", "docs"))} == {"doc1", "doc2"}
    assert all(isinstance(i, SearchItem) and i.score is None for i in store.search(("test",)))
    assert {i.key for i in store.search(("test",), filter={"author": "Alice"})} == {"doc1", "img1"}
    assert {i.key for i in store.search(("test",), filter={"tags": ["draft"]})} == {"doc2", "img2"}
    first, second = store.search(("test",), limit=2), store.search(("test",), limit=2, offset=2)
    assert len(first) == len(second) == 2 and {i.key for i in first}.isdisjoint(i.key for i in second)
    assert [i.key for i in store.search(("test",))] == ["img2", "img1", "doc2", "doc1"]  # newest first
    assert len(store.search(("test",), offset=3)) == 1
    page = store.search(("test",), filter={"tags": ["draft"]}, limit=1, offset=1)
    assert [i.key for i in page] == ["doc2"]
    assert store.search(("test",), limit=0) == []


def test_filter_operators(store: RememStore) -> None:
    items = {
        "item1": {"price": 10, "qty": 5, "color": "red", "active": True},
        "item2": {"price": 20, "qty": 3, "color": "blue", "active": False},
        "item3": {"price": 30.5, "qty": 1, "color": "red"},
        "item4": {"price": -10, "qty": 0, "color": "green", "active": True},
        "item5": {"price": "n/a", "color": "blue"},
    }
    for key, value in items.items():
        store.put(("items",), key, value)

    def keys(flt: dict[str, Any]) -> set[str]:
        return {i.key for i in store.search(("items",), filter=flt, limit=50)}

    assert keys({"price": {"$gt": 15}}) == {"item2", "item3"}
    assert keys({"price": {"$gte": 20, "$lt": 30.5}}) == {"item2"}
    assert keys({"price": {"$lte": 10}}) == {"item1", "item4"}
    assert keys({"price": {"$lt": 0}}) == {"item4"}
    assert keys({"price": {"$lt": float("inf")}}) == {"item1", "item2", "item3", "item4"}
    assert keys({"price": {"$gt": float("-inf")}}) == {"item1", "item2", "item3", "item4"}
    assert keys({"price": {"$lt": 10**100}}) == {"item1", "item2", "item3", "item4"}
    assert keys({"price": {"$eq": float("nan")}}) == set()
    assert keys({"price": {"$eq": 20}}) == {"item2"}
    assert keys({"price": "n/a"}) == {"item5"}
    assert keys({"color": {"$ne": "red"}}) == {"item2", "item4", "item5"}
    assert keys({"active": {"$ne": True}}) == {"item2", "item3", "item5"}  # a missing field is "not equal"
    assert keys({"active": True}) == {"item1", "item4"}
    assert keys({"active": False}) == {"item2"}
    assert keys({"color": "red", "qty": {"$gte": 2}}) == {"item1"}
    assert keys({"missing": None}) == set(items)
    assert keys({"color": "public' OR '1'='1"}) == set()
    assert keys({"color": "red\x00' OR '1'='1"}) == set()


def test_filter_paths(store: RememStore) -> None:
    store.put(("docs",), "hyphen", {"access-level": "public", "user": {"access-level": "nested"}})
    store.put(("docs",), "digit", {"123abc": "ok", "user": {"123abc": "ok2"}})
    store.put(("docs",), "spaced", {"two words": "yes", "user": {"name": "Ann"}})

    def keys(flt: dict[str, Any]) -> list[str]:
        return [i.key for i in store.search(("docs",), filter=flt)]

    assert keys({"access-level": "public"}) == ["hyphen"]
    assert keys({"user.access-level": "nested"}) == ["hyphen"]
    assert keys({"123abc": "ok"}) == ["digit"]
    assert keys({"user.123abc": "ok2"}) == ["digit"]
    assert keys({"user": {"name": "Ann"}}) == ["spaced"]  # a nested dict matches a subset
    assert keys({"two words": "yes"}) == ["spaced"]  # checked on the values only


# -- semantic search ---------------------------------------------------------------------------
def test_query_search_uses_remem_scores(store: RememStore) -> None:
    docs = {
        "doc1": {"text": "red apple", "color": "red", "score": 4.5},
        "doc2": {"text": "red car", "color": "red", "score": 3.0},
        "doc3": {"text": "green apple", "color": "green", "score": 4.0},
        "doc4": {"text": "blue car", "color": "blue", "score": 3.5},
    }
    store.batch([PutOp(("test",), k, v) for k, v in docs.items()])
    store.put(("other",), "doc5", {"text": "red apple pie"})

    results = store.search(("test",), query="apple", filter={"color": "red"})
    assert len(results) == 2 and results[0].key == "doc1"
    assert store.search(("test",), query="car", filter={"color": "red"})[0].key == "doc2"
    high = store.search(("test",), query="blue car", filter={"score": {"$gt": 3.2}})
    assert len(high) == 3 and high[0].key == "doc4"
    assert store.search(("test",), query="apple", filter={"score": {"$gte": 4.0}, "color": "green"})[0].key == "doc3"

    results = store.search(("test",), query="a red fruit: apple")
    assert all(isinstance(r, SearchItem) for r in results) and {r.key for r in results} == set(docs)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    hits = store.memory.search("a red fruit: apple", filters={"lg_ns0": "test"})  # remem's own read path
    assert [(r.key, r.score) for r in results] == [(h.memory.metadata["lg_key"], h.score) for h in hits]

    page1 = store.search(("test",), query="car", limit=2)
    page2 = store.search(("test",), query="car", limit=2, offset=2)
    assert {r.key for r in page1}.isdisjoint(r.key for r in page2) and len(page1) == len(page2) == 2
    assert page1[0].score >= page1[1].score >= page2[0].score >= page2[1].score


def test_query_edge_cases(sqlite_store: RememStore) -> None:
    sqlite_store.put(("test",), "doc1", {"text": "test document"})
    for query in ["", "   ", None, "test " * 100, "test!@#$%^&*()"]:
        assert [r.key for r in sqlite_store.search(("test",), query=query)] == ["doc1"]


def test_update_reindexes(sqlite_store: RememStore) -> None:
    store = sqlite_store
    store.put(("test",), "doc1", {"text": "zany zebra Xerxes"})
    store.put(("test",), "doc2", {"text": "something about dogs"})
    store.put(("test",), "doc3", {"text": "text about birds"})
    before = store.search(("test",), query="Zany Xerxes")
    assert before[0].key == "doc1"
    store.put(("test",), "doc1", {"text": "new text about cats"})
    after = {r.key: r.score for r in store.search(("test",), query="Zany Xerxes")}
    assert after["doc1"] < before[0].score
    assert store.search(("test",), query="new text about cats")[0].key == "doc1"
    assert store.memory.get_all(filters={"lg_key": "doc1"})[0].content == "text: new text about cats"


def test_index_false_and_index_fields(sqlite_mem: Memory) -> None:
    store = RememStore(sqlite_mem, index={"fields": ["key0", "key1", "key3"]})
    store.put(("test",), "doc1", {"key1": "xylophone", "key2": "yodel", "key3": "zeppelin"})
    store.put(("test",), "doc2", {"key0": "umbrella", "key1": "violin", "key2": "walrus", "key3": "xylophone"})
    store.put(("test",), "doc3", {"key0": "aardvark", "key2": "umbrella"}, index=["key2"])  # per-put fields
    store.put(("test",), "hidden", {"key0": "umbrella xylophone walrus"}, index=False)
    store.put(("test",), "nothing", {"key2": "walrus"})  # no indexed field: not searchable

    def top(query: str) -> str:
        return store.search(("test",), query=query)[0].key

    assert top("umbrella") in {"doc2", "doc3"} and top("zeppelin") == "doc1" and top("violin") == "doc2"
    found = {r.key for r in store.search(("test",), query="umbrella xylophone walrus", limit=10)}
    assert found == {"doc1", "doc2", "doc3"}  # never the unindexed items
    assert {r.key for r in store.search(("test",))} == {"doc1", "doc2", "doc3", "hidden", "nothing"}
    assert store.get(("test",), "hidden").value == {"key0": "umbrella xylophone walrus"}
    contents = {r.metadata["lg_key"]: r.content for r in sqlite_mem.get_all()}
    assert contents["doc1"] == "xylophone\nzeppelin" and contents["doc3"] == "umbrella"

    nested = RememStore(sqlite_mem, index={"fields": ["title", "sections[*].text", "meta.tags[-1]"]})
    nested.put(("nested",), "n", {"title": "Guide", "sections": [{"text": "one"}, {"text": "two"}],
                                  "meta": {"tags": ["a", "last"]}, "skip": "me"})
    assert sqlite_mem.get_all(filters={"lg_ns0": "nested"})[0].content == "Guide\none\ntwo\nlast"
    whole = RememStore(sqlite_mem)
    whole.put(("whole",), "w", {"a": "alpha", "b": {"c": 2, "d": [True, None, "x"]}})
    assert sqlite_mem.get_all(filters={"lg_ns0": "whole"})[0].content == "a: alpha\nb.c: 2\nb.d: True\nb.d: x"


def test_non_ascii(sqlite_store: RememStore) -> None:
    texts = {"1": "这是中文", "2": "これは日本語です", "3": "이건 한국어야", "4": "Это русский", "5": "यह रूसी है"}
    sqlite_store.batch([PutOp(("user_123", "memories"), k, {"text": t}) for k, t in texts.items()])
    for key, text in texts.items():
        assert sqlite_store.search(("user_123", "memories"), query=text)[0].key == key


# -- scopes -------------------------------------------------------------------------------------
def test_namespace_scope_maps_users(mem: Memory) -> None:
    store = RememStore(mem, scope=namespace_scope(user_id=1), agent_id="planner")
    store.put(("memories", "alice"), "city", {"text": "Alice lives in Lisbon"})
    store.put(("memories", "bob"), "city", {"text": "Bob lives in Porto"})
    alice = mem.get_all(user_id="alice")
    assert [(r.user_id, r.agent_id, r.kind.value) for r in alice] == [("alice", "planner", "semantic")]
    assert [r.key for r in store.search(("memories", "alice"), query="where does he live?")] == ["city"]
    assert {r.namespace for r in store.search(("memories",), query="who lives in Porto?")} == {
        ("memories", "alice"), ("memories", "bob")}
    assert store.list_namespaces(prefix=("memories",)) == [("memories", "alice"), ("memories", "bob")]
    assert mem.purge(user_id="alice") == 1  # remem's right to be forgotten covers the store
    assert store.get(("memories", "alice"), "city") is None
    assert store.get(("memories", "bob"), "city").value == {"text": "Bob lives in Porto"}


def test_fixed_scope_and_other_memories(sqlite_mem: Memory) -> None:
    sqlite_mem.add("I love hiking in the Alps", user_id="u1", infer=False)  # not a store item
    mine, theirs = RememStore(sqlite_mem, user_id="u1"), RememStore(sqlite_mem, user_id="u2")
    mine.put(("prefs",), "sport", {"text": "likes hiking"})
    theirs.put(("prefs",), "sport", {"text": "likes chess"})
    assert mine.get(("prefs",), "sport").value == {"text": "likes hiking"}
    assert theirs.get(("prefs",), "sport").value == {"text": "likes chess"}
    assert [i.value for i in mine.search((), query="hiking")] == [{"text": "likes hiking"}]
    assert mine.list_namespaces() == [("prefs",)]
    assert len(sqlite_mem.search("hiking", user_id="u1")) == 2  # remem's search sees store items too
    custom = RememStore(sqlite_mem, scope=lambda ns: {"session_id": ns[-1]} if ns else {})
    custom.put(("chat", "s9"), "k", {"text": "session scoped"})
    assert sqlite_mem.get_all(session_id="s9")[0].metadata["lg_value"] == {"text": "session scoped"}
    with pytest.raises(InvalidInputError):
        namespace_scope(user_id=-1)


def test_async_api(tmp_path: Path, embedder) -> None:
    async def scenario() -> None:
        async with AsyncMemory(tmp_path / "a.db", embedder=embedder) as amem:
            store = RememStore(amem, scope=namespace_scope(user_id=0))
            await store.aput(("alice", "notes"), "n1", {"text": "Alice plays the cello"})
            await store.aput(("alice", "notes"), "n2", {"text": "Alice works as a nurse"})
            got, hits, spaces = await asyncio.gather(
                store.aget(("alice", "notes"), "n1"),
                store.asearch(("alice",), query="what instrument does alice play?", limit=1),
                store.alist_namespaces(prefix=("alice",)),
            )
            assert got.value == {"text": "Alice plays the cello"}
            assert [h.key for h in hits] == ["n1"] and spaces == [("alice", "notes")]
            await store.adelete(("alice", "notes"), "n1")
            assert await store.aget(("alice", "notes"), "n1") is None
            assert (await store.abatch([GetOp(("alice", "notes"), "n2")]))[0].key == "n2"

    asyncio.run(scenario())


# -- a compiled graph -----------------------------------------------------------------------------
class State(TypedDict, total=False):
    user: str
    fact: str
    question: str
    recalled: list[str]


def remember(state: State, store: BaseStore) -> dict[str, Any]:
    """A node taking the store by injection."""
    if state.get("fact"):
        store.put(("memories", state["user"]), uuid.uuid4().hex, {"text": state["fact"]})
    return {}


def recall(state: State, runtime: Runtime) -> dict[str, Any]:
    """A node reaching the store through the runtime."""
    if not state.get("question"):
        return {"recalled": []}
    items = runtime.store.search(("memories", state["user"]), query=state["question"], limit=2)
    return {"recalled": [i.value["text"] for i in items]}


def build_graph(store: BaseStore) -> Any:
    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    return builder.compile(store=store)


def test_graph_remembers_across_runs_and_processes(tmp_path: Path, embedder) -> None:
    path = tmp_path / "graph.db"
    with Memory(path, embedder=embedder, llm=None) as first:
        graph = build_graph(RememStore(first, scope=namespace_scope(user_id=1)))
        graph.invoke({"user": "alice", "fact": "Alice is allergic to peanuts"})
        graph.invoke({"user": "alice", "fact": "Alice's sister is called Marta"})
        graph.invoke({"user": "bob", "fact": "Bob is allergic to cats"})
        same_run = graph.invoke({"user": "alice", "question": "what is alice allergic to?"})
        assert same_run["recalled"][0] == "Alice is allergic to peanuts"

    with Memory(path, embedder=embedder, llm=None) as second:  # a new store on the same file
        graph = build_graph(RememStore(second, scope=namespace_scope(user_id=1)))
        out = graph.invoke({"user": "alice", "question": "what's the name of alice's sister?"})
        assert out["recalled"][0] == "Alice's sister is called Marta"
        assert "Bob is allergic to cats" not in out["recalled"]
        out = asyncio.run(graph.ainvoke({"user": "bob", "question": "what is bob allergic to?"}))
        assert out["recalled"] == ["Bob is allergic to cats"]
        assert second.count(user_id="alice") == 2


# -- packaging --------------------------------------------------------------------------------------
def test_package_imports_no_framework_and_names_the_extra() -> None:
    code = (
        "import sys, remem.integrations\n"
        "assert not any(m.split('.')[0] in ('langgraph', 'langchain_core') for m in sys.modules), 'framework imported'\n"
        "sys.modules['langgraph.store.base'] = None\n"
        "try:\n"
        "    import remem.integrations.langgraph\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'remem[langgraph]'" in out.stdout
