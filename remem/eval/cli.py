"""``remem eval``: a command per registered benchmark, plus ``halumem`` (mounted by ``remem.cli.main``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer

from remem.errors import InvalidInputError, LLMNotConfiguredError
from remem.eval.benchmark import Benchmark, registered

eval_app = typer.Typer(help="Benchmark remem's retrieval (and, with an LLM, QA) on LoCoMo, LongMemEval and MADial-Bench.", no_args_is_help=True)


def default_data(relative: Path) -> Path | None:
    """``../shared/<relative>`` from the current directory, else beside the repo holding this package."""
    candidates = [Path.cwd().parent / "shared" / relative, Path(__file__).resolve().parents[3] / "shared" / relative]
    return next((p for p in candidates if p.is_file()), None)


def _data(given: Path | None, relative: Path) -> Path:
    path = given or default_data(relative)
    if path is None:
        raise typer.BadParameter(f"no --data given and ../shared/{relative} not found", param_hint="--data")
    return path


def _out(given: Path | None, bench: str) -> Path:
    return given or Path("eval-out") / f"{bench}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _modes(mode: str, compare: Optional[str]) -> list[str]:
    return [m.strip() for m in (compare or mode).split(",") if m.strip()]


def _run(fn, **kwargs) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    console = Console()
    console = Console(width=max(console.width, 140)) if not console.is_terminal else console
    try:
        report = fn(**kwargs)
    except LLMNotConfiguredError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except InvalidInputError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    report.print(console)
    _print_lodo(console)


def _print_lodo(console: Any) -> None:
    """The shipped ranker's leave-one-dataset-out table (how it does on data it was not fitted on)."""
    from rich.table import Table

    from remem.read import ranker

    rows = ranker.load().meta.get("leave_one_dataset_out") or []
    if not rows:
        return
    table = Table(title="Fitted ranker, leave-one-dataset-out (recall@10; from remem/read/ranker.json)", title_justify="left")
    for col in ("dataset", "questions", "dense", "lexical", "left-out fit", "all-data fit"):
        table.add_column(col)
    for r in rows:
        cells = [r.get(k, {}).get("recall@10") for k in ("dense", "lexical", "left_out_fit", "all_data_fit")]
        table.add_row(r["dataset"], str(r["questions"]), *("—" if c is None else f"{c:.3f}" for c in cells))
    console.print(table)
    console.print("left-out fit: fitted on the other datasets only; refit with `python scripts/fit_ranker.py`")


DataOpt = typer.Option(None, "--data", help="Benchmark JSON file (default: ../shared/data/...).")
OutOpt = typer.Option(None, "--out", help="Output directory (default: eval-out/<bench>-<timestamp>).")
ModeOpt = typer.Option("hybrid", "--mode", help="Retrieval mode to evaluate.")
CompareOpt = typer.Option(None, "--compare", help="Comma-separated modes side by side, e.g. bm25,dense,hybrid.")
LimitOpt = typer.Option(None, "--limit", min=1)
SampleOpt = typer.Option(None, "--sample", min=1, help="N random questions.")
SeedOpt = typer.Option(0, "--seed")
QaOpt = typer.Option(False, "--qa", help="Answer and judge with the LLM from REMEM_LLM_* (exit 2 without one).")
QaKOpt = typer.Option(10, "--qa-k", min=1, help="Retrieved turns given to the answering LLM.")
CacheDirOpt = typer.Option(None, "--cache-dir", help="Embedding/answer cache folder (default: user cache dir).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Do not read or write the disk caches.")
QuietOpt = typer.Option(False, "--quiet", help="No progress bar.")
ConsolidateOpt = typer.Option(
    False, "--consolidate", help="Consolidate each store after ingest (merge duplicates, summarise sessions, archive filler).")


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation)


def _parameters(bench: Benchmark) -> list[inspect.Parameter]:
    """The command's options, in the order ``--help`` lists them: shared, the benchmark's own, QA, caches."""
    own = [_param(o.name, o.type, typer.Option(o.default, o.flag, help=o.help)) for o in bench.options]
    qa = [_param("qa", bool, QaOpt), _param("qa_k", int, QaKOpt)] if bench.qa else []
    return [
        _param("data", Optional[Path], typer.Option(None, "--data", help=bench.data_help) if bench.data_help else DataOpt),
        _param("out", Optional[Path], OutOpt),
        _param("mode", str, ModeOpt),
        _param("compare", Optional[str], CompareOpt),
        _param("limit", Optional[int], typer.Option(None, "--limit", min=1, help=bench.limit_help)),
        _param("sample", Optional[int], SampleOpt),
        _param("seed", int, SeedOpt),
        *own,
        *qa,
        _param("consolidate", bool, ConsolidateOpt),
        _param("cache_dir", Optional[Path], CacheDirOpt),
        _param("no_cache", bool, NoCacheOpt),
        _param("quiet", bool, QuietOpt),
    ]


def benchmark_command(bench: Benchmark) -> Callable[..., None]:
    """``remem eval <bench.name>``: a typer command built from the benchmark's options."""

    def command(**kw: Any) -> None:
        own = {}
        for o in bench.options:
            try:
                own[o.name] = o.parse(kw[o.name])
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint=o.flag) from None
        qa = {"qa": kw["qa"], "qa_k": kw["qa_k"]} if bench.qa else {}
        _run(
            bench.run,
            data_path=_data(kw["data"], bench.data) if bench.needs_data else kw["data"],
            out_dir=_out(kw["out"], bench.name),
            modes=_modes(kw["mode"], kw["compare"]),
            limit=kw["limit"],
            sample=kw["sample"],
            seed=kw["seed"],
            **own,
            **qa,
            cache_dir=kw["cache_dir"],
            use_cache=not kw["no_cache"],
            progress=not kw["quiet"],
            consolidate=kw["consolidate"],
        )

    params = _parameters(bench)
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = command.__qualname__ = bench.name
    command.__doc__ = bench.help
    return command


for _bench in registered().values():
    eval_app.command(_bench.name)(benchmark_command(_bench))


# HaluMem scores the LLM write path (extraction, updates), not retrieval: no modes, no
# questions to rank, its own options; so it is a command of its own, not a Benchmark.
HALUMEM_DATA = Path("data/halumem/pilot_slice_user0.jsonl")


@eval_app.command("halumem")
def halumem(
    data: Optional[Path] = DataOpt,
    out: Optional[Path] = OutOpt,
    users: Optional[int] = typer.Option(1, "--users", min=1, help="First N users of the slice."),
    sessions: Optional[int] = typer.Option(None, "--sessions", min=1, help="First N sessions per user."),
    batch_turns: int = typer.Option(4, "--batch-turns", min=1, help="Dialogue turns per add()."),
    threshold: float = typer.Option(0.6, "--threshold", help="Cosine similarity that counts as a match."),
    quiet: bool = QuietOpt,
) -> None:
    """HaluMem: extraction recall/precision and update correctness of the LLM write path (exit 2 without an LLM)."""
    from remem.eval.halumem import run_halumem

    _run(
        run_halumem,
        data_path=_data(data, HALUMEM_DATA),
        out_dir=_out(out, "halumem"),
        users=users,
        sessions=sessions,
        batch_turns=batch_turns,
        threshold=threshold,
        progress=not quiet,
    )
