"""``procedures``: the strategies (and past trajectories) for a new task, best first.

One hybrid search restricted to the scope's learned strategies and finished trajectories,
with the read path's time and supersession stages off (a task names no time, and a newer
strategy does not make an older one stale). Each hit's score is its relevance probability
times its success prior (:mod:`remem.procedural.evidence`) times the weight of its type: a
distilled strategy counts fully, a raw trajectory at ``TRAJECTORY_WEIGHT`` (without an LLM
there are only trajectories, so they then rank among themselves). A strategy is also as
relevant as ``INHERIT_WEIGHT`` times the best trajectory it was distilled from (a lesson of a
task much like this one applies to it, even when its abstract wording shares few words with it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from remem.embed import Embedder
from remem.models import Kind, MemoryRecord, SearchHit
from remem.models.procedural import ProcedureHit
from remem.procedural.evidence import prior
from remem.procedural.records import SCOPE_KEY, STRATEGY, TRAJECTORY, TYPE_KEY, is_live, to_hit, visible_scopes
from remem.read import SearchConfig, hybrid_search
from remem.store import Query, Store

TRAJECTORY_WEIGHT = 0.5
INHERIT_WEIGHT = 0.8
MIN_DEPTH = 20  # hits re-ranked by the priors (more than asked for, so a prior can lift one in)
NOT_FOR_TASKS = ("superseded", "superseded_now")


def task_config(config: SearchConfig) -> SearchConfig:
    """The read path for a task: no time ranges, no supersession."""
    return replace(config, time_weight=0.0, drop_features=tuple(dict.fromkeys([*config.drop_features, *NOT_FOR_TASKS])))


def scope_query(agent_id: str | None, user_id: str | None) -> Query:
    """What ``procedures`` may see: this agent's (and user's) strategies and trajectories."""
    filters: dict[str, Any] = {
        f"metadata.{TYPE_KEY}": [STRATEGY, TRAJECTORY],
        f"metadata.{SCOPE_KEY}": visible_scopes(agent_id, user_id),
    }
    return Query(agent_id=agent_id, kinds=[Kind.PROCEDURAL, Kind.EPISODIC], filters=filters)


def search(
    store: Store, embedder: Embedder, config: SearchConfig, task: str, *, agent_id: str | None, user_id: str | None,
    limit: int, trajectories: bool = True,
) -> list[ProcedureHit]:
    """The best ``limit`` strategies (and, with ``trajectories``, past trajectories) for ``task``, each explained."""
    q = scope_query(agent_id, user_id)
    hits = [h for h in hybrid_search(store, embedder, task, q, max(limit * 3, MIN_DEPTH), task_config(config)) if _finished(h.memory)]
    own = {h.memory.id: h for h in hits}
    via = _inherited(hits)
    records = {i: h.memory for i, h in own.items()}
    scopes = set(visible_scopes(agent_id, user_id))
    for rec in store.get_many([i for i in via if i not in records]):
        if is_live(rec) and rec.metadata.get(TYPE_KEY) == STRATEGY and rec.metadata.get(SCOPE_KEY) in scopes:
            records[rec.id] = rec
    out = []
    for memory_id, rec in records.items():
        is_strategy = rec.metadata.get(TYPE_KEY) == STRATEGY
        if not is_strategy and not trajectories:
            continue
        hit = own.get(memory_id)
        direct = hit.score if hit is not None else 0.0
        inherited, source = via.get(memory_id, (0.0, None)) if is_strategy else (0.0, None)
        relevance = max(direct, inherited)
        boost = prior(rec) if is_strategy else 1.0
        weight = 1.0 if is_strategy else TRAJECTORY_WEIGHT
        explanation: dict[str, Any] = {
            **(hit.explanation if hit is not None else {}), "relevance": round(relevance, 6), "own_relevance": round(direct, 6),
            "prior": round(boost, 4), "type_weight": weight,
        }
        if inherited > direct:
            explanation["via_trajectory"] = source
        out.append(to_hit(rec, relevance * boost * weight, explanation))
    out.sort(key=lambda h: (-h.score, -h.explanation["own_relevance"], h.memory.id))
    for h in out:
        h.explanation["evidence"] = dict(h.evidence)
        h.explanation["success_rate"] = h.success_rate
    return out[:limit]


def _finished(record: MemoryRecord) -> bool:
    """A strategy, or a trajectory that was learned (not a task only looked up)."""
    return record.metadata.get(TYPE_KEY) == STRATEGY or record.metadata.get("outcome") in ("success", "failure")


def _inherited(hits: list[SearchHit]) -> dict[str, tuple[float, str]]:
    """Strategy id -> (relevance inherited from the best trajectory it was distilled from, that trajectory)."""
    out: dict[str, tuple[float, str]] = {}
    for h in hits:
        if h.memory.metadata.get(TYPE_KEY) != TRAJECTORY:
            continue
        for sid in h.memory.metadata.get("strategies") or []:
            value = h.score * INHERIT_WEIGHT
            if isinstance(sid, str) and value > out.get(sid, (0.0, ""))[0]:
                out[sid] = (value, h.memory.id)
    return out
