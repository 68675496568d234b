"""``remem eval procedural``: procedural memory on a generated suite of task families (no data file).

The suite (:mod:`remem.eval.procedural.suite`) has eight families, each with a trick a lesson
captures; the protocol (:mod:`remem.eval.procedural.protocol`) learns from deterministic
trajectories, then retrieves strategies for new tasks. The shared retrieval loop of the other
benchmarks (haystacks of sessions, questions with gold turns) does not fit a learn-then-retrieve
protocol, so this benchmark overrides :meth:`Benchmark.run` and builds its own
:class:`~remem.eval.report.EvalReport` (``needs_data = False``: the command takes no ``--data``).
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from remem._version import __version__
from remem.errors import InvalidInputError, LLMNotConfiguredError
from remem.eval.benchmark import Benchmark, CliOption, register
from remem.eval.harness import make_embedder
from remem.eval.metrics import percentile
from remem.eval.modes import EvalMode, resolve_modes
from remem.eval.procedural.protocol import TOP_K, ArmResult, run_arm
from remem.eval.procedural.suite import FAMILIES, generate
from remem.eval.report import EvalReport, Table, summarize
from remem.read import SearchConfig

ARMS = ("no-llm", "scripted", "llm")
GOAL = 0.9  # top-1 strategy of the task's family, with an LLM (issue 16)


def parse_arms(text: str) -> list[str]:
    """``auto`` (no-llm, scripted, and llm when one is configured) or a comma-separated list of ARMS."""
    if text.strip() == "auto":
        return ["auto"]
    arms = [a.strip() for a in text.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        raise ValueError(f"unknown arm(s) {unknown}; use auto or some of {list(ARMS)}")
    return list(dict.fromkeys(arms))


class Procedural(Benchmark):
    name = "procedural"
    help = ("Procedural memory on generated task families: learn from trajectories, then how often a strategy "
            "of the task's own family ranks first (no data file; with a real LLM, --agent-loop compares task success).")
    needs_data = False
    group_field = "family"
    limit_help = f"First N task families (of {len(FAMILIES)})."
    options = (
        CliOption("arms", "--arms", str, "auto", f"auto, or some of {', '.join(ARMS)} (llm: the REMEM_LLM_* model).", parse_arms),
        CliOption("train", "--train", int, 4, "Training trajectories per family (alternating success, failure)."),
        CliOption("test", "--test", int, 3, "New tasks per family in phase 2."),
        CliOption("agent_loop", "--agent-loop", bool, False, "With the llm arm: solve each test task with and without procedural memory."),
    )

    def run(self, data_path: Any = None, **kwargs: Any) -> EvalReport:
        """:func:`run_procedural` (the suite is generated: no data file)."""
        if data_path is not None:
            raise InvalidInputError("the procedural benchmark generates its tasks; it takes no --data")
        known = inspect.signature(run_procedural).parameters
        unsupported = sorted(k for k, v in kwargs.items() if k not in known and v not in (None, False))
        if unsupported:
            raise InvalidInputError(f"the procedural benchmark does not support {', '.join(unsupported)}")
        return run_procedural(**{k: v for k, v in kwargs.items() if k in known})


def _modes(modes: Sequence[str | EvalMode] | str) -> list[EvalMode]:
    out = resolve_modes(modes)
    odd = [m.name for m in out if m.search_kwargs.get("mode", "hybrid") != "hybrid"]
    if odd:
        raise InvalidInputError(f"procedures() searches in hybrid mode; modes {odd} change the mode (use hybrid-based ones)")
    return out


def run_procedural(
    *, out_dir: str | Path | None = None, modes: Sequence[str | EvalMode] | str = ("hybrid",), limit: int | None = None,
    sample: int | None = None, seed: int = 0, arms: Sequence[str] | str = ("auto",), train: int = 4, test: int = 3,
    agent_loop: bool = False, llm: Any = None, embedder: Any = None, cache_dir: str | Path | None = None,
    use_cache: bool = True, progress: bool = True,
) -> EvalReport:
    """Run the protocol for each arm (and retrieval mode); returns the report (written to ``out_dir``)."""
    arm_list = parse_arms(arms) if isinstance(arms, str) else list(arms)
    if (limit is not None and limit < 1) or train < 1 or test < 1:
        raise InvalidInputError("--limit, --train and --test must be positive")
    chosen_modes = _modes(modes)
    model = llm
    if model is None and ("llm" in arm_list or "auto" in arm_list):
        from remem.llm import llm_from_env

        model = llm_from_env()
    if arm_list == ["auto"]:
        arm_list = ["no-llm", "scripted"] + (["llm"] if model is not None else [])
    if "llm" in arm_list and model is None:
        raise LLMNotConfiguredError("the llm arm needs an OpenAI-compatible model: set REMEM_LLM_BASE_URL and REMEM_LLM_MODEL")
    if agent_loop and "llm" not in arm_list:
        raise InvalidInputError("--agent-loop needs the llm arm (a configured model)")
    train_tasks, test_tasks, outcomes = generate(seed, families=limit, train=train, test=test)
    emb = make_embedder(cache_dir, use_cache, embedder)
    runs = [(arm, mode) for arm in arm_list for mode in chosen_modes]
    advance, done = _progress(progress, len(runs) * (len(train_tasks) + len(test_tasks)))
    results: list[tuple[ArmResult, EvalMode]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="remem-procedural-") as tmp:
            for i, (arm, mode) in enumerate(runs):
                config = mode.config or SearchConfig()
                folder = Path(tmp) / str(i)
                folder.mkdir()
                res = run_arm(arm, model if arm == "llm" else None, train_tasks, test_tasks, outcomes, embedder=emb,
                              folder=folder, config=config, agent_loop=agent_loop, advance=advance)
                if len(chosen_modes) > 1:
                    res.arm = f"{arm}/{mode.name}"
                    for e in res.entries:
                        e["mode"] = res.arm
                results.append((res, mode))
    finally:
        done()
    return _report(results, out_dir, seed, limit, train, test, len({t.family for t in test_tasks}), agent_loop, emb)


def _progress(enabled: bool, total: int) -> tuple[Any, Any]:
    if not enabled:
        return (lambda n: None), (lambda: None)
    from tqdm import tqdm

    bar = tqdm(total=total, desc="procedural", unit="task", file=sys.stderr)
    return bar.update, bar.close


def _report(
    results: list[tuple[ArmResult, EvalMode]], out_dir: str | Path | None, seed: int, limit: int | None, train: int, test: int,
    families: int, agent_loop: bool, emb: Any,
) -> EvalReport:
    from remem.eval.runner import git_commit

    entries = [e for r, _ in results for e in r.entries]
    summary = summarize(entries, "family")
    means = {(row["mode"], row["group"]): row["metrics"] for row in summary}
    rows = []
    for r, _ in results:
        m = means.get((r.arm, "all"), {})
        rows.append([r.arm, r.llm or "-", len(r.entries), m.get("top1_strategy_same_family"), m.get("top1_same_family"),
                     m.get("same_family@3"), r.strategies, r.trajectories, round(r.learn_s, 1), len(r.errors)])
    tables = [Table(
        "Procedural memory: the top hit for a new task comes from its own family",
        ["arm", "llm", "tasks", "top-1 strategy, same family", "top-1 same family", "same family in top 3",
         "strategies", "trajectories", "learn s", "LLM errors"],
        rows,
        f"{families} families x {train} training trajectories (success, failure, ...) and {test} new tasks each; "
        f"goal with an LLM: top-1 strategy of the same family >= {GOAL}. no-llm ranks past trajectories (no strategies exist).",
    )]
    names = [r.arm for r, _ in results]
    fam_rows = [[f.name, f.trick, *(means.get((n, f.name), {}).get("top1_same_family") for n in names)] for f in FAMILIES[:families]]
    tables.append(Table("Top-1 same family, per family", ["family", "trick", *names], fam_rows))
    agents = [(r.arm, r.llm, r.agent) for r, _ in results if r.agent]
    if agents:
        tables.append(Table(
            "Agent loop: task success without vs with procedural memory (the same model)",
            ["arm", "llm", "tasks", "without memory", "with memory"],
            [[arm, llm or "-", a["n"], a["without"], a["with"]] for arm, llm, a in agents],
        ))
    notes = [
        f"Suite seed {seed}: {families} families, training tasks in two phrasings, new tasks also in a third one never learned from.",
        "Family of a hit: its own (trajectory) or its source trajectories' (strategy); scripted = a distiller that knows each "
        "family's lessons (measures storage, reconciliation and ranking, not an LLM's writing).",
        "Agent loop: " + ("ran" if agents else "not run" + ("" if agent_loop else " (pass --agent-loop with the llm arm and a configured "
                                                                                  "REMEM_LLM_* model)")) + ".",
    ]
    for r, _ in results:
        notes += [f"{r.arm}: {e}" for e in r.errors[:3]]
    latencies = {r.arm: r.latencies_ms for r, _ in results}
    timings = {
        "ingest_s": round(sum(r.learn_s for r, _ in results), 3), "turns": sum(r.trajectories for r, _ in results), "stores": len(results),
        "search_ms": {a: {"p50": percentile(v, 50), "p95": percentile(v, 95), "n": len(v)} for a, v in latencies.items() if v},
        "latencies_ms": {a: [round(x, 3) for x in v] for a, v in latencies.items()},
        "cache_hits": getattr(emb, "hits", 0), "cache_misses": getattr(emb, "misses", 0),
    }
    config = {
        "benchmark": "procedural", "command": " ".join(sys.argv) if sys.argv else "", "remem_version": __version__,
        "git_commit": git_commit(), "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "embedder": {"model": emb.model_name, "dim": emb.dim}, "search_config": dataclasses.asdict(SearchConfig()),
        "modes": {mode.name: mode.describe() for _, mode in results},
        "subset": {"families": families, "train": train, "test": test, "seed": seed, "limit": limit, "top_k": TOP_K},
        "arms": {r.arm: {"llm": r.llm, "agent": r.agent} for r, _ in results},
        "goal": {"top1_strategy_same_family": GOAL},
    }
    report = EvalReport("procedural", Path(out_dir) if out_dir is not None else None, config, timings, summary, entries, tables, notes=notes)
    report.write()
    return report


PROCEDURAL = register(Procedural())
