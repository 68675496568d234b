"""End-to-end QA: answer from the top retrieved turns, grade with an LLM judge, cache both on disk."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from remem.errors import LLMNotConfiguredError
from remem.eval.answer_metrics import locomo_f1
from remem.read.context import estimate_tokens


def llm_or_fail(llm: Any = None) -> Any:
    """The given LLM, else one from ``REMEM_LLM_*``; :class:`LLMNotConfiguredError` if none."""
    if llm is not None:
        return llm
    from remem.llm import llm_from_env

    found = llm_from_env()
    if found is None:
        raise LLMNotConfiguredError(
            "--qa needs an OpenAI-compatible LLM: set REMEM_LLM_BASE_URL and REMEM_LLM_MODEL (and REMEM_LLM_API_KEY if needed)"
        )
    return found


class AnswerCache:
    """A small SQLite key -> JSON store, so a rerun does not pay for the same LLM call twice."""

    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @staticmethod
    def key(*parts: Any) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()

    def get(self, key: str) -> Any:
        with self._lock:
            row = self._conn.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO answers (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def render_hits(hits: list[Any]) -> str:
    """Numbered lines ``[1] 2023-05-08 13:56 (Monday) | Caroline: text``, best hit first."""
    from remem.llm import render_messages

    return render_messages(
        {"id": str(i), "name": h.memory.speaker or h.memory.role, "content": h.memory.content, "timestamp": h.memory.event_time}
        for i, h in enumerate(hits, 1)
    )


def _llm_id(llm: Any) -> str:
    describe = getattr(llm, "describe", None)
    return describe() if callable(describe) else type(llm).__name__


def answer_and_judge(
    llm: Any, cache: AnswerCache, *, question: str, gold: str, hits: list[Any], question_time: Any, category: int | None
) -> dict[str, Any]:
    """Answer from ``hits`` with the ANSWER prompt, grade with JUDGE; F1 too for LoCoMo categories."""
    from remem.llm import ANSWER, JUDGE

    memories = render_hits(hits)
    variables = {"memories": memories, "question": question, "question_time": question_time or "unknown"}
    who = _llm_id(llm)
    key = cache.key(who, ANSWER.id, variables)
    cached = cache.get(key)
    answered_from_cache = cached is not None
    if cached is None:
        out = llm.complete_json(ANSWER, variables, operation="eval_answer")
        cached = {"answer": out.answer, "reasoning": out.reasoning}
        cache.put(key, cached)
    answer = cached["answer"]
    jvars = {"question": question, "gold": gold, "answer": answer}
    jkey = cache.key(who, JUDGE.id, jvars)
    judged = cache.get(jkey)
    if judged is None:
        verdict = llm.complete_json(JUDGE, jvars, operation="eval_judge")
        judged = {"label": verdict.label, "reasoning": verdict.reasoning}
        cache.put(jkey, judged)
    result = {
        "answer": answer,
        "label": judged["label"],
        "correct": 1.0 if judged["label"] == "CORRECT" else 0.0,
        "context_tokens": estimate_tokens(memories),
        "cached": answered_from_cache,
    }
    if category is not None:
        result["f1"] = locomo_f1(answer, gold, category)
    return result


def run_qa(llm: Any, cache: AnswerCache, jobs: list[dict[str, Any]], workers: int = 4) -> list[dict[str, Any]]:
    """Run :func:`answer_and_judge` over ``jobs`` (keyword dicts) with a few threads, in order."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda job: answer_and_judge(llm, cache, **job), jobs))
