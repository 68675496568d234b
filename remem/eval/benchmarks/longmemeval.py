"""LongMemEval-S (Wu et al. 2024): turn and session recall over each question's haystack, official protocol."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

from remem.errors import InvalidInputError
from remem.eval.benchmark import Benchmark, CliOption, Plan, curve, question_entry, register, sample_ids, split_list, without_gold
from remem.eval.harness import Retrieval, Variant
from remem.eval.haystack import Haystack, Question, Session, read_list
from remem.eval.metrics import LME_KS, LME_REPORT_KS, lme_metrics, sessions_by_best_turn
from remem.eval.modes import EvalMode
from remem.eval.report import Table

LONGMEMEVAL_TYPES = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "knowledge-update",
    "temporal-reasoning",
)
LME_SEARCH_LIMIT = 100  # turns fetched per LongMemEval question: enough to rank 50 turns and most sessions
GRANULARITIES = ("turn", "session")

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
    data = read_list(path, "LongMemEval questions")
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


class LongMemEval(Benchmark):
    name = "longmemeval"
    help = "LongMemEval-S: recall_any/recall_all/ndcg_any at k=5,10, session and turn granularity, per type."
    data = Path("data/longmemeval/longmemeval_s_dev.json")
    group_field = "type"
    options = (
        CliOption("types", "--types", Optional[str], None, "Comma-separated question types.", split_list),
        CliOption("protocols", "--protocols", str, "official,full", "official (user turns), full (both roles).", lambda t: split_list(t) or []),
    )
    qa = True

    def check(self, *, types: Iterable[str] | None = None, protocols: Iterable[str] = LME_PROTOCOLS) -> dict[str, Any]:
        protos = tuple(dict.fromkeys(protocols))
        bad = [p for p in protos if p not in LME_PROTOCOLS]
        if bad or not protos:
            raise InvalidInputError(f"unknown LongMemEval protocol(s) {bad}; use {list(LME_PROTOCOLS)}")
        return {"types": set(types) if types else None, "protocols": protos}

    def plan(self, data: Path, *, limit: int | None, sample: int | None, seed: int, types: set[str] | None, protocols: tuple[str, ...]) -> Plan:
        """One haystack per question (``_abs`` ones skipped): of ``types``, the first ``limit``, or ``sample`` of them."""
        haystacks = [h for h in load_longmemeval(data) if not h.questions[0].extra["abstention"]]
        if types is not None:
            known = {h.questions[0].group for h in haystacks}
            unknown = sorted(types - known)
            if unknown:
                raise InvalidInputError(f"unknown question type(s) {unknown}; the data has {sorted(known)}")
            haystacks = [h for h in haystacks if h.questions[0].group in types]
        haystacks = haystacks[:limit]
        chosen = sample_ids([h.questions[0] for h in haystacks], sample, seed)
        if chosen is not None:
            haystacks = [h for h in haystacks if h.questions[0].id in chosen]
        qa_variant = "full" if "full" in protocols else protocols[0]
        return Plan(
            haystacks,
            [Variant(p, lambda h, p=p: protocol_sessions(h, p)) for p in protocols],
            lambda q: True,
            len(haystacks),
            LME_SEARCH_LIMIT,
            {t: t for t in {q.group for h in haystacks for q in h.questions}},
            options={"protocols": protocols},
            subset={"types": sorted(types) if types else None},
            qa_variant=qa_variant,
            qa_extra={"index": qa_variant},
        )

    def score(self, r: Retrieval, plan: Plan) -> list[dict[str, Any]]:
        out = []
        for gran in GRANULARITIES:
            gold = r.question.gold[f"{r.variant}/{gran}"]
            ranked = r.ranked[: max(LME_KS)] if gran == "turn" else sessions_by_best_turn(r.ranked, r.session_of)
            index = {"protocol": r.variant, "granularity": gran}
            out.append(question_entry(r, ("type", r.question.group), gold=gold, retrieved=ranked, metrics=lme_metrics(ranked, gold), index=index))
        return out

    def qa_entry(self, entry: dict[str, Any]) -> bool:
        return entry["granularity"] == "session"

    def _no_gold(self, found: list[Retrieval], plan: Plan) -> dict[str, list[str]]:
        protos = plan.options["protocols"]
        return {f"{p}/{g}": without_gold([r for r in found if r.variant == p], f"{p}/{g}") for p in protos for g in GRANULARITIES}

    def notes(self, found: list[Retrieval], plan: Plan) -> list[str]:
        return [
            "Each question's haystack goes into its own fresh store per protocol: 'official' indexes user turns only, "
            "'full' both roles; one unit per turn, sessions added with their dates as timestamps; _abs questions skipped.",
            "Session granularity ranks sessions by their best turn among the top "
            f"{LME_SEARCH_LIMIT} turns (official turn2session recall; NDCG computed on that session ranking).",
            "Questions without a gold unit score recall_any 0, recall_all 1, ndcg 0 and stay in the means (official code): "
            + "; ".join(f"{k}: {len(v)}" for k, v in self._no_gold(found, plan).items()),
        ]

    def tables(self, summary: list[dict[str, Any]], modes: list[EvalMode], plan: Plan) -> list[Table]:
        return [_lme_table(summary, p, modes) for p in plan.options["protocols"]]

    def curves(self, plan: Plan) -> list[dict[str, Any]]:
        return [
            curve(f"recall_all_{p}_{g}.png", f"LongMemEval recall_all@k ({p}, {g})", "recall_all@", LME_KS, {"protocol": p, "granularity": g})
            for p in plan.options["protocols"]
            for g in ("session", "turn")
        ]

    def config(self, found: list[Retrieval], plan: Plan) -> dict[str, Any]:
        return {"protocols": list(plan.options["protocols"]), "no_gold": self._no_gold(found, plan)}

    def qa_title(self, plan: Plan, qa_k: int) -> str:
        return f"LongMemEval end-to-end QA ({plan.qa_variant} index, top {qa_k} turns)"


def _lme_table(summary: list[dict[str, Any]], protocol: str, modes: list[EvalMode]) -> Table:
    order = {m.name: i for i, m in enumerate(modes)}
    rows = [r for r in summary if r.get("protocol") == protocol]
    rows.sort(key=lambda r: (r["granularity"] != "session", r["group"] != "all", r["group"], order.get(r["mode"], 99)))
    cols = ["granularity / type", "mode", "n"]
    for k in LME_REPORT_KS:
        cols += [f"R_any@{k}", f"R_all@{k}", f"NDCG@{k}"]
    body = []
    for r in rows:
        line = [f"{r['granularity']} / {r['group']}", r["mode"], r["n"]]
        for k in LME_REPORT_KS:
            line += [r["metrics"].get(f"recall_any@{k}"), r["metrics"].get(f"recall_all@{k}"), r["metrics"].get(f"ndcg_any@{k}")]
        body.append(line)
    title = "LongMemEval-S retrieval, official protocol (user turns)" if protocol == "official" else "LongMemEval-S retrieval, full mode (both roles)"
    return Table(title, cols, body)


LONGMEMEVAL = register(LongMemEval())
run_longmemeval = LONGMEMEVAL.run
