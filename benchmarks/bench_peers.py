"""Side by side with peer memory layers: ingest turns/s, search p50/p95 and evidence recall@10.

    /tmp/peers-venv/bin/python benchmarks/bench_peers.py --scales locomo1,20000 --queries 200

Needs a separate virtualenv with the peers (kept out of remem's own environment):

    python -m venv /tmp/peers-venv
    /tmp/peers-venv/bin/pip install -e . 'mem0ai>=2,<3' 'chromadb>=1.5,<2' 'faiss-cpu>=1.9,<2'

Systems, all in this one process, all on the *same* embedder object (remem's bundled
all-MiniLM-L6-v2 int8 ONNX, ``--embed-threads`` intra-op threads, and ``--embed-parallel`` batches
of a large call at once: both 1 by default, one thread each):

- ``remem``: ``remem.Memory(path)`` (SQLite, defaults), ``add(session turns, user_id, session_id,
  timestamp)``, ``search(q, user_id=..., limit=10)``.
- ``mem0-qdrant``: mem0 with its default vector store (Qdrant, local mode in a temp dir),
  ``add(session turns, user_id=..., infer=False)``, ``search(q, top_k=10, filters={"user_id": ...})``.
  The LLM is configured (openai, dummy key) but never called (``infer=False``); the embedder is
  swapped after construction (``m.embedding_model = ...``: mem0 has no provider for an embedder
  object). Without spaCy/fastembed (not in ``pip install mem0ai``) mem0 2.x search is semantic
  only: no BM25 keyword scores, no entity boosts.
- ``mem0-faiss``: the same with ``vector_store={"provider": "faiss"}`` (defaults: IndexFlatL2, exact).
- ``chromadb``: ``PersistentClient`` in a temp dir, one collection, the embedder as a custom
  ``EmbeddingFunction``, ``add`` per session, ``query(query_texts=[q], n_results=10, where={"user_id": ...})``.

Every system embeds the same text per turn, remem's vector text (``"Speaker: text [shares a
photo: caption]"`` for LoCoMo, the message itself for LongMemEval), so the dense part is identical;
``--peer-text content`` gives the peers the message alone (speaker in metadata), as a mem0 user's
``{"name": ..., "content": ...}`` would be embedded. remem also indexes the previous turn of the
session for BM25 (its default ``IndexConfig``); the peers have no lexical index here.

Scales (``--scales``):

- ``locomo1``: one LoCoMo conversation (``--conv``, default conv-48: 681 turns) as one user; every
  system ingests every turn for real, one ``add`` per session. Queries: that conversation's
  questions (categories 1-4).
- ``N`` (e.g. ``20000``): one user holding all 5,882 LoCoMo turns plus LongMemEval-S haystack turns
  (both roles, unique sessions, file order) up to N real-text memories. Embedding N turns once per
  system does not fit a short run on 2 cores, so: the first N - ``--ingest-sample`` turns are loaded
  with vectors computed once (cached under ``--cache-dir``; the first run pays for it: ~25 min for
  20,000 real turns on one core, most of it the long LongMemEval assistant turns) served by the
  shared embedder wrapper (remem, chromadb: their normal ``add`` calls; mem0: ``vector_store.insert``
  in batches of 1,000 with the payload ``_create_memory`` builds, since mem0-faiss rewrites its whole
  index and docstore on every insert), then the last ``--ingest-sample`` turns (LoCoMo) are ingested
  for real, one ``add`` per session, on top of the loaded store: that is the ingest turns/s reported.
  Queries: LoCoMo questions of all conversations (seeded sample). Evidence exists only for LoCoMo
  turns; the LongMemEval turns are real distractors.

remem caches the embeddings of its last queries (``remem.embed.registry.embed_queries``); every
query text here is distinct and searched once per system, so that cache never hits in the timed
loop (the peers have no such cache).

Timing: after warm-up searches (other questions; the first, cold search is reported), queries are
interleaved: for each query, every system (and the bare embedder, the floor) in a fresh random
order, once. Wall and process-CPU time per call; ``cpu`` is robust to other load on a shared box.
Evidence recall@10: the share of a question's evidence turns (``dia_id``) in the top 10.
"""

from __future__ import annotations

import os

# Before any peer is imported: no telemetry, one thread per library (as the issue measured).
os.environ.setdefault("MEM0_TELEMETRY", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

from _common import LOCOMO, SHARED, console, cpu, now, pct, peak_rss_mb, rss_mb, table, write_json  # noqa: E402

LONGMEMEVAL = SHARED / "data" / "longmemeval" / "longmemeval_s_dev.json"
USER = "bench-user"
SCORED = (1, 2, 3, 4)
CHUNK = 1000  # texts per cached embedding chunk
PEER_TEXT = "speaker"  # --peer-text


# -- data ------------------------------------------------------------------------------------


@dataclass
class Turn:
    unit: str  # unique id: "conv-48/D3:7" (LoCoMo) or "<lme session>_<n>"
    session: str
    role: str
    name: str | None
    content: str  # what remem stores (the text, photo caption appended)
    date: datetime | None

    @property
    def text(self) -> str:
        """What every system embeds and the peers store: remem's vector text of the turn."""
        return f"{self.name}: {self.content}" if self.name else self.content

    @property
    def peer_text(self) -> str:
        """What the peers store and embed: ``text`` (default) or, with ``--peer-text content``, the
        message alone (the speaker goes to metadata only, as mem0 does with a message's ``name``)."""
        return self.content if PEER_TEXT == "content" else self.text

    def message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": self.role, "content": self.content, "id": self.unit, "metadata": {"unit_id": self.unit}}
        if self.name:
            msg["name"] = self.name
        return msg


@dataclass
class Query:
    id: str
    text: str
    gold: list[str]
    category: int


@dataclass
class Corpus:
    name: str
    sessions: list[list[Turn]]
    queries: list[Query]
    warmup: list[str]
    note: str = ""

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.sessions for t in s]


def locomo_conversations() -> list[tuple[str, list[list[Turn]], list[Query]]]:
    from remem.eval.benchmarks.locomo import load_locomo

    out = []
    for hay in load_locomo(LOCOMO):
        sessions = []
        for s in hay.sessions:
            sid = f"{hay.id}/{s.id}"
            turns = [
                Turn(f"{hay.id}/{m['id']}", sid, "user", m["name"], m["content"], s.date) for m in s.messages
            ]
            sessions.append(turns)
        queries = [
            Query(q.id, q.question, [f"{hay.id}/{d}" for d in q.gold["turn"]], int(q.group))
            for q in hay.questions
            if int(q.group) in SCORED and q.gold["turn"]
        ]
        extra = [q.question for q in hay.questions if int(q.group) == 5]  # adversarial: warm-up only
        out.append((hay.id, sessions, queries + [Query("warm", t, [], 5) for t in extra]))
    return out


def lme_sessions() -> list[list[Turn]]:
    from remem.eval.benchmarks.longmemeval import load_longmemeval

    seen: set[str] = set()
    out = []
    for hay in load_longmemeval(LONGMEMEVAL):
        for s in hay.sessions:
            if s.id in seen:
                continue
            seen.add(s.id)
            out.append([Turn(m["id"], s.id, m["role"], None, m["content"], s.date) for m in s.messages])
    return out


def split_queries(queries: list[Query], n: int, seed: int) -> tuple[list[Query], list[str]]:
    """``n`` scored questions with distinct texts (remem keeps an LRU of query embeddings: a
    repeated text would skip its embedding) and 8 other texts for the warm-up."""
    scored = list({q.text: q for q in queries if q.gold}.values())
    rng = random.Random(seed)
    rng.shuffle(scored)
    picked = scored[:n]
    taken = {q.text for q in picked}
    warm = [t for t in dict.fromkeys([q.text for q in queries if not q.gold] + [q.text for q in scored[n:]]) if t not in taken]
    return picked, warm[:8]


def corpus_locomo1(conv: str, n_queries: int, seed: int) -> Corpus:
    for cid, sessions, queries in locomo_conversations():
        if cid == conv:
            picked, warm = split_queries(queries, n_queries, seed)
            return Corpus("locomo1", sessions, picked, warm, f"LoCoMo {cid}, one user")
    raise SystemExit(f"no LoCoMo conversation {conv!r}")


def corpus_big(size: int, n_queries: int, seed: int) -> Corpus:
    convs = locomo_conversations()
    locomo = [s for _, sessions, _ in convs for s in sessions]
    n_locomo = sum(len(s) for s in locomo)
    need = size - n_locomo
    lme: list[list[Turn]] = []
    for s in lme_sessions() if need > 0 else []:
        if need <= 0:
            break
        lme.append(s[:need])
        need -= len(lme[-1])
    if need > 0:
        console.print(f"[yellow]only {size - need:,} real turns available (asked {size:,})[/yellow]")
    sessions = lme + locomo if size >= n_locomo else locomo
    if size < n_locomo:  # smaller than LoCoMo: its first turns
        kept, total = [], 0
        for s in locomo:
            if total >= size:
                break
            kept.append(s[: size - total])
            total += len(kept[-1])
        sessions = kept
    units = {t.unit for s in sessions for t in s}
    queries = [q for _, _, qs in convs for q in qs if not q.gold or set(q.gold) & units]
    picked, warm = split_queries(queries, n_queries, seed)
    n_lme = sum(len(s) for s in lme)
    return Corpus(str(size), sessions, picked, warm, f"{min(n_locomo, size):,} LoCoMo + {n_lme:,} LongMemEval-S turns, one user")


# -- the shared embedder ---------------------------------------------------------------------


class SharedEmbedder:
    """The one MiniLM instance every system embeds through. ``table`` (text -> vector), when set,
    serves precomputed vectors instead of running the model (bulk loading only; never timed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_name, self.dim = inner.model_name, inner.dim
        self.table: dict[str, np.ndarray] | None = None
        self.calls = 0
        self.texts = 0
        self.misses = 0  # bulk-load calls the table could not serve (embedded for real)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        if self.table is not None:
            try:
                return np.stack([self.table[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
            except KeyError:
                self.misses += 1  # a text the table lacks: embed the call for real
        return self.inner.embed(list(texts))


def cached_vectors(texts: list[str], embedder: Any, cache_dir: Path) -> np.ndarray:
    """Vectors of ``texts`` by the real model, computed once per chunk of CHUNK texts and kept in
    ``cache_dir`` (keyed by model and the chunk's texts), so later runs skip the model."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    t0, done = now(), 0
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        key = hashlib.sha256(("\0".join([embedder.model_name, *chunk])).encode()).hexdigest()[:24]
        path = cache_dir / f"emb-{key}.npy"
        if path.exists():
            out[start : start + len(chunk)] = np.load(path)
            continue
        # one text per call: on this 2-core box a padded batch of 64 costs ~2x the CPU per text
        # (LongMemEval turns: 8.9 texts/s one at a time, 4.4 in batches of 64)
        vecs = np.concatenate([np.asarray(embedder.embed([t]), dtype=np.float32) for t in chunk])
        np.save(path.with_suffix(".tmp.npy"), vecs)
        path.with_suffix(".tmp.npy").rename(path)
        out[start : start + len(chunk)] = vecs
        done += len(chunk)
        console.print(f"  embedded {start + len(chunk):,}/{len(texts):,} for the cache ({done / (now() - t0):,.1f} texts/s)")
    return out


# -- systems ---------------------------------------------------------------------------------


@dataclass
class System:
    name: str
    config: str
    add: Callable[[list[Turn]], None]  # one call per session, embeds through the shared embedder
    bulk: Callable[[list[Turn], np.ndarray], None]  # untimed loading with precomputed vectors
    search: Callable[[str], list[str]]  # unit ids, best first
    close: Callable[[], None]
    stats: dict[str, Any] = field(default_factory=dict)


def make_remem(workdir: Path, emb: SharedEmbedder) -> System:
    import remem
    from remem import Memory

    mem = Memory(path=workdir / "remem.db", embedder=emb, llm=None)

    def add(turns: list[Turn]) -> None:
        mem.add([t.message() for t in turns], user_id=USER, session_id=turns[0].session, timestamp=turns[0].date)

    def bulk(sessions_turns: list[Turn], vectors: np.ndarray) -> None:
        emb.table = {t.text: v for t, v in zip(sessions_turns, vectors)}
        try:
            for s in _sessions(sessions_turns):
                add(s)
        finally:
            emb.table = None

    def search(q: str) -> list[str]:
        return [str(h.memory.metadata.get("unit_id", h.memory.id)) for h in mem.search(q, user_id=USER, limit=10)]

    return System("remem", f"remem {remem.__version__}: Memory(path) SQLite defaults, search limit=10", add, bulk, search, mem.close)


class _Mem0Embedder:
    """mem0's embedder interface over the shared embedder (set as ``m.embedding_model``)."""

    def __init__(self, emb: SharedEmbedder) -> None:
        from mem0.embeddings.base import EmbeddingBase

        EmbeddingBase.__init__(self)  # type: ignore[arg-type]
        self.emb = emb

    def embed(self, text: str, memory_action: str | None = None) -> list[float]:
        return self.emb.embed([text])[0].tolist()

    def embed_batch(self, texts: list[str], memory_action: str = "add") -> list[list[float]]:
        return [v.tolist() for v in self.emb.embed(list(texts))]


def make_mem0(workdir: Path, emb: SharedEmbedder, store: str) -> System:
    import mem0
    from mem0 import Memory as Mem0Memory

    path = workdir / f"mem0-{store}"
    path.mkdir()
    if store == "qdrant":
        vs = {"provider": "qdrant", "config": {"collection_name": "bench", "embedding_model_dims": emb.dim, "path": str(path / "qdrant")}}
    else:
        vs = {"provider": "faiss", "config": {"collection_name": "bench", "embedding_model_dims": emb.dim, "path": str(path / "faiss")}}
    config = {
        "vector_store": vs,
        "llm": {"provider": "openai", "config": {"api_key": "never-used", "model": "gpt-4o-mini"}},
        "embedder": {"provider": "openai", "config": {"api_key": "never-used", "embedding_dims": emb.dim}},
        "history_db_path": str(path / "history.db"),
    }
    m = Mem0Memory.from_config(config)
    m.embedding_model = _Mem0Embedder(emb)
    ids: dict[str, str] = {}  # mem0 id -> unit id

    def add(turns: list[Turn]) -> None:
        msgs = [{"role": t.role, "content": t.peer_text, **({"name": t.name} if t.name else {})} for t in turns]
        res = m.add(msgs, user_id=USER, infer=False)["results"]
        assert len(res) == len(turns), (len(res), len(turns))
        for t, r in zip(turns, res):
            ids[r["id"]] = t.unit

    def bulk(turns: list[Turn], vectors: np.ndarray) -> None:
        from mem0.utils.lemmatization import lemmatize_for_bm25

        for start in range(0, len(turns), 1000):
            part = turns[start : start + 1000]
            payloads, new_ids = [], []
            for t in part:
                stamp = datetime.now(timezone.utc).isoformat()
                text = t.peer_text
                payload = {"user_id": USER, "role": t.role, "data": text, "hash": hashlib.md5(text.encode()).hexdigest(),
                           "created_at": stamp, "updated_at": stamp, "text_lemmatized": lemmatize_for_bm25(text)}
                if t.name:
                    payload["actor_id"] = t.name
                mid = str(uuid.uuid4())
                ids[mid] = t.unit
                payloads.append(payload)
                new_ids.append(mid)
            m.vector_store.insert(vectors=[v.tolist() for v in vectors[start : start + len(part)]], ids=new_ids, payloads=payloads)

    def search(q: str) -> list[str]:
        return [ids.get(r["id"], r["id"]) for r in m.search(q, top_k=10, filters={"user_id": USER})["results"]]

    desc = (f"mem0ai {mem0.__version__ if hasattr(mem0, '__version__') else _version('mem0ai')}: "
            + ("vector store qdrant (default; local mode, on_disk=False, path in temp dir)" if store == "qdrant"
               else "vector store faiss (defaults: IndexFlatL2, euclidean, path in temp dir)")
            + "; add(infer=False), search(top_k=10, filters={user_id}), threshold 0.1 default")
    return System(f"mem0-{store}", desc, add, bulk, search, m.close if hasattr(m, "close") else (lambda: None))


def make_chroma(workdir: Path, emb: SharedEmbedder) -> System:
    import chromadb
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.config import Settings

    class MiniLMFunction(EmbeddingFunction[Documents]):
        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents) -> Embeddings:
            return list(emb.embed(list(input)))

        @staticmethod
        def name() -> str:
            return "remem-minilm-int8"

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> "MiniLMFunction":
            return MiniLMFunction()

    client = chromadb.PersistentClient(path=str(workdir / "chroma"), settings=Settings(anonymized_telemetry=False))
    col = client.create_collection("bench", embedding_function=MiniLMFunction())

    def add(turns: list[Turn]) -> None:
        col.add(ids=[t.unit for t in turns], documents=[t.peer_text for t in turns],
                metadatas=[{"user_id": USER, "role": t.role, "session": t.session, "speaker": t.name or t.role} for t in turns])

    def bulk(turns: list[Turn], vectors: np.ndarray) -> None:
        pos = 0
        for s in _sessions(turns):
            col.add(ids=[t.unit for t in s], documents=[t.peer_text for t in s], embeddings=vectors[pos : pos + len(s)],
                    metadatas=[{"user_id": USER, "role": t.role, "session": t.session, "speaker": t.name or t.role} for t in s])
            pos += len(s)

    def search(q: str) -> list[str]:
        return list(col.query(query_texts=[q], n_results=10, where={"user_id": USER}, include=["documents", "metadatas", "distances"])["ids"][0])

    def close() -> None:
        try:
            client.close()  # type: ignore[attr-defined]
        except Exception:
            pass

    desc = f"chromadb {chromadb.__version__}: PersistentClient(temp dir), default HNSW (l2), add per session, query(n_results=10, where={{user_id}})"
    return System("chromadb", desc, add, bulk, search, close)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _sessions(turns: list[Turn]) -> list[list[Turn]]:
    out: list[list[Turn]] = []
    for t in turns:
        if out and out[-1][0].session == t.session:
            out[-1].append(t)
        else:
            out.append([t])
    return out


MAKERS: dict[str, Callable[[Path, SharedEmbedder], System]] = {
    "remem": make_remem,
    "mem0-qdrant": lambda d, e: make_mem0(d, e, "qdrant"),
    "mem0-faiss": lambda d, e: make_mem0(d, e, "faiss"),
    "chromadb": make_chroma,
}


# -- the run ---------------------------------------------------------------------------------


def recall(gold: list[str], found: list[str]) -> tuple[float, float]:
    g = set(gold)
    hit = len(g & set(found[:10]))
    return hit / len(g), float(hit == len(g))


def run_scale(corpus: Corpus, names: list[str], inner: Any, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    turns = corpus.turns
    n_bulk = 0 if corpus.name == "locomo1" else max(0, len(turns) - args.ingest_sample)
    measured = _sessions(turns[n_bulk:])
    n_measured = len(turns) - n_bulk
    console.print(f"[bold]scale {corpus.name}[/bold]: {len(turns):,} memories ({corpus.note}), {len(corpus.queries)} queries; "
                  + (f"{n_bulk:,} loaded with cached vectors, the last {n_measured:,} ingested for real" if n_bulk else "all ingested for real"))
    vectors = peer_vectors = None
    if n_bulk:
        vectors = cached_vectors([t.text for t in turns], inner, Path(args.cache_dir))[:n_bulk]
        peer_vectors = vectors if PEER_TEXT == "speaker" else cached_vectors([t.peer_text for t in turns], inner, Path(args.cache_dir))[:n_bulk]

    workdir = Path(tempfile.mkdtemp(prefix="remem-peers-", dir=args.dir))
    emb = SharedEmbedder(inner)
    systems = []
    for n in names:
        (workdir / n).mkdir()
        systems.append(MAKERS[n](workdir / n, emb))
    result: dict[str, Any] = {"scale": corpus.name, "memories": len(turns), "note": corpus.note, "queries": len(corpus.queries),
                              "bulk_loaded": n_bulk, "ingested_for_real": n_measured, "systems": {}}
    try:
        for sysm in systems:
            sysm.stats = {"config": sysm.config, "ingest_s": 0.0, "ingest_cpu_s": 0.0, "embed_texts": 0}
            if n_bulk:
                emb.misses = 0
                t0 = now()
                sysm.bulk(turns[:n_bulk], vectors if sysm.name == "remem" else peer_vectors)
                sysm.stats["bulk_s"] = now() - t0
                console.print(f"  {sysm.name}: loaded {n_bulk:,} in {sysm.stats['bulk_s']:.1f} s (cached vectors, not timed as ingest; "
                              f"{emb.misses} calls embedded for real), rss {rss_mb():,.0f} MiB")
        # Ingest for real, session by session, the systems in a fresh order each session.
        t_all = now()
        for i, sess in enumerate(measured):
            for sysm in rng.sample(systems, len(systems)):
                before = emb.texts
                t0, c0 = now(), cpu()
                sysm.add(sess)
                sysm.stats["ingest_s"] += now() - t0
                sysm.stats["ingest_cpu_s"] += cpu() - c0
                sysm.stats["embed_texts"] += emb.texts - before
            if i % 10 == 9 or i == len(measured) - 1:
                console.print(f"  ingested {sum(len(s) for s in measured[: i + 1]):,}/{n_measured:,} turns into each system ({now() - t_all:.0f} s)")
        for sysm in systems:
            st = sysm.stats
            st["ingest_turns_per_s"] = n_measured / st["ingest_s"]
            st["ingest_cpu_turns_per_s"] = n_measured / st["ingest_cpu_s"]
            console.print(f"  {sysm.name}: ingest {st['ingest_turns_per_s']:,.1f} turns/s (cpu {st['ingest_cpu_turns_per_s']:,.1f}), "
                          f"{st['embed_texts']:,} texts embedded")
        gc.collect()

        # Warm-up (other questions): the first search pays any lazy index load/build.
        for sysm in systems:
            t0 = now()
            sysm.search(corpus.warmup[0])
            sysm.stats["first_search_ms"] = (now() - t0) * 1000
            for w in corpus.warmup[1:]:
                sysm.search(w)
        for w in corpus.warmup:
            inner.embed([w])

        # Interleaved queries: each system (and the bare embedder) once per query, fresh order each time.
        wall: dict[str, list[float]] = {s.name: [] for s in systems}
        wall["embed only"] = []
        cpus: dict[str, list[float]] = {k: [] for k in wall}
        rec: dict[str, list[float]] = {s.name: [] for s in systems}
        full: dict[str, list[float]] = {s.name: [] for s in systems}

        def embed_only(q: str) -> list[str]:
            inner.embed([q])
            return []

        floor = System("embed only", "the shared MiniLM alone, one query", lambda t: None, lambda t, v: None, embed_only, lambda: None)
        t_all = now()
        for qi, q in enumerate(corpus.queries):
            for sysm in rng.sample(systems + [floor], len(systems) + 1):
                t0, c0 = now(), cpu()
                found = sysm.search(q.text)
                wall[sysm.name].append(now() - t0)
                cpus[sysm.name].append(cpu() - c0)
                if sysm is not floor:
                    r, a = recall(q.gold, found)
                    rec[sysm.name].append(r)
                    full[sysm.name].append(a)
            if qi % 50 == 49 or qi == len(corpus.queries) - 1:
                console.print(f"  searched {qi + 1}/{len(corpus.queries)} queries in each system ({now() - t_all:.0f} s)")
        for name in wall:
            st = result["systems"].setdefault(name, {}) if name == "embed only" else next(s.stats for s in systems if s.name == name)
            st.update(p50_ms=pct(wall[name], 50), p95_ms=pct(wall[name], 95), cpu_p50_ms=pct(cpus[name], 50), cpu_p95_ms=pct(cpus[name], 95))
            if name in rec:
                st.update(recall_at_10=float(np.mean(rec[name])), all_evidence_at_10=float(np.mean(full[name])))
        for sysm in systems:
            result["systems"][sysm.name] = sysm.stats
        if args.profile and "remem" in names and corpus is args._profile_corpus:
            result["profile"] = profile_remem(next(s for s in systems if s.name == "remem"), corpus, args.profile, args.profile_out)
        result.update(rss_mb=rss_mb(), peak_rss_mb=peak_rss_mb(), loadavg=os.getloadavg()[0])
    finally:
        for sysm in systems:
            try:
                sysm.close()
            except Exception as exc:  # a peer failing to close must not hide the results
                console.print(f"[yellow]{sysm.name}: close failed: {exc}[/yellow]")
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def profile_remem(sysm: System, corpus: Corpus, n: int, out: str | None) -> dict[str, str]:
    """cProfile over ``n`` remem searches (the benchmark's queries, cycled), after the timed run,
    with remem's query-embedding cache emptied first so each search embeds its query as timed."""
    import cProfile
    import io
    import pstats

    from remem.embed import registry

    texts = [q.text for q in corpus.queries]
    texts = (texts * (n // max(1, len(texts)) + 1))[:n]
    registry._query_caches.clear()  # these queries were searched already: make them embed again
    prof = cProfile.Profile()
    prof.enable()
    for t in texts:
        sysm.search(t)
    prof.disable()
    if out:
        prof.dump_stats(out)
    report: dict[str, str] = {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).strip_dirs().sort_stats(key).print_stats(25)
        report[key] = buf.getvalue()
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="locomo1,20000", help="comma-separated: locomo1 and/or memory counts (e.g. 20000)")
    ap.add_argument("--systems", default=",".join(MAKERS), help=f"comma-separated subset of {','.join(MAKERS)}")
    ap.add_argument("--queries", type=int, default=200, help="questions per scale (categories 1-4, seeded sample)")
    ap.add_argument("--conv", default="conv-48", help="the LoCoMo conversation of the locomo1 scale")
    ap.add_argument("--ingest-sample", type=int, default=100,
                    help="at the N scales, the last turns ingested for real (the rest loaded with cached vectors)")
    ap.add_argument("--peer-text", choices=("speaker", "content"), default="speaker",
                    help="what the peers store and embed: remem's vector text 'Speaker: text' (default) or the message alone")
    ap.add_argument("--embed-threads", type=int, default=1, help="onnxruntime intra-op threads of the shared MiniLM")
    ap.add_argument("--embed-parallel", type=int, default=1,
                    help="batches of one large embed call run at once (remem's MiniLM default: min(4, cores)); 1 = one thread each")
    ap.add_argument("--cache-dir", default=str(Path(tempfile.gettempdir()) / "remem-bench-peers"),
                    help="where the bulk-load vectors are kept between runs (outside the repo)")
    ap.add_argument("--dir", default=None, help="parent folder of the temp stores (deleted after)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--profile", type=int, default=0, help="cProfile this many remem searches at the largest scale")
    ap.add_argument("--profile-out", default=None, help="also dump the profile (pstats) to this file")
    ap.add_argument("--json", default=None, help="also write results to this JSON file")
    args = ap.parse_args()

    if not console.is_terminal:
        console.width = max(console.width, 200)  # piped to a file: keep the wide tables on one line each
    logging.disable(logging.WARNING)  # mem0 warns on every search about keyword search/spaCy; noted in the docstring
    warnings.filterwarnings("ignore")
    global PEER_TEXT
    PEER_TEXT = args.peer_text
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    unknown = set(names) - set(MAKERS)
    if unknown:
        raise SystemExit(f"unknown systems {sorted(unknown)}; choose from {sorted(MAKERS)}")
    from remem.embed import MiniLMEmbedder

    inner = MiniLMEmbedder(threads=args.embed_threads)
    if hasattr(inner, "_parallel"):  # remem's MiniLM runs a large call's batches on several cores at once
        inner._parallel = args.embed_parallel
    inner.embed(["warm up the onnxruntime session", "and a second text"])
    corpora = []
    for scale in [s.strip() for s in args.scales.split(",") if s.strip()]:
        corpora.append(corpus_locomo1(args.conv, args.queries, args.seed) if scale == "locomo1" else corpus_big(int(scale), args.queries, args.seed))
    args._profile_corpus = max(corpora, key=lambda c: len(c.turns))

    t_start = now()
    results = []
    for i, corpus in enumerate(corpora):
        results.append(run_scale(corpus, names, inner, args, random.Random(args.seed + i)))
        gc.collect()
    total_s = now() - t_start

    console.print(f"one process, interleaved queries, shared MiniLM int8 ({args.embed_threads} thread, {args.embed_parallel} batch at a time), peer text: {PEER_TEXT}; cpu = process CPU time per call; "
                  f"load avg {os.getloadavg()[0]:.1f}")
    for r in results:
        cols = ["system", "ingest turns/s", "ingest cpu turns/s", "first search ms", "search p50 ms", "search p95 ms",
                "cpu p50 ms", "cpu p95 ms", "p50 vs remem", "recall@10", "all-evidence@10"]
        base = r["systems"].get("remem", {}).get("p50_ms", float("nan"))
        rows = []
        for name in [*names, "embed only"]:
            st = r["systems"][name]
            rows.append([name, st.get("ingest_turns_per_s", float("nan")), st.get("ingest_cpu_turns_per_s", float("nan")),
                         st.get("first_search_ms", float("nan")), st["p50_ms"], st["p95_ms"], st["cpu_p50_ms"], st["cpu_p95_ms"],
                         f"{st['p50_ms'] / base:.2f}×" if base == base else "–",
                         st.get("recall_at_10", float("nan")), st.get("all_evidence_at_10", float("nan"))])
        how = (f"all {r['memories']:,} turns ingested for real" if not r["bulk_loaded"] else
               f"{r['bulk_loaded']:,} loaded with cached vectors (mem0: vector_store.insert), ingest measured on the last {r['ingested_for_real']:,}")
        console.print(table(f"scale {r['scale']}: {r['memories']:,} memories, one user ({r['note']}); {r['queries']} queries; {how}", cols, rows))
        for name in names:
            st = r["systems"][name]
            if name != "remem" and "p50_ms" in st and base == base:
                faster = r["systems"]["remem"]["p50_ms"] < st["p50_ms"]
                ok = r["systems"]["remem"]["recall_at_10"] >= st["recall_at_10"]
                console.print(f"  remem vs {name}: p50 {'faster' if faster else '[red]slower[/red]'} "
                              f"({r['systems']['remem']['p50_ms']:.1f} vs {st['p50_ms']:.1f} ms), recall@10 "
                              f"{'≥' if ok else '[red]<[/red]'} ({r['systems']['remem']['recall_at_10']:.3f} vs {st['recall_at_10']:.3f})")
        if "profile" in r:
            console.print(f"[bold]cProfile of {args.profile} remem searches at scale {r['scale']}[/bold]")
            print(r["profile"]["cumulative"], r["profile"]["tottime"], sep="\n", flush=True)  # plain: no wrapping
    for name in names:
        console.print(f"  {name}: {results[0]['systems'][name]['config']}" if results else "")
    console.print(f"total {total_s:.0f} s")
    write_json(args.json, {"benchmark": "peers", "versions": versions(), "embed_threads": args.embed_threads,
                           "embed_parallel": args.embed_parallel, "peer_text": PEER_TEXT,
                           "total_s": total_s, "results": results})


def versions() -> dict[str, str]:
    out = {}
    for dist in ("remem", "mem0ai", "chromadb", "faiss-cpu", "qdrant-client", "onnxruntime", "numpy"):
        try:
            out[dist] = _version(dist)
        except Exception:
            out[dist] = "not installed"
    return out


if __name__ == "__main__":
    sys.exit(main())
