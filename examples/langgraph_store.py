"""A LangGraph graph whose long-term memory is remem: ``RememStore`` as the graph's store.

Run 1 stores what two users say; run 2 opens the same SQLite file in a new Memory and a new
graph, and recalls by meaning with remem's hybrid search. Offline, a few seconds:

    pip install 'remem[langgraph]' && python examples/langgraph_store.py
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from typing_extensions import TypedDict

from remem import Memory
from remem.integrations.langgraph import RememStore, namespace_scope


class State(TypedDict, total=False):
    user: str
    message: str
    recalled: list[str]


def remember(state: State, store: BaseStore) -> dict[str, Any]:
    """Keep a statement (an agent would let its LLM choose what is worth keeping)."""
    store.put(("memories", state["user"]), uuid.uuid4().hex, {"text": state["message"]})
    return {}


def recall(state: State, store: BaseStore) -> dict[str, Any]:
    """Answer a question with the user's most relevant memories."""
    items = store.search(("memories", state["user"]), query=state["message"], limit=2)
    return {"recalled": [item.value["text"] for item in items]}


def build(store: BaseStore) -> Any:
    graph = StateGraph(State)
    graph.add_node("remember", remember)
    graph.add_node("recall", recall)
    graph.add_conditional_edges(START, lambda s: "recall" if s["message"].endswith("?") else "remember")
    graph.add_edge("remember", END)
    graph.add_edge("recall", END)
    return graph.compile(store=store)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "memory.db"
        # namespace ("memories", <user>) -> remem user_id <user>: one user's memories stay theirs
        scope = namespace_scope(user_id=1)

        with Memory(path, llm=None) as mem:  # run 1
            graph = build(RememStore(mem, scope=scope))
            for user, message in [
                ("alice", "I moved from Porto to Lisbon last spring."),
                ("alice", "I'm allergic to peanuts."),
                ("alice", "My sister Marta is visiting in June."),
                ("bob", "I'm allergic to cats."),
            ]:
                graph.invoke({"user": user, "message": message})
            print(f"run 1: stored {mem.count()} memories (alice {mem.count(user_id='alice')}, "
                  f"bob {mem.count(user_id='bob')})")

        with Memory(path, llm=None) as mem:  # run 2: a new Memory, store and graph on the same file
            store = RememStore(mem, scope=scope)
            graph = build(store)
            answers = {}
            for user, question in [("alice", "What is alice allergic to?"), ("alice", "Who is coming to visit?"),
                                   ("bob", "What is bob allergic to?")]:
                answers[question] = graph.invoke({"user": user, "message": question})["recalled"]
                print(f"run 2: {user}: {question} -> {answers[question][0]!r}")
            assert answers["What is alice allergic to?"][0] == "I'm allergic to peanuts."
            assert answers["Who is coming to visit?"][0] == "My sister Marta is visiting in June."
            assert answers["What is bob allergic to?"] == ["I'm allergic to cats."]

            # the store is plain remem underneath: updates keep history, namespaces list, users purge
            store.put(("memories", "alice"), "diet", {"text": "I eat fish."})
            store.put(("memories", "alice"), "diet", {"text": "I'm vegetarian now."})
            record = mem.get_all(user_id="alice", filters={"lg_key": "diet"})[0]
            versions = [entry.record.metadata["lg_value"]["text"] for entry in mem.history(record.id)]
            print(f"history of ('memories', 'alice')/diet: {versions}")
            assert versions == ["I eat fish.", "I'm vegetarian now."]
            print(f"namespaces: {store.list_namespaces()}")
            assert store.list_namespaces() == [("memories", "alice"), ("memories", "bob")]
            mem.purge(user_id="bob")
            assert store.search(("memories", "bob")) == []
            print("bob purged; ok")


if __name__ == "__main__":
    main()
