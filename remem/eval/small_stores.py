"""Small stores a new user has (``small_stores.json``): a few memories, obvious answers.

Each store becomes a :class:`~remem.eval.datasets.Haystack`; memories without a session
are each added on their own. Used to fit the ranker and, through the public API, as
regression tests of ranking on small stores.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from remem.eval.haystack import Haystack, Question, Session
from remem.models import parse_time


def load_small_stores(path: str | Path | None = None) -> list[Haystack]:
    data: dict[str, Any] = json.loads(
        Path(path).read_text(encoding="utf-8") if path else resources.files("remem.eval").joinpath("small_stores.json").read_text(encoding="utf-8")
    )
    out = []
    for store in data["stores"]:
        sessions: list[Session] = []
        by_id: dict[str, Session] = {}
        for m in store["memories"]:
            sid = m.get("session")
            msg = {
                "role": m.get("role", "user"),
                "content": m["content"],
                "id": m["id"],
                "timestamp": m.get("time"),
                "metadata": {"unit_id": m["id"], "session": sid},
            }
            if m.get("speaker"):
                msg["name"] = m["speaker"]
            if sid and sid in by_id:
                by_id[sid].messages.append(msg)
                continue
            session = Session(id=sid, date=parse_time(m.get("time")), messages=[msg])  # type: ignore[arg-type]
            sessions.append(session)
            if sid:
                by_id[sid] = session
        questions = [
            Question(
                id=f"{store['id']}#{i}",
                question=q["q"],
                group=store["id"],
                answer="",
                gold={"turn": list(q["gold"])},
                date=parse_time(q.get("now") or store["memories"][-1].get("time")),
            )
            for i, q in enumerate(store["queries"])
        ]
        out.append(Haystack(id=store["id"], sessions=sessions, questions=questions))
    return out
