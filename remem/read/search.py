"""Hybrid search: dense and BM25 candidates, fused, resolved to records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from remem.embed import Embedder
from remem.errors import InvalidInputError
from remem.models import SearchHit
from remem.read.fusion import explain, rrf, score_fusion
from remem.store import Query, Store

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


@dataclass
class SearchConfig:
    """Knobs of the read path; every one can be changed per ``Memory``."""

    mode: Mode = "hybrid"
    fusion: Literal["rrf", "score"] = "rrf"
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    min_candidates: int = 50  # per retriever, before fusion


def hybrid_search(
    store: Store,
    embedder: Embedder,
    text: str,
    query: Query,
    limit: int,
    config: SearchConfig,
    mode: str | None = None,
) -> list[SearchHit]:
    """Rank the memories ``query`` allows for ``text``; best first, at most ``limit``."""
    mode = mode or config.mode
    if mode not in MODES:
        raise InvalidInputError(f"unknown search mode {mode!r}; use one of {list(MODES)}")
    depth = max(limit * 3, config.min_candidates)
    lists: dict[str, list[tuple[str, float]]] = {}
    if mode in ("hybrid", "dense"):
        vector = embedder.embed([text])[0]
        lists["dense"] = store.vector_search(vector, query, depth)
    if mode in ("hybrid", "bm25"):
        lists["bm25"] = store.text_search(text, query, depth)
    weights = {"dense": config.dense_weight, "bm25": config.bm25_weight}
    if len(lists) == 1:
        fused = {item: score for item, score in next(iter(lists.values()))}
    elif config.fusion == "rrf":
        fused = rrf(lists, weights, config.rrf_k)
    else:
        fused = score_fusion(lists, weights)
    ranked = sorted(fused.items(), key=lambda kv: -kv[1])[:limit]
    records = {r.id: r for r in store.get_many([item for item, _ in ranked])}
    why = explain(lists)
    return [
        SearchHit(
            memory=records[item],
            score=score,
            explanation={"mode": mode, "fusion": config.fusion if len(lists) > 1 else None, **why.get(item, {})},
        )
        for item, score in ranked
        if item in records
    ]
