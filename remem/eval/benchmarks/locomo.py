"""LoCoMo (Maharana et al. 2024): evidence recall over the turns of 10 long conversations."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from remem.errors import InvalidInputError
from remem.eval.benchmark import (
    Benchmark,
    CliOption,
    Plan,
    choose,
    curve,
    mem_index_note,
    question_entry,
    register,
    split_list,
    unknown_gold,
    without_gold,
)
from remem.eval.harness import Retrieval, Variant
from remem.eval.haystack import Haystack, Question, Session, read_list
from remem.eval.metrics import LOCOMO_KS, locomo_metrics
from remem.eval.modes import EvalMode
from remem.eval.report import Table, ks_table

LOCOMO_CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
LOCOMO_SCORED = (1, 2, 3, 4)
LABELS = {str(k): f"{k} {v}" for k, v in LOCOMO_CATEGORIES.items()}

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
    data = read_list(path, "LoCoMo samples")
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


def _categories(text: str | None) -> list[int] | None:
    try:
        return [int(c) for c in split_list(text) or []] or None
    except ValueError:
        raise ValueError("categories are ids 1-5, comma-separated") from None


class LoCoMo(Benchmark):
    name = "locomo"
    help = "LoCoMo: evidence recall@k and all-evidence@k over turns, per category."
    data = Path("data/locomo/locomo10.json")
    limit_help = "First N conversations."
    options = (CliOption("categories", "--categories", Optional[str], None, "Comma-separated category ids (default 1,2,3,4).", _categories),)
    qa = True
    qa_f1 = True

    def check(self, *, categories: Any = None) -> dict[str, Any]:
        cats = tuple(sorted(set(int(c) for c in categories))) if categories else LOCOMO_SCORED
        unknown = [c for c in cats if c not in LOCOMO_CATEGORIES]
        if unknown:
            raise InvalidInputError(f"unknown LoCoMo categories {unknown}; ids are 1-5")
        return {"categories": cats}

    def plan(self, data: Path, *, limit: int | None, sample: int | None, seed: int, categories: tuple[int, ...]) -> Plan:
        """The first ``limit`` conversations; their questions of ``categories`` (or ``sample`` of them)."""
        haystacks = load_locomo(data)[:limit]
        keep, total = choose([q for h in haystacks for q in h.questions if int(q.group) in categories], sample, seed)
        return Plan(
            haystacks, [Variant("turns", lambda h: h.sessions)], keep, total, max(LOCOMO_KS), LABELS,
            options={"categories": categories}, subset={"categories": list(categories)}, qa_variant="turns",
        )

    def score(self, r: Retrieval, plan: Plan) -> list[dict[str, Any]]:
        gold = r.question.gold["turn"]
        return [question_entry(r, ("category", int(r.question.group)), gold=gold, retrieved=r.ranked, metrics=locomo_metrics(r.ranked, gold))]

    def notes(self, found: list[Retrieval], plan: Plan) -> list[str]:
        unmatched, no_gold = unknown_gold(found), without_gold(found)
        return [
            "One retrieval unit per turn (text + ' [shares a photo: <blip_caption>]'), indexed as Memory.add indexes it "
            f"(IndexConfig: {mem_index_note()}); "
            "one fresh store and user scope per conversation; sessions added with their dates as timestamps.",
            "Evidence ids normalised (multi-id strings split, 'D:11:26' -> 'D11:26', 'D30:05' -> 'D30:5'); "
            f"{len(unmatched)} evidence id(s) name no turn in the data and count as misses: {', '.join(unmatched) or 'none'}.",
            f"{len(no_gold)} question(s) without evidence are left out of the means: {', '.join(no_gold) or 'none'}.",
        ]

    def tables(self, summary: list[dict[str, Any]], modes: list[EvalMode], plan: Plan) -> list[Table]:
        return [
            ks_table(summary, modes, "recall", LOCOMO_KS, "LoCoMo evidence recall@k (turns)", "share of a question's evidence turns in the top k", LABELS),
            ks_table(summary, modes, "all", LOCOMO_KS, "LoCoMo all-evidence@k (turns)", "questions with every evidence turn in the top k", LABELS),
        ]

    def curves(self, plan: Plan) -> list[dict[str, Any]]:
        return [curve("recall_at_k.png", "LoCoMo evidence recall@k", "recall@", LOCOMO_KS)]

    def qa_title(self, plan: Plan, qa_k: int) -> str:
        return f"LoCoMo end-to-end QA (top {qa_k} turns)"


LOCOMO = register(LoCoMo())
run_locomo = LOCOMO.run
