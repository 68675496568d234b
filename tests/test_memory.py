"""Behaviour of the Memory API, run against every backend in tests/backends.py."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from remem import InvalidInputError, Kind, Memory, NotFoundError, Operation

CONVERSATION = [
    {"role": "user", "name": "Alice", "content": "I moved from Porto to Lisbon last spring."},
    {"role": "assistant", "content": "How do you like Lisbon so far?"},
    {"role": "user", "name": "Alice", "content": "I love it, and my cat Miso loves the sunny balcony."},
    {"role": "user", "name": "Alice", "content": "I'm allergic to peanuts, by the way."},
]


def test_add_stores_one_episodic_memory_per_message(mem: Memory) -> None:
    records = mem.add(CONVERSATION, user_id="alice", session_id="s1", timestamp="2023-05-08T13:56:00Z", metadata={"src": "chat"})
    assert len(records) == 4
    assert all(r.kind is Kind.EPISODIC for r in records)
    first = mem.get(records[0].id)
    assert first.content == CONVERSATION[0]["content"]
    assert first.speaker == "Alice" and first.role == "user"
    assert first.session_id == "s1" and first.user_id == "alice"
    assert first.event_time == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)
    assert first.metadata == {"src": "chat"}
    assert mem.get(records[1].id).speaker is None  # a bare role is not a speaker name


def test_per_message_timestamp_and_metadata_win(mem: Memory) -> None:
    records = mem.add(
        [
            {"role": "user", "content": "first", "timestamp": "2020-01-01T00:00:00Z", "metadata": {"dia_id": "D1:1"}},
            {"role": "user", "content": "second"},
        ],
        user_id="u", timestamp="2021-06-01T00:00:00Z", metadata={"conv": 7},
    )
    a, b = (mem.get(r.id) for r in records)
    assert a.event_time.year == 2020 and a.metadata == {"conv": 7, "dia_id": "D1:1"}
    assert b.event_time.year == 2021 and b.metadata == {"conv": 7}


def test_free_text_session_dates_are_parsed(mem: Memory) -> None:
    [r] = mem.add("hello", user_id="u", timestamp="1:56 pm on 8 May, 2023")
    assert r.event_time == datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)


def test_search_finds_the_relevant_turn_with_explanation(mem: Memory) -> None:
    mem.add(CONVERSATION, user_id="alice", session_id="s1")
    hits = mem.search("what is alice allergic to?", user_id="alice", limit=3)
    assert hits[0].memory.content == "I'm allergic to peanuts, by the way."
    why = hits[0].explanation
    assert why["mode"] == "hybrid" and why["fusion"] == mem.search_config.fusion
    assert why["dense"]["rank"] >= 1 and why["bm25"]["rank"] >= 1
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_mode_finds_an_exact_topic(mem: Memory, mode: str) -> None:
    mem.add(CONVERSATION, user_id="alice")
    hits = mem.search("cat Miso balcony", user_id="alice", mode=mode, limit=2)
    assert "Miso" in hits[0].memory.content
    assert hits[0].explanation["mode"] == mode


def test_unknown_mode_is_rejected(mem: Memory) -> None:
    with pytest.raises(InvalidInputError, match="mode"):
        mem.search("x", user_id="u", mode="psychic")


def test_search_filters(mem: Memory) -> None:
    mem.add(CONVERSATION[:2], user_id="alice", session_id="s1", timestamp="2023-01-01", metadata={"topic": "move"})
    mem.add(CONVERSATION[2:], user_id="alice", session_id="s2", timestamp="2023-06-01", metadata={"topic": "life", "n": 3})
    assert {h.memory.session_id for h in mem.search("Lisbon cat", user_id="alice", session_id="s2")} == {"s2"}
    assert {h.memory.role for h in mem.search("Lisbon", user_id="alice", filters={"role": "assistant"})} == {"assistant"}
    assert {h.memory.metadata["topic"] for h in mem.search("Lisbon", user_id="alice", filters={"topic": "move"})} == {"move"}
    assert {h.memory.metadata["topic"] for h in mem.search("Lisbon", user_id="alice", filters={"metadata": {"topic": ["life"]}})} == {"life"}
    assert len(mem.search("cat", user_id="alice", filters={"n": {"gte": 3}})) == 2
    in_june = mem.search("Lisbon", user_id="alice", time_range=("2023-05-01", "2023-07-01"))
    assert in_june and all(h.memory.event_time.month == 6 for h in in_june)
    assert mem.search("Lisbon", user_id="alice", kind="semantic") == []


def test_bad_filters_are_clear_errors(mem: Memory) -> None:
    mem.add("x", user_id="u")
    with pytest.raises(InvalidInputError, match="operator"):
        mem.search("x", user_id="u", filters={"topic": {"approx": 1}})
    with pytest.raises(InvalidInputError, match="key"):
        mem.search("x", user_id="u", filters={"bad key'; drop": 1})
    with pytest.raises(InvalidInputError, match="kind"):
        mem.search("x", user_id="u", filters={"kind": "dream"})
    with pytest.raises(InvalidInputError, match="time_range"):
        mem.search("x", user_id="u", time_range=("2023-01-01",))


def test_tenant_isolation_for_every_filter_combination(mem: Memory) -> None:
    """A search for user A never returns user B's memories, whatever else is asked."""
    mem.add(CONVERSATION, user_id="alice", agent_id="bot", session_id="s1", timestamp="2023-05-01", metadata={"t": "x"})
    mem.add(CONVERSATION, user_id="bob", agent_id="bot", session_id="s1", timestamp="2023-05-01", metadata={"t": "x"})
    options = {
        "agent_id": [None, "bot"],
        "session_id": [None, "s1"],
        "filters": [None, {"t": "x"}, {"role": "user"}],
        "time_range": [None, ("2023-01-01", "2024-01-01")],
        "kind": [None, "episodic"],
        "mode": ["hybrid", "dense", "bm25"],
    }
    for values in itertools.product(*options.values()):
        kwargs = dict(zip(options, values))
        hits = mem.search("Lisbon cat peanuts", user_id="alice", limit=50, **kwargs)
        assert hits, kwargs
        assert {h.memory.user_id for h in hits} == {"alice"}, kwargs
    assert {r.user_id for r in mem.get_all(user_id="alice", limit=100)} == {"alice"}


def test_other_tenant_sees_nothing(mem: Memory, embedder) -> None:
    [rec] = mem.add("a secret about alice", user_id="alice")
    other = Memory(store=mem.store.with_tenant("acme"), embedder=embedder)
    assert other.search("secret", user_id="alice") == []
    assert other.get_all(user_id="alice") == []
    with pytest.raises(NotFoundError):
        other.get(rec.id)
    with pytest.raises(NotFoundError):
        other.update(rec.id, content="changed")
    with pytest.raises(NotFoundError):
        other.delete(rec.id)
    assert other.purge(user_id="alice") == 0
    assert mem.get(rec.id).content == "a secret about alice"


def test_get_all_pagination_and_order(mem: Memory) -> None:
    for i in range(5):
        mem.add(f"note {i}", user_id="u", timestamp=f"2023-01-0{i + 1}")
    page1 = mem.get_all(user_id="u", limit=2)
    page2 = mem.get_all(user_id="u", limit=2, offset=2)
    assert [r.content for r in page1] == ["note 4", "note 3"]
    assert [r.content for r in page2] == ["note 2", "note 1"]
    assert mem.count(user_id="u") == 5


def test_update_keeps_history(mem: Memory) -> None:
    [rec] = mem.add("I live in Porto", user_id="alice", metadata={"a": 1})
    updated = mem.update(rec.id, content="I live in Lisbon", metadata={"b": 2}, reason="moved")
    assert updated.version == 2 and updated.metadata == {"a": 1, "b": 2}
    assert mem.search("Lisbon", user_id="alice", mode="bm25")[0].memory.id == rec.id
    assert mem.search("Porto", user_id="alice", mode="bm25") == []
    history = mem.history(rec.id)
    assert [(h.version, h.op) for h in history] == [(1, Operation.ADD), (2, Operation.UPDATE)]
    assert history[0].record.content == "I live in Porto"
    assert history[1].reason == "moved" and set(history[1].changed_fields) == {"content", "metadata"}
    removed = mem.update(rec.id, metadata={"a": None})
    assert removed.metadata == {"b": 2}


def test_delete_is_soft_and_recorded(mem: Memory) -> None:
    [rec, other] = mem.add(["forget me", "keep me"], user_id="u")
    mem.delete(rec.id, reason="user asked")
    assert mem.get(rec.id).is_deleted
    assert [h.memory.id for h in mem.search("forget me", user_id="u", limit=5)] == [other.id]
    assert [r.id for r in mem.get_all(user_id="u")] == [other.id]
    assert {r.id for r in mem.get_all(user_id="u", include_deleted=True)} == {rec.id, other.id}
    assert [h.op for h in mem.history(rec.id)] == [Operation.ADD, Operation.DELETE]
    with pytest.raises(InvalidInputError, match="deleted"):
        mem.update(rec.id, content="again")


def test_purge_erases_user_everywhere(mem: Memory) -> None:
    alice = mem.add(CONVERSATION, user_id="alice")
    mem.update(alice[0].id, content="changed")
    [bob] = mem.add("bob likes Lisbon too", user_id="bob")
    assert mem.purge(user_id="alice") == 4
    for rec in alice:
        with pytest.raises(NotFoundError):
            mem.get(rec.id)
    assert mem.search("Lisbon", user_id="alice") == []
    assert mem.get_all(user_id="alice", include_deleted=True) == []
    assert [h.memory.id for h in mem.search("Lisbon", user_id="bob")] == [bob.id]
    assert all(item["record"]["user_id"] != "alice" for item in mem.export())


def test_re_adding_timestamped_messages_is_idempotent(mem: Memory) -> None:
    first = mem.add(CONVERSATION, user_id="alice", session_id="s1", timestamp="2023-05-08")
    again = mem.add(CONVERSATION, user_id="alice", session_id="s1", timestamp="2023-05-08")
    assert [r.id for r in again] == [r.id for r in first]
    assert mem.count(user_id="alice") == 4


def test_export_import_round_trip(mem: Memory, tmp_path, embedder) -> None:
    recs = mem.add(CONVERSATION, user_id="alice", session_id="s1", timestamp="2023-05-08", metadata={"k": [1, 2]})
    mem.update(recs[0].id, content="I moved to Lisbon", reason="fix")
    mem.delete(recs[1].id)
    mem.add("bob's note", user_id="bob")
    path = tmp_path / "export.jsonl"
    assert mem.export_file(path) == 5
    with Memory(tmp_path / "copy.db", embedder=embedder) as copy:
        assert copy.import_file(path) == (5, 0)
        assert copy.import_file(path) == (0, 5)
        for user in ("alice", "bob"):
            original = mem.get_all(user_id=user, include_deleted=True)
            restored = copy.get_all(user_id=user, include_deleted=True)
            assert [r.model_dump() for r in restored] == [r.model_dump() for r in original]
        for rec in recs:
            assert [h.model_dump() for h in copy.history(rec.id)] == [h.model_dump() for h in mem.history(rec.id)]
        for query in ("Lisbon", "cat on the balcony", "peanut allergy"):
            a, b = mem.search(query, user_id="alice"), copy.search(query, user_id="alice")
            assert [h.memory.id for h in a] == [h.memory.id for h in b]
            assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-3)  # a new SQLite copy stores int8


def test_import_rejects_malformed_file_and_writes_nothing(mem: Memory, tmp_path) -> None:
    mem.add("x", user_id="u")
    good = next(iter(mem.export()))
    import json

    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({**good, "record": {**good["record"], "id": "new-id"}}) + "\n{not json\n")
    with pytest.raises(InvalidInputError, match="line 2"):
        mem.import_file(path)
    assert mem.count(user_id="u") == 1


@pytest.mark.parametrize(
    "messages, match",
    [
        ("", "empty"),
        ("   ", "empty"),
        ([], "non-empty"),
        ([{"role": "user"}], "content"),
        ([{"role": "user", "content": 5}], "content"),
        ([{"content": "x", "bogus": 1}], "bogus"),
        (42, "messages"),
        ("x" * 100_001, "limit"),
        ([{"content": "x", "timestamp": "not a date at all"}], "timestamp"),
    ],
)
def test_bad_messages_change_nothing(mem: Memory, messages, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        mem.add(messages, user_id="u")
    assert mem.count(user_id="u") == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"user_id": ""}, "user_id"),
        ({"user_id": 5}, "user_id"),
        ({"user_id": "u" * 300}, "user_id"),
        ({"user_id": "u", "metadata": "x"}, "metadata"),
        ({"user_id": "u", "metadata": {"x": object()}}, "JSON"),
        ({"user_id": "u", "kind": "dream"}, "kind"),
        ({"user_id": "u", "timestamp": "yesterday-ish nonsense 99"}, "timestamp"),
    ],
)
def test_bad_arguments_change_nothing(mem: Memory, kwargs, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        mem.add("hello", **kwargs)
    assert mem.count() == 0


def test_unknown_ids_and_bad_calls(mem: Memory) -> None:
    with pytest.raises(NotFoundError):
        mem.get("nope")
    with pytest.raises(NotFoundError):
        mem.history("nope")
    with pytest.raises(NotFoundError):
        mem.update("nope", content="x")
    with pytest.raises(NotFoundError):
        mem.delete("nope")
    [rec] = mem.add("x", user_id="u")
    with pytest.raises(InvalidInputError, match="at least one"):
        mem.update(rec.id)
    with pytest.raises(InvalidInputError, match="cannot update"):
        mem.update(rec.id, user_id="mallory")
    with pytest.raises(InvalidInputError, match="empty"):
        mem.update(rec.id, content="")
    for limit in (0, -1, "5", 10_001, True):
        with pytest.raises(InvalidInputError, match="limit"):
            mem.search("x", user_id="u", limit=limit)
    with pytest.raises(InvalidInputError, match="offset"):
        mem.get_all(user_id="u", offset=-1)
    with pytest.raises(InvalidInputError):
        mem.search("", user_id="u")
    with pytest.raises(InvalidInputError, match="user_id"):
        mem.purge(user_id="")
    assert mem.get(rec.id).version == 1


def test_context_returns_everything_when_it_fits(mem: Memory) -> None:
    mem.add(CONVERSATION, user_id="alice", session_id="s1", timestamp="2023-05-08")
    ctx = mem.context("where does alice live?", user_id="alice", token_budget=1000)
    assert ctx.complete and ctx.strategy == "full" and len(ctx.memories) == 4
    assert "2023-05-08" in ctx.text and "Alice: I moved from Porto" in ctx.text
    small = mem.context("peanuts allergy", user_id="alice", token_budget=25)
    assert not small.complete and small.tokens <= 25
    assert [m.content for m in small.memories] == ["I'm allergic to peanuts, by the way."]


def test_same_id_in_two_tenants_is_independent(mem: Memory, embedder) -> None:
    from remem import MemoryRecord

    mem.add_records([MemoryRecord(id="shared-id", content="alpha", user_id="u")])
    other = Memory(store=mem.store.with_tenant("acme"), embedder=embedder, llm=None)
    other.add_records([MemoryRecord(id="shared-id", content="beta", user_id="u")])
    assert mem.get("shared-id").content == "alpha"
    assert other.get("shared-id").content == "beta"
    item = next(iter(other.export()))
    assert mem.import_([item]) == (0, 1)  # already present in this tenant: skipped, not overwritten
    assert mem.get("shared-id").content == "alpha"


def test_ancient_and_huge_timestamps(mem: Memory) -> None:
    [rec] = mem.add("an old chronicle", user_id="u", timestamp="0840-04-04T00:00:00Z")
    assert mem.get(rec.id).event_time.year == 840
    assert next(iter(mem.export(user_id="u")))["record"]["event_time"].startswith("0840-04-04")
    with pytest.raises(InvalidInputError, match="out of range"):
        mem.add("x", user_id="u", timestamp=1e20)


def test_message_ids_make_re_adding_a_no_op_in_any_batch(mem: Memory) -> None:
    m1 = {"role": "user", "content": "first", "id": "m1"}
    m2 = {"role": "user", "content": "second", "id": "m2"}
    mem.add([m1, m2], user_id="u", session_id="s")
    mem.add([m2, {"role": "user", "content": "third", "id": "m3"}], user_id="u", session_id="s")  # a sliding window
    assert sorted(r.content for r in mem.get_all(user_id="u")) == ["first", "second", "third"]


def test_add_records_validates_ids(mem: Memory) -> None:
    from remem import MemoryRecord

    for bad in ("", "x" * 300):
        with pytest.raises(InvalidInputError, match="id"):
            mem.add_records([MemoryRecord(id=bad, content="c", user_id="u")])
    assert mem.count(user_id="u") == 0


def test_update_keeps_the_previous_turn_in_the_index(mem: Memory) -> None:
    a, b = mem.add(["Which city do you love most?", "Porto, without a doubt"], user_id="u", session_id="s", timestamp="2023-01-01")
    mem.update(b.id, content="Lisbon, without a doubt")
    hit = mem.search("which city do you love", user_id="u", mode="bm25", limit=2)
    assert {h.memory.id for h in hit} == {a.id, b.id}  # the reply still carries its question


def test_time_range_that_ends_before_it_starts_is_refused(mem: Memory) -> None:
    mem.add("a dated memory", user_id="u", timestamp="2023-06-01")
    with pytest.raises(InvalidInputError, match="after end"):
        mem.get_all(user_id="u", time_range=("2024-01-01", "2023-01-01"))
    with pytest.raises(InvalidInputError, match="after end"):
        mem.search("memory", user_id="u", time_range=("2024-01-01", "2023-01-01"))
    assert len(mem.get_all(user_id="u", time_range=("2023-01-01", "2024-01-01"))) == 1


@pytest.mark.parametrize(
    "metadata, problem",
    [
        ({"x": float("nan")}, "finite"),
        ({"x": float("inf")}, "finite"),
        ({"x": 2**64}, "between"),
        ({1: "int key"}, "keys must be strings"),
        ({"x": "\ud800"}, "surrogate"),
        ({"x\x00": 1}, "NUL"),
        ({"x": {"y": set()}}, "must be JSON"),
    ],
)
def test_metadata_that_would_break_later_reads_is_refused(mem: Memory, metadata: dict, problem: str) -> None:
    mem.add("kept", user_id="u", metadata={"x": 1})
    with pytest.raises(InvalidInputError, match=problem):
        mem.add("refused", user_id="u", metadata=metadata)
    assert [r.content for r in mem.get_all(user_id="u", filters={"x": 1})] == ["kept"]
    assert mem.search("kept", user_id="u", filters={"x": 1})[0].memory.content == "kept"


def test_metadata_nested_too_deep_is_refused_not_a_recursion_error(mem: Memory) -> None:
    import functools

    deep = functools.reduce(lambda inner, _: {"k": inner}, range(3000), 1)
    with pytest.raises(InvalidInputError, match="nested more than"):
        mem.add("deep", user_id="u", metadata=deep)
    assert mem.count(user_id="u") == 0


@pytest.mark.parametrize("name", ["bad\x00name", "\udc80"])
def test_message_name_that_export_could_not_carry_is_refused(mem: Memory, name: str) -> None:
    with pytest.raises(InvalidInputError, match="name"):
        mem.add({"role": "user", "name": name, "content": "hello"}, user_id="u")
    mem.add({"role": "user", "name": "Ann", "content": "hello"}, user_id="u")
    exported = list(mem.export(user_id="u"))
    mem.purge(user_id="u")
    assert mem.import_(exported) == (1, 0)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_times_out_of_range_in_utc_are_refused(mem: Memory, when: str) -> None:
    with pytest.raises(InvalidInputError, match="out of range"):
        mem.add("edge of time", user_id="u", timestamp=when)
    with pytest.raises(InvalidInputError, match="out of range"):
        mem.search("edge", user_id="u", now=when)


@pytest.mark.parametrize("call", ["import_zero", "import_null_content", "context_neighbors_none", "offset_huge"])
def test_odd_arguments_are_invalid_input(mem: Memory, call: str) -> None:
    calls = {
        "import_zero": lambda: mem.import_(0),
        "import_null_content": lambda: mem.import_([{"record": {"content": None, "user_id": "u"}}]),
        "context_neighbors_none": lambda: mem.context("x", user_id="u", neighbors=None),
        "offset_huge": lambda: mem.get_all(user_id="u", offset=2**70),
    }
    with pytest.raises(InvalidInputError):
        calls[call]()


def test_get_many_and_listing_as_of_and_in_time_order(mem: Memory) -> None:
    old = mem.add("I live in Porto", user_id="u", timestamp="2023-01-01")[0]
    new = mem.add("I live in Lisbon", user_id="u", timestamp="2023-06-01")[0]
    mem.update(old.id, valid_to="2023-06-01")
    assert {r.id for r in mem.get_many([new.id, "nope", old.id])} == {new.id, old.id}
    assert mem.get_many([]) == []
    with pytest.raises(InvalidInputError):
        mem.get_many("not a list")  # type: ignore[arg-type]
    assert [r.content for r in mem.get_all(user_id="u", oldest_first=True)] == ["I live in Porto", "I live in Lisbon"]
    # no valid_from on either: both held in March; Porto ended in June
    assert {r.content for r in mem.get_all(user_id="u", as_of="2023-03-01")} == {"I live in Porto", "I live in Lisbon"}
    assert "I live in Porto" not in [r.content for r in mem.get_all(user_id="u", as_of="2024-01-01")]
    assert mem.count(user_id="u", as_of="2024-01-01") == mem.count(user_id="u") - 1
    with pytest.raises(TypeError):
        mem.count(user_id="u", bogus=1)  # type: ignore[call-arg]
