"""remem as a LangChain retriever: ``RememRetriever`` returns memories as ``Document``s.

Stores a short conversation, retrieves from it with invoke / ainvoke and feeds a chain.
Offline, a few seconds:

    pip install 'remem[langchain]' && python examples/langchain_retriever.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from remem import AsyncMemory, Memory
from remem.integrations.langchain import RememRetriever

CONVERSATION = [
    {"role": "user", "name": "Alice", "content": "I moved from Porto to Lisbon last spring."},
    {"role": "assistant", "content": "How do you like Lisbon?"},
    {"role": "user", "name": "Alice", "content": "I love it, and my cat Miso likes the balcony."},
    {"role": "user", "name": "Alice", "content": "I started a new job as a nurse in May."},
]


def as_context(docs: list[Document]) -> str:
    """Dated lines (when it was said) for a prompt."""
    return "\n".join(f"- [{d.metadata.get('event_time', d.metadata['created_at'])[:10]}] {d.page_content}" for d in docs)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, Memory(Path(tmp) / "memory.db", llm=None) as mem:
        mem.add(CONVERSATION, user_id="alice", session_id="s1", timestamp="2024-05-08 13:56")
        retriever = RememRetriever(memory=mem, user_id="alice", k=2, filters={"role": "user"})

        docs = retriever.invoke("where does alice live?")
        for doc in docs:
            print(f"invoke: {doc.metadata['score']:.2f}  {doc.page_content}")
        assert docs[0].page_content == "I moved from Porto to Lisbon last spring."
        assert docs[0].metadata["speaker"] == "Alice" and docs[0].metadata["session_id"] == "s1"

        async def ask() -> list[Document]:
            return await RememRetriever(memory=AsyncMemory(memory=mem), user_id="alice", k=1).ainvoke(
                "what is the name of alice's pet?")

        (pet,) = asyncio.run(ask())
        print(f"ainvoke: {pet.metadata['score']:.2f}  {pet.page_content}")
        assert "Miso" in pet.page_content

        chain = retriever | RunnableLambda(as_context)  # e.g. the context block of a prompt
        context = chain.invoke("what does alice do for a living?", k=1)
        print("chain:\n" + context)
        assert "nurse" in context
        print("ok")


if __name__ == "__main__":
    main()
