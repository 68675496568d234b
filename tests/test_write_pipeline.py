"""The LLM write path (remem.write.pipeline) through the public Memory API, with a scripted LLM.

The scripted "brain" below answers each prompt from rules keyed by message text, so the
tests exercise the real decision logic: what ADD / UPDATE / INVALIDATE / NOOP write,
validity intervals, history, links, summaries, profile, idempotency and the queue.
"""

from __future__ import annotations

import re
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

import pytest

from remem import Memory
from remem.errors import LLMError, LLMNotConfiguredError
from remem.llm import ScriptedLLM
from remem.models import Kind, Operation
from remem.store import Query
from remem.write import pipeline as pipeline_module
from remem.write.ingest import IndexConfig
from remem.write.keywords import extract_keywords
from remem.write.pipeline import PROCESSED_KEY, PipelineConfig
from remem.write.versions import new_version
from remem.write.writer import Writer

from backends import BACKENDS, postgres_url

UTC = timezone.utc
LINE = re.compile(r"^\[(?P<id>[^\]]+)\] [^|]*\| (?P<who>[^:]+): (?P<text>.*)$")
MEM_LINE = re.compile(r"^\[(?P<id>[^\]]+)\] (?P<text>.*)$")


def fact(content: str, event_time: str | None = None, kind: str = "semantic", importance: float = 0.6) -> dict[str, Any]:
    return {"content": content, "kind": kind, "event_time": event_time, "importance": importance}


class Brain:
    """A deterministic stand-in for an LLM, driven by rules on the prompt variables."""

    def __init__(self) -> None:
        self.facts: list[tuple[str, dict[str, Any]]] = []  # (substring of a NEW message, fact)
        self.rules: list[tuple[str, str, str | None, str | None]] = []  # (fact substring, action, target substring, content)
        self.evolve: dict[str, str] = {}  # neighbour substring -> new context
        self.fail: dict[str, int] = {}  # prompt name -> failures left
        self.seen: list[str] = []

    def on(self, message: str, *facts: dict[str, Any]) -> "Brain":
        for f in facts:
            self.facts.append((message, f))
        return self

    def rule(self, new: str, action: str, target: str | None = None, content: str | None = None) -> "Brain":
        self.rules.append((new, action, target, content))
        return self

    def __call__(self, name: str, v: dict[str, Any]) -> Any:
        self.seen.append(name)
        if self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            return LLMError(f"scripted {name} outage")
        return getattr(self, f"_{name}")(v)

    def _extract_facts(self, v: dict[str, Any]) -> dict[str, Any]:
        out = []
        for line in v["messages"].splitlines():
            m = LINE.match(line)
            assert m, line
            for key, f in self.facts:
                if key in m["text"]:
                    out.append({**f, "source_ids": [m["id"]], "keywords": extract_keywords(f["content"])[:4], "tags": ["life"]})
        return {"facts": out}

    def _resolve(self, v: dict[str, Any]) -> dict[str, Any]:
        existing = [MEM_LINE.match(line) for line in v["existing"].splitlines()]
        for new, action, target, content in self.rules:
            if new in v["fact"]:
                ids = [m["id"] for m in existing if m and target and target in m["text"]][:1 if action in ("UPDATE", "NOOP") else None]
                return {"action": action, "target_ids": ids, "content": content, "reason": f"scripted {action.lower()}"}
        return {"action": "ADD", "target_ids": [], "content": None, "reason": "new information"}

    def _enrich(self, v: dict[str, Any]) -> dict[str, Any]:
        neighbours = []
        for line in v["neighbours"].splitlines():
            m = MEM_LINE.match(line)
            for key, context in self.evolve.items():
                if m and key in m["text"]:
                    neighbours.append({"id": m["id"], "context": context, "tags": ["evolved"]})
        return {"keywords": ["note"], "tags": ["life"], "context": "About: " + v["memory"][:40], "neighbours": neighbours}

    def _summarize_session(self, v: dict[str, Any]) -> dict[str, Any]:
        lines = v["messages"].splitlines()
        return {"summary": f"Session summary ({len(lines)} lines): " + " / ".join(lines)[-300:], "keywords": ["session"]}

    def _update_profile(self, v: dict[str, Any]) -> dict[str, Any]:
        old = "" if v["profile"] == "(empty)" else v["profile"] + "\n"
        return {"profile": old + v["facts"], "changed": True}


class Where:
    """Where a test's stores live: files in its temporary directory, or schemas in this
    session's PostgreSQL database (the same name is the same store, so a test can reopen it)."""

    def __init__(self, backend: str, tmp_path: Any) -> None:
        self.backend, self.tmp_path = backend, tmp_path
        self._schema = "t_" + uuid.uuid4().hex[:12]

    def location(self, name: str) -> str:
        if self.backend == "sqlite":
            return str(self.tmp_path / name)
        return postgres_url(schema=f"{self._schema}_{re.sub(r'[^a-z0-9]', '_', name.lower())}")


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Any) -> Where:
    """The write path runs against both stores (the conformance suite's backends)."""
    return Where(request.param, tmp_path)


def make(where: Where, embedder: Any, brain: Brain, name: str = "m.db", **config: Any) -> tuple[Memory, ScriptedLLM]:
    llm = ScriptedLLM(brain)
    mem = Memory(where.location(name), embedder=embedder, llm=llm, infer_config=PipelineConfig(**config) if config else None)
    return mem, llm


def facts_of(mem: Memory, user: str = "alice") -> list[Any]:
    return mem.get_all(user_id=user, kind=["semantic", "procedural"], limit=1000)


def valid_now(records: list[Any]) -> list[Any]:
    now = datetime.now(UTC)
    return [r for r in records if r.is_valid_at(now)]


def d(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --------------------------------------------------------------------------- stories


def test_moving_city_invalidates_the_old_fact_and_keeps_it_in_history(where: Any, embedder: Any) -> None:
    brain = (
        Brain()
        .on("I live in Porto", fact("Alice lives in Porto.", kind="profile"))
        .on("moved to Lisbon", fact("Alice moved to Lisbon on 2023-05-07 and lives in Lisbon.", "2023-05-07", importance=0.9))
        .rule("Lisbon", "INVALIDATE", "Porto")
    )
    mem, llm = make(where, embedder, brain)
    first = mem.add("I live in Porto, near the river.", user_id="alice", session_id="s1", timestamp="2023-05-01T10:00:00Z")
    raw, porto = first[0], first[1]
    assert raw.kind == Kind.EPISODIC and porto.kind == Kind.SEMANTIC
    assert porto.source == [raw.id] and porto.valid_from == d("2023-05-01T10:00:00") and porto.valid_to is None
    assert "profile" in porto.tags and porto.metadata["fact_kind"] == "profile"

    out = mem.add("I moved to Lisbon yesterday!", user_id="alice", session_id="s2", timestamp="2023-05-08T13:56:00Z")
    lisbon = next(r for r in out if r.kind == Kind.SEMANTIC and "Lisbon" in r.content)
    assert lisbon.event_time == d("2023-05-07") and lisbon.valid_from == d("2023-05-07")

    old = mem.get(porto.id)
    assert old.valid_to == d("2023-05-07"), "the old fact ends when the new one starts"
    assert old.metadata["superseded_by"] == lisbon.id and old.deleted_at is None
    history = mem.history(porto.id)
    assert [h.op for h in history] == [Operation.ADD, Operation.INVALIDATE]
    assert history[1].reason == "scripted invalidate" and history[1].actor == "remem.infer"
    assert history[1].changed_fields == ["valid_to", "metadata"]
    assert old.is_valid_at(d("2023-05-03")) and not old.is_valid_at(d("2023-05-09"))

    # where does Alice live? -- among facts valid now, Lisbon; Porto is still there in history
    hits = [h.memory for h in mem.search("where does Alice live?", user_id="alice", kind="semantic")]
    assert [h.id for h in valid_now(hits)][0] == lisbon.id  # (default search may hide Porto altogether)
    assert [r.id for r in valid_now(facts_of(mem))] == [lisbon.id]
    links = {(link.src, link.dst, link.relation) for link in mem.store.links(lisbon.id)}
    assert (lisbon.id, porto.id, "supersedes") in links
    assert llm.usage["infer.resolve"]["calls"] == 1  # the first fact needed no resolution call


def test_a_refinement_is_a_new_version_of_the_same_memory(where: Any, embedder: Any) -> None:
    brain = (
        Brain()
        .on("I like pizza", fact("Alice likes pizza."))
        .on("pepperoni", fact("Alice likes pepperoni pizza best."))
        .rule("pepperoni", "UPDATE", "pizza", "Alice likes pizza, pepperoni pizza best.")
    )
    mem, _ = make(where, embedder, brain)
    r1 = mem.add("I like pizza.", user_id="alice", timestamp="2023-01-01")
    r2 = mem.add("My favourite is pepperoni.", user_id="alice", timestamp="2023-01-02")
    pizza = r1[1]
    updated = r2[1]
    assert updated.id == pizza.id and updated.version == 2
    assert updated.content == "Alice likes pizza, pepperoni pizza best."
    assert updated.source == [r1[0].id, r2[0].id], "provenance keeps both turns"
    assert len(facts_of(mem)) == 1
    history = mem.history(pizza.id)
    assert [h.op for h in history] == [Operation.ADD, Operation.UPDATE]
    assert history[0].record.content == "Alice likes pizza." and history[1].reason == "scripted update"
    assert "content" in history[1].changed_fields
    assert mem.search("pepperoni", user_id="alice", kind="semantic")[0].memory.id == pizza.id  # re-indexed


def test_preference_change_vegetarian(where: Any, embedder: Any) -> None:
    brain = (
        Brain()
        .on("steak", fact("Bob loves steak and eats meat every day."))
        .on("vegetarian", fact("Bob has been vegetarian since 2024-03-01.", "2024-03-01"))
        .rule("vegetarian", "INVALIDATE", "steak")
    )
    mem, _ = make(where, embedder, brain)
    mem.add("I love a good steak.", user_id="bob", timestamp="2024-01-10")
    mem.add("I'm vegetarian now, since the first of the month.", user_id="bob", timestamp="2024-03-15")
    facts = facts_of(mem, "bob")
    steak = next(f for f in facts if "steak" in f.content)
    veg = next(f for f in facts if "vegetarian" in f.content)
    assert steak.valid_to == d("2024-03-01") and veg.valid_to is None and veg.valid_from == d("2024-03-01")
    assert [r.id for r in valid_now(facts)] == [veg.id]
    profile = mem.get_all(user_id="bob", kind="profile")
    assert len(profile) == 1 and profile[0].version == 2
    assert "NO LONGER TRUE since 2024-03-01: Bob loves steak" in profile[0].content
    assert set(profile[0].source) >= {steak.id, veg.id}


def test_relationship_end_and_dates_resolved(where: Any, embedder: Any) -> None:
    brain = (
        Brain()
        .on("dating Tom", fact("Alice has been dating Tom since 2022-06.", "2022-06"))
        .on("broke up", fact("Alice broke up with Tom on 2023-02-13.", "2023-02-13"))
        .on("sister", fact("Alice's sister Emma lives in Berlin."))
        .rule("broke up", "INVALIDATE", "dating Tom")
    )
    mem, _ = make(where, embedder, brain)
    mem.add("I've been dating Tom since last June.", user_id="alice", timestamp="2023-01-05")
    mem.add(
        [{"role": "user", "content": "Tom and I broke up yesterday."}, {"role": "user", "content": "My sister lives in Berlin."}],
        user_id="alice", timestamp="2023-02-14",
    )
    facts = {f.content: f for f in facts_of(mem)}
    dating = facts["Alice has been dating Tom since 2022-06."]
    assert dating.event_time == d("2022-06-01") and dating.valid_from == d("2022-06-01")
    assert dating.valid_to == d("2023-02-13")
    assert facts["Alice broke up with Tom on 2023-02-13."].valid_to is None
    assert facts["Alice's sister Emma lives in Berlin."].valid_to is None, "unrelated facts are left alone"
    assert len(valid_now(list(facts.values()))) == 2


def test_duplicate_fact_is_noop(where: Any, embedder: Any) -> None:
    brain = (
        Brain()
        .on("Kyoto", fact("Alice visited Kyoto in 2019.", "2019"))
        .on("Japan trip", fact("Alice travelled to Kyoto, Japan in 2019.", "2019"))
        .rule("Japan", "NOOP", "Kyoto")
    )
    mem, llm = make(where, embedder, brain)
    mem.add("I visited Kyoto in 2019.", user_id="alice", timestamp="2023-01-01")
    mem.add("Remember my Japan trip? It was great.", user_id="alice", timestamp="2023-01-09")
    mem.add("Again: I visited Kyoto in 2019.", user_id="alice", timestamp="2023-01-10")  # identical fact text
    assert len(facts_of(mem)) == 1
    ops = [s.action for s in mem.pipeline.operations]
    assert ops == ["ADD", "NOOP", "NOOP"]
    assert llm.usage["infer.resolve"]["calls"] == 1, "an identical fact needs no LLM call"


# --------------------------------------------------------------------------- idempotency & failures


def test_same_add_twice_creates_nothing_new(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto."))
    mem, llm = make(where, embedder, brain)
    msgs = [{"role": "user", "content": "I live in Porto."}, {"role": "assistant", "content": "Nice city!"}]
    first = mem.add(msgs, user_id="alice", session_id="s1", timestamp="2023-05-01")
    count, calls = mem.count(user_id="alice"), len(llm.calls)
    again = mem.add(msgs, user_id="alice", session_id="s1", timestamp="2023-05-01")
    assert mem.count(user_id="alice") == count == 5  # 2 turns, 1 fact, 1 summary, 1 profile
    assert len(llm.calls) == calls, "processed turns are not sent to the LLM again"
    assert [r.id for r in again] == [r.id for r in first[:2]]
    assert all(r.metadata[PROCESSED_KEY] == "extract_facts@1" for r in again)


def test_extraction_failure_raises_keeps_raw_turns_and_retry_works(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto."))
    brain.fail["extract_facts"] = 1  # a transport failure (not re-asked)
    mem, _ = make(where, embedder, brain)
    with pytest.raises(LLMError, match="raw turns are stored"):
        mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01")
    assert mem.count(user_id="alice", kind="episodic") == 1 and facts_of(mem) == []
    assert mem.pipeline.errors[-1].stage == "extract"
    brain.fail["extract_facts"] = 0
    mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01")
    assert [f.content for f in facts_of(mem)] == ["Alice lives in Porto."]
    assert mem.count(user_id="alice", kind="episodic") == 1


def test_half_done_batch_is_retried_without_duplicates(where: Any, embedder: Any) -> None:
    brain = (
        Brain()
        .on("Porto", fact("Alice lives in Porto."))
        .on("Porto", fact("Alice works as a nurse in Porto."))
    )
    calls = {"n": 0}

    def flaky(name: str, v: dict[str, Any]) -> Any:
        if name == "resolve":
            calls["n"] += 1
            if calls["n"] == 1:
                return LLMError("resolve outage")
        return brain(name, v)

    mem = Memory(where.location("m.db"), embedder=embedder, llm=ScriptedLLM(flaky))
    mem.add("I live in Porto and work as a nurse.", user_id="alice", timestamp="2023-05-01")
    # fact 1 was added (no candidates -> no LLM call); resolving fact 2 failed -> kept unprocessed
    assert [f.content for f in facts_of(mem)] == ["Alice lives in Porto."]
    assert [e.stage for e in mem.pipeline.errors] == ["resolve"]
    raw = mem.get_all(user_id="alice", kind="episodic")[0]
    assert PROCESSED_KEY not in raw.metadata
    mem.add("I live in Porto and work as a nurse.", user_id="alice", timestamp="2023-05-01")
    assert sorted(f.content for f in facts_of(mem)) == ["Alice lives in Porto.", "Alice works as a nurse in Porto."]
    assert PROCESSED_KEY in mem.get(raw.id).metadata


def test_optional_steps_fail_softly(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto."))
    brain.fail.update({"enrich": 1, "summarize_session": 1, "update_profile": 1})
    mem, _ = make(where, embedder, brain)
    out = mem.add("I live in Porto.", user_id="alice", session_id="s1", timestamp="2023-05-01")
    assert [r.kind for r in out] == [Kind.EPISODIC, Kind.SEMANTIC]
    assert out[1].context is None
    assert sorted(e.stage for e in mem.pipeline.errors) == ["enrich", "profile", "summarize"]


class Crash(Exception):
    """Stands for the process dying in the middle of a write."""


def moving_brain() -> Brain:
    return (
        Brain()
        .on("I live in Porto", fact("Alice lives in Porto."))
        .on("moved to Lisbon", fact("Alice moved to Lisbon on 2023-05-07.", "2023-05-07"))
        .rule("Lisbon", "INVALIDATE", "Porto")
    )


def crash_once(mem: Memory, method: str, when: Callable[..., bool] = lambda *a, **k: True) -> None:
    """Make ``mem.store.<method>`` raise :class:`Crash` the first time ``when`` holds for its arguments."""
    real = getattr(mem.store, method)
    state = {"crashed": False}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not state["crashed"] and when(*args, **kwargs):
            state["crashed"] = True
            raise Crash(method)
        return real(*args, **kwargs)

    setattr(mem.store, method, wrapper)


def assert_moved(mem: Memory) -> tuple[Any, Any]:
    """Exactly one Lisbon fact, which ends Porto (once) and is linked to it."""
    facts = facts_of(mem)
    assert len(facts) == 2, [f.content for f in facts]
    porto = next(f for f in facts if "Porto" in f.content)
    lisbon = next(f for f in facts if "Lisbon" in f.content)
    assert porto.valid_to == d("2023-05-07") and porto.metadata["superseded_by"] == lisbon.id
    assert lisbon.valid_to is None and lisbon.metadata["supersedes"] == [porto.id]
    assert [h.op for h in mem.history(porto.id)] == [Operation.ADD, Operation.INVALIDATE]
    assert mem.history(porto.id)[1].reason == "scripted invalidate"
    assert (lisbon.id, porto.id, "supersedes") in {(lk.src, lk.dst, lk.relation) for lk in mem.store.links(lisbon.id)}
    assert [r.id for r in valid_now(facts)] == [lisbon.id]
    raw = mem.get_all(user_id="alice", kind="episodic")
    assert len(raw) == 2 and all(PROCESSED_KEY in r.metadata for r in raw)
    return porto, lisbon


@pytest.mark.parametrize("crash_at", ["invalidate", "links"])
def test_a_crash_after_the_new_fact_is_stored_is_finished_on_retry(where: Any, embedder: Any, crash_at: str) -> None:
    mem, llm = make(where, embedder, moving_brain())
    mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01")
    if crash_at == "invalidate":  # dies between the insert of the new fact and the new version of the old one
        crash_once(mem, "save_version", lambda record, **kw: kw.get("op") == Operation.INVALIDATE)
    else:  # dies after the invalidation, before the links
        crash_once(mem, "add_links")
    moved = "I moved to Lisbon yesterday."
    with pytest.raises(Crash):
        mem.add(moved, user_id="alice", timestamp="2023-05-08")
    facts = facts_of(mem)
    assert len(facts) == 2 and mem.store.links(next(f.id for f in facts if "Lisbon" in f.content)) == []
    assert (next(f for f in facts if "Porto" in f.content).valid_to is None) == (crash_at == "invalidate")

    out = mem.add(moved, user_id="alice", timestamp="2023-05-08")  # the retry
    porto, lisbon = assert_moved(mem)
    assert llm.usage["infer.resolve"]["calls"] == 1, "the retry needs no new decision: the stored fact names what it ends"
    step = mem.pipeline.operations[-1]
    if crash_at == "invalidate":
        assert (step.action, step.memory_id, step.targets) == ("INVALIDATE", lisbon.id, [porto.id])
        assert {r.id for r in out if r.kind == Kind.SEMANTIC} == {porto.id, lisbon.id}
        profile = mem.get_all(user_id="alice", kind="profile")[0]
        assert "NO LONGER TRUE since 2023-05-07: Alice lives in Porto." in profile.content
        assert "Alice moved to Lisbon" in profile.content
    else:
        assert (step.action, step.memory_id) == ("NOOP", lisbon.id)
    mem.add(moved, user_id="alice", timestamp="2023-05-08")  # processed now: nothing more happens
    assert assert_moved(mem) == (porto, lisbon)


def test_a_retry_that_meets_the_stored_fact_only_at_insert_still_ends_the_old_one(
    where: Any, embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    mem, llm = make(where, embedder, moving_brain())
    mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01")
    crash_once(mem, "save_version", lambda record, **kw: kw.get("op") == Operation.INVALIDATE)
    with pytest.raises(Crash):
        mem.add("I moved to Lisbon yesterday.", user_id="alice", timestamp="2023-05-08")
    lisbon_id = next(f.id for f in facts_of(mem) if "Lisbon" in f.content)
    real = pipeline_module.nearest_facts  # a lagging index: the retry's search misses the stored fact

    def lagging(*args: Any, **kwargs: Any) -> list[Any]:
        return [c for c in real(*args, **kwargs) if c.record.id != lisbon_id]

    monkeypatch.setattr(pipeline_module, "nearest_facts", lagging)
    mem.add("I moved to Lisbon yesterday.", user_id="alice", timestamp="2023-05-08")
    assert llm.usage["infer.resolve"]["calls"] == 2, "resolution ran again and the insert found the fingerprint"
    _, lisbon = assert_moved(mem)
    assert lisbon.id == lisbon_id


def test_a_new_fact_deleted_before_the_retry_ends_nothing(where: Any, embedder: Any) -> None:
    mem, _ = make(where, embedder, moving_brain())
    mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01")
    crash_once(mem, "save_version", lambda record, **kw: kw.get("op") == Operation.INVALIDATE)
    with pytest.raises(Crash):
        mem.add("I moved to Lisbon yesterday.", user_id="alice", timestamp="2023-05-08")
    mem.delete(next(f.id for f in facts_of(mem) if "Lisbon" in f.content))
    mem.add("I moved to Lisbon yesterday.", user_id="alice", timestamp="2023-05-08")
    porto = next(f for f in facts_of(mem) if "Porto" in f.content)
    assert porto.valid_to is None and [h.op for h in mem.history(porto.id)] == [Operation.ADD]


def test_a_fact_repeated_in_one_batch_is_stored_once(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto."))
    mem, llm = make(where, embedder, brain)
    mem.add(["I live in Porto.", "Yes, Porto!"], user_id="alice", timestamp="2023-05-01")
    assert [f.content for f in facts_of(mem)] == ["Alice lives in Porto."]
    assert [s.action for s in mem.pipeline.operations] == ["ADD", "NOOP"] and "infer.resolve" not in llm.usage


# --------------------------------------------------------------------------- indexing


def index_of(mem: Memory, memory_id: str) -> tuple[str, str]:
    item = next(i for i in mem.store.export(Query(user_id="alice")) if i["record"]["id"] == memory_id)
    return item["index_text"], item["vector"]


def test_derived_memories_are_indexed_with_the_memory_index_config(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto.")).on("cats", fact("Alice has two cats.", "2023-04-30"))
    llm = ScriptedLLM(brain)
    mem = Memory(where.location("m.db"), embedder=embedder, llm=llm, index_config=IndexConfig(dates=True))
    porto = mem.add("I live in Porto.", user_id="alice", session_id="s1", timestamp="2023-05-01T10:00:00Z")[1]
    cats = mem.add("I have two cats.", user_id="alice", session_id="s1", timestamp="2023-05-02T10:00:00Z")[1]
    assert index_of(mem, porto.id)[0] == "[1 May 2023] Alice lives in Porto."
    assert index_of(mem, cats.id)[0] == "[30 April 2023] Alice has two cats.", "no earlier fact of the session is prefixed"
    summary = mem.get_all(user_id="alice", kind="summary")[0]
    assert index_of(mem, summary.id)[0].startswith("[2 May 2023] Session summary")
    # a new version whose only change is the event time is re-indexed and re-embedded
    vector = index_of(mem, cats.id)[1]
    writer = Writer(mem.store, mem.embedder, mem.index_config)
    moved = new_version(writer, mem.get(cats.id), op=Operation.UPDATE, reason="date fixed", event_time=d("2023-03-15"))
    assert moved.version == 2
    new_text, new_vector = index_of(mem, cats.id)
    assert new_text == "[15 March 2023] Alice has two cats." and new_vector != vector
    # a metadata-only version keeps the index
    new_version(writer, moved, op=Operation.UPDATE, reason="tagged", tags=["pets"])
    assert index_of(mem, cats.id) == (new_text, new_vector)


def test_default_index_config_indexes_facts_as_their_content(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto.")).on("cats", fact("Alice has two cats."))
    mem, _ = make(where, embedder, brain)
    mem.add("I live in Porto.", user_id="alice", session_id="s1", timestamp="2023-05-01T10:00:00Z")
    cats = mem.add("I have two cats.", user_id="alice", session_id="s1", timestamp="2023-05-02T10:00:00Z")[1]
    assert index_of(mem, cats.id)[0] == "Alice has two cats."


# --------------------------------------------------------------------------- linking, summaries, profile


def test_enrichment_links_and_evolves_neighbours(where: Any, embedder: Any) -> None:
    brain = (
        Brain()
        .on("climbing", fact("Alice goes rock climbing every Sunday."))
        .on("harness", fact("Alice bought a new climbing harness on 2023-04-02.", "2023-04-02"))
    )
    brain.evolve["rock climbing"] = "Alice's main hobby; she invests in gear."
    mem, _ = make(where, embedder, brain)
    a = mem.add("I go climbing every Sunday.", user_id="alice", timestamp="2023-04-01")[1]
    b = mem.add("I bought a new harness yesterday.", user_id="alice", timestamp="2023-04-03")[1]
    assert b.context and b.context.startswith("About: Alice bought") and "note" in b.keywords
    assert (b.id, a.id, "related") in {(lk.src, lk.dst, lk.relation) for lk in mem.store.links(b.id)}
    evolved = mem.get(a.id)
    assert evolved.context == "Alice's main hobby; she invests in gear." and evolved.tags == ["evolved"]
    h = mem.history(a.id)[-1]
    assert h.op == Operation.UPDATE and h.reason.startswith("memory evolution") and set(h.changed_fields) == {"context", "tags"}


def test_session_summary_grows_and_profile_is_one_per_user(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto.")).on("cats", fact("Alice has two cats."))
    mem, _ = make(where, embedder, brain)
    t1 = mem.add("I live in Porto.", user_id="alice", session_id="s1", timestamp="2023-05-01T10:00:00Z")[0]
    t2 = mem.add("I have two cats.", user_id="alice", session_id="s1", timestamp="2023-05-01T10:05:00Z")[0]
    mem.add("Hello!", user_id="alice", session_id="s2", timestamp="2023-05-02T10:00:00Z")
    summaries = mem.get_all(user_id="alice", kind="summary")
    assert {s.session_id for s in summaries} == {"s1", "s2"}
    s1 = next(s for s in summaries if s.session_id == "s1")
    assert s1.version == 2 and s1.source == [t1.id, t2.id] and s1.event_time == d("2023-05-01T10:05:00")
    assert "summary so far" in s1.content, "the update folds the old summary in"
    assert mem.history(s1.id)[-1].reason == "the session grew to 2 turns"
    profiles = mem.get_all(user_id="alice", kind="profile")
    assert len(profiles) == 1 and profiles[0].version == 2
    assert "Alice lives in Porto." in profiles[0].content and "Alice has two cats." in profiles[0].content
    assert mem.count(user_id="alice", kind="semantic") == 2


def test_facts_only_from_the_assistant_are_dropped_unless_asked(where: Any, embedder: Any) -> None:
    brain = Brain().on("I can help", fact("The assistant can help with taxes."))
    mem, _ = make(where, embedder, brain)
    mem.add({"role": "assistant", "content": "I can help with taxes."}, user_id="alice", timestamp="2023-01-01")
    assert facts_of(mem) == []
    mem2, _ = make(where, embedder, brain, "b.db", about_agent=True)
    mem2.add({"role": "assistant", "content": "I can help with taxes."}, user_id="alice", timestamp="2023-01-01")
    assert [f.content for f in facts_of(mem2)] == ["The assistant can help with taxes."]


def test_users_are_kept_apart(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("The user lives in Porto.")).rule("Porto", "NOOP", "Porto")
    mem, _ = make(where, embedder, brain)
    mem.add("I live in Porto.", user_id="alice", timestamp="2023-01-01")
    mem.add("I live in Porto.", user_id="bob", timestamp="2023-01-01")
    assert len(facts_of(mem, "alice")) == 1 and len(facts_of(mem, "bob")) == 1
    assert [s.action for s in mem.pipeline.operations] == ["ADD", "ADD"], "bob's fact is not resolved against alice's"


# --------------------------------------------------------------------------- background queue


def test_background_keeps_order_and_wait_blocks(where: Any, embedder: Any) -> None:
    gate = threading.Event()
    brain = (
        Brain()
        .on("Porto", fact("Alice lives in Porto."))
        .on("Lisbon", fact("Alice lives in Lisbon since 2023-05-07.", "2023-05-07"))
        .rule("Lisbon", "INVALIDATE", "Porto")
    )

    def slow(name: str, v: dict[str, Any]) -> Any:
        gate.wait(10)
        return brain(name, v)

    mem = Memory(where.location("m.db"), embedder=embedder, llm=ScriptedLLM(slow))
    r1 = mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01", background=True)
    r2 = mem.add("Now I live in Lisbon.", user_id="alice", timestamp="2023-05-08", background=True)
    assert [r.kind for r in r1 + r2] == [Kind.EPISODIC, Kind.EPISODIC]
    assert mem.search("Lisbon", user_id="alice")[0].memory.id == r2[0].id, "raw turns are searchable at once"
    with pytest.raises(TimeoutError):
        mem.wait(0.2)
    assert mem.pipeline.pending == 2
    gate.set()
    mem.wait(30)
    facts = facts_of(mem)
    assert [r.content for r in valid_now(facts)] == ["Alice lives in Lisbon since 2023-05-07."]
    assert len(facts) == 2 and mem.pipeline.errors == []
    mem.close()


def test_background_errors_are_kept_and_the_worker_survives(where: Any, embedder: Any) -> None:
    brain = Brain().on("Porto", fact("Alice lives in Porto.")).on("cats", fact("Alice has two cats."))
    brain.fail["extract_facts"] = 1
    mem, _ = make(where, embedder, brain)
    mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01", background=True)
    mem.add("I have two cats.", user_id="alice", timestamp="2023-05-02", background=True)
    mem.wait(30)
    errors = mem.pipeline.errors
    assert len(errors) == 1 and errors[0].stage == "extract" and "outage" in errors[0].message
    assert [f.content for f in facts_of(mem)] == ["Alice has two cats."]
    # a retry of the failed batch picks it up
    mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01", background=True)
    mem.close()
    with Memory(where.location("m.db"), embedder=embedder, llm=None) as again:
        assert sorted(f.content for f in facts_of(again)) == ["Alice has two cats.", "Alice lives in Porto."]


# --------------------------------------------------------------------------- without an LLM


def test_without_llm_nothing_is_inferred(where: Any, embedder: Any) -> None:
    mem = Memory(where.location("m.db"), embedder=embedder, llm=None)
    out = mem.add("I live in Porto.", user_id="alice", timestamp="2023-05-01")
    assert [r.kind for r in out] == [Kind.EPISODIC] and facts_of(mem) == []
    with pytest.raises(LLMNotConfiguredError):
        mem.add("I live in Lisbon.", user_id="alice", infer=True)
    assert mem.count(user_id="alice") == 1, "a refused add writes nothing"


def test_deterministic_keywords() -> None:
    text = "Alice moved from Porto to Lisbon in May 2023; Lisbon is sunny and Alice loves Lisbon."
    kws = extract_keywords(text)
    assert kws[0] == "lisbon" and kws[1] == "alice"
    assert "2023" in kws and "porto" in kws and "and" not in kws and "is" not in kws
    assert extract_keywords(text) == kws
    assert extract_keywords(text, limit=2) == kws[:2]
    assert extract_keywords("") == [] and extract_keywords("the and of") == []
