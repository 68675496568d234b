"""Maintenance throughput on a large store, and what it does to search latency.

    python benchmarks/bench_maintain.py --n 100000 --queries 100

One user's store of ``n`` memories spread over two years in sessions of 20 turns
(sentence-like synthetic text, clustered 384-d vectors, through the store layer); 5%
are filler turns ("haha ok") and 2% are duplicate facts. Then ``Memory.maintain`` runs with the default policy (episodic
retention R < 0.001, duplicate merging, filler of old sessions archived) plus extractive
session summaries (the heaviest case), at a reference time a month after the last turn.
Search p50/p95 through the public ``Memory.search`` is timed on the same queries before
(the baseline) and after, with a real MiniLM query embedding.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from _common import ClusteredVectors, SentenceGenerator, console, now, pct, table, write_json
from remem import Memory
from remem.embed import default_embedder
from remem.maintain import MaintenancePolicy
from remem.models import Kind, MemoryRecord
from remem.store import SQLiteStore, Write

USER = "bench-user"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=730)
FILLER = ["haha ok", "ok cool", "lol", "thanks!", "sure", "wow nice"]


class QueryEmbedder:
    """Embeds with the real model (the time counts), answers with in-distribution vectors."""

    def __init__(self, real, vecs: ClusteredVectors) -> None:  # noqa: ANN001
        self.real, self.vecs = real, vecs
        self.model_name, self.dim = real.model_name, real.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        self.real.embed(texts)
        return self.vecs.sample(len(texts))


def build(store: SQLiteStore, n: int, gen: SentenceGenerator, vecs: ClusteredVectors, batch: int = 5000) -> None:
    rng = np.random.default_rng(5)
    facts = gen.sentences(max(1, n // 100))
    pos = 0
    while pos < n:
        k = min(batch, n - pos)
        texts, kinds = gen.sentences(k), []
        for i in range(k):
            r = rng.random()
            if r < 0.05:
                texts[i] = FILLER[int(rng.integers(len(FILLER)))]
                kinds.append(Kind.EPISODIC)
            elif r < 0.07:
                texts[i] = facts[int(rng.integers(len(facts)))]
                kinds.append(Kind.SEMANTIC)
            else:
                kinds.append(Kind.EPISODIC)
        writes = []
        for i, (text, kind, vec) in enumerate(zip(texts, kinds, vecs.sample(k))):
            index = pos + i
            when = START + SPAN * (index / n)
            session = f"s{index // 20}" if kind == Kind.EPISODIC else None
            rec = MemoryRecord(content=text, user_id=USER, kind=kind, session_id=session, event_time=when, role="user")
            writes.append(Write(record=rec, index_text=text, vector=vec))
        store.insert(writes)
        pos += k
        console.print(f"  inserted {pos:,}/{n:,}", end="\r")
    console.print()


def search_times(mem: Memory, queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        t0 = now()
        mem.search(q, user_id=USER, limit=10)
        out.append(now() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="remem-maintain-"))
    try:
        real = default_embedder()
        gen, vecs = SentenceGenerator(), ClusteredVectors(dim=real.dim)
        store = SQLiteStore(workdir / "m.db")
        store.check_embedding(real.model_name, real.dim)
        t0 = now()
        build(store, args.n, gen, vecs)
        build_s = now() - t0
        mem = Memory(store=store, embedder=QueryEmbedder(real, vecs), llm=None)
        queries = gen.queries(args.queries)
        search_times(mem, queries[:5])  # warm: index load, onnxruntime
        before = search_times(mem, queries)
        policy = MaintenancePolicy(summarize_sessions_after_days=30)
        dry = mem.maintain(user_id=USER, now=START + SPAN + timedelta(days=30), dry_run=True, policy=policy)
        t0 = now()
        report = mem.maintain(user_id=USER, now=START + SPAN + timedelta(days=30), policy=policy)
        maintain_s = now() - t0
        search_times(mem, queries[:5])
        after = search_times(mem, queries)
        mem.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    cols = ["phase", "active memories", "seconds", "memories/s", "search p50 ms", "search p95 ms"]
    rows = [
        ["before (baseline)", report.active_before, build_s, args.n / build_s, pct(before, 50), pct(before, 95)],
        ["maintain --dry-run", dry.active_after, dry.seconds, args.n / max(dry.seconds, 1e-9), "", ""],
        ["maintain", report.active_after, maintain_s, args.n / maintain_s, pct(after, 50), pct(after, 95)],
    ]
    console.print(table(f"maintenance of one user's {args.n:,} memories (default policy + session summaries), {args.queries} queries", cols, rows))
    console.print(f"archived: {report.archived}; merged groups: {report.merged_groups}; summaries: {report.summaries}")
    write_json(args.json, {"benchmark": "maintain", "n": args.n, "build_s": build_s, "maintain_s": maintain_s,
                           "report": {k: v for k, v in report.as_dict().items() if k != "actions"},
                           "search_before_ms": [x * 1e3 for x in before], "search_after_ms": [x * 1e3 for x in after]})


if __name__ == "__main__":
    sys.exit(main())
