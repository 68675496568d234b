"""``run_benchmark``: any registered benchmark end to end (ingest, search every mode, score, report).

``run_locomo``, ``run_longmemeval``, ``run_madial`` (and ``madial_metrics``) stay importable
from here; they live with their benchmarks in :mod:`remem.eval.benchmarks`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from remem._version import __version__
from remem.embed import Embedder
from remem.errors import InvalidInputError
from remem.eval.benchmark import Benchmark, mem_index_note, registered
from remem.eval.benchmarks.locomo import run_locomo
from remem.eval.benchmarks.longmemeval import LME_SEARCH_LIMIT, run_longmemeval
from remem.eval.benchmarks.madial import MADIAL_KS, madial_metrics, run_madial
from remem.eval.consolidation import CONSOLIDATE, consolidate_store
from remem.eval.harness import MemoryFactory, Retrieval, Variant, make_embedder, run_haystacks
from remem.eval.haystack import Haystack
from remem.eval.metrics import percentile
from remem.eval.modes import EvalMode, resolve_modes
from remem.eval.report import EvalReport, qa_summary, qa_table, summarize

QA_TOP_K = 10

__all__ = [
    "LME_SEARCH_LIMIT",
    "MADIAL_KS",
    "QA_TOP_K",
    "madial_metrics",
    "mem_index_note",
    "run_benchmark",
    "run_locomo",
    "run_longmemeval",
    "run_madial",
]


def run_benchmark(
    bench: Benchmark | str,
    data_path: str | Path,
    *,
    out_dir: str | Path | None,
    modes: Sequence[str | EvalMode] | str = ("hybrid",),
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    qa: bool = False,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    memory_factory: MemoryFactory | None = None,
    embedder: Embedder | None = None,
    llm: Any = None,
    qa_k: int = QA_TOP_K,
    progress: bool = True,
    consolidate: bool = False,
    **options: Any,
) -> EvalReport:
    """Ingest each haystack into a fresh store, search its questions in every mode, score and report.

    ``limit``/``sample``/``seed`` choose the questions (see the benchmark's ``plan``);
    ``options`` are the benchmark's own (e.g. LoCoMo ``categories``).  With ``qa`` (for
    benchmarks that offer it), each question is also answered from its top ``qa_k`` hits
    and graded by the LLM judge.  ``consolidate``: run maintenance's consolidation on each
    store before its questions (:mod:`remem.eval.consolidation`).  Writes results.json,
    report.md and plots to ``out_dir``.
    """
    bench = registered()[bench] if isinstance(bench, str) else bench
    data = Path(data_path)
    modes_ = resolve_modes(modes)
    opts = bench.check(**options)
    if limit is not None and limit < 1:
        raise InvalidInputError("--limit must be a positive number")
    if qa and not bench.qa:
        raise InvalidInputError(f"{bench.name} has no QA step")
    qa_llm = None
    if qa:
        from remem.eval.qa import llm_or_fail

        qa_llm = llm_or_fail(llm)
    plan = bench.plan(data, limit=limit, sample=sample, seed=seed, **opts)
    emb = make_embedder(cache_dir, use_cache, embedder)
    hook, qa_results = (None, {})
    if qa_llm is not None and plan.qa_variant is not None:
        workers = getattr(getattr(qa_llm, "config", None), "max_concurrency", 4)
        hook, qa_results = _qa_step(qa_llm, cache_dir, use_cache, plan.qa_variant, bench.qa_f1, qa_k, workers)
    advance, done = _progress(progress, plan.total, bench.name)
    try:
        found, stats = run_haystacks(
            plan.haystacks, plan.variants, modes_, embedder=emb, memory_factory=memory_factory,
            search_limit=plan.search_limit, keep=plan.keep, on_store=hook, advance=advance,
            prepare=consolidate_store if consolidate else None,
        )
    finally:
        done()
    entries = []
    for r in found:
        answered = qa_results.get((r.question.id, r.mode)) if r.variant == plan.qa_variant else None
        for entry in bench.score(r, plan):
            if answered is not None and bench.qa_entry(entry):
                entry["qa"] = answered
            entries.append(entry)
    summary = summarize(entries, bench.group_field)
    notes = bench.notes(found, plan)
    tables = bench.tables(summary, modes_, plan)
    qa_rows: list[dict[str, Any]] = []
    if qa_results:
        qa_rows = qa_summary(entries, bench.group_field)
        tables.append(qa_table(qa_rows, plan.labels, bench.qa_title(plan, qa_k)))
    extra = bench.config(found, plan)
    if bench.qa:
        llm_name = getattr(qa_llm, "describe", lambda: None)() if qa_llm else None
        extra["qa"] = {"enabled": bool(qa_results), "llm": llm_name, "top_k": qa_k, **plan.qa_extra}
    extra["plot"] = {"labels": plan.labels, "curves": bench.curves(plan)}
    if consolidate:
        shrink = 1 - stats.active_after / stats.active_before if stats.active_before else 0.0
        extra["consolidation"] = {"active_before": stats.active_before, "active_after": stats.active_after,
                                  "shrink": round(shrink, 4), "policy": CONSOLIDATE.model_dump(mode="json")}
        notes = [*notes, f"consolidated: active memories {stats.active_before} → {stats.active_after} "
                         f"({shrink:.1%} fewer) before the questions"]
    subset = {"limit": limit, "sample": sample, "seed": seed, **plan.subset, "questions": plan.total}
    config = _config(bench.name, data, modes_, emb, plan.search_limit, subset, extra)
    report = EvalReport(bench.name, _out_dir(out_dir), config, _timings(stats, emb), summary, entries, tables, qa_rows, notes)
    report.write()
    return report


# --------------------------------------------------------------------------- helpers


def git_commit() -> str:
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
        "git_commit": git_commit(),
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
