"""``run_locomo``, ``run_longmemeval`` and ``run_madial``: the benchmarks, end to end."""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import random
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from remem._version import __version__
from remem.embed import Embedder
from remem.errors import InvalidInputError
from remem.eval.datasets import (
    LME_PROTOCOLS,
    LOCOMO_CATEGORIES,
    LOCOMO_SCORED,
    MADIAL_CATEGORIES,
    MADIAL_QUERIES,
    Haystack,
    Question,
    load_locomo,
    load_longmemeval,
    load_madial,
    protocol_sessions,
)
from remem.eval.harness import MemoryFactory, Retrieval, Variant, make_embedder, run_haystacks
from remem.eval.metrics import LME_KS, LME_REPORT_KS, LOCOMO_KS, lme_metrics, locomo_metrics, percentile, sessions_by_best_turn
from remem.eval.metrics import recall_at_k
from remem.eval.modes import EvalMode, resolve_modes
from remem.eval.report import EvalReport, Table, summarize

LME_SEARCH_LIMIT = 100  # turns fetched per LongMemEval question: enough to rank 50 turns and most sessions
QA_TOP_K = 10


# --------------------------------------------------------------------------- shared helpers


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "remem"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha or "unknown") + ("+dirty" if dirty else "")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _config(bench: str, data: Path, modes: list[EvalMode], embedder: Any, search_limit: int, subset: dict, extra: dict) -> dict:
    from remem.read import SearchConfig

    return {
        "benchmark": bench,
        "command": " ".join(["remem eval" if sys.argv[:1] == ["-c"] else sys.argv[0], *sys.argv[1:]]) if sys.argv else "",
        "remem_version": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": str(data),
        "data_sha256": _sha256(data),
        "embedder": {"model": embedder.model_name, "dim": embedder.dim, "cache": getattr(embedder, "path", None)},
        "search_config": dataclasses.asdict(SearchConfig()),
        "modes": {m.name: m.describe() for m in modes},
        "search_limit": search_limit,
        "subset": subset,
        **extra,
    }


def _timings(stats: Any, embedder: Any) -> dict[str, Any]:
    search = {
        mode: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)} for mode, v in stats.latencies_ms.items() if v
    }
    return {
        "ingest_s": round(stats.ingest_s, 3),
        "turns": stats.turns,
        "stores": stats.stores,
        "cache_hits": getattr(embedder, "hits", 0),
        "cache_misses": getattr(embedder, "misses", 0),
        "search_ms": search,
        "latencies_ms": {m: [round(x, 3) for x in v] for m, v in stats.latencies_ms.items()},
    }


def _progress(enabled: bool, total: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    if not enabled:
        return (lambda n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="q", file=sys.stderr)
    return bar.update, bar.close


def _sample(questions: list[Question], sample: int | None, seed: int) -> set[str] | None:
    if sample is None:
        return None
    if sample < 1:
        raise InvalidInputError("--sample must be a positive number")
    rng = random.Random(seed)
    chosen = rng.sample(questions, min(sample, len(questions)))
    return {q.id for q in chosen}


def _out_dir(out_dir: str | Path | None) -> Path | None:
    return Path(out_dir) if out_dir is not None else None


def _qa_step(
    llm: Any, cache_dir: str | Path | None, use_cache: bool, variant: str, with_f1: bool, qa_k: int, workers: int
) -> tuple[Callable, dict[tuple[str, str], dict]]:
    """An ``on_store`` hook answering each question of ``variant`` from its top ``qa_k`` hits."""
    from remem.embed.cache import default_cache_dir
    from remem.eval.qa import AnswerCache, run_qa

    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    cache = AnswerCache(folder / "qa.sqlite" if use_cache else ":memory:")
    results: dict[tuple[str, str], dict] = {}

    def hook(mem: Any, hay: Haystack, v: Variant, found: list[Retrieval]) -> None:
        if v.name != variant:
            return
        jobs = [
            {
                "question": r.question.question,
                "gold": r.question.answer,
                "hits": r.hits[:qa_k],
                "question_time": r.question.date,
                "category": int(r.question.group) if with_f1 else None,
            }
            for r in found
        ]
        for r, res in zip(found, run_qa(llm, cache, jobs, workers)):
            results[(r.question.id, r.mode)] = res

    return hook, results


def _qa_summary(entries: list[dict[str, Any]], group_field: str) -> list[dict[str, Any]]:
    rows = []
    for q in entries:
        if "qa" in q:
            metrics = {"J": q["qa"]["correct"], "context_tokens": q["qa"]["context_tokens"]}
            if "f1" in q["qa"]:
                metrics["F1"] = q["qa"]["f1"]
            rows.append({"mode": q["mode"], group_field: q[group_field], "qa_metrics": metrics})
    return summarize(rows, group_field, metric_field="qa_metrics")


def _qa_table(rows: list[dict[str, Any]], labels: dict[str, str], title: str) -> Table:
    cols = ["group", "mode", "n", "J (judge)"]
    with_f1 = any("F1" in r["metrics"] for r in rows)
    if with_f1:
        cols.append("F1")
    cols.append("context tokens")
    body = []
    for r in sorted(rows, key=lambda r: (r["group"] != "all", r["group"], r["mode"])):
        m = r["metrics"]
        line = [labels.get(r["group"], r["group"]), r["mode"], r["n"], m.get("J")]
        if with_f1:
            line.append(m.get("F1"))
        line.append(round(m.get("context_tokens", 0)))
        body.append(line)
    return Table(title, cols, body)


# --------------------------------------------------------------------------- LoCoMo


def mem_index_note() -> str:
    """How turns are indexed by default (speaker, previous turns, date prefix)."""
    from remem.write import IndexConfig

    cfg = IndexConfig()
    return f"'speaker: text', previous_turns={cfg.previous_turns}, dates={cfg.dates}"


def run_locomo(
    data_path: str | Path,
    *,
    out_dir: str | Path | None,
    modes: Sequence[str | EvalMode] | str = ("hybrid",),
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    categories: Iterable[int] | None = None,
    qa: bool = False,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    memory_factory: MemoryFactory | None = None,
    embedder: Embedder | None = None,
    llm: Any = None,
    qa_k: int = QA_TOP_K,
    progress: bool = True,
) -> EvalReport:
    """Evidence recall@k / all-evidence@k over turns, per category, for each mode.

    ``limit``: first N conversations; ``sample``: N random questions (``seed``) among
    those left; ``categories``: ids to score (default 1-4).  With ``qa``, each
    question is also answered from its top ``qa_k`` hits and graded by the LLM judge,
    with the official LoCoMo F1.
    """
    data = Path(data_path)
    modes_ = resolve_modes(modes)
    cats = tuple(sorted(set(int(c) for c in categories))) if categories else LOCOMO_SCORED
    unknown = [c for c in cats if c not in LOCOMO_CATEGORIES]
    if unknown:
        raise InvalidInputError(f"unknown LoCoMo categories {unknown}; ids are 1-5")
    if limit is not None and limit < 1:
        raise InvalidInputError("--limit must be a positive number")
    qa_llm = None
    if qa:
        from remem.eval.qa import llm_or_fail

        qa_llm = llm_or_fail(llm)
    haystacks = load_locomo(data)[:limit]
    pool = [q for h in haystacks for q in h.questions if int(q.group) in cats]
    chosen = _sample(pool, sample, seed)
    keep = (lambda q: int(q.group) in cats) if chosen is None else (lambda q: q.id in chosen)
    total = len(pool) if chosen is None else len(chosen)
    emb = make_embedder(cache_dir, use_cache, embedder)
    hook, qa_results = (None, {})
    if qa_llm is not None:
        hook, qa_results = _qa_step(qa_llm, cache_dir, use_cache, "turns", True, qa_k, getattr(getattr(qa_llm, "config", None), "max_concurrency", 4))
    advance, done = _progress(progress, total, "locomo")
    try:
        found, stats = run_haystacks(
            haystacks,
            [Variant("turns", lambda h: h.sessions)],
            modes_,
            embedder=emb,
            memory_factory=memory_factory,
            search_limit=max(LOCOMO_KS),
            keep=keep,
            on_store=hook,
            advance=advance,
        )
    finally:
        done()
    entries = []
    for r in found:
        q = r.question
        gold = q.gold["turn"]
        entry = {
            "id": q.id,
            "question": q.question,
            "category": int(q.group),
            "mode": r.mode,
            "answer": q.answer,
            "gold": gold,
            "retrieved": r.ranked,
            "metrics": locomo_metrics(r.ranked, gold),
            "latency_ms": round(r.latency_ms, 3),
        }
        if (q.id, r.mode) in qa_results:
            entry["qa"] = qa_results[(q.id, r.mode)]
        entries.append(entry)
    summary = summarize(entries, "category")
    labels = {str(k): f"{k} {v}" for k, v in LOCOMO_CATEGORIES.items()}
    unmatched = sorted({g for r in found for g in r.question.gold["turn"] if g not in r.session_of})
    no_gold = sorted({r.question.id for r in found if not r.question.gold["turn"]})
    notes = [
        "One retrieval unit per turn (text + ' [shares a photo: <blip_caption>]'), indexed as Memory.add indexes it "
        f"(IndexConfig: {mem_index_note()}); "
        "one fresh store and user scope per conversation; sessions added with their dates as timestamps.",
        "Evidence ids normalised (multi-id strings split, 'D:11:26' -> 'D11:26', 'D30:05' -> 'D30:5'); "
        f"{len(unmatched)} evidence id(s) name no turn in the data and count as misses: {', '.join(unmatched) or 'none'}.",
        f"{len(no_gold)} question(s) without evidence are left out of the means: {', '.join(no_gold) or 'none'}.",
    ]
    tables = [_locomo_table(summary, labels, modes_, "recall"), _locomo_table(summary, labels, modes_, "all")]
    qa_rows: list[dict[str, Any]] = []
    if qa_results:
        qa_rows = _qa_summary(entries, "category")
        tables.append(_qa_table(qa_rows, labels, f"LoCoMo end-to-end QA (top {qa_k} turns)"))
    config = _config(
        "locomo",
        data,
        modes_,
        emb,
        max(LOCOMO_KS),
        {"limit": limit, "sample": sample, "seed": seed, "categories": list(cats), "questions": total},
        {
            "qa": {"enabled": bool(qa_results), "llm": getattr(qa_llm, "describe", lambda: None)() if qa_llm else None, "top_k": qa_k},
            "plot": {
                "labels": labels,
                "curves": [{"file": "recall_at_k.png", "title": "LoCoMo evidence recall@k", "prefix": "recall@", "ks": list(LOCOMO_KS), "index": {}}],
            },
        },
    )
    report = EvalReport("locomo", _out_dir(out_dir), config, _timings(stats, emb), summary, entries, tables, qa_rows, notes)
    report.write()
    return report


def _locomo_table(summary: list[dict[str, Any]], labels: dict[str, str], modes: list[EvalMode], metric: str) -> Table:
    order = {m.name: i for i, m in enumerate(modes)}
    rows = sorted(summary, key=lambda r: (r["group"] != "all", r["group"], order.get(r["mode"], 99)))
    cols = ["category", "mode", "n"] + [f"@{k}" for k in LOCOMO_KS]
    body = [[labels.get(r["group"], r["group"]), r["mode"], r["n"]] + [r["metrics"].get(f"{metric}@{k}") for k in LOCOMO_KS] for r in rows]
    if metric == "recall":
        return Table("LoCoMo evidence recall@k (turns)", cols, body, "share of a question's evidence turns in the top k")
    return Table("LoCoMo all-evidence@k (turns)", cols, body, "questions with every evidence turn in the top k")


# --------------------------------------------------------------------------- LongMemEval


def run_longmemeval(
    data_path: str | Path,
    *,
    out_dir: str | Path | None,
    modes: Sequence[str | EvalMode] | str = ("hybrid",),
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    types: Iterable[str] | None = None,
    protocols: Iterable[str] = LME_PROTOCOLS,
    qa: bool = False,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    memory_factory: MemoryFactory | None = None,
    embedder: Embedder | None = None,
    llm: Any = None,
    qa_k: int = QA_TOP_K,
    progress: bool = True,
) -> EvalReport:
    """recall_any / recall_all / ndcg_any at turn and session granularity, per question type.

    ``official`` indexes user turns only (the LongMemEval retrieval protocol);
    ``full`` indexes both roles.  Sessions are ranked by their best turn.
    ``_abs`` questions are skipped.  ``limit``: first N questions; ``sample``: N
    random ones.  With ``qa``, questions are answered from the top ``qa_k`` turns of
    the ``full`` index and graded by the LLM judge.
    """
    data = Path(data_path)
    modes_ = resolve_modes(modes)
    protos = tuple(dict.fromkeys(protocols))
    bad = [p for p in protos if p not in LME_PROTOCOLS]
    if bad or not protos:
        raise InvalidInputError(f"unknown LongMemEval protocol(s) {bad}; use {list(LME_PROTOCOLS)}")
    if limit is not None and limit < 1:
        raise InvalidInputError("--limit must be a positive number")
    wanted = set(types) if types else None
    qa_llm = None
    if qa:
        from remem.eval.qa import llm_or_fail

        qa_llm = llm_or_fail(llm)
    haystacks = [h for h in load_longmemeval(data) if not h.questions[0].extra["abstention"]]
    if wanted is not None:
        known = {h.questions[0].group for h in haystacks}
        unknown = sorted(wanted - known)
        if unknown:
            raise InvalidInputError(f"unknown question type(s) {unknown}; the data has {sorted(known)}")
        haystacks = [h for h in haystacks if h.questions[0].group in wanted]
    haystacks = haystacks[:limit]
    chosen = _sample([h.questions[0] for h in haystacks], sample, seed)
    if chosen is not None:
        haystacks = [h for h in haystacks if h.questions[0].id in chosen]
    emb = make_embedder(cache_dir, use_cache, embedder)
    qa_variant = "full" if "full" in protos else protos[0]
    hook, qa_results = (None, {})
    if qa_llm is not None:
        hook, qa_results = _qa_step(qa_llm, cache_dir, use_cache, qa_variant, False, qa_k, getattr(getattr(qa_llm, "config", None), "max_concurrency", 4))
    variants = [Variant(p, lambda h, p=p: protocol_sessions(h, p)) for p in protos]
    advance, done = _progress(progress, len(haystacks), "longmemeval")
    try:
        found, stats = run_haystacks(
            haystacks, variants, modes_, embedder=emb, memory_factory=memory_factory,
            search_limit=LME_SEARCH_LIMIT, keep=lambda q: True, on_store=hook, advance=advance,
        )
    finally:
        done()
    entries = []
    for r in found:
        q = r.question
        for gran in ("turn", "session"):
            gold = q.gold[f"{r.variant}/{gran}"]
            ranked = r.ranked[: max(LME_KS)] if gran == "turn" else sessions_by_best_turn(r.ranked, r.session_of)
            entry = {
                "id": q.id,
                "question": q.question,
                "type": q.group,
                "mode": r.mode,
                "protocol": r.variant,
                "granularity": gran,
                "answer": q.answer,
                "gold": gold,
                "retrieved": ranked,
                "metrics": lme_metrics(ranked, gold),
                "latency_ms": round(r.latency_ms, 3),
            }
            if gran == "session" and (q.id, r.mode) in qa_results and r.variant == qa_variant:
                entry["qa"] = qa_results[(q.id, r.mode)]
            entries.append(entry)
    summary = summarize(entries, "type")
    no_gold = {
        f"{p}/{g}": sorted({r.question.id for r in found if r.variant == p and not r.question.gold[f"{p}/{g}"]})
        for p in protos
        for g in ("turn", "session")
    }
    notes = [
        "Each question's haystack goes into its own fresh store per protocol: 'official' indexes user turns only, "
        "'full' both roles; one unit per turn, sessions added with their dates as timestamps; _abs questions skipped.",
        "Session granularity ranks sessions by their best turn among the top "
        f"{LME_SEARCH_LIMIT} turns (official turn2session recall; NDCG computed on that session ranking).",
        "Questions without a gold unit score recall_any 0, recall_all 1, ndcg 0 and stay in the means (official code): "
        + "; ".join(f"{k}: {len(v)}" for k, v in no_gold.items()),
    ]
    labels = {t: t for t in {q.group for h in haystacks for q in h.questions}}
    tables = [_lme_table(summary, p, modes_) for p in protos]
    qa_rows: list[dict[str, Any]] = []
    if qa_results:
        qa_rows = _qa_summary([e for e in entries if "qa" in e], "type")
        tables.append(_qa_table(qa_rows, labels, f"LongMemEval end-to-end QA ({qa_variant} index, top {qa_k} turns)"))
    curves = [
        {
            "file": f"recall_all_{p}_{g}.png",
            "title": f"LongMemEval recall_all@k ({p}, {g})",
            "prefix": "recall_all@",
            "ks": list(LME_KS),
            "index": {"protocol": p, "granularity": g},
        }
        for p in protos
        for g in ("session", "turn")
    ]
    config = _config(
        "longmemeval",
        data,
        modes_,
        emb,
        LME_SEARCH_LIMIT,
        {"limit": limit, "sample": sample, "seed": seed, "types": sorted(wanted) if wanted else None, "questions": len(haystacks)},
        {
            "protocols": list(protos),
            "no_gold": no_gold,
            "qa": {"enabled": bool(qa_results), "llm": getattr(qa_llm, "describe", lambda: None)() if qa_llm else None, "top_k": qa_k, "index": qa_variant},
            "plot": {"labels": labels, "curves": curves},
        },
    )
    report = EvalReport("longmemeval", _out_dir(out_dir), config, _timings(stats, emb), summary, entries, tables, qa_rows, notes)
    report.write()
    return report


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


# --------------------------------------------------------------------------- MADial-Bench

MADIAL_KS = LOCOMO_KS


def madial_metrics(ranked: Sequence[str], gold: Sequence[str], primary: Sequence[str], ks: Sequence[int] = MADIAL_KS) -> dict[str, float | None]:
    """LoCoMo's ``recall@k`` / ``all@k`` over the evidence, plus ``primary@k``: recall of ``evidence_primary``."""
    out = locomo_metrics(ranked, gold, ks)
    for k in ks:
        out[f"primary@{k}"] = recall_at_k(ranked, primary, k)
    return out


def run_madial(
    data_path: str | Path,
    *,
    out_dir: str | Path | None,
    modes: Sequence[str | EvalMode] | str = ("hybrid",),
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    query: str = "dialogue",
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    memory_factory: MemoryFactory | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> EvalReport:
    """MADial-Bench memory recall: evidence recall@k / all-evidence@k / primary@k over memories, per category.

    Every memory of a user's archive goes into one fresh store (one user scope);
    each test dialogue is searched with ``query`` = ``"dialogue"`` (the whole
    dialogue context, the benchmark's protocol) or ``"last_user"`` (the last user
    message alone).  ``limit``: first N questions (in file order, conversation by
    conversation); ``sample``: N random questions (``seed``) among those left.
    """
    data = Path(data_path)
    modes_ = resolve_modes(modes)
    if query not in MADIAL_QUERIES:
        raise InvalidInputError(f"unknown MADial query {query!r}; use one of {list(MADIAL_QUERIES)}")
    if limit is not None and limit < 1:
        raise InvalidInputError("--limit must be a positive number")
    haystacks = load_madial(data, query=query)
    pool = [q for h in haystacks for q in h.questions][:limit]
    chosen = _sample(pool, sample, seed)
    kept = {q.id for q in pool} if chosen is None else chosen
    total = len(kept)
    emb = make_embedder(cache_dir, use_cache, embedder)
    advance, done = _progress(progress, total, "madial")
    try:
        found, stats = run_haystacks(
            haystacks,
            [Variant("memories", lambda h: h.sessions)],
            modes_,
            embedder=emb,
            memory_factory=memory_factory,
            search_limit=max(MADIAL_KS),
            keep=lambda q: q.id in kept,
            advance=advance,
        )
    finally:
        done()
    entries = []
    for r in found:
        q = r.question
        entries.append(
            {
                "id": q.id,
                "question": q.question,
                "category": q.group,
                "mode": r.mode,
                "answer": q.answer,
                "gold": q.gold["turn"],
                "gold_primary": q.gold["primary"],
                "retrieved": r.ranked,
                "metrics": madial_metrics(r.ranked, q.gold["turn"], q.gold["primary"]),
                "latency_ms": round(r.latency_ms, 3),
            }
        )
    summary = summarize(entries, "category")
    groups = sorted({q.group for h in haystacks for q in h.questions})
    labels = {g: g for g in groups}
    unmatched = sorted({g for r in found for key in ("turn", "primary") for g in r.question.gold[key] if g not in r.session_of})
    no_gold = sorted({r.question.id for r in found if not r.question.gold["turn"]})
    odd = [g for g in groups if g not in MADIAL_CATEGORIES]
    searched = [r.question for r in found if r.mode == modes_[0].name]
    lengths = [len(q.question) for q in searched]
    stores = [h for h in haystacks if any(q.id in kept for q in h.questions)]
    notes = [
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
    tables = [
        _madial_table(summary, modes_, "recall", "MADial-Bench evidence recall@k (memories)", "share of a question's evidence memories in the top k"),
        _madial_table(summary, modes_, "all", "MADial-Bench all-evidence@k (memories)", "questions with every evidence memory in the top k"),
        _madial_table(summary, modes_, "primary", "MADial-Bench primary-evidence recall@k (memories)", "questions whose evidence_primary memory is in the top k"),
    ]
    config = _config(
        "madial",
        data,
        modes_,
        emb,
        max(MADIAL_KS),
        {"limit": limit, "sample": sample, "seed": seed, "questions": total},
        {
            "query": query,
            "plot": {
                "labels": labels,
                "curves": [
                    {"file": "recall_at_k.png", "title": "MADial-Bench evidence recall@k", "prefix": "recall@", "ks": list(MADIAL_KS), "index": {}},
                    {"file": "primary_at_k.png", "title": "MADial-Bench primary-evidence recall@k", "prefix": "primary@", "ks": list(MADIAL_KS), "index": {}},
                ],
            },
        },
    )
    report = EvalReport("madial", _out_dir(out_dir), config, _timings(stats, emb), summary, entries, tables, [], notes)
    report.write()
    return report


def _madial_table(summary: list[dict[str, Any]], modes: list[EvalMode], metric: str, title: str, note: str) -> Table:
    order = {m.name: i for i, m in enumerate(modes)}
    rows = sorted(summary, key=lambda r: (r["group"] != "all", r["group"], order.get(r["mode"], 99)))
    cols = ["category", "mode", "n"] + [f"@{k}" for k in MADIAL_KS]
    body = [[r["group"], r["mode"], r["n"]] + [r["metrics"].get(f"{metric}@{k}") for k in MADIAL_KS] for r in rows]
    return Table(title, cols, body, note)
