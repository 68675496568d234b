"""Evaluation harness: LoCoMo, LongMemEval and MADial-Bench retrieval (and optional QA) through the public API.

    from remem.eval import run_locomo
    report = run_locomo("../shared/data/locomo/locomo10.json", out_dir="eval-out/locomo",
                        modes=("bm25", "dense", "hybrid"))
    report.metric("recall@10", mode="hybrid")

CLI: ``remem eval locomo|longmemeval|madial`` (:mod:`remem.eval.cli`).
"""

from remem.eval.datasets import load_madial
from remem.eval.harness import MemoryFactory, default_memory_factory
from remem.eval.modes import MODES, EvalMode, register_mode, resolve_modes
from remem.eval.report import EvalReport
from remem.eval.runner import run_locomo, run_longmemeval, run_madial

__all__ = [
    "MODES",
    "EvalMode",
    "EvalReport",
    "MemoryFactory",
    "default_memory_factory",
    "load_madial",
    "register_mode",
    "resolve_modes",
    "run_locomo",
    "run_longmemeval",
    "run_madial",
]
