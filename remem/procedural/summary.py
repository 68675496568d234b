"""The deterministic summary of a trajectory (no LLM): the task, the outcome and the key lines.

It is the trajectory's searchable content, so ``procedures`` finds past attempts at similar
tasks without an LLM. Key lines: each step's first non-blank line (with its role), repeats
dropped; a long trajectory keeps its first steps, the steps in between that report an error,
and its last steps (where it succeeded or failed).
"""

from __future__ import annotations

import re

MAX_LINE_CHARS = 200
MAX_TASK_CHARS = 2000
HEAD, TAIL, MIDDLE = 2, 4, 2  # key lines kept from the start, the end, and errors in between
ERROR_CUE = re.compile(r"\b(error|errors|fail(?:ed|s|ure)?|exception|wrong|incorrect|invalid|rejected|denied|timeout)\b", re.I)
_SPACE = re.compile(r"\s+")


def _clip(text: str, limit: int) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def step_line(role: str | None, content: str) -> str:
    """One step as one line: ``role: first non-blank line``."""
    first = next((line for line in content.splitlines() if line.strip()), content)
    line = _clip(first, MAX_LINE_CHARS)
    return f"{role}: {line}" if role else line


def key_lines(steps: list[dict[str, str | None]]) -> list[str]:
    """At most ``HEAD + MIDDLE + TAIL`` lines that say what the trajectory did."""
    lines = list(dict.fromkeys(step_line(s["role"], s["content"] or "") for s in steps))
    if len(lines) <= HEAD + MIDDLE + TAIL:
        return lines
    middle = [line for line in lines[HEAD:-TAIL] if ERROR_CUE.search(line)][:MIDDLE]
    return lines[:HEAD] + middle + lines[-TAIL:]


def summarize(task: str, outcome: str, lines: list[str], feedback: str | None = None) -> str:
    """``Task: … / Outcome: … / Feedback: … / Key steps: - …`` as one text."""
    parts = [f"Task: {_clip(task, MAX_TASK_CHARS)}", f"Outcome: {outcome}"]
    if feedback:
        parts.append(f"Feedback: {_clip(feedback, MAX_TASK_CHARS)}")
    parts.append("Key steps:")
    parts += [f"- {line}" for line in lines]
    return "\n".join(parts)
