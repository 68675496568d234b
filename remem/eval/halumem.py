"""HaluMem-style operation-level evaluation of the LLM write path.

For each user of a HaluMem slice (``../shared/data/halumem/*.jsonl``), the sessions are fed
in order to ``Memory.add(..., infer=True)`` in batches of ``batch_turns`` dialogue turns,
each turn with its own timestamp.  After each session:

* **extraction recall** - a gold memory point of the session counts as extracted when a fact
  the pipeline wrote, refined or matched (NOOP) during that session has cosine similarity
  >= ``threshold`` with it (embeddings from the Memory's embedder);
* **extraction precision** - a fact written during the session counts as correct when it has
  similarity >= ``threshold`` with some gold point of this user seen so far (gold points list
  what matters, so valid but unlisted details count against precision: a lower bound);
* **update correctness** - for each gold point with ``is_update``: *updated* when a currently
  valid fact (``valid_to`` unset or after the session) matches the new point; *stale* when a
  currently valid fact matches one of its ``original_memories`` better than the new point
  (the old value sits beside the new one instead of being invalidated or updated);
  *correct* = updated and not stale.

Similarity matching with MiniLM is coarse (the gold names the person, extracted facts may
say "the user"); the threshold is printed with the numbers and should be quoted with them.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from remem.errors import InvalidInputError, LLMError, LLMNotConfiguredError
from remem.models import MemoryRecord, parse_time

FACT_KINDS = ["semantic", "procedural"]


def load_users(path: Path) -> Iterator[dict[str, Any]]:
    """Users of a HaluMem JSONL slice (one JSON object per line)."""
    if not Path(path).is_file():
        raise InvalidInputError(f"no HaluMem file at {path}")
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInputError(f"{path}:{number}: not JSON ({exc})") from None


@dataclass
class SessionResult:
    user: str
    session: int
    gold: int
    recalled: int
    written: int
    precise: int
    updates: int
    updated: int
    stale: int
    failed_batches: int
    seconds: float


@dataclass
class HaluMemReport:
    data: str
    threshold: float
    batch_turns: int
    sessions: list[SessionResult] = field(default_factory=list)
    operations: dict[str, int] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    out_dir: str | None = None

    def totals(self) -> dict[str, Any]:
        s = self.sessions
        g, r = sum(x.gold for x in s), sum(x.recalled for x in s)
        w, p = sum(x.written for x in s), sum(x.precise for x in s)
        u, ok, st = sum(x.updates for x in s), sum(x.updated for x in s), sum(x.stale for x in s)
        correct = sum(max(0, x.updated - x.stale) for x in s)
        return {
            "sessions": len(s),
            "gold_points": g,
            "extraction_recall": r / g if g else None,
            "facts_written": w,
            "extraction_precision": p / w if w else None,
            "update_points": u,
            "update_present": ok / u if u else None,
            "update_stale": st / u if u else None,
            "update_correct": correct / u if u else None,
            "failed_batches": sum(x.failed_batches for x in s),
            "seconds": round(sum(x.seconds for x in s), 1),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "sessions"}, "totals": self.totals(),
                "sessions": [asdict(x) for x in self.sessions]}

    def print(self, console: Any) -> None:
        from rich.table import Table

        t = self.totals()
        table = Table(title=f"HaluMem write path ({self.data}; similarity >= {self.threshold}, {self.batch_turns} turns/add)")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in t.items():
            table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
        table.add_row("operations", ", ".join(f"{k}={v}" for k, v in sorted(self.operations.items())))
        for op, row in sorted(self.usage.items()):
            table.add_row(f"llm {op}", f"{row['calls']} calls, {row['prompt_tokens']}+{row['completion_tokens']} tok, {row['failures']} failed")
        console.print(table)
        for err in self.errors[:5]:
            console.print(f"[yellow]error:[/yellow] {err}")
        if self.out_dir:
            console.print(f"report: {self.out_dir}/report.json")


def _unit(vectors: Any) -> np.ndarray:
    m = np.asarray(vectors, dtype=np.float32)
    if m.ndim == 1:
        m = m.reshape(1, -1)
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(n, 1e-12)


def _sims(embedder: Any, a: list[str], b: list[str]) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float32)
    return _unit(embedder.embed(a)) @ _unit(embedder.embed(b)).T


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def run_halumem(
    data_path: Path,
    *,
    out_dir: Path | None = None,
    llm: Any = "auto",
    embedder: Any = None,
    users: int | None = 1,
    sessions: int | None = None,
    batch_turns: int = 4,
    threshold: float = 0.6,
    pipeline_config: Any = None,
    progress: bool = True,
) -> HaluMemReport:
    """Run the evaluation; raises :class:`LLMNotConfiguredError` without an LLM."""
    from remem import Memory
    from remem.embed import default_embedder

    if llm == "auto":
        from remem.llm import llm_from_env

        llm = llm_from_env()
    if llm is None:
        raise LLMNotConfiguredError(
            "remem eval halumem evaluates the LLM write path: set REMEM_LLM_BASE_URL and REMEM_LLM_MODEL"
        )
    if batch_turns < 1 or not 0 < threshold <= 1:
        raise InvalidInputError("batch_turns must be >= 1 and threshold in (0, 1]")
    embedder = embedder if embedder is not None else default_embedder()
    report = HaluMemReport(data=str(data_path), threshold=threshold, batch_turns=batch_turns)
    for u, user in enumerate(load_users(Path(data_path))):
        if users is not None and u >= users:
            break
        user_id = str(user.get("uuid") or f"user{u}")
        with tempfile.TemporaryDirectory(prefix="remem-halumem-") as tmp, Memory(
            Path(tmp) / "m.db", embedder=embedder, llm=llm, infer_config=pipeline_config
        ) as mem:
            seen_gold: list[str] = []
            for s, session in enumerate(user.get("sessions", [])):
                if sessions is not None and s >= sessions:
                    break
                result = _session(mem, report, user_id, s, session, seen_gold, batch_turns, threshold, progress)
                report.sessions.append(result)
            for op in mem.pipeline.operations:
                report.operations[op.action] = report.operations.get(op.action, 0) + 1
            report.errors += [f"{e.stage}: {e.message}" for e in mem.pipeline.errors]
    report.usage = llm.usage if hasattr(llm, "usage") else {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2, default=str))
        report.out_dir = str(out_dir)
    return report


def _session(
    mem: Any, report: HaluMemReport, user_id: str, s: int, session: dict[str, Any], seen_gold: list[str],
    batch_turns: int, threshold: float, progress: bool,
) -> SessionResult:
    started = time.monotonic()
    pipeline = mem.pipeline
    first_op = len(pipeline.operations)
    dialogue = [
        {"role": t.get("role", "user"), "content": t["content"], "timestamp": t.get("timestamp")}
        for t in session.get("dialogue", []) if str(t.get("content", "")).strip()
    ]
    failed = 0
    for i in range(0, len(dialogue), batch_turns):
        try:
            mem.add(dialogue[i : i + batch_turns], user_id=user_id, session_id=f"s{s}", infer=True)
        except LLMError:
            failed += 1  # kept in pipeline.errors
    ops = pipeline.operations[first_op:]
    touched = list(dict.fromkeys(op.memory_id for op in ops if op.memory_id))
    written_ids = {op.memory_id for op in ops if op.action in ("ADD", "INVALIDATE", "UPDATE")}
    records = {r.id: r for r in mem.get_many(touched)}
    touched_text = [records[i].content for i in touched if i in records]
    written_text = [records[i].content for i in touched if i in written_ids and i in records]

    points = session.get("memory_points", [])
    gold = [p["memory_content"] for p in points]
    seen_gold += gold
    recalled = int((_sims(mem.embedder, gold, touched_text).max(axis=1, initial=0) >= threshold).sum()) if gold else 0
    precise = int((_sims(mem.embedder, written_text, seen_gold).max(axis=1, initial=0) >= threshold).sum()) if written_text else 0

    end = parse_time(session.get("end_time")) if session.get("end_time") else None
    current = [r for r in mem.get_all(user_id=user_id, kind=FACT_KINDS, limit=10_000) if _holds(r, end)]
    current_text = [r.content for r in current]
    updates = [p for p in points if _true(p.get("is_update"))]
    updated = stale = 0
    for p in updates:
        new_sim = _sims(mem.embedder, [p["memory_content"]], current_text)[0] if current_text else np.zeros(0)
        if new_sim.size and new_sim.max() >= threshold:
            updated += 1
        originals = [o for o in p.get("original_memories") or [] if str(o).strip()]
        if originals and current_text:
            old_sim = _sims(mem.embedder, originals, current_text).max(axis=0)
            if bool(((old_sim >= threshold) & (old_sim > new_sim)).any()):
                stale += 1
    result = SessionResult(
        user=user_id, session=s, gold=len(gold), recalled=recalled, written=len(written_text), precise=precise,
        updates=len(updates), updated=updated, stale=stale, failed_batches=failed,
        seconds=round(time.monotonic() - started, 2),
    )
    if progress:
        print(f"halumem {user_id[:8]} session {s}: recall {recalled}/{len(gold)}, precise {precise}/{len(written_text)}, "
              f"updates {updated}/{len(updates)} (stale {stale}), failed batches {failed}, {result.seconds}s", flush=True)
    return result


def _holds(record: MemoryRecord, at: datetime | None) -> bool:
    if record.valid_to is None:
        return True
    return at is not None and record.valid_to > at
