"""``remem eval``: run LoCoMo / LongMemEval / MADial-Bench from the command line (mounted by ``remem.cli.main``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer

from remem.errors import InvalidInputError, LLMNotConfiguredError

eval_app = typer.Typer(help="Benchmark remem's retrieval (and, with an LLM, QA) on LoCoMo, LongMemEval and MADial-Bench.", no_args_is_help=True)

LOCOMO_DATA = Path("data/locomo/locomo10.json")
LME_DATA = Path("data/longmemeval/longmemeval_s_dev.json")
MADIAL_DATA = Path("data/madial/madial_en.json")


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


def _split(text: Optional[str]) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


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


@eval_app.command("locomo")
def locomo(
    data: Optional[Path] = DataOpt,
    out: Optional[Path] = OutOpt,
    mode: str = ModeOpt,
    compare: Optional[str] = CompareOpt,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="First N conversations."),
    sample: Optional[int] = SampleOpt,
    seed: int = SeedOpt,
    categories: Optional[str] = typer.Option(None, "--categories", help="Comma-separated category ids (default 1,2,3,4)."),
    qa: bool = QaOpt,
    qa_k: int = QaKOpt,
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    quiet: bool = QuietOpt,
) -> None:
    """LoCoMo: evidence recall@k and all-evidence@k over turns, per category."""
    from remem.eval.runner import run_locomo

    try:
        cats = [int(c) for c in _split(categories)] if categories else None
    except ValueError:
        raise typer.BadParameter("categories are ids 1-5, comma-separated", param_hint="--categories") from None
    _run(
        run_locomo,
        data_path=_data(data, LOCOMO_DATA),
        out_dir=_out(out, "locomo"),
        modes=_modes(mode, compare),
        limit=limit,
        sample=sample,
        seed=seed,
        categories=cats,
        qa=qa,
        qa_k=qa_k,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        progress=not quiet,
    )


@eval_app.command("longmemeval")
def longmemeval(
    data: Optional[Path] = DataOpt,
    out: Optional[Path] = OutOpt,
    mode: str = ModeOpt,
    compare: Optional[str] = CompareOpt,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="First N questions."),
    sample: Optional[int] = SampleOpt,
    seed: int = SeedOpt,
    types: Optional[str] = typer.Option(None, "--types", help="Comma-separated question types."),
    protocols: str = typer.Option("official,full", "--protocols", help="official (user turns), full (both roles)."),
    qa: bool = QaOpt,
    qa_k: int = QaKOpt,
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    quiet: bool = QuietOpt,
) -> None:
    """LongMemEval-S: recall_any/recall_all/ndcg_any at k=5,10, session and turn granularity, per type."""
    from remem.eval.runner import run_longmemeval

    _run(
        run_longmemeval,
        data_path=_data(data, LME_DATA),
        out_dir=_out(out, "longmemeval"),
        modes=_modes(mode, compare),
        limit=limit,
        sample=sample,
        seed=seed,
        types=_split(types),
        protocols=_split(protocols) or [],
        qa=qa,
        qa_k=qa_k,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        progress=not quiet,
    )


@eval_app.command("madial")
def madial(
    data: Optional[Path] = DataOpt,
    out: Optional[Path] = OutOpt,
    mode: str = ModeOpt,
    compare: Optional[str] = CompareOpt,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="First N questions."),
    sample: Optional[int] = SampleOpt,
    seed: int = SeedOpt,
    query: str = typer.Option("dialogue", "--query", help="dialogue (the whole dialogue context) or last_user (the last user message)."),
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    quiet: bool = QuietOpt,
) -> None:
    """MADial-Bench: evidence recall@k, all-evidence@k and primary-evidence recall@k over memories, per category."""
    from remem.eval.runner import run_madial

    _run(
        run_madial,
        data_path=_data(data, MADIAL_DATA),
        out_dir=_out(out, "madial"),
        modes=_modes(mode, compare),
        limit=limit,
        sample=sample,
        seed=seed,
        query=query,
        cache_dir=cache_dir,
        use_cache=not no_cache,
        progress=not quiet,
    )


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
