"""Crash safety and concurrency of the SQLite store: what survives SIGKILL, many writers, and a killed import.

    python benchmarks/bench_reliability.py                     # --kills 100 --seconds 60
    python benchmarks/bench_reliability.py --kills 10 --seconds 5 --import-size 2000 --json rel.json

Three scenarios, each on a fresh store in a temp dir (deleted afterwards):

1. **SIGKILL loop**: a child process adds and updates memories through ``Memory`` and logs each
   write only after ``add``/``update`` returned (committed). It is killed with SIGKILL at a random
   moment, ``--kills`` times, always on the same store. After each kill the store is opened and
   checked: ``PRAGMA integrity_check``, the FTS5 integrity check, every memory with its text,
   vector and history rows, a dense search that finds committed memories, and every write the
   child reported is present (an update at least at its reported version).
2. **Concurrent writers and readers**: 4 writer and 2 reader processes on one store for
   ``--seconds``; readers search, list and count (a count may never go down). Any exception is an
   error; at the end every reported write must be there and the count must match exactly.
3. **Kill during import**: ``remem import`` of an export of ``--import-size`` memories is killed
   mid-way (``--import-kills`` times). Writes go in transactions of ``--batch-size`` items, so the
   store must hold a whole number of batches (0 partial), be consistent, and a rerun must finish
   the import, skipping exactly what was there.

Vectors come from a deterministic hash embedder labelled like the bundled MiniLM (so the real
``remem import`` accepts the export): this measures durability, not relevance. Exit code 1 if
anything was lost, corrupt, partial or failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from _common import REPO_ROOT, console, table, write_json

CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
CHILD_ENV.pop("REMEM_LLM_BASE_URL", None)


class HashEmbedder:
    """Deterministic unit vectors from a hash of the text; named like the bundled model."""

    model_name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def open_memory(db: Path) -> Any:
    from remem import Memory

    return Memory(db, embedder=HashEmbedder(), llm=None)


@dataclass
class Result:
    scenario: str
    runs: int = 0
    writes: int = 0
    lost: int = 0
    corrupt: int = 0
    errors: int = 0
    partial: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


# -- children -------------------------------------------------------------------------------


def child_writer(db: Path, log: Path, seconds: float, seed: int, user: str) -> None:
    """Add (1-5 turns per call) and update memories until the deadline, logging committed writes."""
    rng = random.Random(seed)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    say = lambda line: os.write(fd, (line + "\n").encode())  # noqa: E731 - one write(2): whole lines
    mem = open_memory(db)
    say("READY")
    added: list[str] = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        try:
            if added and rng.random() < 0.2:
                mid = rng.choice(added)
                rec = mem.update(mid, content=f"{user} changed note {mid[-6:]} round {i} seed {seed}")
                say(f"U {mid} {rec.version}")
            else:
                n = rng.randint(1, 5)
                msgs = [{"role": "user" if k % 2 == 0 else "assistant", "content": f"{user} note {seed}.{i}.{k} about topic {rng.randint(0, 50)}"}
                        for k in range(n)]
                recs = mem.add(msgs, user_id=user, session_id=f"{user}-s{i % 7}")
                say("A " + " ".join(r.id for r in recs))
                added.extend(r.id for r in recs)
        except Exception as exc:  # noqa: BLE001 - every failure is counted by the parent
            say(f"E {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
    mem.close()
    say("DONE")


def child_reader(db: Path, log: Path, seconds: float, seed: int, users: list[str]) -> None:
    """Search, list and count in a loop; a count that goes down is an error."""
    rng = random.Random(seed)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    say = lambda line: os.write(fd, (line + "\n").encode())  # noqa: E731
    mem = open_memory(db)
    say("READY")
    last: dict[str, int] = defaultdict(int)
    reads = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        user = rng.choice(users)
        try:
            mem.search(f"note about topic {rng.randint(0, 50)}", user_id=user, limit=10)
            mem.get_all(user_id=user, limit=20)
            n = mem.count(user_id=user)
            if n < last[user]:
                say(f"E count of {user} went down: {last[user]} -> {n}")
            last[user] = n
            reads += 3
        except Exception as exc:  # noqa: BLE001
            say(f"E {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
    mem.close()
    say(f"DONE {reads}")


def spawn(role: str, db: Path, log: Path, seconds: float, seed: int, users: str) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--child", role, "--db", str(db), "--log", str(log),
           "--seconds", str(seconds), "--seed", str(seed), "--users", users]
    return subprocess.Popen(cmd, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def read_log(log: Path) -> list[str]:
    """Whole lines only (a line cut by a kill has no newline yet)."""
    if not log.exists():
        return []
    text = log.read_text()
    return text.split("\n")[:-1]


def wait_ready(log: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while "READY" not in read_log(log):
        if proc.poll() is not None:
            raise RuntimeError(f"child exited early: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise RuntimeError("child did not start")
        time.sleep(0.02)


# -- checks ---------------------------------------------------------------------------------


def consistency(db: Path) -> list[str]:
    """Problems with the file: integrity, FTS5, rows without their text, vector or history."""
    problems = []
    conn = sqlite3.connect(db, timeout=30)
    try:
        if (res := conn.execute("PRAGMA integrity_check").fetchone()[0]) != "ok":
            problems.append(f"integrity_check: {res}")
        try:
            conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            problems.append(f"fts5 integrity-check: {exc}")
        orphans = {
            "memories without text index": "SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM memories_fts f WHERE f.rowid = m.rowid)",
            "text index rows without memory": "SELECT count(*) FROM memories_fts f WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.rowid = f.rowid)",
            "memories without vector": "SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.mem_rowid = m.rowid)",
            "vectors without memory": "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.rowid = v.mem_rowid)",
            "memories without history": "SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM history h WHERE h.memory_id = m.id AND h.tenant = m.tenant)",
            "memories behind their history": "SELECT count(*) FROM memories m WHERE m.version < (SELECT max(version) FROM history h WHERE h.memory_id = m.id AND h.tenant = m.tenant)",
        }
        for name, sql in orphans.items():
            if (n := conn.execute(sql).fetchone()[0]) != 0:
                problems.append(f"{n} {name}")
    finally:
        conn.close()
    return problems


def reported(lines: list[str]) -> tuple[set[str], dict[str, int], list[str]]:
    """(ids added, highest version reported per updated id, error lines) from writer logs."""
    adds: set[str] = set()
    versions: dict[str, int] = {}
    errors = []
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind == "A":
            adds.update(rest.split())
        elif kind == "U":
            mid, v = rest.split()
            versions[mid] = max(versions.get(mid, 0), int(v))
        elif kind == "E":
            errors.append(rest)
    return adds, versions, errors


def missing(db: Path, adds: set[str], versions: dict[str, int], probes: int, rng: random.Random) -> int:
    """Reported writes that are not in the store, plus committed memories dense search cannot find."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        stored = dict(conn.execute("SELECT id, version FROM memories"))
    finally:
        conn.close()
    lost = sum(1 for mid in adds if mid not in stored)
    lost += sum(1 for mid, v in versions.items() if stored.get(mid, 0) < v)
    with open_memory(db) as mem:
        for mid in rng.sample(sorted(adds & set(stored)), min(probes, len(adds & set(stored)))):
            rec = mem.get(mid)
            hits = mem.search(rec.content, user_id=rec.user_id, mode="dense", limit=3)
            lost += mid not in {h.memory.id for h in hits}
    return lost


# -- scenarios ------------------------------------------------------------------------------


def sigkill_loop(workdir: Path, kills: int, max_delay: float, rng: random.Random) -> Result:
    res = Result("sigkill loop")
    db = workdir / "kill.db"
    lines: list[str] = []
    started = time.perf_counter()
    for i in range(kills):
        log = workdir / f"kill-{i}.log"
        proc = spawn("writer", db, log, 3600, rng.randrange(1 << 30), f"u{i % 4}")
        wait_ready(log, proc)
        time.sleep(rng.uniform(0.0, max_delay))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        lines += read_log(log)
        problems = consistency(db)
        if problems:
            res.corrupt += 1
            res.notes.append(f"kill {i}: {'; '.join(problems)}")
        adds, versions, errors = reported(lines)
        res.errors = len(errors)
        lost = missing(db, adds, versions, probes=5, rng=rng)
        if lost:
            res.notes.append(f"kill {i}: {lost} lost")
        res.lost = max(res.lost, lost)  # cumulative: a write lost once stays lost
        res.runs += 1
        if console.is_terminal or (i + 1) % 10 == 0 or i + 1 == kills:
            console.print(f"  kill {i + 1}/{kills}: {len(adds):,} memories and {len(versions):,} updates reported so far",
                          end="\r" if console.is_terminal else "\n")
    if console.is_terminal:
        console.print()
    adds, versions, _ = reported(lines)
    res.writes = len(adds) + len(versions)
    res.seconds = time.perf_counter() - started
    return res


def concurrent(workdir: Path, seconds: float, writers: int, readers: int, rng: random.Random) -> Result:
    res = Result(f"concurrent {writers}w+{readers}r")
    db = workdir / "concurrent.db"
    with open_memory(db):
        pass  # create the schema once, before the race
    users = ",".join(f"w{i}" for i in range(writers))
    started = time.perf_counter()
    procs = []
    for i in range(writers):
        log = workdir / f"writer-{i}.log"
        procs.append((log, spawn("writer", db, log, seconds, rng.randrange(1 << 30), f"w{i}")))
    for i in range(readers):
        log = workdir / f"reader-{i}.log"
        procs.append((log, spawn("reader", db, log, seconds, rng.randrange(1 << 30), users)))
    lines: list[str] = []
    reads = 0
    for log, proc in procs:
        code = proc.wait(timeout=seconds + 300)
        got = read_log(log)
        if code != 0 or not any(line.startswith("DONE") for line in got):
            res.errors += 1
            res.notes.append(f"{log.name}: exit {code} {proc.stderr.read().decode()[-300:] if proc.stderr else ''}")
        reads += sum(int(line.split()[1]) for line in got if line.startswith("DONE ") and len(line.split()) == 2)
        lines += got
    adds, versions, errors = reported(lines)
    res.errors += len(errors)
    res.notes += errors[:5]
    problems = consistency(db)
    res.corrupt = int(bool(problems))
    res.notes += problems
    res.lost = missing(db, adds, versions, probes=20, rng=rng)
    conn = sqlite3.connect(db)
    total = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
    conn.close()
    if total != len(adds):
        res.lost += abs(total - len(adds))
        res.notes.append(f"{total} memories stored, {len(adds)} reported")
    res.runs, res.writes = writers + readers, len(adds) + len(versions)
    res.seconds = time.perf_counter() - started
    res.notes.append(f"{reads:,} reads, {len(adds):,} memories added, {len(versions):,} updated in {seconds:g} s")
    return res


def export_file(workdir: Path, n: int) -> tuple[Path, int]:
    """An export of ``n`` memories (with vectors and history); returns it and its history count."""
    src, out = workdir / "source.db", workdir / "big.jsonl"
    with open_memory(src) as mem:
        for start in range(0, n, 500):
            msgs = [{"role": "user", "content": f"imported note {i} about topic {i % 97}"} for i in range(start, min(n, start + 500))]
            mem.add(msgs, user_id=f"u{start // 500 % 5}", session_id=f"s{start // 500}")
        mem.export_file(out)
    history = sum(len(json.loads(line)["history"]) for line in out.open())
    return out, history


def import_cmd(file: Path, target: Path, batch: int) -> list[str]:
    return [sys.executable, "-m", "remem", "import", str(file), "--path", str(target), "--batch-size", str(batch),
            "--no-progress", "--json"]


def stored_count(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT count(*) FROM memories").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return 0  # not created yet


def killed_import(workdir: Path, n: int, batch: int, kills: int, rng: random.Random) -> Result:
    res = Result("killed import")
    file, history = export_file(workdir, n)
    started = time.perf_counter()
    for i in range(kills):
        target = workdir / f"import-{i}.db"
        proc = subprocess.Popen(import_cmd(file, target, batch), env=CHILD_ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        goal = rng.randint(1, max(1, n - batch))
        while stored_count(target) < goal and proc.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.2))  # somewhere inside the next batch
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if finished:
            res.notes.append(f"run {i}: the import finished before the kill")
        have = stored_count(target)
        problems = consistency(target) if target.exists() else []
        res.corrupt += bool(problems)
        res.notes += problems
        if have % batch and have != n:
            res.partial += 1
            res.notes.append(f"run {i}: {have} memories after the kill, not a whole number of {batch}-item batches")
        again = subprocess.run(import_cmd(file, target, batch), env=CHILD_ENV, capture_output=True, text=True, timeout=1800)
        if again.returncode != 0:
            res.errors += 1
            res.notes.append(f"run {i}: rerun failed: {again.stderr.strip()[-300:]}")
            continue
        summary = json.loads(again.stdout)
        conn = sqlite3.connect(target)
        total, hist = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("memories", "history"))
        conn.close()
        if summary != {"imported": n - have, "skipped": have} or total != n or hist != history:
            res.lost += abs(n - total) + abs(history - hist)
            res.notes.append(f"run {i}: after the kill {have}, rerun {summary}, then {total} memories / {hist} history rows")
        res.notes.append(f"run {i}: killed at {have:,}/{n:,}")
        res.runs += 1
        res.writes += n
    res.seconds = time.perf_counter() - started
    return res


# -- main -----------------------------------------------------------------------------------


def run_child(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", choices=["writer", "reader"])
    ap.add_argument("--db", type=Path)
    ap.add_argument("--log", type=Path)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--users")
    a = ap.parse_args(argv)
    if a.child == "writer":
        child_writer(a.db, a.log, a.seconds, a.seed, a.users)
    else:
        child_reader(a.db, a.log, a.seconds, a.seed, a.users.split(","))


def main() -> int:
    if "--child" in sys.argv:
        run_child(sys.argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=100, help="SIGKILLs of a writing process (default 100)")
    ap.add_argument("--max-delay", type=float, default=1.0, help="longest time a killed writer runs, seconds")
    ap.add_argument("--seconds", type=float, default=60.0, help="duration of the concurrent run (default 60)")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--import-size", type=int, default=10_000, help="memories in the export that is imported and killed")
    ap.add_argument("--import-kills", type=int, default=5, help="killed imports (each then rerun to the end)")
    ap.add_argument("--batch-size", type=int, default=500, help="items per import transaction")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temp dir, deleted afterwards)")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="remem-reliability-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = []
        if args.kills > 0:
            results.append(sigkill_loop(workdir, args.kills, args.max_delay, rng))
        if args.seconds > 0:
            results.append(concurrent(workdir, args.seconds, args.writers, args.readers, rng))
        if args.import_kills > 0:
            results.append(killed_import(workdir, args.import_size, args.batch_size, args.import_kills, rng))
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = [[r.scenario, r.runs, r.writes, r.lost, r.corrupt, r.errors, r.partial, r.seconds] for r in results]
    console.print(table("reliability (SQLite store)", ["scenario", "runs", "writes checked", "lost", "corrupt",
                                                       "errors", "partial", "seconds"], rows))
    for r in results:
        for note in r.notes[:8]:
            console.print(f"  [dim]{r.scenario}: {note}[/dim]")
    ok = all(r.lost == r.corrupt == r.errors == r.partial == 0 for r in results)
    console.print("result: " + ("[green]0 lost, 0 corrupt, 0 errors, 0 partial[/green]" if ok else "[red]FAILURES[/red]"))
    write_json(args.json, {"benchmark": "reliability", "ok": ok, "args": {k: str(v) for k, v in vars(args).items()},
                           "results": [asdict(r) for r in results]})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
