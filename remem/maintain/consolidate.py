"""Consolidation: near-duplicates folded into one memory, old sessions into summaries.

Pure planning over records (and their vectors); :mod:`remem.maintain.maintainer` writes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from remem.models import Kind, MemoryRecord
from remem.store.text import keywords, normalized

VECTOR_KINDS = {Kind.SEMANTIC, Kind.PROCEDURAL}  # self-contained texts: cosine says "same"
PER_SESSION = {Kind.EPISODIC, Kind.SUMMARY}  # the same words in two sessions are two memories


@dataclass
class Merge:
    """Fold ``duplicates`` into ``survivor``."""

    survivor: MemoryRecord
    duplicates: list[MemoryRecord] = field(default_factory=list)


def _better(a: MemoryRecord, b: MemoryRecord) -> bool:
    """Whether ``a`` should survive over ``b``: more important, then more recalled, then newer."""
    return (a.importance, a.access_count, a.updated_at) > (b.importance, b.access_count, b.updated_at)


def plan_merges(records: list[MemoryRecord], vectors: dict[str, np.ndarray], similarity: float) -> list[Merge]:
    """Groups of duplicates among one user's active memories: the same kind, speaker and
    normalised text (for raw turns and summaries, within one session: "ok" in two chats is not
    a duplicate); for facts and strategies also cosine ≥ ``similarity``."""
    groups: dict[tuple[str | None, ...], list[MemoryRecord]] = {}
    for rec in records:
        session = rec.session_id if rec.kind in PER_SESSION else None
        key = (rec.kind.value, rec.agent_id, rec.speaker, session, normalized(rec.content))
        groups.setdefault(key, []).append(rec)
    clusters = [g for g in groups.values()]
    clusters = _join_similar(clusters, vectors, similarity)
    merges = []
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        survivor = cluster[0]
        for rec in cluster[1:]:
            if _better(rec, survivor):
                survivor = rec
        merges.append(Merge(survivor, [r for r in cluster if r.id != survivor.id]))
    return merges


def _join_similar(
    clusters: list[list[MemoryRecord]], vectors: dict[str, np.ndarray], similarity: float
) -> list[list[MemoryRecord]]:
    """Join clusters of self-contained kinds whose first members' vectors are that close."""
    heads = [i for i, c in enumerate(clusters) if c[0].kind in VECTOR_KINDS and c[0].id in vectors]
    if len(heads) < 2:
        return clusters
    parent = list(range(len(clusters)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    matrix = np.stack([vectors[clusters[i][0].id] for i in heads]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    for start in range(0, len(heads), 1024):
        sims = matrix[start : start + 1024] @ matrix.T
        for a, b in zip(*np.nonzero(sims >= similarity)):
            i, j = heads[start + a], heads[b]
            ci, cj = clusters[i][0], clusters[j][0]
            if i < j and ci.kind == cj.kind and ci.agent_id == cj.agent_id:
                parent[find(j)] = find(i)
    joined: dict[int, list[MemoryRecord]] = {}
    for i, cluster in enumerate(clusters):
        joined.setdefault(find(i), []).extend(cluster)
    return list(joined.values())


def informative_turns(turns: list[MemoryRecord], doc_freq: Counter[str], n_docs: int, lines: int) -> list[MemoryRecord]:
    """The session's ``lines`` most informative turns (IDF mass of their content words), in time order."""

    def weight(rec: MemoryRecord) -> float:
        return sum(math.log(1 + n_docs / (1 + doc_freq[w])) for w in keywords(rec.content))

    best = sorted(range(len(turns)), key=lambda i: -weight(turns[i]))[:lines]
    return [turns[i] for i in sorted(best)]


def summary_text(chosen: list[MemoryRecord]) -> str:
    """An extractive summary: each chosen turn as ``speaker: text``."""
    return "\n".join(f"{t.speaker or t.role or 'user'}: {t.content}" for t in chosen)


def centroid(vectors: list[np.ndarray]) -> np.ndarray | None:
    """The unit mean of ``vectors`` (an extractive summary's vector: the turns it is made of)."""
    if not vectors:
        return None
    mean = np.mean(np.stack(vectors).astype(np.float32), axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


def sessions_to_summarize(
    turns: list[MemoryRecord], summarized: set[str], cutoff: datetime
) -> dict[str, list[MemoryRecord]]:
    """Episodic turns by session, for sessions wholly older than ``cutoff`` and not in ``summarized``."""
    sessions: dict[str, list[MemoryRecord]] = {}
    for t in turns:
        if t.kind == Kind.EPISODIC and t.session_id:
            sessions.setdefault(t.session_id, []).append(t)
    return {
        sid: sorted(ts, key=lambda r: (r.event_time or r.created_at, r.created_at))
        for sid, ts in sessions.items()
        if sid not in summarized and max(r.event_time or r.created_at for r in ts) < cutoff
    }
