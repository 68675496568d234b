"""Store conformance: one behaviour, checked on SQLite and PostgreSQL alike.

Tests taking ``store`` run once per backend (``tests/backends.py``); the differential
tests load the same data into both backends and demand the same answers.
PostgreSQL-only guarantees (migrations, HNSW path, every trace gone after a purge)
are at the end.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from backends import location
from remem.errors import EmbeddingMismatchError, InvalidInputError, NotFoundError, StoreError
from remem.models import Kind, MemoryRecord, Operation
from remem.store import Link, Query, Write, open_store

DIM = 16
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def unit(seed: int | np.ndarray) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32) if isinstance(seed, int) else seed
    return (v / np.linalg.norm(v)).astype(np.float32)


def write(content: str, *, seed: int = 0, fp: str | None = None, **fields: Any) -> Write:
    record = MemoryRecord(content=content, created_at=T0, updated_at=T0, **fields)
    return Write(record=record, index_text=content, vector=unit(seed), fingerprint=fp)


@pytest.fixture
def store(store_location: str) -> Iterator[Any]:
    s = open_store(store_location)
    s.check_embedding("test-model", DIM)
    yield s
    s.close()


@pytest.fixture
def both(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """An SQLite and a PostgreSQL store, for differential tests."""
    from backends import postgres_url

    url = postgres_url()  # skips when there is no PostgreSQL
    stores = {"sqlite": open_store(location("sqlite", tmp_path)), "postgres": open_store(url)}
    for s in stores.values():
        s.check_embedding("test-model", DIM)
    yield stores
    for s in stores.values():
        s.close()


def _ids(records: list[MemoryRecord]) -> set[str]:
    return {r.id for r in records}


# -- conformance: every backend ------------------------------------------------------------
def test_insert_get_and_fingerprint_idempotence(store: Any) -> None:
    first = store.insert([write("alpha", fp="m1", user_id="u"), write("beta", fp="m2", user_id="u")], actor="t")
    again = store.insert([write("alpha again", fp="m1", user_id="u"), write("gamma", fp="m3", user_id="u")])
    assert again[0].id == first[0].id and again[0].content == "alpha"  # the stored record, not the new one
    assert store.count(Query(user_id="u")) == 3
    assert [h.op for h in store.history(first[0].id)] == [Operation.ADD]
    assert store.history(first[0].id)[0].actor == "t"
    assert store.get(first[1].id) == first[1]
    assert store.get_many([again[1].id, "nope", first[0].id]) == [again[1], first[0]]


def test_a_duplicate_id_is_refused_and_changes_nothing(store: Any) -> None:
    [rec] = store.insert([write("one", user_id="u")])
    clash = Write(record=rec.model_copy(update={"content": "two"}), index_text="two", vector=unit(1))
    with pytest.raises(InvalidInputError):
        store.insert([write("three", user_id="u"), clash])
    assert [r.content for r in store.list(Query(user_id="u"))] == ["one"]  # the whole batch rolled back


def test_wrong_vector_size_is_invalid_input(store: Any) -> None:
    bad = Write(record=MemoryRecord(content="x"), index_text="x", vector=np.ones(DIM + 1, dtype=np.float32))
    with pytest.raises(InvalidInputError):
        store.insert([bad])
    assert store.count(Query()) == 0


def test_versions_history_and_validity(store: Any) -> None:
    [rec] = store.insert([write("Alice resides in Paris", user_id="u", kind=Kind.SEMANTIC, valid_from=T0)])
    moved = T0 + timedelta(days=30)
    v2 = rec.model_copy(update={"version": 2, "valid_to": moved, "updated_at": moved})
    store.save_version(v2, op=Operation.INVALIDATE, reason="moved", changed_fields=["valid_to"])
    v3 = v2.model_copy(update={"version": 3, "content": "Alice lived in Paris until May", "updated_at": moved})
    store.save_version(v3, op=Operation.UPDATE, changed_fields=["content"], index_text=v3.content, vector=unit(5))
    assert store.get(rec.id) == v3
    hist = store.history(rec.id)
    assert [(h.version, h.op) for h in hist] == [(1, Operation.ADD), (2, Operation.INVALIDATE), (3, Operation.UPDATE)]
    assert hist[1].reason == "moved" and hist[1].changed_fields == ["valid_to"] and hist[0].record == rec
    assert _ids(store.list(Query(valid_at=T0 + timedelta(days=1)))) == {rec.id}
    assert store.list(Query(valid_at=moved + timedelta(days=1))) == []
    assert [i for i, _ in store.text_search("until May", Query(), 5)] == [rec.id]  # new text indexed
    assert store.text_search("resides", Query(), 5) == []  # old text gone
    assert store.vector_search(unit(5), Query(), 1)[0][0] == rec.id
    with pytest.raises(InvalidInputError):
        store.save_version(v3, op=Operation.UPDATE)  # not newer
    with pytest.raises(InvalidInputError):
        store.save_version(v3.model_copy(update={"version": 4, "user_id": "other"}), op=Operation.UPDATE)
    with pytest.raises(NotFoundError):
        store.save_version(MemoryRecord(content="ghost", version=2), op=Operation.UPDATE)


def test_soft_delete_hides_from_reads_but_not_export(store: Any) -> None:
    [a, b] = store.insert([write("apple pie", seed=1, user_id="u"), write("apple tart", seed=2, user_id="u")])
    store.save_version(a.model_copy(update={"version": 2, "deleted_at": T0}), op=Operation.DELETE)
    assert _ids(store.list(Query(user_id="u"))) == {b.id}
    assert [i for i, _ in store.text_search("apple", Query(user_id="u"), 5)] == [b.id]
    assert [i for i, _ in store.vector_search(unit(1), Query(user_id="u"), 5)] == [b.id]
    assert store.count(Query(user_id="u", include_deleted=True)) == 2
    assert {item["record"]["id"] for item in store.export(Query(user_id="u"))} == {a.id, b.id}


def test_tenants_never_see_each_other(store: Any) -> None:
    other = store.with_tenant("acme")
    [mine] = store.insert([write("secret recipe", seed=3, user_id="u", fp="f")])
    [theirs] = other.insert([write("secret recipe", seed=3, user_id="u", fp="f")])  # same fingerprint: another tenant
    assert theirs.id != mine.id
    other.add_links([Link(theirs.id, mine.id, "spy")])
    assert other.get(mine.id) is None and other.get_many([mine.id]) == []
    assert other.history(mine.id) == [] and store.links(mine.id) == []
    assert _ids(other.list(Query())) == {theirs.id}
    assert [i for i, _ in other.text_search("secret recipe", Query(), 10)] == [theirs.id]
    assert [i for i, _ in other.vector_search(unit(3), Query(), 10)] == [theirs.id]
    with pytest.raises(NotFoundError):
        other.save_version(mine.model_copy(update={"version": 2}), op=Operation.UPDATE)
    assert other.purge(user_id="u") == 1
    assert store.get(mine.id) == mine and store.stats()["memories"] == 1


def test_links_replace_on_same_key(store: Any) -> None:
    a, b = store.insert([write("a", user_id="u"), write("b", user_id="u")])
    store.add_links([Link(a.id, b.id, "supports", 0.5)])
    store.add_links([Link(a.id, b.id, "supports", 0.9), Link(b.id, a.id)])
    assert sorted((x.src, x.dst, x.relation, x.weight) for x in store.links(a.id)) == sorted(
        [(a.id, b.id, "supports", 0.9), (b.id, a.id, "related", 1.0)]
    )


def test_touch_counts_access_without_new_version(store: Any) -> None:
    [a] = store.insert([write("a", user_id="u")])
    when = T0 + timedelta(hours=1)
    store.touch([a.id, "missing"], when)
    store.touch([a.id], when)
    got = store.get(a.id)
    assert (got.access_count, got.last_accessed_at, got.version) == (2, when, 1)


def test_purge_erases_the_user_and_nothing_else(store: Any) -> None:
    mine = store.insert([write(f"diary {i}", seed=i, user_id="gone") for i in range(3)])
    [keep] = store.insert([write("diary of another", seed=9, user_id="stays")])
    store.save_version(mine[0].model_copy(update={"version": 2, "content": "diary edited"}), op=Operation.UPDATE,
                       index_text="diary edited")
    store.add_links([Link(mine[1].id, keep.id), Link(keep.id, mine[2].id)])
    assert store.purge(user_id="gone") == 3
    assert store.count(Query(include_deleted=True)) == 1
    assert all(store.history(m.id) == [] for m in mine)
    assert store.links(keep.id) == []
    assert [i for i, _ in store.text_search("diary", Query(), 10)] == [keep.id]
    assert [i for i, _ in store.vector_search(unit(0), Query(), 10)] == [keep.id]
    assert store.purge(user_id="gone") == 0
    with pytest.raises(InvalidInputError):
        store.purge(user_id="")


def test_api_keys(store: Any) -> None:
    store.create_api_key("h1", "acme", "ci")
    store.create_api_key("h2", "beta")
    assert store.resolve_api_key("h1") == "acme" and store.resolve_api_key("nope") is None
    assert store.revoke_api_key("h1") and not store.revoke_api_key("h1")
    assert store.resolve_api_key("h1") is None
    keys = {k["key_hash"]: k for k in store.list_api_keys()}
    assert keys["h1"]["tenant"] == "acme" and keys["h1"]["name"] == "ci" and isinstance(keys["h1"]["revoked_at"], str)
    assert keys["h2"]["revoked_at"] is None and isinstance(keys["h2"]["created_at"], str)


def test_embedding_model_is_fixed_at_first_use(store_location: str) -> None:
    s = open_store(store_location)
    s.check_embedding("model-a", DIM)
    s.check_embedding("model-a", DIM)
    s.close()
    s = open_store(store_location)
    try:
        with pytest.raises(EmbeddingMismatchError):
            s.check_embedding("model-b", DIM)
        with pytest.raises(EmbeddingMismatchError):
            s.check_embedding("model-a", DIM * 2)
        assert s.stats()["embed_model"] == "model-a" and s.stats()["embed_dim"] == DIM
    finally:
        s.close()


def test_concurrent_writers_of_one_fingerprint_make_one_memory(store: Any) -> None:
    results: list[str] = []
    errors: list[BaseException] = []

    def add() -> None:
        try:
            results.append(store.insert([write("same message", user_id="u", fp="once")])[0].id)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1 and len(results) == 8
    assert store.count(Query(include_deleted=True)) == 1


# -- differential: both backends, same data, same answers ------------------------------------
METADATA = [
    {"n": 1, "topic": "pets", "flag": True, "nested": {"lvl": 2, "name": "b"}},
    {"n": 2.5, "topic": "food", "flag": False, "nested": {"lvl": 10}},
    {"n": 3, "topic": "Pets", "tags": ["x", "y"]},
    {"n": "3", "topic": "travel", "flag": None},
    {"n": -7, "topic": "pets food", "nested": {"name": "a"}},
    {},
    {"n": 100000000000, "topic": "zzz", "flag": 1},
    {"n": "abc", "topic": "éclair", "nested": "flat"},
]
FILTERS: list[dict[str, Any]] = [
    {"n": 3}, {"n": "3"}, {"n": {"gt": 2}}, {"n": {"gte": 2.5}}, {"n": {"lt": 3}}, {"n": {"lte": -7}},
    {"n": {"ne": 3}}, {"n": {"gt": "a"}}, {"n": {"lt": "a"}}, {"n": {"ne": "abc"}}, {"n": [1, "3", "abc"]},
    {"n": {"nin": [1, 3]}}, {"topic": "pets"}, {"topic": {"gt": "food"}}, {"topic": {"lt": "Z"}},
    {"topic": ["pets", "food"]}, {"flag": True}, {"flag": False}, {"flag": 1}, {"flag": None},
    {"flag": {"ne": None}}, {"nested.lvl": {"gte": 2}}, {"metadata.nested.name": "a"}, {"nested": "flat"},
    {"metadata": {"topic": "pets", "n": 1}}, {"missing": None}, {"missing": {"ne": 1}},
    {"kind": "semantic"}, {"kind": {"ne": "episodic"}}, {"role": ["user", "assistant"]}, {"speaker": None},
    {"session_id": 7}, {"session_id": {"in": ["s1", "7"]}}, {"agent_id": {"nin": ["bot"]}},
    {"event_time": {"gte": "2024-01-03"}}, {"event_time": {"lt": "2024-01-03T00:00:00Z"}},
    {"created_at": {"lte": "2024-01-01T00:00:00+00:00"}}, {"valid_from": None},
]


def _corpus(store: Any) -> list[MemoryRecord]:
    writes = []
    for i, meta in enumerate(METADATA):
        writes.append(write(
            f"memory number {i}", seed=i, user_id="u", metadata=meta,
            kind=Kind.SEMANTIC if i % 3 == 0 else Kind.EPISODIC, role="user" if i % 2 else "assistant",
            speaker="Bob" if i == 4 else None, session_id="7" if i < 3 else "s1", agent_id="bot" if i == 5 else None,
            event_time=T0 + timedelta(days=i), valid_from=T0 if i == 1 else None,
        ))
    return store.insert(writes)


def test_filters_agree_across_backends(both: dict[str, Any]) -> None:
    records = {name: _corpus(s) for name, s in both.items()}
    position = {name: {r.id: i for i, r in enumerate(recs)} for name, recs in records.items()}
    answers: dict[str, list[set[int]]] = {}
    for name, s in both.items():
        answers[name] = [
            {position[name][r.id] for r in s.list(Query(user_id="u", filters=f), limit=100)} for f in FILTERS
        ]
    for f, lite, pg in zip(FILTERS, answers["sqlite"], answers["postgres"]):
        assert lite == pg, f"filter {f}: sqlite {sorted(lite)} != postgres {sorted(pg)}"
    expect = dict(zip(map(repr, FILTERS), answers["postgres"]))
    assert expect[repr({"n": 3})] == {2}  # the string "3" is not the number 3
    assert expect[repr({"n": {"gt": 2}})] == {1, 2, 3, 6, 7}  # text sorts after every number
    assert expect[repr({"flag": True})] == {0, 6}  # JSON true is 1, like SQLite
    assert expect[repr({"flag": None})] == {2, 3, 4, 5, 7}
    assert expect[repr({"topic": {"lt": "Z"}})] == {2}  # bytewise: "Pets" < "Z" < "pets"


def test_text_search_ranks_like_fts5(both: dict[str, Any]) -> None:
    docs = [
        "the quarterly budget review meeting with finance",
        "budget budget budget spreadsheet",
        "my cat Luna chased a laser pointer",
        "finance team lunch on friday",
        "the budget",
        "review the laser printer settings before the meeting",
        "Luna the cat sleeps all day long on the warm windowsill in the sun",
    ] + [f"filler note number {i} about nothing much" for i in range(30)]
    ids = {}
    for name, s in both.items():
        recs = s.insert([write(d, seed=i, user_id="u") for i, d in enumerate(docs)])
        ids[name] = {r.id: i for i, r in enumerate(recs)}
    for q in ["budget review", "cat Luna", "laser meeting", "finance", "nothing much budget"]:
        ranked = {n: [ids[n][i] for i, _ in s.text_search(q, Query(user_id="u"), 10)] for n, s in both.items()}
        assert set(ranked["sqlite"]) == set(ranked["postgres"]), q  # same matches (OR of content words)
        assert ranked["sqlite"][0] == ranked["postgres"][0], (q, ranked)
    # only stopwords: both fall back to matching every word, as typed
    stop = {n: {ids[n][i] for i, _ in s.text_search("the of and", Query(user_id="u"), 10)} for n, s in both.items()}
    assert stop["sqlite"] == stop["postgres"] == {0, 4, 5, 6}
    assert all(s.text_search("the of and", Query(user_id="nobody"), 10) == [] for s in both.values())
    scores = [s for _, s in both["postgres"].text_search("budget review", Query(), 10)]
    assert all(x > 0 for x in scores) and scores == sorted(scores, reverse=True)


def test_migrate_copies_everything_both_ways(both: dict[str, Any], tmp_path: Path) -> None:
    from backends import postgres_url
    from remem.store.migrate import migrate

    lite = both["sqlite"]
    recs = _corpus(lite)
    acme = lite.with_tenant("acme").insert([write("acme note", seed=4, user_id="x", fp="fp-acme")])
    lite.save_version(recs[0].model_copy(update={"version": 2, "content": "edited", "deleted_at": T0}),
                      op=Operation.DELETE, reason="why", index_text="edited", vector=unit(42))
    lite.add_links([Link(recs[0].id, recs[1].id, "supports", 0.25)])
    lite.create_api_key("k1", "acme", "ci")
    lite.create_api_key("k2", "default")
    lite.revoke_api_key("k2")
    assert lite.tenants() == ["acme", "default"]
    src = str(lite.path)
    lite.close()
    pg_url = postgres_url()
    out = migrate(src, pg_url, progress=False)
    assert out == {"tenants": 2, "memories": len(recs) + 1, "skipped": 0, "history": len(recs) + 2, "links": 1, "api_keys": 2,
                   "audit": len(recs) + 2}  # every ADD and the DELETE
    again = migrate(src, pg_url, progress=False)
    assert again["skipped"] == len(recs) + 1 and again["audit"] == 0  # re-running is safe
    back = str(tmp_path / "back.db")
    migrate(pg_url, back, progress=False)
    a, b, c = open_store(src), open_store(pg_url), open_store(back)
    try:
        for t in ("default", "acme"):
            dumps = [list(s.with_tenant(t).export(Query())) for s in (a, b, c)]
            assert dumps[0] == dumps[1] == dumps[2] and dumps[0]
        assert b.tenants() == ["acme", "default"]
        assert b.with_tenant("acme").get(acme[0].id) == acme[0]
        assert [(k["key_hash"], k["tenant"], k["revoked_at"] is None) for k in b.list_api_keys()] == [
            ("k1", "acme", True), ("k2", "default", False)]
        assert {k["key_hash"]: k for k in a.list_api_keys()} == {k["key_hash"]: k for k in b.list_api_keys()}
        deleted = [(e.memory_id, e.at, e.actor) for e in a.audit(ops=["DELETE"])]
        assert deleted and [(e.memory_id, e.at, e.actor) for e in b.audit(ops=["DELETE"])] == deleted
    finally:
        for s in (a, b, c):
            s.close()


def test_migrate_refuses_another_embedding_model(both: dict[str, Any], tmp_path: Path) -> None:
    from backends import postgres_url
    from remem.store.migrate import migrate

    pg = open_store(postgres_url("othermodel"))
    pg.check_embedding("another-model", DIM)
    pg.close()
    _corpus(both["sqlite"])
    with pytest.raises(EmbeddingMismatchError):
        migrate(str(both["sqlite"].path), postgres_url("othermodel"), progress=False)


# -- PostgreSQL only ----------------------------------------------------------------------
@pytest.fixture
def pg() -> Iterator[Any]:
    from backends import postgres_url

    s = open_store(postgres_url())
    s.check_embedding("test-model", DIM)
    yield s
    s.close()


def _raw(store: Any, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with store._db.pool.connection() as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def test_pg_migrations_are_versioned_and_a_newer_schema_is_refused(pg: Any) -> None:
    from remem.store.postgres import PostgresStore

    from remem.store.pg_db import _migrations

    bundled = [v for v, _, _ in _migrations()]
    assert bundled[:2] == [1, 2]
    assert sorted(r[0] for r in _raw(pg, "SELECT version FROM remem_migrations")) == bundled
    again = PostgresStore(pg.url)  # a second open applies nothing new
    again.close()
    assert sorted(r[0] for r in _raw(pg, "SELECT version FROM remem_migrations")) == bundled
    _raw(pg, "INSERT INTO remem_migrations (version, name) VALUES (999, 'from the future')")
    with pytest.raises(StoreError, match="newer remem"):
        PostgresStore(pg.url)


def test_pg_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot connect"):
        open_store("postgresql://nobody:secret@127.0.0.1:1/nothing?connect_timeout=2")


def test_pg_hnsw_path_agrees_with_exact_search(pg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import remem.store.postgres as pgmod

    rng = np.random.default_rng(7)
    centers = rng.standard_normal((20, DIM))
    vectors = [unit(centers[i % 20] + 0.3 * rng.standard_normal(DIM)) for i in range(3000)]
    writes = [Write(MemoryRecord(content=f"m{i}", user_id="u", kind=Kind.SUMMARY if i % 150 == 0 else Kind.EPISODIC),
                    f"m{i}", v) for i, v in enumerate(vectors)]
    recs = pg.insert(writes)
    matrix = np.stack(vectors)
    query = unit(centers[3])
    exact = [recs[i].id for i in np.argsort(-(matrix @ query))[:10]]
    monkeypatch.setattr(pgmod, "EXACT_SUBSET_LIMIT", 100)  # force the index path
    _raw(pg, "ANALYZE memories")  # what autovacuum does for a grown table
    plan = "\n".join(r[0] for r in _raw(
        pg, "EXPLAIN SELECT id FROM memories m WHERE m.tenant = 'default' ORDER BY m.embedding <=> %s LIMIT 10", (query,)))
    assert "ix_memories_embedding" in plan
    found = [i for i, _ in pg.vector_search(query, Query(user_id="u"), 10)]
    assert len(set(found) & set(exact)) >= 9
    # a selective filter: the index alone would come up short; every one of the 20 summaries is returned
    summaries = pg.vector_search(query, Query(user_id="u", kinds=[Kind.SUMMARY]), 30)
    assert len(summaries) == 20
    scores = [s for _, s in summaries]
    assert scores == sorted(scores, reverse=True)


def test_pg_purge_leaves_no_trace_in_any_table(pg: Any) -> None:
    secret = "zanzibar-umbrella-7"
    recs = pg.insert([write(f"{secret} note {i}", seed=i, user_id="victim", metadata={"k": secret}) for i in range(5)])
    [keep] = pg.insert([write("unrelated", user_id="keeper")])
    pg.add_links([Link(keep.id, recs[0].id, "mentions")])
    pg.save_version(recs[1].model_copy(update={"version": 2, "content": f"{secret} edited"}), op=Operation.UPDATE,
                    reason=secret)
    pg.purge(user_id="victim")
    tables = [r[0] for r in _raw(pg, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
    for table in tables:
        hits = _raw(pg, f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s OR t::text LIKE %s',
                    (f"%{secret}%", "%victim%"))
        assert hits[0][0] == 0, table
