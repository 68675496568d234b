"""Maintenance through the public API, on every store backend: archive and restore,
forgetting policies, consolidation, the audit log, rollback, admission control."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from remem import Memory
from remem.errors import InvalidInputError
from remem.maintain import KindPolicy, MaintenancePolicy
from remem.models import Kind, MemoryRecord, acting_as
from remem.write.admission import AdmissionPolicy

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=400)
NOTHING = MaintenancePolicy(kinds={}, merge_duplicates=False, archive_filler=False)


def _ids(hits: list) -> list[str]:  # noqa: ANN001
    return [h.memory.id for h in hits]


def test_archived_memories_leave_search_and_lists_and_come_back(mem: Memory) -> None:
    [a] = mem.add("I keep bees on the roof of my flat", user_id="u")
    [b] = mem.add("My favourite tea is genmaicha", user_id="u")
    archived = mem.archive(a.id, reason="testing")
    assert archived.is_archived and archived.version == 2
    assert a.id not in _ids(mem.search("bees on the roof", user_id="u"))
    assert a.id in _ids(mem.search("bees on the roof", user_id="u", include_archived=True))
    assert [r.id for r in mem.get_all(user_id="u")] == [b.id]
    assert mem.count(user_id="u") == 1 and mem.count(user_id="u", include_archived=True) == 2
    assert (mem.stats()["memories"], mem.stats()["archived"]) == (1, 1)
    assert len(list(mem.export(user_id="u"))) == 2  # export keeps archived memories
    assert a.id in [r.id for r in mem.get_all(user_id="u", include_archived=True)]
    assert a.id not in [r.id for r in mem.context("bees", user_id="u").memories]
    restored = mem.restore(a.id)
    assert not restored.is_archived and restored.content == a.content
    assert a.id in _ids(mem.search("bees on the roof", user_id="u"))
    assert [h.op.value for h in mem.history(a.id)] == ["ADD", "ARCHIVE", "RESTORE"]


def test_forgetting_policies_archive_by_ttl_importance_retention_and_capacity(mem: Memory) -> None:
    old = [
        MemoryRecord(content=f"old note number {i} about gardening", user_id="u", event_time=OLD, importance=0.5)
        for i in range(3)
    ]
    vital = MemoryRecord(content="my blood type is O negative", user_id="u", event_time=OLD, importance=1.0,
                         last_accessed_at=NOW - timedelta(days=20), access_count=9)
    fresh = MemoryRecord(content="I started learning the cello", user_id="u", event_time=NOW - timedelta(days=1))
    fact = MemoryRecord(content="Lives in Lisbon", kind=Kind.SEMANTIC, user_id="u", event_time=OLD)
    mem.add_records([*old, vital, fresh, fact])
    report = mem.maintain(user_id="u", now=NOW, policy=NOTHING.model_copy(update={"kinds": {Kind.EPISODIC: KindPolicy(min_retention=0.001)}}))
    assert report.archived == {"retention": 3}  # the recalled, important one and the fact stay
    assert {r.id for r in mem.get_all(user_id="u")} == {vital.id, fresh.id, fact.id}
    ttl = NOTHING.model_copy(update={"kinds": {Kind.SEMANTIC: KindPolicy(ttl_days=365)}})
    assert mem.maintain(user_id="u", now=NOW, policy=ttl, dry_run=True).archived == {"ttl": 1}
    assert mem.count(user_id="u") == 3  # a dry run writes nothing
    floor = NOTHING.model_copy(update={"kinds": {Kind.EPISODIC: KindPolicy(importance_floor=0.9)}, "grace_days": 0})
    assert mem.maintain(user_id="u", now=NOW, policy=floor).archived == {"importance": 1}  # the cello note
    cap = NOTHING.model_copy(update={"max_active_per_user": 1, "grace_days": 0})
    assert mem.maintain(user_id="u", now=NOW, policy=cap).archived == {"capacity": 1}
    assert [r.id for r in mem.get_all(user_id="u")] == [vital.id]  # the strongest stays
    assert mem.count(user_id="u", include_archived=True) == 6


def test_duplicates_merge_with_provenance_and_originals_archived(mem: Memory) -> None:
    facts = mem.add_records([
        MemoryRecord(content="Alice is allergic to peanuts.", kind=Kind.SEMANTIC, user_id="u", source=["t1"]),
        MemoryRecord(content="alice is allergic to peanuts", kind=Kind.SEMANTIC, user_id="u", source=["t2"], importance=0.9),
        MemoryRecord(content="Alice is allergic to peanuts!!", kind=Kind.SEMANTIC, user_id="u", source=["t3"]),
        MemoryRecord(content="Alice plays the violin.", kind=Kind.SEMANTIC, user_id="u"),
    ])
    report = mem.maintain(user_id="u", now=NOW, policy=NOTHING.model_copy(update={"merge_duplicates": True}))
    assert report.merged_groups == 1 and report.archived == {"merged": 2}
    active = mem.get_all(user_id="u")
    assert len(active) == 2
    survivor = next(r for r in active if "peanuts" in r.content)
    assert survivor.id == facts[1].id  # the most important one
    others = {facts[0].id, facts[2].id}
    assert set(survivor.metadata["merged_from"]) == others
    assert {"t1", "t2", "t3"} | others <= set(survivor.source)
    assert mem.history(survivor.id)[-1].op.value == "MERGE"
    for fid in others:
        assert mem.get(fid).is_archived
        assert any(link.relation == "merged_into" and link.dst == survivor.id for link in mem.links(fid))


def test_old_sessions_are_summarized_extractively_and_filler_archived(mem: Memory) -> None:
    turns = [
        {"role": "user", "content": "I adopted a greyhound called Pixel from the shelter in Braga"},
        {"role": "assistant", "content": "Congratulations!"},
        {"role": "user", "content": "Pixel is afraid of the vacuum cleaner and sleeps all afternoon"},
        {"role": "assistant", "content": "haha ok"},
    ]
    mem.add(turns, user_id="u", session_id="s1", timestamp=OLD)
    summaries = {"summarize_sessions_after_days": 30, "archive_filler": True}
    report = mem.maintain(user_id="u", now=NOW, policy=NOTHING.model_copy(update=summaries))
    assert report.summaries == 1 and report.archived == {"filler": 2}
    [summary] = mem.get_all(user_id="u", kind="summary")
    assert "Pixel" in summary.content and summary.session_id == "s1" and len(summary.source) == 4
    assert report.active_after == 3
    again = mem.maintain(user_id="u", now=NOW, policy=NOTHING.model_copy(update=summaries))
    assert again.summaries == 0  # a covered session is not summarised twice
    assert mem.search("greyhound from the shelter", user_id="u")[0].memory.content.startswith("I adopted")
    fresh = mem.add(["ok", "I walk Pixel at dawn every day"], user_id="u", session_id="s2", timestamp=NOW)
    assert mem.maintain(user_id="u", now=NOW, policy=NOTHING.model_copy(update={"archive_filler": True})).archived == {}
    assert not mem.get(fresh[0].id).is_archived  # a session younger than consolidate_after_days keeps its filler


def _state(mem: Memory, user_id: str) -> dict[str, tuple]:
    fields = ("content", "metadata", "valid_from", "valid_to", "deleted_at", "archived_at", "importance", "tags")
    return {
        r.id: tuple(getattr(r, f) for f in fields)
        for r in mem.get_all(user_id=user_id, include_deleted=True, include_archived=True, limit=1000)
    }


def test_rollback_restores_exactly_and_can_itself_be_undone(mem: Memory) -> None:
    a, b = mem.add(["I work at the bakery on Rua Augusta", "My cat is called Miso"], user_id="u")
    time.sleep(0.01)
    mark = datetime.now(timezone.utc)
    before = _state(mem, "u")
    time.sleep(0.01)
    mem.update(a.id, content="I work at the library now", metadata={"changed": True})
    mem.delete(b.id)
    mem.archive(a.id)
    [c] = mem.add("I bought a red bicycle", user_id="u")
    mem.add("unrelated", user_id="other")
    after = _state(mem, "u")
    preview = mem.rollback(user_id="u", to=mark, dry_run=True)
    assert preview.changed == 3 and _state(mem, "u") == after
    report = mem.rollback(user_id="u", to=mark)
    assert report.changed == 3
    now_state = _state(mem, "u")
    assert {k: v for k, v in now_state.items() if k != c.id} == before
    assert now_state[c.id][4] is not None  # made after the mark: deleted (its history stays)
    assert mem.search("library", user_id="u")[0].memory.content == "I work at the bakery on Rua Augusta"
    undo = mem.rollback(user_id="u", to=report.undo_to)
    assert undo.changed == 3 and _state(mem, "u") == after
    assert mem.count(user_id="other") == 1
    rollbacks = mem.audit(user_id="u", op="ROLLBACK")
    assert len([e for e in rollbacks if e.memory_id]) == 6  # one version per memory changed, twice
    runs = [e for e in rollbacks if e.memory_id is None]  # and one entry per run
    assert [r.detail["changed"] for r in runs] == [3, 3] and runs[1].detail["to"] == report.undo_to.isoformat()


def test_audit_log_records_every_operation_with_actor_and_versions(mem: Memory) -> None:
    with acting_as("ops-key", request_id="req-1"):
        [a] = mem.add("I moved to Porto", user_id="u")
    mem.update(a.id, content="I moved to Lisbon")
    mem.archive(a.id)
    mem.delete(a.id)
    log = mem.audit(user_id="u")
    assert [e.op for e in log] == ["ADD", "UPDATE", "ARCHIVE", "DELETE"]
    assert (log[0].actor, log[0].request_id) == ("ops-key", "req-1")
    assert log[1].actor == "local" and (log[1].before_version, log[1].after_version) == (1, 2)
    assert log[1].detail["content"] == "I moved to Lisbon"
    assert [e.op for e in mem.audit(user_id="u", op=["update", "DELETE"])] == ["UPDATE", "DELETE"]
    assert mem.audit(user_id="u", since=datetime.now(timezone.utc) + timedelta(hours=1)) == []
    assert [e.op for e in mem.audit(user_id="u", after=log[1].seq)] == ["ARCHIVE", "DELETE"]
    assert mem.audit(memory_id=a.id, limit=1)[0].op == "ADD"
    with pytest.raises(InvalidInputError, match="unknown audit op"):
        mem.audit(op="EXPLODE")
    assert [e.op for e in mem.audit(user_id="u", op=("ADD",))] == ["ADD"]
    for bad in ({"op": 5}, {"op": [1]}, {"after": 2**64}, {"after": -1}):
        with pytest.raises(InvalidInputError):
            mem.audit(**bad)


def test_purge_erases_archives_and_keeps_audit_ids_and_ops_but_no_content(mem: Memory) -> None:
    [a, b] = mem.add(["my secret is zanzibar-umbrella", "zanzibar notes"], user_id="victim")
    mem.update(a.id, content="my secret is still zanzibar-umbrella")
    mem.archive(b.id)
    assert mem.purge(user_id="victim") == 2
    assert mem.count(user_id="victim", include_archived=True, include_deleted=True) == 0
    assert mem.search("zanzibar", user_id="victim", include_archived=True) == []
    log = mem.audit(user_id="victim")
    assert [e.op for e in log] == ["ADD", "ADD", "UPDATE", "ARCHIVE", "PURGE"]
    assert all("zanzibar" not in str(e.detail) and e.user_id != "victim" for e in log)
    assert log[0].memory_id == a.id


def test_admission_gate_refuses_and_audits(store_location: str, embedder) -> None:  # noqa: ANN001
    gate = AdmissionPolicy(min_content_words=2, refuse_duplicates=True, min_importance=0.3)
    mem = Memory(store_location, embedder=embedder, admission=gate)
    try:
        stored = mem.add(["ok", "I am allergic to peanuts", "i am allergic to peanuts!", "Trivial aside about the weather"],
                         user_id="u", metadata=None)
        assert [r.content for r in stored] == ["I am allergic to peanuts", "Trivial aside about the weather"]
        assert mem.add("I am allergic to peanuts.", user_id="u") == []
        assert mem.add("A low-importance remark I made", user_id="u", metadata={"importance": 0.1}) == []
        refusals = mem.audit(user_id="u", op="REFUSE")
        assert [e.detail["reason"].split(" ")[0] for e in refusals] == ["fewer", "duplicate", "duplicate", "importance"]
        assert mem.count(user_id="u") == 2
    finally:
        mem.close()


def test_bad_maintenance_input_is_a_clear_error(mem: Memory) -> None:
    with pytest.raises(InvalidInputError, match="max_active_per_user"):
        mem.maintain(policy={"max_active_per_user": 0})
    with pytest.raises(InvalidInputError, match="to="):
        mem.rollback(user_id="u", to=None)
    with pytest.raises(InvalidInputError, match="future"):
        mem.rollback(user_id="u", to=datetime.now(timezone.utc) + timedelta(days=1))
    with pytest.raises(InvalidInputError, match="dry_run"):
        mem.maintain(dry_run="yes")  # type: ignore[arg-type]


KILLED_CHILD = """
import sys
from datetime import datetime, timezone
from remem import Memory
from remem.maintain import MaintenancePolicy
mem = Memory(sys.argv[1])
print("start", flush=True)
for _ in range(50):  # keep maintaining (each run merges, summarises, archives) until killed
    mem.maintain(user_id="u", now=datetime(2030, 1, 1, tzinfo=timezone.utc), policy=MaintenancePolicy(max_active_per_user=10))
"""


def test_sigkill_during_maintenance_leaves_a_consistent_store(tmp_path, embedder) -> None:  # noqa: ANN001
    import os
    import signal
    import subprocess
    import sys

    path = tmp_path / "kill.db"
    with Memory(path, embedder=embedder) as mem:
        recs = [MemoryRecord(content=f"note {i % 700} about topic {i % 13}", user_id="u", session_id=f"s{i // 20}",
                             event_time=OLD + timedelta(hours=i)) for i in range(3000)]
        for start in range(0, len(recs), 500):
            mem.add_records(recs[start : start + 500])
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "start"
    time.sleep(2.5)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with Memory(path, embedder=embedder) as mem:
        everything = mem.get_all(user_id="u", include_archived=True, include_deleted=True, limit=10_000)
        ids = {r.id for r in everything}
        assert {r.id for r in recs} <= ids  # nothing lost: every original is still there, active or archived
        for rec in everything[::25]:
            history = mem.history(rec.id)
            assert [h.version for h in history] == list(range(1, rec.version + 1))  # one version per change
            assert history[-1].record.archived_at == rec.archived_at
        assert mem.search("note about topic", user_id="u", include_archived=True)
        report = mem.maintain(user_id="u", now=datetime(2030, 1, 1, tzinfo=timezone.utc))  # and it carries on
        assert mem.count(user_id="u") == report.active_after


def test_maintenance_leaves_procedural_bookkeeping_alone(mem: Memory) -> None:
    mem.learn("Convert 77 F to Celsius", ["subtract 32", "times 5/9"], "success", agent_id="bot")
    mem.procedures("Convert 50 F to Celsius", agent_id="bot", task_id="t1")
    mem.procedures("Convert 50 F to Celsius", agent_id="bot", task_id="t2")  # an identical task record
    report = mem.maintain(now=datetime.now(timezone.utc) + timedelta(days=3000))
    assert report.merged_groups == 0 and report.archived == {}
    assert mem.feedback("t1", "success", agent_id="bot").task_id == "t1"
