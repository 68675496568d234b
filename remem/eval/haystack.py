"""The shapes every benchmark loads into: dated sessions of messages and questions with gold unit ids.

A *haystack* is what one user scope holds (a LoCoMo conversation, or one
LongMemEval question's history); it is ingested into a fresh store.  Each
message carries the id of its retrieval unit in ``metadata["unit_id"]`` (LoCoMo
``dia_id`` such as ``D3:7``; LongMemEval ``<session id>_<turn number>``, the
official numbering over all turns of the session) and its session in
``metadata["session"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from remem.errors import InvalidInputError


@dataclass
class Session:
    id: str
    date: datetime | None
    messages: list[dict[str, Any]]  # Memory.add message dicts


@dataclass
class Question:
    id: str
    question: str
    group: str  # LoCoMo category id as text, or LongMemEval question type
    answer: str
    gold: dict[str, list[str]]  # gold unit ids by "<protocol>/<granularity>"
    date: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Haystack:
    id: str  # the user scope
    sessions: list[Session]
    questions: list[Question]

    def turns(self) -> int:
        return sum(len(s.messages) for s in self.sessions)


def read_json(path: str | Path) -> Any:
    """A benchmark file's JSON; InvalidInputError when missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"benchmark file {path} not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}") from None


def read_list(path: str | Path, what: str) -> list[Any]:
    """A benchmark file holding a JSON list (of ``what``, named in the error)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InvalidInputError(f"{path}: expected a JSON list of {what}")
    return data
