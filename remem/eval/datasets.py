"""Benchmark files to haystacks: the shared types and every benchmark's loader, in one import.

The loaders live with their benchmarks (:mod:`remem.eval.benchmarks`); the types in
:mod:`remem.eval.haystack`.  This module keeps ``from remem.eval.datasets import ...`` working.
"""

from __future__ import annotations

from remem.eval.benchmarks.locomo import (
    LOCOMO_CATEGORIES,
    LOCOMO_SCORED,
    clean_evidence,
    load_locomo,
    locomo_content,
    parse_locomo_date,
)
from remem.eval.benchmarks.longmemeval import LME_PROTOCOLS, LONGMEMEVAL_TYPES, load_longmemeval, parse_lme_date, protocol_sessions
from remem.eval.benchmarks.madial import MADIAL_CATEGORIES, MADIAL_QUERIES, load_madial, parse_madial_date
from remem.eval.haystack import Haystack, Question, Session, read_json

__all__ = [
    "LME_PROTOCOLS",
    "LOCOMO_CATEGORIES",
    "LOCOMO_SCORED",
    "LONGMEMEVAL_TYPES",
    "MADIAL_CATEGORIES",
    "MADIAL_QUERIES",
    "Haystack",
    "Question",
    "Session",
    "clean_evidence",
    "load_locomo",
    "load_longmemeval",
    "load_madial",
    "locomo_content",
    "parse_lme_date",
    "parse_locomo_date",
    "parse_madial_date",
    "protocol_sessions",
    "read_json",
]
