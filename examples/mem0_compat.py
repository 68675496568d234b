"""Code written for Mem0 running on remem: only the import changes.

The calls follow Mem0's quickstart and memory-operation docs (add, search, get_all, update,
history, delete, delete_all, reset) on a temporary SQLite file. No LLM is configured, so
``add`` stores the messages themselves (with an LLM, remem's write path extracts facts).
Offline, a few seconds:

    python examples/mem0_compat.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from remem.compat.mem0 import Memory  # instead of: from mem0 import Memory


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = {"vector_store": {"provider": "qdrant", "config": {"path": str(Path(tmp) / "store")}}}
        m = Memory.from_config(config, llm=None)  # or simply Memory() for remem's default store

        m.add(
            [
                {"role": "user", "content": "Hi, I'm Alex. I love basketball and gaming."},
                {"role": "assistant", "content": "Hey Alex! I'll remember your interests."},
            ],
            user_id="alex",
        )
        m.add("I'm vegetarian and allergic to peanuts.", user_id="alex", metadata={"category": "food"})
        m.add("I like jazz.", user_id="sam")

        results = m.search("What sports does Alex play?", filters={"user_id": "alex"}, top_k=3)["results"]
        for r in results:
            print(f"{r['score']:.3f}  {r['memory']}")
        assert results[0]["memory"] == "Hi, I'm Alex. I love basketball and gaming."

        food = m.search("what can alex eat?", filters={"user_id": "alex", "category": "food"})["results"]
        assert [r["memory"] for r in food] == ["I'm vegetarian and allergic to peanuts."]

        memory_id = food[0]["id"]
        print(m.update(memory_id, "I'm vegan and allergic to peanuts."))
        for change in m.history(memory_id):
            print(f"  {change['event']:<6} {change['old_memory']!r} -> {change['new_memory']!r}")
        assert [h["event"] for h in m.history(memory_id)] == ["ADD", "UPDATE"]
        assert m.get(memory_id)["memory"] == "I'm vegan and allergic to peanuts."  # type: ignore[index]

        print(m.delete(memory_id))
        assert m.get(memory_id) is None and len(m.get_all(user_id="alex")["results"]) == 2
        print(m.delete_all(user_id="alex"))
        assert m.get_all(user_id="alex")["results"] == [] and len(m.get_all(user_id="sam")["results"]) == 1
        m.reset()
        assert m.get_all(user_id="sam")["results"] == []
        print("memories left after reset:", m.memory.count())
        m.close()


if __name__ == "__main__":
    main()
