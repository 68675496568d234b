"""remem.compat.mem0: Mem0 OSS call sequences (README, quickstart, memory-operation docs),
rewritten as tests, on every store backend.

Shapes follow Mem0's ``mem0/memory/main.py``: ``add`` -> ``{"results": [{"id", "memory",
"event"}]}``, ``search``/``get_all`` -> ``{"results": [MemoryItem...]}``, ``get`` -> a dict or
None, ``update``/``delete``/``delete_all`` -> ``{"message": ...}``, ``history`` -> a list of
change rows.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from remem import InvalidInputError, Memory as RememMemory, NotFoundError, RememError
from remem.compat.mem0 import AsyncMemory, Memory, MemoryNotFoundError
from remem.llm import OpenAILLM, ScriptedLLM
from remem.write.pipeline import PipelineConfig

try:
    from llm_server import LlamaServer, llama_server  # noqa: F401
except ImportError:  # tests/ became a package
    from tests.llm_server import LlamaServer, llama_server  # noqa: F401

ITEM_KEYS = {"id", "memory", "hash", "metadata", "created_at", "updated_at"}
HISTORY_KEYS = {"id", "memory_id", "old_memory", "new_memory", "event", "created_at", "updated_at", "is_deleted"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$")


@pytest.fixture
def m(mem: RememMemory) -> Memory:
    return Memory(memory=mem)


def contents(result: dict[str, Any]) -> list[str]:
    return [r["memory"] for r in result["results"]]


def check_item(item: dict[str, Any], *, score: bool = False) -> None:
    assert ITEM_KEYS <= set(item) and ("score" in item) == score
    assert re.fullmatch(r"[0-9a-f]{32}", item["hash"]) and ISO.match(item["created_at"]) and ISO.match(item["updated_at"])
    if score:
        assert 0.0 <= item["score"] <= 1.0


# --------------------------------------------------------------------------- quickstart & README


def test_quickstart_add_then_search(m: Memory) -> None:
    messages = [
        {"role": "user", "content": "Hi, I'm Alex. I love basketball and gaming."},
        {"role": "assistant", "content": "Hey Alex! I'll remember your interests."},
    ]
    added = m.add(messages, user_id="alex")
    assert set(added) == {"results"} and [r["event"] for r in added["results"]] == ["ADD", "ADD"]
    assert [(r["memory"], r["role"]) for r in added["results"]] == [(x["content"], x["role"]) for x in messages]
    m.add("I work as a nurse in Boston.", user_id="alex")
    m.add("I love basketball too, and chess.", user_id="sam")

    found = m.search("Which sports does Alex enjoy?", filters={"user_id": "alex"})
    top = found["results"][0]
    assert top["memory"] == "Hi, I'm Alex. I love basketball and gaming."
    check_item(top, score=True)
    assert top["user_id"] == "alex" and top["role"] == "user" and top["metadata"] is None
    assert top["id"] == added["results"][0]["id"]
    assert all(r["user_id"] == "alex" for r in found["results"])  # sam's memory is not alex's
    scores = [r["score"] for r in found["results"]]
    assert scores == sorted(scores, reverse=True)


def test_readme_chat_loop(m: Memory) -> None:
    """Search with filters/top_k, answer, then add the whole exchange (system message included)."""
    user_id = "default_user"
    assert m.search(query="What do I like to eat?", filters={"user_id": user_id}, top_k=3) == {"results": []}
    m.add([{"role": "user", "content": "I'm vegetarian and I love spicy Thai food."}], user_id=user_id)
    relevant = m.search(query="What should I cook for dinner tonight?", filters={"user_id": user_id}, top_k=3)
    memories_str = "\n".join(f"- {entry['memory']}" for entry in relevant["results"])
    assert "spicy Thai food" in memories_str
    messages = [
        {"role": "system", "content": f"You are a helpful AI.\nUser Memories:\n{memories_str}"},
        {"role": "user", "content": "What should I cook for dinner tonight?"},
        {"role": "assistant", "content": "How about a vegetarian green curry?"},
    ]
    added = m.add(messages, user_id=user_id)
    assert [r["role"] for r in added["results"]] == ["user", "assistant"]  # system messages are skipped
    assert len(m.get_all(filters={"user_id": user_id})["results"]) == 3


def test_older_mem0_call_style_with_top_level_ids_and_limit(m: Memory) -> None:
    m.add("I live in Lisbon", user_id="alice", agent_id="travel")
    m.add("I'm allergic to peanuts", user_id="alice", agent_id="health")
    assert contents(m.search("peanut allergy", user_id="alice", limit=1)) == ["I'm allergic to peanuts"]
    assert contents(m.search("where", user_id="alice", agent_id="travel")) == ["I live in Lisbon"]
    assert len(m.get_all(user_id="alice", limit=1)["results"]) == 1
    everything = m.get_all(user_id="alice")["results"]
    assert [r["memory"] for r in everything] == ["I'm allergic to peanuts", "I live in Lisbon"]  # newest first
    check_item(everything[0])
    assert everything[0]["agent_id"] == "health"
    # the same id top-level and in filters is fine; two different ones are not
    assert len(m.get_all(user_id="alice", filters={"user_id": "alice"})["results"]) == 2
    with pytest.raises(InvalidInputError, match="twice"):
        m.search("x", user_id="alice", filters={"user_id": "bob"})
    with pytest.raises(InvalidInputError, match="top_k or limit"):
        m.get_all(user_id="alice", top_k=1, limit=2)
    assert m.search("Lisbon", user_id="alice", top_k=0) == {"results": []}


def test_an_entity_id_is_required(m: Memory) -> None:
    for call in (
        lambda: m.add("hello"),
        lambda: m.search("hello"),
        lambda: m.search("hello", filters={"category": "x"}),
        lambda: m.get_all(),
        lambda: m.delete_all(),
    ):
        with pytest.raises(InvalidInputError, match="user_id") as err:
            call()
        assert isinstance(err.value, ValueError) and isinstance(err.value, RememError)
    assert m.memory.count() == 0


def test_run_id_is_the_remem_session(m: Memory) -> None:
    added = m.add("We are debugging the payment service.", agent_id="support-bot", run_id="ticket-42")
    record = m.memory.get(added["results"][0]["id"])
    assert record.session_id == "ticket-42" and record.agent_id == "support-bot" and record.user_id is None
    m.add("Another ticket about the login page.", agent_id="support-bot", run_id="ticket-43")
    found = m.search("payment bug", filters={"agent_id": "support-bot", "run_id": "ticket-42"})
    assert contents(found) == ["We are debugging the payment service."]
    assert found["results"][0]["run_id"] == "ticket-42" and "user_id" not in found["results"][0]
    assert len(m.get_all(agent_id="support-bot")["results"]) == 2
    assert len(m.get_all(run_id="ticket-43")["results"]) == 1


# --------------------------------------------------------------------------- metadata & filters


def test_metadata_and_filters(m: Memory) -> None:
    movies = [
        {"role": "user", "content": "I'm planning to watch a movie tonight. Any recommendations?"},
        {"role": "assistant", "content": "How about thriller movies? They can be quite engaging."},
        {"role": "user", "content": "I'm not a big fan of thriller movies but I love sci-fi movies."},
        {"role": "assistant", "content": "Got it! I'll avoid thriller recommendations and suggest sci-fi movies in the future."},
    ]
    m.add(movies, user_id="alice", metadata={"category": "movie_recommendations", "user_id": "mallory"}, infer=False)
    m.add("I'm vegetarian and I don't eat eggs.", user_id="alice", metadata={"category": "food", "priority": 2})
    m.add("I prefer green tea over coffee.", user_id="alice", metadata={"category": "food", "priority": 5})

    food = m.search("what does alice eat?", filters={"user_id": "alice", "category": "food"})
    assert set(contents(food)) == {"I'm vegetarian and I don't eat eggs.", "I prefer green tea over coffee."}
    assert food["results"][0]["metadata"]["category"] == "food"
    scifi = m.search("sci-fi movies", filters={"user_id": "alice", "category": "movie_recommendations"})
    assert scifi["results"][0]["memory"] == movies[2]["content"]
    assert scifi["results"][0]["user_id"] == "alice"  # identity keys in metadata do not move a memory
    assert "user_id" not in scifi["results"][0]["metadata"]

    def texts(**filters: Any) -> set[str]:
        return set(contents(m.get_all(filters={"user_id": "alice", **filters})))

    assert texts(priority={"gte": 3}) == {"I prefer green tea over coffee."}
    assert texts(category={"in": ["food"]}, priority={"lt": 3}) == {"I'm vegetarian and I don't eat eggs."}
    assert texts(category={"ne": "food"}, role="assistant") == {movies[1]["content"], movies[3]["content"]}
    assert texts(AND=[{"category": "food"}, {"priority": 5}]) == {"I prefer green tea over coffee."}
    for bad in ({"OR": [{"category": "food"}]}, {"NOT": [{"category": "food"}]}, {"category": {"contains": "fo"}},
                {"category": {"icontains": "FO"}}, {"category": "*"}, {"AND": "category"}):  # fmt: skip
        with pytest.raises(InvalidInputError, match="not supported|AND needs"):
            m.search("food", filters={"user_id": "alice", **bad})
    with pytest.raises(InvalidInputError, match="conflicting"):
        m.get_all(filters={"user_id": "alice", "AND": [{"category": "food"}, {"category": "movies"}]})


def test_explain_threshold_and_names(m: Memory) -> None:
    m.add([{"role": "user", "name": "Ann", "content": "I moved to Lisbon last spring."}], user_id="ann", timestamp="2023-05-08")
    hit = m.search("Lisbon", filters={"user_id": "ann"}, explain=True)["results"][0]
    assert hit["actor_id"] == "Ann" and hit["score_details"]["mode"] == "hybrid"
    assert contents(m.get_all(filters={"user_id": "ann", "actor_id": "Ann"})) == ["I moved to Lisbon last spring."]
    assert m.memory.get(hit["id"]).event_time.year == 2023  # timestamp is kept (Mem0 OSS refuses it)
    assert m.search("Lisbon", filters={"user_id": "ann"}, threshold=1.0) == {"results": []}
    with pytest.raises(InvalidInputError, match="threshold"):
        m.search("Lisbon", filters={"user_id": "ann"}, threshold=2)


# --------------------------------------------------------------------------- get, update, history, delete


def test_get_update_and_history(m: Memory) -> None:
    added = m.add("I like to drink coffee in the morning.", user_id="alex", metadata={"category": "habits"})
    memory_id = added["results"][0]["id"]
    got = m.get(memory_id)
    assert got is not None and got["memory"] == "I like to drink coffee in the morning." and got["user_id"] == "alex"
    check_item(got)
    assert got["metadata"] == {"category": "habits"}
    assert m.get("0" * 32) is None

    assert m.update(memory_id, "Alex now prefers decaf coffee") == {"message": "Memory updated successfully!"}
    assert m.update(memory_id=memory_id, text="Alex now prefers tea", metadata={"category": "preferences", "user_id": "x"})
    after = m.get(memory_id)
    assert after is not None and after["memory"] == "Alex now prefers tea" and after["user_id"] == "alex"
    assert after["metadata"] == {"category": "preferences"} and after["created_at"] == got["created_at"]
    assert after["hash"] != got["hash"]
    assert contents(m.search("tea", filters={"user_id": "alex"}))[0] == "Alex now prefers tea"

    history = m.history(memory_id)
    assert all(HISTORY_KEYS <= set(h) for h in history)
    assert [(h["event"], h["old_memory"], h["new_memory"]) for h in history] == [
        ("ADD", None, "I like to drink coffee in the morning."),
        ("UPDATE", "I like to drink coffee in the morning.", "Alex now prefers decaf coffee"),
        ("UPDATE", "Alex now prefers decaf coffee", "Alex now prefers tea"),
    ]
    assert {h["memory_id"] for h in history} == {memory_id} and len({h["id"] for h in history}) == 3
    assert not any(h["is_deleted"] for h in history)
    assert m.history("0" * 32) == []
    with pytest.raises(InvalidInputError):
        m.update(memory_id)
    with pytest.raises(MemoryNotFoundError) as err:
        m.update("0" * 32, "nothing here")
    assert isinstance(err.value, ValueError) and isinstance(err.value, NotFoundError)


def test_delete(m: Memory) -> None:
    memory_id = m.add("Temporary note", user_id="alex")["results"][0]["id"]
    assert m.delete(memory_id=memory_id) == {"message": "Memory deleted successfully!"}
    assert m.get(memory_id) is None and m.get_all(user_id="alex") == {"results": []}
    assert m.search("temporary note", user_id="alex") == {"results": []}
    last = m.history(memory_id)[-1]
    assert last["event"] == "DELETE" and last["is_deleted"] and last["new_memory"] is None
    assert last["old_memory"] == "Temporary note"
    for call in (lambda: m.delete(memory_id), lambda: m.update(memory_id, "back?")):
        with pytest.raises(MemoryNotFoundError, match="not found"):
            call()


def test_delete_all_is_scoped(m: Memory) -> None:
    m.add("alice run 1", user_id="alice", run_id="r1")
    m.add("alice run 2", user_id="alice", run_id="r2")
    m.add("alice with the bot", user_id="alice", agent_id="support-bot", run_id="r2")
    m.add("bob run 1", user_id="bob", run_id="r1")
    m.add("bot note", agent_id="support-bot")

    assert m.delete_all(user_id="alice", run_id="r1") == {"message": "Memories deleted successfully!"}
    assert set(contents(m.get_all(user_id="alice"))) == {"alice run 2", "alice with the bot"}
    assert contents(m.get_all(run_id="r1")) == ["bob run 1"]
    m.delete_all(agent_id="support-bot")
    assert contents(m.get_all(user_id="alice")) == ["alice run 2"]
    assert m.get_all(agent_id="support-bot") == {"results": []}
    m.delete_all(user_id="alice")
    assert m.get_all(user_id="alice") == {"results": []} and contents(m.get_all(user_id="bob")) == ["bob run 1"]
    with pytest.raises(InvalidInputError, match="reset"):
        m.delete_all()


def test_reset_empties_the_store(m: Memory) -> None:
    ids = [m.add(text, **scope)["results"][0]["id"] for text, scope in (
        ("alice's memory", {"user_id": "alice"}), ("bob's memory", {"user_id": "bob", "run_id": "r1"}),
        ("the agent's memory", {"agent_id": "bot"}),
    )]  # fmt: skip
    m.delete(ids[0])
    assert m.reset() is None
    for scope in ({"user_id": "alice"}, {"user_id": "bob"}, {"agent_id": "bot"}, {"run_id": "r1"}):
        assert m.get_all(**scope) == {"results": []}
    assert m.memory.count() == 0 and all(m.get(i) is None for i in ids)
    assert m.history(ids[0]) == [] and m.history(ids[1]) == []  # users' memories are purged, history included
    m.add("a fresh start", user_id="alice")
    assert contents(m.get_all(user_id="alice")) == ["a fresh start"]


def test_bad_input(m: Memory) -> None:
    for bad in (None, 5, [], ["not a dict"], [{"role": "user"}], [{"content": "no role"}],
                [{"role": "user", "content": [{"type": "image_url"}]}]):  # fmt: skip
        with pytest.raises(InvalidInputError):
            m.add(bad, user_id="alice")  # type: ignore[arg-type]
    for kwargs in ({"memory_type": "procedural_memory"}, {"prompt": "custom"}, {"expiration_date": "2030-01-31"}):
        with pytest.raises(InvalidInputError, match="not supported"):
            m.add("hello", user_id="alice", **kwargs)
    for bad_id in ("", "   ", "*", 3.5):
        with pytest.raises(InvalidInputError):
            m.add("hello", user_id=bad_id)  # type: ignore[arg-type]
    assert m.add("numbers are ids too", user_id=42)["results"][0]["memory"] == "numbers are ids too"  # type: ignore[arg-type]
    assert len(m.get_all(user_id="42")["results"]) == 1
    assert m.add({"role": "system", "content": "only a system message"}, user_id="alice") == {"results": []}
    for call in (lambda: m.search("", user_id="alice"), lambda: m.get_all(user_id="alice", top_k=-1),
                 lambda: m.search("x", user_id="alice", filters="user_id=alice")):  # fmt: skip
        with pytest.raises(InvalidInputError):
            call()
    assert m.memory.count(user_id="alice") == 0


# --------------------------------------------------------------------------- construction & config


def test_default_constructors(tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMEM_PATH", str(tmp_path / "default.db"))
    with Memory(embedder=embedder) as default:
        default.add("in the default store", user_id="u")
    with Memory(path=tmp_path / "default.db", embedder=embedder) as same:
        assert contents(same.get_all(user_id="u")) == ["in the default store"]
    with pytest.raises(InvalidInputError):
        Memory(path=tmp_path / "x.db", memory=RememMemory(tmp_path / "y.db", embedder=embedder))


def test_from_config_maps_the_vector_store_and_ignores_the_rest(tmp_path: Path, embedder: Any) -> None:
    config = {
        "vector_store": {"provider": "qdrant", "config": {"path": str(tmp_path / "qdrant"), "collection_name": "team_a"}},
        "embedder": {"provider": "openai", "config": {"model": "text-embedding-3-small"}},
        "history_db_path": str(tmp_path / "history.db"),
        "version": "v1.1",
    }
    with Memory.from_config(config, embedder=embedder, llm=None) as a:
        a.add("I'm on team A", user_id="u")
        assert a.memory.store.tenant == "team_a"
    assert (tmp_path / "qdrant" / "remem.db").is_file() and not (tmp_path / "history.db").exists()
    other = {"vector_store": {"provider": "chroma", "config": {"path": str(tmp_path / "qdrant"), "collection_name": "team_b"}}}
    with Memory.from_config(other, embedder=embedder, llm=None) as b:
        assert b.get_all(user_id="u") == {"results": []}  # another collection is another tenant
    file_config = {"vector_store": {"provider": "faiss", "config": {"db_path": str(tmp_path / "m.sqlite")}}}
    with Memory(file_config, embedder=embedder, llm=None) as c:  # a dict as the first argument is a config
        c.add("hello", user_id="u")
    assert (tmp_path / "m.sqlite").is_file()
    with Memory.from_config({"vector_store": {"config": {"path": str(tmp_path / "qdrant"), "collection_name": "team_a"}}},
                            embedder=embedder, llm=None) as again:  # fmt: skip
        assert contents(again.get_all(user_id="u")) == ["I'm on team A"]
    for bad in ([], {"vector_stor": {}}, {"vector_store": "qdrant"}, {"vector_store": {"provider": "pgvector", "config": {}}},
                {"vector_store": {"config": {"path": "x", "collection_name": ""}}}):  # fmt: skip
        with pytest.raises(InvalidInputError):
            Memory.from_config(bad, embedder=embedder)  # type: ignore[arg-type]


def test_from_config_maps_a_postgres_vector_store(store_location: str, embedder: Any) -> None:
    if "://" not in store_location:
        pytest.skip("the PostgreSQL parameter covers this")
    config = {"vector_store": {"provider": "pgvector", "config": {"connection_string": store_location}}}
    with Memory.from_config(config, embedder=embedder, llm=None) as pg:
        pg.add("stored in PostgreSQL", user_id="u")
        assert contents(pg.search("PostgreSQL", user_id="u")) == ["stored in PostgreSQL"]
        assert type(pg.memory.store).__name__ == "PostgresStore"


def test_from_config_maps_an_openai_compatible_llm(tmp_path: Path, embedder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    db = {"vector_store": {"provider": "qdrant", "config": {"path": str(tmp_path / "q")}}}
    with Memory.from_config({**db, "llm": {"provider": "openai", "config": {"model": "gpt-4.1-nano", "temperature": 0.1}}},
                            embedder=embedder) as m:  # fmt: skip
        assert isinstance(m.memory.llm, OpenAILLM)
        cfg = m.memory.llm.config
        assert (cfg.base_url, cfg.model, cfg.temperature) == ("https://api.openai.com/v1", "gpt-4.1-nano", 0.1)
        assert cfg.api_key is not None and cfg.api_key.get_secret_value() == "sk-from-env"
    local = {"provider": "openai", "config": {"model": "smol", "openai_base_url": "http://127.0.0.1:9/v1", "api_key": "x", "max_tokens": 64}}
    with Memory.from_config({**db, "llm": local}, embedder=embedder) as m:
        assert (m.memory.llm.config.base_url, m.memory.llm.config.max_tokens) == ("http://127.0.0.1:9/v1", 64)
    with Memory.from_config({**db, "llm": {"provider": "ollama", "config": {"model": "llama3.1"}}}, embedder=embedder) as m:
        assert m.memory.llm.config.base_url == "http://localhost:11434/v1"
    for bad in ({"provider": "anthropic", "config": {"model": "claude"}}, {"provider": "openai", "config": {}},
                {"provider": "openai", "config": {"model": "x", "temperature": 5}}):  # fmt: skip
        with pytest.raises(InvalidInputError):
            Memory.from_config({**db, "llm": bad}, embedder=embedder)


# --------------------------------------------------------------------------- infer=True with an LLM

LINE = re.compile(r"^\[(?P<id>[^\]]+)\] [^|]*\| (?P<who>[^:]+): (?P<text>.*)$")
EXISTING = re.compile(r"^\[(?P<id>[^\]]+)\] (?P<text>.*?)(?: \(event: .*\))?$")
FACTS = {"Porto": "Alice lives in Porto", "Lisbon": "Alice lives in Lisbon", "cat": "Alice lives in Lisbon with a cat"}


def brain(name: str, v: dict[str, Any]) -> dict[str, Any]:
    """A scripted LLM: one fact per message mentioning a FACTS key; resolution by rules."""
    if name == "extract_facts":
        facts = []
        for line in v["messages"].splitlines():
            if (turn := LINE.match(line)) is None:
                continue
            for key, text in FACTS.items():
                if key in turn["text"]:
                    content = "Alice lives in Lisbon" if "again" in turn["text"] else text
                    facts.append({"content": content, "kind": "semantic", "event_time": None, "importance": 0.6,
                                  "source_ids": [turn["id"]], "keywords": ["home"], "tags": ["life"]})  # fmt: skip
        return {"facts": facts}
    assert name == "resolve", name
    existing = [e for e in (EXISTING.match(line) for line in v["existing"].splitlines()) if e]
    same = [e["id"] for e in existing if e["text"] == v["fact"]]
    porto = [e["id"] for e in existing if "Porto" in e["text"]]
    lisbon = [e["id"] for e in existing if e["text"] == "Alice lives in Lisbon"]
    if same:
        return {"action": "NOOP", "target_ids": same[:1], "content": None, "reason": "known"}
    if "cat" in v["fact"] and lisbon:
        return {"action": "UPDATE", "target_ids": lisbon, "content": v["fact"], "reason": "refined"}
    if "Lisbon" in v["fact"] and porto:
        return {"action": "INVALIDATE", "target_ids": porto, "content": None, "reason": "moved"}
    return {"action": "ADD", "target_ids": [], "content": None, "reason": "new"}


def test_infer_uses_the_llm_write_path_and_reports_mem0_events(tmp_path: Path, embedder: Any) -> None:
    config = PipelineConfig(enrich=False, summarize=False, profile=False)
    remem = RememMemory(tmp_path / "infer.db", embedder=embedder, llm=ScriptedLLM(brain), infer_config=config)
    with Memory(memory=remem) as m:
        first = m.add("I live in Porto.", user_id="alice")["results"]
        assert [(r["event"], r["memory"]) for r in first] == [("ADD", "I live in Porto."), ("ADD", "Alice lives in Porto")]
        porto_id = first[1]["id"]
        moved = m.add("I just moved to Lisbon!", user_id="alice")["results"]
        assert [(r["event"], r["memory"]) for r in moved] == [
            ("ADD", "I just moved to Lisbon!"), ("ADD", "Alice lives in Lisbon"), ("DELETE", "Alice lives in Porto"),
        ]  # fmt: skip
        assert moved[2]["id"] == porto_id
        known = m.add("As I said, I live in Lisbon again.", user_id="alice")["results"]
        assert [r["event"] for r in known] == ["ADD", "NONE"] and known[1]["id"] == moved[1]["id"]
        cat = m.add("I got a cat.", user_id="alice")["results"]
        assert [r["event"] for r in cat] == ["ADD", "UPDATE"]
        assert cat[1]["memory"] == "Alice lives in Lisbon with a cat"
        assert cat[1]["previous_memory"] == "Alice lives in Lisbon"
        top = m.search("where does alice live?", filters={"user_id": "alice", "kind": "semantic"})["results"]
        assert [r["memory"] for r in top] == ["Alice lives in Lisbon with a cat"]  # the ended Porto fact is not current
        assert porto_id not in {r["id"] for r in m.get_all(user_id="alice")["results"]}  # ended: gone, as in Mem0
        assert len(m.get_all(user_id="alice", top_k=2)["results"]) == 2
        assert m.get(porto_id)["memory"] == "Alice lives in Porto"  # type: ignore[index]  # still readable by id
        assert [h["event"] for h in m.history(porto_id)] == ["ADD", "DELETE"]
        assert m.history(porto_id)[-1]["remem_op"] == "INVALIDATE"
        raw = m.add("I live in Porto.", user_id="bob", infer=False)["results"]  # infer=False: raw only
        assert [r["event"] for r in raw] == ["ADD"] and remem.count(user_id="bob") == 1


def test_infer_without_an_llm_stores_raw_messages(tmp_path: Path, embedder: Any) -> None:
    with Memory(path=tmp_path / "raw.db", embedder=embedder, llm=None) as m:
        added = m.add([{"role": "user", "content": "I live in Porto."}], user_id="alice", infer=True)
        assert [r["event"] for r in added["results"]] == ["ADD"]
        assert m.memory.get(added["results"][0]["id"]).kind.value == "episodic"


@pytest.mark.llm
def test_infer_against_a_real_openai_compatible_server(tmp_path: Path, embedder: Any, llama_server: LlamaServer) -> None:
    """Bookkeeping, not wisdom (the 135M model rarely writes valid facts): raw turns first."""
    llm = {"provider": "openai", "config": {"model": llama_server.model, "openai_base_url": llama_server.base_url,
                                            "api_key": "x", "max_tokens": 24}}  # fmt: skip
    db = {"vector_store": {"provider": "qdrant", "config": {"path": str(tmp_path / "q")}}}
    with Memory.from_config({**db, "llm": llm}, embedder=embedder) as m:
        assert (m.memory.llm.config.base_url, m.memory.llm.config.max_tokens) == (llama_server.base_url, 24)
        # one try per call: the tiny model is slow, and its retries would test nothing more
        m.memory.llm = OpenAILLM(m.memory.llm.config.model_copy(update={"output_retries": 0, "max_retries": 0, "timeout_s": 180}))
        m.memory.infer_config = PipelineConfig(enrich=False, summarize=False, profile=False, context_turns=0)
        try:
            added = m.add("I moved to Lisbon.", user_id="ann")["results"]
        except RememError as exc:  # extraction failed: the raw turn is stored for a retry
            assert exc.code.startswith("llm")
            added = []
        else:
            assert added[0] == {"id": added[0]["id"], "memory": "I moved to Lisbon.", "event": "ADD", "role": "user"}
            assert all(r["event"] in {"ADD", "UPDATE", "DELETE", "NONE"} for r in added)
        assert "I moved to Lisbon." in contents(m.get_all(user_id="ann"))


# --------------------------------------------------------------------------- AsyncMemory


def test_async_memory(tmp_path: Path, embedder: Any) -> None:
    async def story() -> None:
        async with AsyncMemory(path=tmp_path / "async.db", embedder=embedder, llm=None) as m:
            added = await m.add([{"role": "user", "content": "I love hiking in the Alps."}], user_id="alice")
            memory_id = added["results"][0]["id"]
            found = await m.search("mountains hiking", filters={"user_id": "alice"}, top_k=1)
            assert found["results"][0]["id"] == memory_id
            assert (await m.get(memory_id))["memory"] == "I love hiking in the Alps."  # type: ignore[index]
            assert await m.update(memory_id, data="I love hiking in the Dolomites.") == {"message": "Memory updated successfully!"}
            assert [h["event"] for h in await m.history(memory_id)] == ["ADD", "UPDATE"]
            assert len((await m.get_all(user_id="alice"))["results"]) == 1
            await m.delete_all(user_id="alice")
            assert (await m.get_all(user_id="alice"))["results"] == []
            await m.add("again", user_id="alice")
            assert await m.delete((await m.get_all(user_id="alice"))["results"][0]["id"]) == {"message": "Memory deleted successfully!"}
            await m.reset()
            assert m.memory.count() == 0
        from_config = AsyncMemory.from_config({"vector_store": {"config": {"path": str(tmp_path / "async.db")}}}, embedder=embedder, llm=None)
        assert (await from_config.get_all(user_id="alice"))["results"] == []
        await from_config.close()

    asyncio.run(story())
