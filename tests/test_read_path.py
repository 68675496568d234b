"""Read-path stages: time awareness, validity, sessions, strength, diversity, context packing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from remem import Memory, MemoryRecord, SearchConfig
from remem.models import Kind
from remem.read.strength import retention, stability


def test_time_expressions_boost_memories_in_range(mem: Memory) -> None:
    mem.add("I went hiking in the mountains", user_id="u", session_id="a", timestamp="2023-03-11")
    mem.add("I went hiking by the sea", user_id="u", session_id="b", timestamp="2023-05-27")
    now = datetime(2023, 5, 30, tzinfo=timezone.utc)
    hits = mem.search("where did I go hiking last weekend?", user_id="u", now=now, limit=2)
    assert hits[0].memory.content == "I went hiking by the sea"
    assert hits[0].explanation["time_ranges"] == ["last weekend"]
    hits = mem.search("where did I go hiking in March?", user_id="u", now=now, limit=2)
    assert hits[0].memory.content == "I went hiking in the mountains"
    off = Memory(store=mem.store, embedder=mem.embedder, search_config=SearchConfig(time_weight=0), llm=None)
    assert "time_ranges" not in off.search("hiking last weekend", user_id="u", now=now)[0].explanation


def test_invalidated_facts_are_hidden_now_but_visible_as_of_the_past(mem: Memory) -> None:
    [porto] = mem.add_records([MemoryRecord(content="Alice lives in Porto", kind=Kind.SEMANTIC, user_id="alice",
                                            valid_from=datetime(2020, 1, 1, tzinfo=timezone.utc))])
    mem.add_records([MemoryRecord(content="Alice lives in Lisbon", kind=Kind.SEMANTIC, user_id="alice",
                                  valid_from=datetime(2023, 5, 1, tzinfo=timezone.utc))])
    mem.update(porto.id, valid_to="2023-05-01", reason="moved to Lisbon")
    assert [h.memory.content for h in mem.search("where does alice live?", user_id="alice", kind="semantic")] == ["Alice lives in Lisbon"]
    past = mem.search("where does alice live?", user_id="alice", kind="semantic", as_of="2022-06-01")
    assert [h.memory.content for h in past] == ["Alice lives in Porto"]
    assert mem.get(porto.id).valid_to == datetime(2023, 5, 1, tzinfo=timezone.utc)


def test_session_granularity_lifts_turns_of_the_matching_session(mem: Memory) -> None:
    mem.add(["We adopted a puppy named Biscuit", "Biscuit loves the beach", "The vet said Biscuit is healthy"], user_id="u", session_id="dog")
    mem.add(["My sister called about the wedding", "The weather was nice"], user_id="u", session_id="misc")
    on = Memory(store=mem.store, embedder=mem.embedder, search_config=SearchConfig(fusion="score", session_weight=2.0), llm=None)
    hits = on.search("Biscuit the puppy", user_id="u", limit=5)
    assert [h.memory.session_id for h in hits[:3]] == ["dog"] * 3
    assert hits[0].explanation["session"] == 1.0


def test_forgetting_curve_strong_memories_decay_slower() -> None:
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    old = now - timedelta(days=60)
    weak = MemoryRecord(content="x", importance=0.1, event_time=old)
    strong = MemoryRecord(content="x", importance=0.9, event_time=old)
    recalled = MemoryRecord(content="x", importance=0.1, event_time=old, access_count=3)
    assert stability(strong) > stability(weak)
    assert retention(strong, now) > retention(weak, now)
    assert retention(recalled, now) > retention(weak, now)
    fresh = MemoryRecord(content="x", event_time=now)
    assert retention(fresh, now) == pytest.approx(1.0)


def test_strength_prior_reorders_ties_but_never_hides_a_strong_match(mem: Memory) -> None:
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    mem.add("I like green tea", user_id="u", session_id="old", timestamp=now - timedelta(days=400))
    mem.add("I like green tea", user_id="u", session_id="new", timestamp=now - timedelta(days=1))
    mem.add("The quarterly tax form is due in April", user_id="u", session_id="tax", timestamp=now - timedelta(days=900))
    strong = Memory(store=mem.store, embedder=mem.embedder, search_config=SearchConfig(strength_weight=0.3), llm=None)
    hits = strong.search("green tea", user_id="u", now=now, limit=3)
    assert hits[0].memory.session_id == "new"
    assert strong.search("quarterly tax form", user_id="u", now=now, limit=1)[0].memory.session_id == "tax"


def test_context_marks_used_memories_as_recalled(mem: Memory) -> None:
    [rec] = mem.add("I keep the spare key under the blue pot", user_id="u")
    mem.context("where is the spare key?", user_id="u")
    assert mem.get(rec.id).access_count == 1 and mem.get(rec.id).last_accessed_at is not None
    assert mem.get(rec.id).version == 1  # recall is not a content change


def test_mmr_spreads_the_top_k(mem: Memory) -> None:
    mem.add(["I love pizza with mushrooms", "I love pizza with mushrooms and olives", "I love pizza with mushrooms, really",
             "My favourite drink is lemonade"], user_id="u")
    plain = mem.search("what food and drink do I love?", user_id="u", limit=2)
    diverse = Memory(store=mem.store, embedder=mem.embedder, search_config=SearchConfig(mmr_lambda=0.3), llm=None)
    hits = diverse.search("what food and drink do I love?", user_id="u", limit=2)
    assert any("lemonade" in h.memory.content for h in hits)
    assert len({h.memory.content.split()[2] for h in hits}) == 2 or plain != hits


def test_context_expands_to_neighbouring_turns(mem: Memory) -> None:
    turns = [f"filler turn number {i} about the weather" for i in range(40)]
    turns[20] = "What did you name the new kitten?"
    turns[21] = "We called her Pepper"
    mem.add(turns, user_id="u", session_id="s", timestamp="2023-01-01")
    ctx = mem.context("what is the kitten's name?", user_id="u", token_budget=60)
    assert ctx.strategy == "retrieval"
    assert "We called her Pepper" in ctx.text and "kitten" in ctx.text
    lines = ctx.text.splitlines()
    assert lines.index(next(line for line in lines if "kitten" in line)) < lines.index(next(line for line in lines if "Pepper" in line))


def test_context_full_when_everything_fits(mem: Memory) -> None:
    mem.add(["a", "b"], user_id="u", session_id="s1", timestamp="2023-01-01")
    mem.add(["c"], user_id="u", session_id="s2", timestamp="2023-02-01")
    ctx = mem.context("anything", user_id="u", token_budget=500)
    assert ctx.complete and ctx.strategy == "full"
    assert ctx.text.index("Session s1") < ctx.text.index("Session s2")
