"""Ingest throughput without an LLM: ``Memory.add`` turns/s next to the raw embedder.

    python benchmarks/bench_ingest.py --turns 600

Real conversation turns (LoCoMo sessions from ../shared/data/locomo if present, else
generated sentences) go through ``Memory.add`` one session per call, as an agent
would add them. The baseline is the embedder alone on the very same strings
(``"speaker: text"``, what remem indexes) in the very same call sizes. The two are
interleaved session by session so that background load on a shared machine hits
both alike. Goal: Memory.add ≥ 95% of the embedder's own throughput (issue 13).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _common import LOCOMO, SentenceGenerator, console, dir_size, now, table, write_json
from remem import Memory
from remem.embed import default_embedder


def sessions(turns: int) -> list[list[dict[str, str]]]:
    """Lists of messages (one list per session) adding up to about ``turns`` turns."""
    out: list[list[dict[str, str]]] = []
    total = 0
    if LOCOMO.exists():
        from _common import locomo_turns

        for conv, key, rows in locomo_turns():
            msgs = [
                {"role": "user", "name": r["speaker"], "content": r["text"], "id": f"{conv}:{r['dia_id']}"}
                for r in rows if r.get("text")
            ]
            out.append(msgs)
            total += len(msgs)
            if total >= turns:
                break
        return out
    gen = SentenceGenerator()
    while total < turns:
        out.append([{"role": "user", "name": f"S{i % 2}", "content": s} for i, s in enumerate(gen.sentences(20))])
        total += 20
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=600, help="about how many turns to ingest")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    embedder = default_embedder()
    data = sessions(args.turns)
    n = sum(len(s) for s in data)
    source = "LoCoMo" if LOCOMO.exists() else "generated"
    workdir = Path(tempfile.mkdtemp(prefix="remem-ingest-"))
    db_path = workdir / "ingest.db"
    embedder.embed([m["content"] for m in data[0][:16]])  # warm up
    embed_s = add_s = 0.0
    try:
        with Memory(db_path, embedder=embedder) as mem:
            for i, msgs in enumerate(data):
                texts = [f"{m['name']}: {m['content']}" for m in msgs]
                t0 = now()
                embedder.embed(texts)
                embed_s += now() - t0
                t0 = now()
                added = mem.add(msgs, user_id="u1", session_id=f"s{i}")
                add_s += now() - t0
                assert len(added) == len(msgs)
                console.print(f"  {i + 1}/{len(data)} sessions", end="\r")
            console.print()
            assert mem.count(user_id="u1") == n
        size = dir_size(db_path, db_path.name)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    embed_tps, add_tps = n / embed_s, n / add_s
    ratio = add_tps / embed_tps
    rows = [
        ["embedder.embed (baseline)", n, embed_s, embed_tps, 1.0],
        ["Memory.add", n, add_s, add_tps, ratio],
    ]
    console.print(table(
        f"ingest without LLM: {n} {source} turns in {len(data)} sessions, one add() per session",
        ["path", "turns", "seconds", "turns/s", "vs embedder"], rows,
    ))
    ms_store = (add_s - embed_s) / n * 1000
    console.print(f"store + bookkeeping overhead ≈ {ms_store:.2f} ms/turn; store file {size / n:,.0f} bytes/memory; "
                  f"goal ≥ 0.95 of the embedder: {'met' if ratio >= 0.95 else 'MISSED'}")
    write_json(args.json, {
        "benchmark": "ingest", "source": source, "turns": n, "sessions": len(data),
        "embed_s": embed_s, "add_s": add_s, "embed_turns_per_s": embed_tps, "add_turns_per_s": add_tps,
        "ratio": ratio, "bytes_per_memory": size / n,
    })


if __name__ == "__main__":
    sys.exit(main())
