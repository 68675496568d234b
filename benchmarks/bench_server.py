"""Load benchmark of the REST search endpoint against in-process ``Memory.search``.

    python benchmarks/bench_server.py                      # 10k memories, 2 workers, ~1 minute
    python benchmarks/bench_server.py --memories 2000 --requests 300   # quick

Builds (once, cached under .remem-cache/) a store of synthetic memories, then measures
in the same run: (0) the ceiling, the embedder alone embedding the same unique queries from
N threads (a search cannot beat embedding its query); (1) the baseline, ``Memory.search``
called in-process, sequentially and from N threads; (2) ``remem serve`` on loopback (subprocess, uvicorn workers),
driven by an asyncio httpx client with N concurrent connections. Unique queries miss
the server's query-embedding cache; "repeated" queries (a pool of 50) hit it.
Loopback only; bounded by --requests and --max-seconds per row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SUBJECTS = ["I", "My sister", "Alice", "Bob", "My manager", "The team", "We", "Our neighbour", "Grandpa", "My friend Leo"]
VERBS = ["visited", "moved to", "started learning", "bought", "cooked", "wrote about", "read about",
         "planned a trip to", "complained about", "fell in love with", "gave away", "painted"]
OBJECTS = ["Lisbon", "the guitar", "a red bicycle", "sourdough bread", "Kyoto", "a new laptop", "Python", "the marathon",
           "jazz", "a puppy", "Paris", "chess", "the garden", "a vintage camera", "Spanish", "the violin", "a sailboat",
           "ramen", "the book club", "an electric car", "pottery", "Iceland", "the climbing gym", "a telescope"]
TAILS = ["last week", "yesterday", "in May", "on Sunday", "after work", "with friends", "for the first time", "again",
         "during the holidays", "before the storm", "at the weekend", "this morning"]
QUESTIONS = ["what did {s} buy", "where did {s} travel", "who learned {o}", "when did we talk about {o}",
             "anything about {o}", "did {s} mention {o}", "plans involving {o}", "what happened {t}"]


def sentence(rng: random.Random, i: int) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)} (note {i})"


def question(rng: random.Random, salt: int | None) -> str:
    q = rng.choice(QUESTIONS).format(s=rng.choice(SUBJECTS).lower(), o=rng.choice(OBJECTS), t=rng.choice(TAILS))
    return q if salt is None else f"{q} #{salt}"  # a unique suffix defeats the embedding cache


def build_store(n: int, users: int) -> Path:
    from remem import Memory

    cache = ROOT / ".remem-cache"
    cache.mkdir(exist_ok=True)
    path = cache / f"bench_server_{n}_{users}.db"
    done = path.with_suffix(".done")
    if done.exists():
        return path
    for old in cache.glob(path.name + "*"):
        old.unlink() if old.is_file() else None
    rng = random.Random(7)
    t0 = time.perf_counter()
    with Memory(path) as mem:
        batch = 500
        for start in range(0, n, batch):
            msgs = [{"role": "user", "content": sentence(rng, i)} for i in range(start, min(n, start + batch))]
            mem.add(msgs, user_id=f"user{(start // batch) % users}", session_id=f"s{start // batch}")
    done.write_text("ok")
    print(f"built {n} memories for {users} users in {time.perf_counter() - t0:.0f}s -> {path}", file=sys.stderr)
    return path


def summary(name: str, latencies: list[float], wall: float, errors: int) -> dict[str, object]:
    lat = sorted(latencies)
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")  # noqa: E731
    return {"name": name, "n": len(lat), "rps": len(lat) / wall if wall else 0.0, "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "mean": statistics.fmean(lat) * 1000 if lat else float("nan"), "errors": errors}


def bench_embedder(requests: int, threads: int, max_seconds: float) -> dict[str, object]:
    """The default embedder alone, one unique query per call from ``threads`` threads."""
    from remem.embed import default_embedder

    embedder = default_embedder()
    rng = random.Random(11)
    queries = [question(rng, i) for i in range(requests)]
    embedder.embed(["warm up"])
    deadline = time.perf_counter() + max_seconds

    def one(text: str) -> float | None:
        if time.perf_counter() > deadline:
            return None
        t = time.perf_counter()
        embedder.embed([text])
        return time.perf_counter() - t

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool_ex:
        lat = [x for x in pool_ex.map(one, queries) if x is not None]
    return summary(f"embedder alone (ceiling), {threads} threads, unique", lat, time.perf_counter() - t0, 0)


def bench_inprocess(path: Path, users: int, requests: int, threads: int, max_seconds: float, unique: bool) -> dict[str, object]:
    from remem import Memory

    mem = Memory(path)
    rng = random.Random(11)
    pool = [question(rng, None) for _ in range(50)]
    queries = [(question(rng, i) if unique else pool[i % len(pool)], f"user{i % users}") for i in range(requests)]
    mem.search("warm up", user_id="user0")
    deadline = time.perf_counter() + max_seconds

    def one(item: tuple[str, str]) -> float | None:
        if time.perf_counter() > deadline:
            return None
        t = time.perf_counter()
        mem.search(item[0], user_id=item[1], limit=10)
        return time.perf_counter() - t

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool_ex:
        lat = [x for x in pool_ex.map(one, queries) if x is not None]
    wall = time.perf_counter() - t0
    mem.close()
    kind = "unique" if unique else "repeated"
    return summary(f"in-process Memory.search, {threads} thread{'s' if threads > 1 else ''}, {kind}", lat, wall, 0)


async def drive(url: str, key: str, users: int, requests: int, concurrency: int, max_seconds: float,
                unique: bool, seed: int) -> tuple[list[float], float, int]:
    rng = random.Random(seed)
    pool = [question(random.Random(11), None) for _ in range(50)]
    queries = [(question(rng, seed * 1_000_000 + i) if unique else pool[i % len(pool)], f"user{i % users}")
               for i in range(requests)]
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for q in queries:
        queue.put_nowait(q)
    deadline = time.perf_counter() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty() and time.perf_counter() < deadline:
                text, user = queue.get_nowait()
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/search", json={"query": text, "user_id": user, "limit": 10})
                    ok = r.status_code == 200 and isinstance(r.json().get("items"), list)
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t)
                else:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return latencies, wall, errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=10, help="memories are spread over this many users; each search is scoped to one")
    ap.add_argument("--requests", type=int, default=1500, help="requests per row (bounded by --max-seconds)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--max-seconds", type=float, default=30.0, help="time cap per row")
    args = ap.parse_args()

    path = build_store(args.memories, args.users)
    rows = [
        bench_embedder(args.requests, args.concurrency, args.max_seconds),
        bench_inprocess(path, args.users, min(args.requests, 500), 1, args.max_seconds, unique=True),
        bench_inprocess(path, args.users, args.requests, args.concurrency, args.max_seconds, unique=True),
        bench_inprocess(path, args.users, args.requests, args.concurrency, args.max_seconds, unique=False),
    ]

    from remem.server.auth import create_key
    from remem.store import open_store

    work = Path(tempfile.mkdtemp(prefix="remem-bench-"))
    db = work / "served.db"
    for f in path.parent.glob(path.name + "*"):  # a private copy: the server may write (keys)
        if f.is_file():
            (work / f.name.replace(path.name, db.name)).write_bytes(f.read_bytes())
    store = open_store(db)
    key = create_key(store, "default")
    store.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "remem.server", "serve", "--path", str(db), "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start")
            time.sleep(0.3)
        # warm every worker (model load, index build) before timing
        asyncio.run(drive(url, key, args.users, 40 * args.workers, args.concurrency, 60, True, 99))
        for unique, seed in ((True, 1), (False, 2)):
            lat, wall, errors = asyncio.run(
                drive(url, key, args.users, args.requests, args.concurrency, args.max_seconds, unique, seed))
            kind = "unique" if unique else "repeated"
            rows.append(summary(f"REST POST /v1/search, {args.workers} workers, c={args.concurrency}, {kind}", lat, wall, errors))
    finally:
        proc.terminate()
        proc.wait(30)

    print(f"\nsearch at {args.memories:,} memories ({args.memories // args.users:,} per user, scoped to one user), "
          f"{os.cpu_count()} CPUs, loopback\n")
    header = f"{'':66} {'n':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:66} {r['n']:>6} {r['rps']:>8.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['p99']:>8.1f} {r['errors']:>7}")
    ceiling = float(rows[0]["rps"])  # type: ignore[arg-type]
    for r in rows[1:]:
        if "REST" in str(r["name"]) and "unique" in str(r["name"]):
            print(f"\nREST unique-query throughput = {float(r['rps']) / ceiling:.0%} of the embedder alone "  # type: ignore[arg-type]
                  f"({float(r['rps']):.1f} vs {ceiling:.1f} req/s; goal >= 80%, p95 <= 50 ms, 0 errors)")


if __name__ == "__main__":
    main()
