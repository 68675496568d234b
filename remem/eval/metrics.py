"""Retrieval metrics, each a pure function of (ranked unit ids, gold unit ids).

LoCoMo (evidence recall over turns):
    ``recall@k``   share of the gold ids found in the top k;
    ``all@k``      1 if every gold id is in the top k, else 0.
    A question without gold ids has no defined recall and is left out of means.

LongMemEval (as the official ``src/retrieval/eval_utils.py``):
    ``recall_any@k``  1 if any gold unit is in the top k;
    ``recall_all@k``  1 if all gold units are in the top k (the paper's Recall@k);
    ``ndcg_any@k``    binary-relevance NDCG with the official DCG
                      (``rel_1 + sum_{i>=2} rel_i / log2(i)``).
    The official quirk is kept: with no gold unit, recall_any = 0, recall_all = 1
    (``all([])``) and ndcg = 0, and such questions stay in the means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

LOCOMO_KS = (1, 5, 10, 20, 50)
LME_KS = (1, 3, 5, 10, 30, 50)
LME_REPORT_KS = (5, 10)


def recall_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """Share of ``gold`` in ``ranked[:k]``; None when there is no gold."""
    gold = set(gold)
    if not gold:
        return None
    return len(gold & set(ranked[:k])) / len(gold)


def all_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """1.0 if every gold id is in ``ranked[:k]``; None when there is no gold."""
    gold = set(gold)
    if not gold:
        return None
    return float(gold <= set(ranked[:k]))


def dcg(relevances: Sequence[float], k: int) -> float:
    """The official LongMemEval DCG: first position undiscounted, then ``/ log2(i)`` for i >= 2."""
    rel = list(relevances)[:k]
    if not rel:
        return 0.0
    return rel[0] + sum(r / math.log2(i) for i, r in enumerate(rel[1:], start=2))


def ndcg_any(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """Binary NDCG@k; 0.0 without gold (official behaviour)."""
    gold = set(gold)
    if not gold:
        return 0.0
    ideal = dcg([1.0] * len(gold), k)
    return dcg([1.0 if u in gold else 0.0 for u in ranked[:k]], k) / ideal


def recall_any(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    top = set(ranked[:k])
    return float(any(g in top for g in gold))


def recall_all(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    top = set(ranked[:k])
    return float(all(g in top for g in gold))


def locomo_metrics(ranked: Sequence[str], gold: Sequence[str], ks: Sequence[int] = LOCOMO_KS) -> dict[str, float | None]:
    """``recall@k`` and ``all@k`` for every k (None values when gold is empty)."""
    out: dict[str, float | None] = {}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(ranked, gold, k)
    for k in ks:
        out[f"all@{k}"] = all_at_k(ranked, gold, k)
    return out


def lme_metrics(ranked: Sequence[str], gold: Sequence[str], ks: Sequence[int] = LME_KS) -> dict[str, float]:
    """``recall_any@k``, ``recall_all@k``, ``ndcg_any@k`` for every k."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall_any@{k}"] = recall_any(ranked, gold, k)
        out[f"recall_all@{k}"] = recall_all(ranked, gold, k)
        out[f"ndcg_any@{k}"] = ndcg_any(ranked, gold, k)
    return out


def sessions_by_best_turn(ranked_turns: Sequence[str], session_of: dict[str, str] | None = None) -> list[str]:
    """Rank sessions by their best-ranked turn (first appearance in the turn ranking).

    ``session_of`` maps a turn id to its session; by default the session is the
    turn id without its last ``_<n>`` part (LongMemEval's ``strip_turn_id``).
    For recall this equals the official ``evaluate_retrieval_turn2session``,
    which widens the turn cut-off until k distinct sessions are covered.
    """
    out: dict[str, None] = {}
    for turn in ranked_turns:
        sess = session_of[turn] if session_of is not None else turn.rsplit("_", 1)[0]
        out.setdefault(sess, None)
    return list(out)


def mean_metrics(rows: Iterable[dict[str, Any]]) -> tuple[dict[str, float], int]:
    """Per-metric means over rows, skipping None values; also the number of rows with any value."""
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    n = 0
    for row in rows:
        seen = False
        for key, value in row.items():
            if value is None:
                continue
            seen = True
            sums[key] = sums.get(key, 0.0) + float(value)
            counts[key] = counts.get(key, 0) + 1
        n += seen
    return {k: sums[k] / counts[k] for k in sums}, n


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
