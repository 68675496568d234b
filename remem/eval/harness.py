"""The benchmark-neutral loop: fresh store per haystack, ingest via ``Memory.add``, search every mode.

Each haystack (a LoCoMo conversation, a LongMemEval question's history) goes
into its own temporary store under one ``user_id``, so BM25 statistics and the
vector partition hold nothing but that haystack, as in the official setups.
Sessions are added one ``Memory.add`` call each, with the session date as
timestamp; before that, the haystack's texts are embedded in one batch into the
run's embedding cache so the per-session calls only read it.  Searches use the
uncached embedder, so each mode's latency includes embedding its query.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from remem.embed import Embedder, default_embedder
from remem.embed.cache import CachedEmbedder, default_cache_dir
from remem.eval.haystack import Haystack, Question, Session
from remem.eval.modes import EvalMode
from remem.memory import Memory
from remem.models import SearchHit

MemoryFactory = Callable[[Path, Embedder], Memory]


def default_memory_factory(path: Path, embedder: Embedder) -> Memory:
    """A plain SQLite-backed Memory with default search settings."""
    return Memory(path=path, embedder=embedder)


@dataclass
class Retrieval:
    """One question searched in one mode of one index variant."""

    question: Question
    variant: str
    mode: str
    ranked: list[str]  # unit ids, best first
    latency_ms: float
    hits: list[SearchHit] = field(default_factory=list, repr=False)
    session_of: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass
class Variant:
    """An index built per haystack: ``sessions`` picks what it holds."""

    name: str
    sessions: Callable[[Haystack], list[Session]]


@dataclass
class RunStats:
    ingest_s: float = 0.0
    turns: int = 0
    stores: int = 0
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    active_before: int = 0  # with a `prepare` step (consolidation): active memories before and after it
    active_after: int = 0


def make_embedder(cache_dir: str | Path | None, use_cache: bool, base: Embedder | None = None) -> CachedEmbedder:
    """The run's embedder: the default model behind a disk cache (or an in-memory one)."""
    inner = base if base is not None else default_embedder()
    if not use_cache:
        return CachedEmbedder(inner, ":memory:")
    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return CachedEmbedder(inner, folder / "embeddings.sqlite")


@contextmanager
def _mode_config(mem: Memory, mode: EvalMode) -> Iterator[None]:
    if mode.config is None:
        yield
        return
    saved = mem.search_config
    mem.search_config = mode.config
    try:
        yield
    finally:
        mem.search_config = saved


def _prewarm(mem: Memory, embedder: CachedEmbedder, haystack: Haystack, sessions: list[Session]) -> None:
    """Embed the haystack's index texts in one batch, exactly as ``Memory.add`` will."""
    if mem.embedder is not embedder:
        return
    from remem.write import normalize_messages, records_from_messages

    texts: list[str] = []
    for s in sessions:
        pairs = records_from_messages(
            normalize_messages(s.messages), user_id=haystack.id, agent_id=None, session_id=s.id, timestamp=s.date, metadata={}
        )
        texts.extend(mem.vector_texts([rec for rec, _ in pairs]))
    embedder.embed(texts)


def run_haystacks(
    haystacks: Sequence[Haystack],
    variants: Sequence[Variant],
    modes: Sequence[EvalMode],
    *,
    embedder: CachedEmbedder,
    memory_factory: MemoryFactory | None,
    search_limit: int,
    keep: Callable[[Question], bool],
    on_store: Callable[[Memory, Haystack, Variant, list[Retrieval]], None] | None = None,
    advance: Callable[[int], None] = lambda n: None,
    prepare: Callable[[Memory], tuple[int, int]] | None = None,
) -> tuple[list[Retrieval], RunStats]:
    """Ingest every haystack into a fresh store per variant and search each kept question in each mode.

    ``prepare`` runs after ingest and before the questions (consolidation: it returns the
    active memories before and after); ``on_store`` runs while the store is still open (the QA step uses it).
    """
    factory = memory_factory or default_memory_factory
    stats = RunStats(latencies_ms={m.name: [] for m in modes})
    out: list[Retrieval] = []
    for hay in haystacks:
        questions = [q for q in hay.questions if keep(q)]
        if not questions:
            continue
        for variant in variants:
            sessions = variant.sessions(hay)
            with tempfile.TemporaryDirectory(prefix="remem-eval-") as tmp:
                mem = factory(Path(tmp) / "eval.db", embedder)
                try:
                    start = time.perf_counter()
                    _prewarm(mem, embedder, hay, sessions)
                    session_of: dict[str, str] = {}
                    for s in sessions:
                        mem.add(s.messages, user_id=hay.id, session_id=s.id, timestamp=s.date)
                        for m in s.messages:
                            session_of[m["metadata"]["unit_id"]] = s.id
                    stats.ingest_s += time.perf_counter() - start
                    if prepare is not None:
                        before, after = prepare(mem)
                        stats.active_before += before
                        stats.active_after += after
                    stats.turns += sum(len(s.messages) for s in sessions)
                    stats.stores += 1
                    if mem.embedder is embedder:
                        mem.embedder = embedder.inner  # queries pay for their embedding in every mode
                    found: list[Retrieval] = []
                    for q in questions:
                        for mode in modes:
                            with _mode_config(mem, mode):
                                t0 = time.perf_counter()
                                kwargs = {"now": q.date, **mode.search_kwargs}  # relative times resolve at the question's date
                                hits = mem.search(q.question, user_id=hay.id, limit=search_limit, **kwargs)
                                ms = (time.perf_counter() - t0) * 1000
                            stats.latencies_ms[mode.name].append(ms)
                            ranked = [str(h.memory.metadata.get("unit_id", h.memory.id)) for h in hits]
                            for h in hits:  # a derived memory (a session summary) stands for its session
                                if "unit_id" not in h.memory.metadata:
                                    session_of.setdefault(h.memory.id, h.memory.session_id or h.memory.id)
                            found.append(Retrieval(q, variant.name, mode.name, ranked, ms, hits, session_of))
                    if on_store is not None:
                        on_store(mem, hay, variant, found)
                    out.extend(found)
                finally:
                    mem.close()
        advance(len(questions))
    return out, stats
