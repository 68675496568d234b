"""Benchmark files to haystacks of dated sessions and questions with gold unit ids.

A *haystack* is what one user scope holds (a LoCoMo conversation, or one
LongMemEval question's history); it is ingested into a fresh store.  Each
message carries the id of its retrieval unit in ``metadata["unit_id"]`` (LoCoMo
``dia_id`` such as ``D3:7``; LongMemEval ``<session id>_<turn number>``, the
official numbering over all turns of the session) and its session in
``metadata["session"]``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from remem.errors import InvalidInputError

LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
LOCOMO_SCORED = (1, 2, 3, 4)
LONGMEMEVAL_TYPES = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "knowledge-update",
    "temporal-reasoning",
)


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
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"benchmark file {path} not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid JSON: {exc}") from None


# --------------------------------------------------------------------------- LoCoMo

_LOCOMO_DATE = "%I:%M %p on %d %B, %Y"
_DIA = re.compile(r"D:?(\d+):0*(\d+)")


def parse_locomo_date(text: str) -> datetime | None:
    """``"1:56 pm on 8 May, 2023"`` -> aware UTC datetime (None if unparsable)."""
    try:
        return datetime.strptime(" ".join(text.split()), _LOCOMO_DATE).replace(tzinfo=timezone.utc)
    except (ValueError, AttributeError):
        return None


def clean_evidence(evidence: list[Any]) -> list[str]:
    """Normalise LoCoMo evidence ids, deduplicated in order.

    A few entries are malformed in locomo10.json: several ids in one string
    (``"D8:6; D9:17"``, ``"D9:1 D4:4 D4:6"``), ``"D:11:26"``, ``"D30:05"`` and a
    bare ``"D"``; they become ``D8:6, D9:17``, ``D11:26``, ``D30:5`` and nothing.
    """
    out: list[str] = []
    for item in evidence:
        for m in _DIA.finditer(str(item)):
            dia = f"D{int(m.group(1))}:{int(m.group(2))}"
            if dia not in out:
                out.append(dia)
    return out


def locomo_content(turn: dict[str, Any]) -> str:
    """The turn text, with a shared photo's caption appended as ``[shares a photo: ...]``."""
    text = str(turn.get("text") or "").strip()
    caption = str(turn.get("blip_caption") or "").strip()
    if caption:
        text = f"{text} [shares a photo: {caption}]".strip()
    return text


def load_locomo(path: str | Path) -> list[Haystack]:
    """One haystack per conversation; questions of every category (filter later)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InvalidInputError(f"{path}: expected a JSON list of LoCoMo samples")
    out = []
    for n, sample in enumerate(data):
        try:
            conv = sample["conversation"]
            sid = str(sample.get("sample_id") or f"conv-{n}")
            numbers = sorted(int(m.group(1)) for k in conv if (m := re.fullmatch(r"session_(\d+)", k)))
        except (KeyError, TypeError):
            raise InvalidInputError(f"{path}: sample {n} has no 'conversation' object") from None
        sessions = []
        for num in numbers:
            turns = conv.get(f"session_{num}") or []
            date = parse_locomo_date(conv.get(f"session_{num}_date_time", ""))
            msgs = []
            for turn in turns:
                content = locomo_content(turn)
                if not content:
                    continue
                meta = {"unit_id": turn["dia_id"], "dia_id": turn["dia_id"], "session": f"session_{num}"}
                if turn.get("blip_caption"):
                    meta["blip_caption"] = turn["blip_caption"]
                msgs.append({"role": "user", "name": turn["speaker"], "content": content, "id": turn["dia_id"], "metadata": meta})
            if msgs:
                sessions.append(Session(id=f"session_{num}", date=date, messages=msgs))
        last = max((s.date for s in sessions if s.date), default=None)
        questions = []
        for i, qa in enumerate(sample.get("qa", [])):
            gold = clean_evidence(qa.get("evidence") or [])
            questions.append(
                Question(
                    id=f"{sid}/q{i}",
                    question=str(qa["question"]),
                    group=str(qa["category"]),
                    answer=str(qa.get("answer", qa.get("adversarial_answer", ""))),
                    gold={"turn": gold},
                    date=last,
                    extra={"evidence_raw": qa.get("evidence") or []},
                )
            )
        out.append(Haystack(id=sid, sessions=sessions, questions=questions))
    return out


# --------------------------------------------------------------------------- LongMemEval

_LME_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})\s*(?:\([A-Za-z]+\))?\s*(\d{1,2}):(\d{2})")
LME_PROTOCOLS = ("official", "full")


def parse_lme_date(text: str) -> datetime | None:
    """``"2023/05/30 (Tue) 23:40"`` -> aware UTC datetime (None if unparsable)."""
    m = _LME_DATE.fullmatch(str(text).strip())
    if not m:
        return None
    y, mo, d, h, mi = (int(g) for g in m.groups())
    return datetime(y, mo, d, h, mi, tzinfo=timezone.utc)


def load_longmemeval(path: str | Path) -> list[Haystack]:
    """One haystack (and one question) per LongMemEval entry, both roles kept.

    Gold unit ids, following the official retrieval code (``run_retrieval.py``):

    - ``official/session``: sessions whose id contains ``answer`` and one of whose
      *user* turns has ``has_answer``;
    - ``official/turn``: user turns with ``has_answer`` in sessions whose id contains ``answer``;
    - ``full/session``: the question's ``answer_session_ids``;
    - ``full/turn``: turns of either role with ``has_answer`` in those sessions.

    A question may have no gold unit at some granularity (e.g. single-session-assistant
    at official/turn); :func:`remem.eval.metrics.lme_metrics` scores it as the official
    code does.  Empty turns are skipped (the store rejects empty content).
    """
    data = read_json(path)
    if not isinstance(data, list):
        raise InvalidInputError(f"{path}: expected a JSON list of LongMemEval questions")
    out = []
    for n, entry in enumerate(data):
        try:
            qid = str(entry["question_id"])
            triples = list(zip(entry["haystack_session_ids"], entry["haystack_dates"], entry["haystack_sessions"]))
        except (KeyError, TypeError):
            raise InvalidInputError(f"{path}: entry {n} lacks question_id or haystack_* lists") from None
        answer_ids = set(entry.get("answer_session_ids") or [])
        sessions = []
        gold: dict[str, list[str]] = {f"{p}/{g}": [] for p in LME_PROTOCOLS for g in ("session", "turn")}
        for sess_id, date, turns in triples:
            msgs = []
            evidence_sess = "answer" in sess_id
            user_hit = False
            for i, turn in enumerate(turns):
                unit = f"{sess_id}_{i + 1}"
                role = str(turn.get("role") or "user")
                hit = bool(turn.get("has_answer"))
                if evidence_sess and hit and role == "user":
                    user_hit = True
                    gold["official/turn"].append(unit)
                if sess_id in answer_ids and hit:
                    gold["full/turn"].append(unit)
                content = str(turn.get("content") or "")
                if not content.strip():
                    continue
                meta = {"unit_id": unit, "session": sess_id}
                msgs.append({"role": role, "content": content, "id": unit, "metadata": meta})
            if evidence_sess and user_hit:
                gold["official/session"].append(sess_id)
            sessions.append(Session(id=sess_id, date=parse_lme_date(date), messages=msgs))
        gold["full/session"] = [s for s in dict.fromkeys(entry.get("answer_session_ids") or [])]
        gold = {k: list(dict.fromkeys(v)) for k, v in gold.items()}
        q = Question(
            id=qid,
            question=str(entry["question"]),
            group=str(entry.get("question_type", "unknown")),
            answer=str(entry.get("answer", "")),
            gold=gold,
            date=parse_lme_date(entry.get("question_date", "")),
            extra={"abstention": qid.endswith("_abs")},
        )
        out.append(Haystack(id=qid, sessions=[s for s in sessions if s.messages], questions=[q]))
    return out


def protocol_sessions(haystack: Haystack, protocol: str) -> list[Session]:
    """The sessions a protocol indexes: ``official`` keeps user turns only."""
    if protocol == "full":
        return haystack.sessions
    kept = [Session(s.id, s.date, [m for m in s.messages if m["role"] == "user"]) for s in haystack.sessions]
    return [s for s in kept if s.messages]


# --------------------------------------------------------------------------- MADial-Bench

MADIAL_CATEGORIES = ("Activity", "Emotional", "Others", "Preferences")
MADIAL_QUERIES = ("dialogue", "last_user")


def parse_madial_date(text: str) -> datetime | None:
    """``"2022-01-01"`` (or a full ISO timestamp) -> aware UTC datetime (None if unparsable)."""
    try:
        value = datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def load_madial(path: str | Path, query: str = "dialogue") -> list[Haystack]:
    """One haystack per conversation (one user's archive of dated episodic memories).

    Each session holds one memory (one turn); its message carries ``unit_id`` (the
    turn id, e.g. ``M105``), ``session`` and the data's ``scene`` / ``emotion`` tags.
    Gold: ``gold["turn"]`` = ``evidence`` (graded candidates, primary first),
    ``gold["primary"]`` = ``[evidence_primary]``.

    ``query``: ``"dialogue"`` searches with ``question`` (the whole dialogue so far,
    ``Speaker: text`` lines), ``"last_user"`` with ``query_last_user`` (the last user
    message alone); the other text stays in ``extra``.

    The data gives no date for the dialogues, so ``Question.date`` (the ``now``
    relative time expressions resolve at) is the latest memory date of the archive:
    the dialogue takes place after every memory it may recall.
    """
    if query not in MADIAL_QUERIES:
        raise InvalidInputError(f"unknown MADial query {query!r}; use one of {list(MADIAL_QUERIES)}")
    data = read_json(path)
    convs = data.get("conversations") if isinstance(data, dict) else None
    if not isinstance(convs, list):
        raise InvalidInputError(f"{path}: expected a JSON object with a 'conversations' list")
    out = []
    for n, conv in enumerate(convs):
        try:
            cid = str(conv.get("id") or f"madial-{n}")
            raw_sessions = conv["sessions"]
        except (KeyError, TypeError, AttributeError):
            raise InvalidInputError(f"{path}: conversation {n} has no 'sessions' list") from None
        sessions = []
        for s_n, sess in enumerate(raw_sessions):
            sess_id = str(sess.get("id") or f"S{s_n}")
            msgs = []
            for t_n, turn in enumerate(sess.get("turns") or []):
                content = str(turn.get("text") or "").strip()
                if not content:
                    continue
                unit = str(turn.get("id") or f"{sess_id}_{t_n + 1}")
                meta: dict[str, Any] = {"unit_id": unit, "session": sess_id}
                for key in ("scene", "emotion"):
                    if turn.get(key):
                        meta[key] = turn[key]
                msg = {"role": "user", "content": content, "id": unit, "metadata": meta}
                if turn.get("speaker"):
                    msg["name"] = str(turn["speaker"])
                msgs.append(msg)
            if msgs:
                sessions.append(Session(id=sess_id, date=parse_madial_date(sess.get("date", "")), messages=msgs))
        last = max((s.date for s in sessions if s.date), default=None)
        questions = []
        for i, qa in enumerate(conv.get("questions") or []):
            dialogue = str(qa.get("question") or "")
            last_user = str(qa.get("query_last_user") or "")
            text = dialogue if query == "dialogue" else (last_user or dialogue.rsplit("\n", 1)[-1].split(": ", 1)[-1])
            gold = [str(e) for e in dict.fromkeys(qa.get("evidence") or [])]
            primary = qa.get("evidence_primary")
            primary_ids = [str(p) for p in (primary if isinstance(primary, list) else [primary]) if p]
            questions.append(
                Question(
                    id=str(qa.get("id") or f"{cid}/q{i}"),
                    question=text,
                    group=str(qa.get("category") or "unknown"),
                    answer=str(qa.get("answer", "")),
                    gold={"turn": gold, "primary": primary_ids},
                    date=last,
                    extra={
                        "query": query,
                        "dialogue": dialogue,
                        "query_last_user": last_user,
                        "answer_all": qa.get("answer_all") or [],
                        "evidence_sessions": qa.get("evidence_sessions") or [],
                        "test_turn_index": qa.get("test_turn_index"),
                    },
                )
            )
        out.append(Haystack(id=cid, sessions=sessions, questions=questions))
    return out
