"""A retrieval benchmark as one object, and the registry ``remem eval`` builds its commands from.

A benchmark says what is particular to it: its data, how questions are chosen, what each
retrieval scores, its notes, tables and plots.  The loop around it (ingest, search every
mode, summarise, QA, report) is :func:`remem.eval.runner.run_benchmark`; the command line
is generated in :mod:`remem.eval.cli`.  A module in :mod:`remem.eval.benchmarks` that calls
:func:`register` is all a new benchmark needs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remem.errors import InvalidInputError
from remem.eval.harness import Retrieval, Variant
from remem.eval.haystack import Haystack, Question

if TYPE_CHECKING:
    from remem.eval.modes import EvalMode
    from remem.eval.report import EvalReport, Table



def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class CliOption:
    """One option of a benchmark's own: ``parse`` turns the command-line value into the run keyword.

    ``parse`` raises ValueError (its message becomes the usage error) for a bad value.
    """

    name: str  # the keyword of Benchmark.run and the command's parameter
    flag: str
    type: Any
    default: Any
    help: str
    parse: Callable[[Any], Any] = _same


@dataclass
class Plan:
    """What one run searches, and what its reporting hooks need to know."""

    haystacks: list[Haystack]
    variants: list[Variant]
    keep: Callable[[Question], bool]
    total: int  # questions searched (the progress bar, config["subset"]["questions"])
    search_limit: int
    labels: dict[str, str]  # group -> label in tables and plots
    options: dict[str, Any] = field(default_factory=dict)  # the benchmark's own, checked
    subset: dict[str, Any] = field(default_factory=dict)  # extra config["subset"] keys
    qa_variant: str | None = None  # the index the QA step answers from
    qa_extra: dict[str, Any] = field(default_factory=dict)  # extra config["qa"] keys


class Benchmark:
    """Base of every retrieval benchmark; subclasses set the attributes and override the hooks."""

    name: str = ""  # the command (``remem eval <name>``) and results.json's "benchmark"
    help: str = ""  # the command's help
    data: Path = Path()  # default data file, relative to ../shared
    group_field: str = "category"  # the per-question field tables group by
    limit_help: str = "First N questions."
    data_help: str = ""  # the --data option's help, where the default one does not fit
    options: tuple[CliOption, ...] = ()
    qa: bool = False  # offers --qa (end-to-end answers + LLM judge)
    qa_f1: bool = False  # the QA step also scores the official LoCoMo F1
    needs_data: bool = True  # False: a generated benchmark, run without a data file (``data_path`` is None)

    def check(self, **options: Any) -> dict[str, Any]:
        """The benchmark's own options, checked before the data is read (InvalidInputError)."""
        if options:
            raise TypeError(f"run_{self.name}() got unexpected keyword arguments {sorted(options)}")
        return {}

    def plan(self, data: Path, *, limit: int | None, sample: int | None, seed: int, **options: Any) -> Plan:
        """Load ``data`` and choose the questions (``limit``, then ``sample`` with ``seed``)."""
        raise NotImplementedError

    def score(self, r: Retrieval, plan: Plan) -> list[dict[str, Any]]:
        """The results.json entries (with ``metrics``) of one retrieval."""
        raise NotImplementedError

    def notes(self, found: list[Retrieval], plan: Plan) -> list[str]:
        return []

    def tables(self, summary: list[dict[str, Any]], modes: list[EvalMode], plan: Plan) -> list[Table]:
        return []

    def curves(self, plan: Plan) -> list[dict[str, Any]]:
        """Recall@k plot specs (see :func:`curve`)."""
        return []

    def config(self, found: list[Retrieval], plan: Plan) -> dict[str, Any]:
        """Extra keys for results.json's config."""
        return {}

    def qa_title(self, plan: Plan, qa_k: int) -> str:
        return f"{self.name} end-to-end QA (top {qa_k} turns)"

    def qa_entry(self, entry: dict[str, Any]) -> bool:
        """Whether ``entry`` carries its question's QA result."""
        return True

    def run(self, data_path: str | Path, **kwargs: Any) -> EvalReport:
        """Run the benchmark end to end: the keywords of :func:`remem.eval.runner.run_benchmark`, and its own options."""
        from remem.eval.runner import run_benchmark

        return run_benchmark(self, data_path, **kwargs)


BENCHMARKS: dict[str, Benchmark] = {}


def register(bench: Benchmark) -> Benchmark:
    """Add (or replace) a benchmark; ``remem eval <name>`` then exists."""
    if not bench.name or not bench.name.isidentifier():
        raise InvalidInputError(f"bad benchmark name {bench.name!r}")
    BENCHMARKS[bench.name] = bench
    return bench


def registered() -> dict[str, Benchmark]:
    """Every benchmark of :mod:`remem.eval.benchmarks` (imported on first use), in registration order."""
    import remem.eval.benchmarks  # noqa: F401  (the modules register themselves)

    return BENCHMARKS


# --------------------------------------------------------------------------- helpers for benchmarks


def sample_ids(questions: list[Question], sample: int | None, seed: int) -> set[str] | None:
    """Ids of ``sample`` random questions (``seed``); None without ``sample``."""
    if sample is None:
        return None
    if sample < 1:
        raise InvalidInputError("--sample must be a positive number")
    rng = random.Random(seed)
    chosen = rng.sample(questions, min(sample, len(questions)))
    return {q.id for q in chosen}


def choose(pool: list[Question], sample: int | None, seed: int) -> tuple[Callable[[Question], bool], int]:
    """``keep`` and the count for the pool, or for ``sample`` random questions of it."""
    chosen = sample_ids(pool, sample, seed)
    kept = {q.id for q in pool} if chosen is None else chosen
    return (lambda q: q.id in kept), len(kept)


def question_entry(
    r: Retrieval,
    group: tuple[str, Any],
    *,
    gold: list[str],
    retrieved: list[str],
    metrics: dict[str, Any],
    index: dict[str, Any] | None = None,
    more_gold: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One results.json entry: the question, its group, the index it was searched in, gold, ranking, metrics."""
    q = r.question
    return {
        "id": q.id,
        "question": q.question,
        group[0]: group[1],
        "mode": r.mode,
        **(index or {}),
        "answer": q.answer,
        "gold": gold,
        **(more_gold or {}),
        "retrieved": retrieved,
        "metrics": metrics,
        "latency_ms": round(r.latency_ms, 3),
    }


def unknown_gold(found: Iterable[Retrieval], keys: Sequence[str] = ("turn",)) -> list[str]:
    """Gold ids that name no unit of their store (they count as misses)."""
    return sorted({g for r in found for key in keys for g in r.question.gold[key] if g not in r.session_of})


def without_gold(found: Iterable[Retrieval], key: str = "turn") -> list[str]:
    """Ids of the questions with no gold unit under ``key``."""
    return sorted({r.question.id for r in found if not r.question.gold[key]})


def curve(file: str, title: str, prefix: str, ks: Sequence[int], index: dict[str, str] | None = None) -> dict[str, Any]:
    """A recall@k plot spec: one PNG, a panel per group, a line per mode (summary rows matching ``index``)."""
    return {"file": file, "title": title, "prefix": prefix, "ks": list(ks), "index": index or {}}


def mem_index_note() -> str:
    """How turns are indexed by default (speaker, previous turns, date prefix)."""
    from remem.write import IndexConfig

    cfg = IndexConfig()
    return f"'speaker: text', previous_turns={cfg.previous_turns}, dates={cfg.dates}"


def split_list(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None for no text."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None
