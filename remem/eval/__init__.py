"""Evaluation harness: LoCoMo, LongMemEval and MADial-Bench retrieval (and optional QA) through the public API.

    from remem.eval import run_locomo
    report = run_locomo("../shared/data/locomo/locomo10.json", out_dir="eval-out/locomo",
                        modes=("bm25", "dense", "hybrid"))
    report.metric("recall@10", mode="hybrid")

Each benchmark is one module of :mod:`remem.eval.benchmarks` that registers a
:class:`~remem.eval.benchmark.Benchmark`; the shared loop is :func:`remem.eval.runner.run_benchmark`.

CLI: ``remem eval locomo|longmemeval|madial`` (generated from the registry, :mod:`remem.eval.cli`).
"""

from remem.eval.benchmark import BENCHMARKS, Benchmark
from remem.eval.benchmark import register as register_benchmark
from remem.eval.datasets import load_madial
from remem.eval.harness import MemoryFactory, default_memory_factory
from remem.eval.modes import MODES, EvalMode, register_mode, resolve_modes
from remem.eval.report import EvalReport
from remem.eval.runner import run_benchmark, run_locomo, run_longmemeval, run_madial

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "MODES",
    "EvalMode",
    "EvalReport",
    "MemoryFactory",
    "default_memory_factory",
    "load_madial",
    "register_benchmark",
    "register_mode",
    "resolve_modes",
    "run_benchmark",
    "run_locomo",
    "run_longmemeval",
    "run_madial",
]
