"""The read path: candidates from several retrievers, fused, re-weighted, resolved to records.

Stages (each can be switched off in :class:`SearchConfig`, and the eval harness
measures each one's marginal contribution):

1. **Retrieve**: dense cosine and BM25 candidates for the query.
2. **Time-aware**: when the query names a time ("last weekend", "in May"), the same
   retrievers run again restricted to that range and join the fusion as extra lists.
3. **Fuse**: calibrated score fusion (min-max per list, weighted sum) or RRF.
4. **Multi-granularity**: a session's score (its best turns across lists) is added to
   each of its turns, so evidence spread over one session rises together (MemGAS).
5. **Strength prior**: a forgetting-curve retention multiplies the score, bounded so it
   re-orders near-ties but never hides a strong match.
6. **Diversity**: optional MMR on word overlap, so near-duplicates don't fill the top k.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from remem.embed import Embedder
from remem.errors import InvalidInputError
from remem.models import MemoryRecord, SearchHit, utcnow
from remem.read.fusion import Ranked, explain, rrf, score_fusion
from remem.read.strength import retention
from remem.read.timeparse import TimeRange, parse_time_expressions
from remem.store import Query, Store
from remem.store.text import keywords

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


@dataclass
class SearchConfig:
    """Knobs of the read path; every stage can be switched off."""

    mode: Mode = "hybrid"
    fusion: Literal["rrf", "score"] = "score"
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 2.0
    min_candidates: int = 50  # per retriever, before fusion
    time_weight: float = 1.0  # 0 = ignore time expressions in the query
    session_weight: float = 2.0  # 0 = turn granularity only (measured best on LoCoMo: 1.5–3)
    strength_weight: float = 0.0  # 0 = no forgetting-curve prior
    mmr_lambda: float | None = None  # None = no diversity re-ranking; 1.0 = relevance only


def hybrid_search(
    store: Store,
    embedder: Embedder,
    text: str,
    query: Query,
    limit: int,
    config: SearchConfig,
    mode: str | None = None,
    now: datetime | None = None,
) -> list[SearchHit]:
    """Rank the memories ``query`` allows for ``text``; best first, at most ``limit``."""
    mode = mode or config.mode
    if mode not in MODES:
        raise InvalidInputError(f"unknown search mode {mode!r}; use one of {list(MODES)}")
    now = now or utcnow()
    depth = max(limit * 3, config.min_candidates)
    vector = embedder.embed([text])[0] if mode in ("hybrid", "dense") else None

    lists: dict[str, Ranked] = {}
    weights: dict[str, float] = {}
    _retrieve(store, text, vector, query, depth, mode, config, lists, weights, prefix="")
    ranges = _time_ranges(text, query, now, config)
    for i, span in enumerate(ranges):
        scoped = replace(query, time_range=(span.start, span.end))
        _retrieve(store, text, vector, scoped, depth, mode, config, lists, weights, prefix=f"time{i}_", scale=config.time_weight)

    if len(lists) == 1:
        fused = dict(next(iter(lists.values())))
    elif config.fusion == "rrf":
        fused = rrf(lists, weights, config.rrf_k)
    else:
        fused = score_fusion(lists, weights)
    if not fused:
        return []

    records = {r.id: r for r in store.get_many(list(fused))}
    fused = {k: v for k, v in fused.items() if k in records}
    session_bonus = _session_scores(fused, records) if config.session_weight > 0 else {}
    scores: dict[str, float] = {}
    for item, score in fused.items():
        rec = records[item]
        if session_bonus:
            score += config.session_weight * session_bonus.get(rec.session_id or "", 0.0)
        if config.strength_weight > 0:
            score *= 1.0 - config.strength_weight + config.strength_weight * retention(rec, now)
        scores[item] = score
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if config.mmr_lambda is not None and config.mmr_lambda < 1.0:
        ranked = _mmr(ranked, records, config.mmr_lambda, limit)
    why = explain(lists)
    meta = {
        "mode": mode,
        "fusion": config.fusion if len(lists) > 1 else None,
        **({"time_ranges": [r.expression for r in ranges]} if ranges else {}),
    }
    return [
        SearchHit(memory=records[item], score=score, explanation={**meta, **why.get(item, {}), **_extra(item, records, session_bonus)})
        for item, score in ranked[:limit]
    ]


def _retrieve(
    store: Store,
    text: str,
    vector: Any,
    query: Query,
    depth: int,
    mode: str,
    config: SearchConfig,
    lists: dict[str, Ranked],
    weights: dict[str, float],
    prefix: str,
    scale: float = 1.0,
) -> None:
    if mode in ("hybrid", "dense"):
        lists[prefix + "dense"] = store.vector_search(vector, query, depth)
        weights[prefix + "dense"] = config.dense_weight * scale
    if mode in ("hybrid", "bm25"):
        lists[prefix + "bm25"] = store.text_search(text, query, depth)
        weights[prefix + "bm25"] = config.bm25_weight * scale


def _time_ranges(text: str, query: Query, now: datetime, config: SearchConfig) -> list[TimeRange]:
    if config.time_weight <= 0 or query.time_range is not None:
        return []
    return parse_time_expressions(text, now)[:3]


def _session_scores(fused: dict[str, float], records: dict[str, MemoryRecord]) -> dict[str, float]:
    """A session's score: the sum of its two best turn scores, scaled to [0, 1]."""
    per_session: dict[str, list[float]] = {}
    for item, score in fused.items():
        sid = records[item].session_id
        if sid:
            per_session.setdefault(sid, []).append(score)
    if not per_session:
        return {}
    raw = {sid: sum(sorted(s, reverse=True)[:2]) for sid, s in per_session.items()}
    top = max(raw.values()) or 1.0
    return {sid: value / top for sid, value in raw.items()}


def _mmr(ranked: list[tuple[str, float]], records: dict[str, MemoryRecord], lam: float, limit: int) -> list[tuple[str, float]]:
    """Maximal marginal relevance with word-set Jaccard as the similarity."""
    pool = ranked[: max(limit * 3, limit + 10)]
    if not pool:
        return ranked
    top = pool[0][1] or 1.0
    words = {item: set(keywords(records[item].content)) for item, _ in pool}
    chosen: list[tuple[str, float]] = []
    remaining = list(pool)
    while remaining and len(chosen) < limit:
        def gain(pair: tuple[str, float]) -> float:
            item, score = pair
            overlap = max((_jaccard(words[item], words[c]) for c, _ in chosen), default=0.0)
            return lam * score / top - (1 - lam) * overlap

        best = max(remaining, key=gain)
        chosen.append(best)
        remaining.remove(best)
    picked = {item for item, _ in chosen}
    return chosen + [pair for pair in ranked if pair[0] not in picked]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _extra(item: str, records: dict[str, MemoryRecord], session_bonus: dict[str, float]) -> dict[str, Any]:
    if not session_bonus:
        return {}
    return {"session": round(session_bonus.get(records[item].session_id or "", 0.0), 6)}
