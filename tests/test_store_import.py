"""Importing export items, on every backend: checked before written, all or nothing,
never reaching another memory; and the admin surface both stores share."""

from __future__ import annotations

import base64
import copy
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from remem.errors import InvalidInputError
from remem.models import MemoryRecord
from remem.store import Link, Query, Write, open_store
from remem.store.common import parse_export_item

DIM = 8
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def write(content: str, *, seed: int = 0, fp: str | None = None, **fields: Any) -> Write:
    return Write(MemoryRecord(content=content, created_at=T0, updated_at=T0, **fields), content, unit(seed), fingerprint=fp)


@pytest.fixture
def store(store_location: str) -> Iterator[Any]:
    s = open_store(store_location)
    s.check_embedding("test-model", DIM)
    yield s
    s.close()


def _items(store: Any, n: int = 3) -> list[dict[str, Any]]:
    """Real export items: made in tenant "src", exported, for import into the default tenant."""
    src = store.with_tenant("src")
    recs = src.insert([write(f"note {i} about kayaks", seed=i, fp=f"fp{i}", user_id="u") for i in range(n)])
    src.add_links([Link(recs[0].id, recs[1].id, "supports", 0.5)])
    return list(src.export(Query()))


def _history_of_other(items: list[dict[str, Any]]) -> None:
    items[2]["history"] = copy.deepcopy(items[0]["history"])  # claims to be memory 0's history


def _snapshot_of_other(items: list[dict[str, Any]]) -> None:
    items[2]["history"][0]["record"]["id"] = items[0]["record"]["id"]


def _set(path: str, value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def mutate(items: list[dict[str, Any]]) -> None:
        target = items[2]
        *parents, last = path.split(".")
        for p in parents:
            target = target[p]
        target[last] = value

    return mutate


BAD_ITEMS = {
    "nul content": _set("record.content", "a\x00b"),
    "empty content": _set("record.content", "  "),
    "oversized content": _set("record.content", "x" * 100_001),
    "empty id": _set("record.id", ""),
    "long id": _set("record.id", "i" * 257),
    "history of another memory": _history_of_other,
    "history snapshot of another memory": _snapshot_of_other,
    "vector of another size": _set("vector", base64.b64encode(np.ones(DIM + 1, np.float32).tobytes()).decode()),
    "vector not base64": _set("vector", "***"),
    "link from another memory": _set("links", [{"src": "someone-else", "dst": "x", "relation": "r", "weight": 1.0}]),
    "no record": _set("record", None),
    "fingerprint not a string": _set("fingerprint", 7),
}


@pytest.mark.parametrize("bad", list(BAD_ITEMS))
def test_a_bad_item_anywhere_in_a_batch_writes_nothing(store: Any, bad: str) -> None:
    items = _items(store)
    ids = [i["record"]["id"] for i in items]
    BAD_ITEMS[bad](items)
    with pytest.raises(InvalidInputError, match="item 2"):
        store.import_items(items)
    assert store.count(Query(include_deleted=True)) == 0
    assert all(store.history(i) == [] and store.links(i) == [] for i in ids)


def test_import_cannot_inject_history_into_an_existing_memory(store: Any) -> None:
    [victim] = store.insert([write("the victim", user_id="u")])
    item = _items(store, 2)[0]
    fake = copy.deepcopy(store.history(victim.id)[0].model_dump(mode="json"))
    fake["record"]["content"] = "forged"
    item["history"].append(fake)
    with pytest.raises(InvalidInputError, match="history"):
        store.import_item(item)
    assert [h.record.content for h in store.history(victim.id)] == ["the victim"]


def test_items_round_trip_and_a_second_import_skips_them(store: Any) -> None:
    items = _items(store)
    assert store.import_items(items) == (3, 0)
    assert store.import_items(items) == (0, 3)
    assert not store.import_item(items[0])
    assert list(store.export(Query())) == items  # verbatim: record, history, vector, links, fingerprint
    assert store.import_items([]) == (0, 0)


def test_an_existing_fingerprint_under_another_id_is_skipped(store: Any) -> None:
    [here] = store.insert([write("already here", fp="fp1", user_id="u")])
    items = _items(store)  # items[1] has fingerprint fp1 and another id
    assert items[1]["fingerprint"] == "fp1" and items[1]["record"]["id"] != here.id
    assert store.import_items(items) == (2, 1)
    assert store.get(items[1]["record"]["id"]) is None
    assert store.get(here.id).content == "already here"
    assert store.with_tenant("other").import_item(items[1])  # fingerprints are per tenant
    twin = copy.deepcopy(items[0])
    twin["record"]["id"] = "a-new-id"
    twin["history"], twin["links"] = [], []
    assert store.with_tenant("fresh").import_items([items[0], twin]) == (1, 1)  # clash inside one batch too


def test_parse_export_item_checks_vector_size_only_when_known() -> None:
    rec = MemoryRecord(content="x")
    item = {"record": rec.model_dump(mode="json"), "vector": base64.b64encode(np.ones(3, np.float32).tobytes()).decode()}
    assert parse_export_item(item).vector.shape == (3,)
    with pytest.raises(InvalidInputError, match="3 dims"):
        parse_export_item(item, dim=4)
    with pytest.raises(InvalidInputError, match="not a remem export item"):
        parse_export_item(["not", "a", "dict"])


def test_import_api_key_keeps_times_and_skips_present(store: Any) -> None:
    row = {"key_hash": "h1", "tenant": "acme", "name": "ci",
           "created_at": "2023-05-01T10:00:00+00:00", "revoked_at": "2023-06-01T10:00:00+00:00"}
    assert store.import_api_key(row)
    assert not store.import_api_key({**row, "tenant": "other"})
    [key] = store.list_api_keys()
    assert key["tenant"] == "acme" and key["name"] == "ci"
    assert key["created_at"].startswith("2023-05-01T10:00:00") and key["revoked_at"].startswith("2023-06-01T10:00:00")
    assert store.resolve_api_key("h1") is None  # revoked stays revoked


def test_tenants_include_key_only_tenants(store: Any) -> None:
    store.insert([write("hello there kayak", user_id="u")])
    store.create_api_key("h2", "keys-only")
    assert store.tenants() == ["default", "keys-only"]


def test_stats_name_the_backend(store: Any, store_location: str) -> None:
    expected = "postgresql" if store_location.startswith("postgresql://") else "sqlite"
    assert store.stats()["backend"] == expected


def test_a_duplicate_id_names_the_id(store: Any) -> None:
    [rec] = store.insert([write("one", user_id="u")])
    clash = Write(rec.model_copy(update={"content": "two"}), "two", unit(1))
    with pytest.raises(InvalidInputError, match=f"a memory with id '{rec.id}' already exists"):
        store.insert([write("three", user_id="u"), clash])
    twice = write("four", user_id="u")
    with pytest.raises(InvalidInputError, match=f"a memory with id '{twice.record.id}' already exists"):
        store.insert([twice, Write(twice.record.model_copy(update={"content": "five"}), "five", unit(2))])
    assert [r.content for r in store.list(Query(user_id="u"))] == ["one"]


def test_stopword_only_queries_fall_back_to_every_word(store: Any) -> None:
    recs = store.insert([write(t, seed=i, user_id="u") for i, t in enumerate(
        ["the cat sat", "dogs bark loudly", "of mice and men"])])
    assert {i for i, _ in store.text_search("the of", Query(user_id="u"), 10)} == {recs[0].id, recs[2].id}
    assert [i for i, _ in store.text_search("bark the", Query(user_id="u"), 10)] == [recs[1].id]  # keywords win
    assert store.text_search("the of", Query(user_id="someone"), 10) == []


def test_import_file_that_is_not_utf8_or_too_deep_is_invalid_input(tmp_path, embedder) -> None:
    from remem import InvalidInputError, Memory

    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b'{"record": {"content": "ok"}}\n\xff\xfe\x00garbage\n')
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with Memory(tmp_path / "m.db", embedder=embedder) as mem:
        for path, problem in ((binary, "not UTF-8"), (deep, "nested too deeply")):
            with pytest.raises(InvalidInputError, match=problem):
                mem.import_file(path)
        assert mem.count() == 0
