"""MADial-Bench (English): which of a user's dated memories a dialogue should recall."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from remem.errors import InvalidInputError
from remem.eval.benchmark import Benchmark, CliOption, Plan, choose, curve, mem_index_note, question_entry, register, unknown_gold, without_gold
from remem.eval.harness import Retrieval, Variant
from remem.eval.haystack import Haystack, Question, Session, read_json
from remem.eval.metrics import LOCOMO_KS, locomo_metrics, recall_at_k
from remem.eval.modes import EvalMode
from remem.eval.report import Table, ks_table

MADIAL_CATEGORIES = ("Activity", "Emotional", "Others", "Preferences")
MADIAL_QUERIES = ("dialogue", "last_user")
MADIAL_KS = LOCOMO_KS


def madial_metrics(ranked: Sequence[str], gold: Sequence[str], primary: Sequence[str], ks: Sequence[int] = MADIAL_KS) -> dict[str, float | None]:
    """LoCoMo's ``recall@k`` / ``all@k`` over the evidence, plus ``primary@k``: recall of ``evidence_primary``."""
    out = locomo_metrics(ranked, gold, ks)
    for k in ks:
        out[f"primary@{k}"] = recall_at_k(ranked, primary, k)
    return out


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


class MADial(Benchmark):
    name = "madial"
    help = "MADial-Bench: evidence recall@k, all-evidence@k and primary-evidence recall@k over memories, per category."
    data = Path("data/madial/madial_en.json")
    options = (CliOption("query", "--query", str, "dialogue", "dialogue (the whole dialogue context) or last_user (the last user message)."),)

    def check(self, *, query: str = "dialogue") -> dict[str, Any]:
        if query not in MADIAL_QUERIES:
            raise InvalidInputError(f"unknown MADial query {query!r}; use one of {list(MADIAL_QUERIES)}")
        return {"query": query}

    def plan(self, data: Path, *, limit: int | None, sample: int | None, seed: int, query: str) -> Plan:
        """One store per user's archive; the first ``limit`` questions in file order, or ``sample`` of them."""
        haystacks = load_madial(data, query=query)
        pool = [q for h in haystacks for q in h.questions][:limit]
        keep, total = choose(pool, sample, seed)
        labels = {g: g for g in sorted({q.group for h in haystacks for q in h.questions})}
        return Plan(haystacks, [Variant("memories", lambda h: h.sessions)], keep, total, max(MADIAL_KS), labels, options={"query": query})

    def score(self, r: Retrieval, plan: Plan) -> list[dict[str, Any]]:
        gold, primary = r.question.gold["turn"], r.question.gold["primary"]
        metrics = madial_metrics(r.ranked, gold, primary)
        return [question_entry(r, ("category", r.question.group), gold=gold, retrieved=r.ranked, metrics=metrics, more_gold={"gold_primary": primary})]

    def notes(self, found: list[Retrieval], plan: Plan) -> list[str]:
        query = plan.options["query"]
        unmatched, no_gold = unknown_gold(found, ("turn", "primary")), without_gold(found)
        odd = [g for g in plan.labels if g not in MADIAL_CATEGORIES]
        first_mode = found[0].mode if found else None
        lengths = [len(r.question.question) for r in found if r.mode == first_mode]
        stores = [h for h in plan.haystacks if any(plan.keep(q) for q in h.questions)]
        return [
            "One fresh store and user scope per conversation (one user's archive); every memory is one session of one turn, "
            f"added with its date as timestamp and indexed as Memory.add indexes it (IndexConfig: {mem_index_note()}); "
            f"memories per archive: {', '.join(f'{h.id} {h.turns()}' for h in stores) or 'none'}.",
            f"Query: {'the whole dialogue context (question)' if query == 'dialogue' else 'the last user message alone (query_last_user)'}"
            + (f", {sum(lengths) / len(lengths):.0f} characters on average, {max(lengths)} at most" if lengths else "")
            + "; the data gives no dialogue date, so relative times resolve at the archive's latest memory date "
            "(a dialogue's 'yesterday' / 'today' then scopes to the archive's last days: compare the no-time mode).",
            "Evidence = the graded relevant memories (primary first): recall@k is the share of them in the top k, all@k whether "
            "all are; primary@k is recall of evidence_primary alone.",
            f"{len(unmatched)} evidence id(s) name no memory in the data and count as misses: {', '.join(unmatched) or 'none'}; "
            f"{len(no_gold)} question(s) without evidence are left out of the means: {', '.join(no_gold) or 'none'}."
            + (f" Categories outside {list(MADIAL_CATEGORIES)}: {odd}." if odd else ""),
        ]

    def tables(self, summary: list[dict[str, Any]], modes: list[EvalMode], plan: Plan) -> list[Table]:
        specs = [
            ("recall", "MADial-Bench evidence recall@k (memories)", "share of a question's evidence memories in the top k"),
            ("all", "MADial-Bench all-evidence@k (memories)", "questions with every evidence memory in the top k"),
            ("primary", "MADial-Bench primary-evidence recall@k (memories)", "questions whose evidence_primary memory is in the top k"),
        ]
        return [ks_table(summary, modes, metric, MADIAL_KS, title, note, plan.labels) for metric, title, note in specs]

    def curves(self, plan: Plan) -> list[dict[str, Any]]:
        return [
            curve("recall_at_k.png", "MADial-Bench evidence recall@k", "recall@", MADIAL_KS),
            curve("primary_at_k.png", "MADial-Bench primary-evidence recall@k", "primary@", MADIAL_KS),
        ]

    def config(self, found: list[Retrieval], plan: Plan) -> dict[str, Any]:
        return {"query": plan.options["query"]}


MADIAL = register(MADial())
run_madial = MADIAL.run
