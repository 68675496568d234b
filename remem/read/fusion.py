"""Combining ranked lists: reciprocal-rank fusion and calibrated score fusion."""

from __future__ import annotations

from typing import Any

Ranked = list[tuple[str, float]]  # (id, score), best first


def rrf(lists: dict[str, Ranked], weights: dict[str, float], k: int = 60) -> dict[str, float]:
    """Reciprocal-rank fusion: sum of weight / (k + rank), rank starting at 1."""
    fused: dict[str, float] = {}
    for name, ranked in lists.items():
        w = weights.get(name, 1.0)
        for rank, (item, _) in enumerate(ranked, start=1):
            fused[item] = fused.get(item, 0.0) + w / (k + rank)
    return fused


def score_fusion(lists: dict[str, Ranked], weights: dict[str, float]) -> dict[str, float]:
    """Min-max normalise each list's scores to [0, 1], then take the weighted sum."""
    fused: dict[str, float] = {}
    for name, ranked in lists.items():
        if not ranked:
            continue
        w = weights.get(name, 1.0)
        scores = [s for _, s in ranked]
        lo, hi = min(scores), max(scores)
        span = hi - lo
        for item, score in ranked:
            norm = (score - lo) / span if span > 0 else 1.0
            fused[item] = fused.get(item, 0.0) + w * norm
    return fused


def explain(lists: dict[str, Ranked], only: set[str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Per item (of ``only``, if given: the hits returned): for each retriever that found it,
    its rank and raw score."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, ranked in lists.items():
        for rank, (item, score) in enumerate(ranked, start=1):
            if only is None or item in only:
                out.setdefault(item, {})[name] = {"rank": rank, "score": round(float(score), 6)}
    return out
