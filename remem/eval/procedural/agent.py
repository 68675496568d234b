"""The agent side of ``remem eval procedural``: a simulated environment per task, a small agent
loop driven by a chat LLM, and the scripted distiller that stands in for a competent LLM.

The loop gives the model the task (and, with procedural memory, the "How to" section for it),
lets it call the family's simulated tool for up to ``MAX_TURNS`` turns, and checks its final
answer. The scripted distiller knows each family's lessons: it measures the engine (storage,
reconciliation, retrieval, ranking) given good strategies, not an LLM's skill at writing them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from remem.eval.procedural.suite import BY_NAME, Task

MAX_TURNS = 10  # the longest pagination takes 7 calls and an answer
SYSTEM = (
    "You are an agent that solves one task at a time. Think briefly, then end your reply with a line "
    "'Answer: <final answer>'.{tools}"
)
TOOLS = {
    "calendar": ' Tool available: calendar.book(date="...", title="..."). To book, reply with the call as your answer, '
                'e.g. Answer: calendar.book(date="...", title="...").',
    "records": " Tool available: records.list(page=N) returns one page of records and the next page number (null at the "
               "end). To call it, reply with only the call, e.g. records.list(page=1); you will get the result.",
}
_PAGE_CALL = re.compile(r"records\.list\(\s*page\s*=\s*(\d+)\s*\)")


@dataclass
class Episode:
    """One attempt at ``task``: what the model said and saw, and whether it succeeded."""

    task: Task
    steps: list[dict[str, str]]
    success: bool


def observe(task: Task, reply: str) -> str | None:
    """The simulated tool's answer to a reply that calls it (None: the reply is final)."""
    family = BY_NAME[task.family]
    call = _PAGE_CALL.search(reply) if family.tool == "records" else None
    if call is None or re.search(r"(?i)\banswer\s*:", reply):
        return None
    page, total = int(call.group(1)), int(task.params["total"])
    n = max(0, min(10, total - (page - 1) * 10))
    nxt = page + 1 if page * 10 < total else None
    return f"{n} records, next_page: {nxt if nxt else 'null'}"


def run_episode(chat: Callable[[list[dict[str, str]]], str], task: Task, how_to: str = "") -> Episode:
    """Let ``chat`` (messages -> reply) attempt ``task`` with the simulated tool, then check it."""
    family = BY_NAME[task.family]
    system = SYSTEM.format(tools=TOOLS.get(family.tool or "", ""))
    user = (how_to + "\n\n" if how_to else "") + f"Task: {task.text}"
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    steps = [{"role": "user", "content": task.text}]
    reply = ""
    for _ in range(MAX_TURNS):
        reply = chat(messages)
        steps.append({"role": "assistant", "content": reply or "(no reply)"})
        seen = observe(task, reply)
        if seen is None:
            break
        steps.append({"role": "tool", "content": seen})
        messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": f"Tool result: {seen}"}]
    return Episode(task, steps, bool(reply) and family.check(task.params, reply))


class OracleDistiller:
    """A ScriptedLLM responder that distils each family's known lessons and reconciles them
    like a careful model: NOOP on a strategy of the same family, ADD otherwise."""

    def __init__(self, tasks: list[Task]) -> None:
        self.family_of = {t.text: t.family for t in tasks}
        self.title_family = {l["title"]: f.name for f in BY_NAME.values() for l in f.lessons.values()}

    def __call__(self, name: str, v: dict[str, Any]) -> Any:
        if name == "distil_strategies":
            family = BY_NAME.get(self.family_of.get(v["task"], ""))
            if family is None:
                return {"strategies": []}
            if v["outcome"] == "SUCCESS":
                return {"strategies": [{**family.lessons["do"], "level": "instance"}, {**family.lessons["concept"], "level": "concept"}]}
            return {"strategies": [{**family.lessons["avoid"], "level": "instance"}]}
        if name == "resolve_strategy":
            new = self._family(v["strategy"])
            for line in v["existing"].splitlines():
                found = re.match(r"^\[([^\]]+)\] (.*)$", line)
                if found and new is not None and self._family(found.group(2)) == new:
                    return {"action": "NOOP", "target_id": found.group(1), "merged": None, "reason": "same family"}
            return {"action": "ADD", "target_id": None, "merged": None, "reason": "a new trick"}
        raise AssertionError(f"the oracle distiller has no answer for {name}")

    def _family(self, text: str) -> str | None:
        return next((fam for title, fam in self.title_family.items() if text.startswith(title)), None)
