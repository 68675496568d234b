"""RememRetriever against the real langchain-core: invoke, ainvoke, batch, chains.

Tests taking ``mem`` run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

from remem import AsyncMemory, InvalidInputError, Memory
from remem.integrations.langchain import RememRetriever

FACTS = [
    ("I moved from Porto to Lisbon last spring.", "s1"),
    ("My cat is called Miso.", "s1"),
    ("I work as a nurse at the city hospital.", "s2"),
    ("I'm vegetarian, no meat or fish.", "s2"),
]


def seed(mem: Memory) -> None:
    for text, session in FACTS:
        mem.add({"role": "user", "name": "Alice", "content": text}, user_id="alice", session_id=session,
                timestamp="2024-05-08 10:00", metadata={"channel": "chat"}, infer=False)
    mem.add("Bob lives in Lisbon too.", user_id="bob", infer=False)


def test_invoke_returns_documents(mem: Memory) -> None:
    seed(mem)
    retriever = RememRetriever(memory=mem, user_id="alice", k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("where does alice live?")
    assert len(docs) == 2 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.page_content == "I moved from Porto to Lisbon last spring."
    hit = mem.search("where does alice live?", user_id="alice", limit=2)[0]
    assert top.id == top.metadata["id"] == hit.memory.id
    assert top.metadata["score"] == hit.score and docs[0].metadata["score"] >= docs[1].metadata["score"]
    assert top.metadata["kind"] == "episodic" and top.metadata["user_id"] == "alice"
    assert top.metadata["session_id"] == "s1" and top.metadata["role"] == "user" and top.metadata["speaker"] == "Alice"
    assert top.metadata["metadata"] == {"channel": "chat"}
    assert top.metadata["event_time"].startswith("2024-05-08T10:00")
    assert top.metadata["created_at"] == hit.memory.created_at.isoformat()
    assert "Bob" not in " ".join(d.page_content for d in retriever.invoke("who lives in Lisbon?", k=4))


def test_search_settings_and_per_call_overrides(sqlite_mem: Memory) -> None:
    seed(sqlite_mem)
    by_session = RememRetriever(memory=sqlite_mem, user_id="alice", session_id="s2", limit=10)
    assert by_session.k == 10
    assert {d.page_content for d in by_session.invoke("what does alice do?")} == {FACTS[2][0], FACTS[3][0]}
    everyone = RememRetriever(memory=sqlite_mem, mode="bm25", k=5)
    assert {d.metadata.get("user_id") for d in everyone.invoke("Lisbon")} == {"alice", "bob"}
    assert len(everyone.invoke("Lisbon", k=1)) == 1
    assert [d.metadata["user_id"] for d in everyone.invoke("Lisbon", user_id="bob")] == ["bob"]
    filtered = RememRetriever(memory=sqlite_mem, user_id="alice", filters={"session_id": "s1"}, k=10)
    assert {d.metadata["session_id"] for d in filtered.invoke("cat")} == {"s1"}
    assert filtered.invoke("cat", filters={"channel": "email"}) == []
    strict = RememRetriever(memory=sqlite_mem, user_id="alice", threshold=0.99)
    assert strict.invoke("what is the name of alice's cat?") == []
    dated = RememRetriever(memory=sqlite_mem, user_id="alice", search_kwargs={"time_range": ("2025-01-01", None)})
    assert dated.invoke("cat") == []
    with pytest.raises(InvalidInputError):
        everyone.invoke("Lisbon", colour="red")
    with pytest.raises(InvalidInputError):
        RememRetriever(memory=sqlite_mem, search_kwargs={"colour": "red"}).invoke("Lisbon")
    with pytest.raises(InvalidInputError):
        everyone.invoke("")
    with pytest.raises(InvalidInputError):
        everyone.invoke("Lisbon", k=0)


def test_ainvoke_with_async_and_sync_memory(tmp_path: Path, embedder) -> None:
    async def scenario() -> None:
        async with AsyncMemory(tmp_path / "a.db", embedder=embedder, llm=None) as amem:
            await amem.add("My favourite band is Radiohead.", user_id="carol")
            await amem.add("I go climbing on Sundays.", user_id="carol")
            retriever = RememRetriever(memory=amem, user_id="carol", k=1)
            docs, other = await asyncio.gather(retriever.ainvoke("which music does carol like?"),
                                               retriever.ainvoke("what does carol do at weekends?"))
            assert [d.page_content for d in docs] == ["My favourite band is Radiohead."]
            assert [d.page_content for d in other] == ["I go climbing on Sundays."]
            assert retriever.invoke("music")[0].page_content == "My favourite band is Radiohead."  # via .sync
            sync_backed = RememRetriever(memory=amem.sync, user_id="carol", k=1)
            assert (await sync_backed.ainvoke("music", k=2))[0].page_content == "My favourite band is Radiohead."
            assert len(await sync_backed.abatch(["music", "climbing"])) == 2

    asyncio.run(scenario())


def test_in_a_chain(sqlite_mem: Memory) -> None:
    seed(sqlite_mem)
    retriever = RememRetriever(memory=sqlite_mem, user_id="alice", k=1)
    chain = retriever | RunnableLambda(lambda docs: "\n".join(d.page_content for d in docs))
    assert chain.invoke("what is alice's cat called?") == "My cat is called Miso."
    assert [len(d) for d in retriever.batch(["cat", "hospital"])] == [1, 1]


def test_package_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['langchain_core.retrievers'] = None\n"
        "try:\n"
        "    import remem.integrations.langchain\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'remem[langchain]'" in out.stdout
