"""The read path: candidates from several retrievers, scored by a fitted model, resolved to records.

Default (``fusion="fitted"``):

1. **Retrieve** candidates: dense cosine and BM25 for the query; when the query names a time
   ("last weekend", "yesterday"), the same retrievers again restricted to that range.
2. **Features** per candidate on absolute scales (:mod:`remem.read.features`): cosine, the share
   of the query's IDF mass in the memory's own words and, separately, in its context (the turn
   before it), what the rest of its session covers (MemGAS), time-range match, speaker, and
   whether a newer memory about the same thing supersedes it for a query about the present.
3. **Score**: a logistic regression fitted on LoCoMo, LongMemEval and MADial-Bench
   (:mod:`remem.read.ranker`) gives each candidate its probability of relevance; ``hit.score``
   is that probability, comparable across queries and stores.
4. Optional **strength prior** (forgetting curve) and **diversity** (MMR).

``fusion="score"`` (min-max score fusion with BM25 ×2 and a session bonus: the default before
the fitted ranker, kept for comparison) and ``fusion="rrf"`` remain available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from remem.embed import Embedder, embed_queries
from remem.errors import InvalidInputError
from remem.models import MemoryRecord, SearchHit, utcnow
from remem.read import features as feats
from remem.read import ranker as ranker_params
from remem.read.fusion import Ranked, explain, rrf, score_fusion
from remem.read.lexical import query_terms, query_words
from remem.read.strength import retention
from remem.read.timeparse import TimeRange, is_when_question, parse_time_expressions, query_tense
from remem.store import Query, Store
from remem.store.text import keywords

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[str, ...] = ("hybrid", "dense", "bm25")


@dataclass
class SearchConfig:
    """Knobs of the read path; every stage can be switched off."""

    mode: Mode = "hybrid"
    fusion: Literal["fitted", "rrf", "score"] = "fitted"
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 2.0
    min_candidates: int = 50  # per retriever, before fusion
    time_weight: float = 1.0  # 0 = ignore time expressions in the query
    session_weight: float = 2.0  # 0 = turn granularity only (measured best on LoCoMo: 1.5–3)
    strength_weight: float = 0.0  # 0 = no forgetting-curve prior
    mmr_lambda: float | None = None  # None = no diversity re-ranking; 1.0 = relevance only
    ranker: str | None = None  # fitted parameters (a JSON file); None = the shipped ones
    drop_features: tuple[str, ...] = ()  # fitted features left out (ablations)
    long_query_words: int = 180  # a longer query (a whole dialogue) is embedded by its last words


LEGACY = SearchConfig(fusion="score")  # the default before the fitted ranker (LoCoMo-tuned)


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
    if config.fusion == "fitted":
        return _fitted_search(store, embedder, text, query, limit, config, mode, now)
    depth = max(limit * 3, config.min_candidates)
    vector = embed_queries(embedder, [text])[0] if mode in ("hybrid", "dense") else None

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
        ranked = _mmr(ranked, {i: r.content for i, r in records.items()}, config.mmr_lambda, limit)
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


def candidates(
    store: Store, embedder: Embedder, text: str, query: Query, limit: int, config: SearchConfig, mode: str, now: datetime
) -> tuple[list[feats.Candidate], dict[str, Ranked], list[TimeRange]]:
    """Every candidate the retrievers return for ``text``, with its features (unscored)."""
    depth = max(limit * 3, config.min_candidates)
    qwords = query_words(text)
    lexical_text = " ".join(qwords) or text
    long_query = len(text.split()) > feats.LONG_QUERY_WORDS
    vector = last_vector = None
    if mode in ("hybrid", "dense"):
        last = last_message(text) if long_query else None
        vectors = embed_queries(embedder, [embedding_text(text, config.long_query_words)] + ([last] if last else []))
        vector, last_vector = vectors[0], (vectors[1] if last else None)
    lists: dict[str, Ranked] = {}
    weights: dict[str, float] = {}
    _retrieve(store, lexical_text, vector, query, depth, mode, config, lists, weights, prefix="")
    # in a whole dialogue "yesterday" is about the dialogue, not a question about a time
    ranges = [] if long_query else _time_ranges(text, query, now, config)
    for i, span in enumerate(ranges):
        scoped = replace(query, time_range=(span.start, span.end))
        _retrieve(store, lexical_text, vector, scoped, depth, mode, config, lists, weights, prefix=f"time{i}_")
    ids = list(dict.fromkeys(item for ranked in lists.values() for item, _ in ranked))
    if not ids:
        return [], lists, ranges
    rows = store.ranking_rows(ids)
    known_cos = {item: score for name, ranked in lists.items() if name.endswith("dense") for item, score in ranked}
    about_now = not ranges and not long_query and query_tense(text) == "present"
    n_docs, freqs = store.doc_freqs(qwords, user_id=query.user_id)
    terms = query_terms(qwords, n_docs, freqs)
    when_q = not long_query and is_when_question(text)
    cands = feats.build(
        rows, vector, terms, ranges, set(qwords), about_now, long_query, when_q, known_cos,
        present_cue=bool(feats.PRESENT_CUE.search(text)), last_vector=last_vector,
    )
    return cands, lists, ranges


def _fitted_search(
    store: Store, embedder: Embedder, text: str, query: Query, limit: int, config: SearchConfig, mode: str, now: datetime
) -> list[SearchHit]:
    model = ranker_params.load(config.ranker)
    cands, lists, ranges = candidates(store, embedder, text, query, limit, config, mode, now)
    base = dict(zip((c.row.id for c in cands), model.scores([c.values for c in cands], config.drop_features)))
    if not {"superseded", "superseded_now"} <= set(config.drop_features):
        # the newest memory about a thing inherits the relevance of what it supersedes
        for c in cands:
            if c.superseded_by:
                unpenalised = model.score({**c.values, "superseded": 0.0, "superseded_now": 0.0}, config.drop_features)
                base[c.superseded_by] = max(base[c.superseded_by], unpenalised)
    scored: list[tuple[float, float, feats.Candidate]] = []
    for c in cands:
        score = base[c.row.id]
        if config.strength_weight > 0:
            score *= 1.0 - config.strength_weight + config.strength_weight * retention(c.record, now)
        scored.append((score, c.values["cos"], c))
    scored.sort(key=lambda t: (-t[0], -t[1], t[2].row.id))
    ranked = [(c.row.id, score) for score, _, c in scored]
    by_id = {c.row.id: c for _, _, c in scored}
    if config.mmr_lambda is not None and config.mmr_lambda < 1.0:
        ranked = _mmr(ranked, {i: c.row.content for i, c in by_id.items()}, config.mmr_lambda, limit)
    why = explain(lists, {item for item, _ in ranked[:limit]})
    meta: dict[str, Any] = {"mode": mode, "fusion": "fitted"}
    if ranges:
        meta["time_ranges"] = [r.expression for r in ranges]
    hits = []
    for item, score in ranked[:limit]:
        c = by_id[item]
        explanation = {
            **meta,
            **why.get(item, {}),
            "probability": round(score, 6),
            "features": {k: round(v, 4) for k, v in c.values.items() if v},
            "contributions": model.contributions(c.values),
        }
        if c.superseded_by:
            explanation["superseded_by"] = c.superseded_by
        hits.append(SearchHit(memory=c.record, score=score, explanation=explanation))
    return hits


_LABEL_ONLY = re.compile(r"[\w .'-]{1,40}:")


def last_message(text: str) -> str | None:
    """The last message of a query that is a dialogue (its last non-empty line): the cue the
    reply answers; None when the query is one block of text."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    said = [line for line in lines if not _LABEL_ONLY.fullmatch(line)]  # "Assistant:" awaiting its reply says nothing
    return said[-1] if said else None


def embedding_text(text: str, max_words: int) -> str:
    """What to embed for a query: all of it, or the last ``max_words`` words of a long one
    (a whole dialogue: the model sees 256 tokens, and the end is what matters next)."""
    parts = text.split()
    if len(parts) <= max_words:
        return text
    return " ".join(parts[-max_words:])


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


def _mmr(ranked: list[tuple[str, float]], contents: dict[str, str], lam: float, limit: int) -> list[tuple[str, float]]:
    """Maximal marginal relevance with word-set Jaccard as the similarity."""
    pool = ranked[: max(limit * 3, limit + 10)]
    if not pool:
        return ranked
    top = pool[0][1] or 1.0
    words = {item: set(keywords(contents[item])) for item, _ in pool}
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
