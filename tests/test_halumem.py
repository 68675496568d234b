"""``remem eval halumem``: operation-level metrics of the LLM write path, with a scripted LLM
on a small synthetic slice in HaluMem's schema (the real slices are only read for their shape)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from remem.eval.cli import eval_app
from remem.eval.halumem import load_users, run_halumem
from remem.llm import ScriptedLLM

try:
    from test_write_pipeline import Brain, fact
except ImportError:  # tests/ became a package
    from tests.test_write_pipeline import Brain, fact

DIRECTOR = "Martin works as a director at Huaxin Consulting."
PROMOTED = "Martin was promoted to senior director at Huaxin Consulting in January 2029."
RUNNING = "Martin goes running every morning before work."


def slice_file(tmp_path: Path) -> Path:
    user = {
        "uuid": "u-1",
        "sessions": [
            {
                "start_time": "Jan 10, 2029, 10:00:00", "end_time": "Jan 10, 2029, 10:30:00",
                "dialogue": [
                    {"role": "user", "content": "I work as a director at Huaxin.", "timestamp": "Jan 10, 2029, 10:00:00"},
                    {"role": "assistant", "content": "That sounds demanding!", "timestamp": "Jan 10, 2029, 10:00:00"},
                    {"role": "user", "content": "I go running every morning.", "timestamp": "Jan 10, 2029, 10:01:00"},
                ],
                "memory_points": [
                    {"memory_content": DIRECTOR, "is_update": "False", "original_memories": []},
                    {"memory_content": RUNNING, "is_update": "False", "original_memories": []},
                ],
            },
            {
                "start_time": "Jan 15, 2029, 15:12:20", "end_time": "Jan 15, 2029, 16:15:20",
                "dialogue": [
                    {"role": "user", "content": "I got promoted to senior director!", "timestamp": "Jan 15, 2029, 15:12:20"},
                ],
                "memory_points": [
                    {"memory_content": PROMOTED, "is_update": "True", "original_memories": [DIRECTOR]},
                ],
            },
        ],
    }
    path = tmp_path / "slice.jsonl"
    path.write_text(json.dumps(user) + "\n")
    return path


def brain(resolve_update: bool) -> Brain:
    b = (
        Brain()
        .on("director at Huaxin", fact(DIRECTOR, kind="profile"))
        .on("running", fact(RUNNING))
        .on("promoted", fact(PROMOTED, "2029-01"))
    )
    if resolve_update:
        b.rule("promoted", "INVALIDATE", "works as a director")
    return b


def run(tmp_path: Path, embedder: Any, b: Brain) -> dict[str, Any]:
    report = run_halumem(slice_file(tmp_path), llm=ScriptedLLM(b), embedder=embedder, out_dir=tmp_path / "out", progress=False)
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["totals"] == json.loads(json.dumps(report.totals()))
    return report.totals() | {"operations": report.operations}


def test_a_correct_write_path_scores_full_marks(tmp_path: Path, embedder: Any) -> None:
    t = run(tmp_path, embedder, brain(resolve_update=True))
    assert t["gold_points"] == 3 and t["extraction_recall"] == 1.0
    assert t["facts_written"] == 3 and t["extraction_precision"] == 1.0
    assert t["update_points"] == 1 and t["update_present"] == 1.0 and t["update_stale"] == 0.0 and t["update_correct"] == 1.0
    assert t["operations"] == {"ADD": 2, "INVALIDATE": 1}


def test_an_update_left_beside_its_original_is_stale(tmp_path: Path, embedder: Any) -> None:
    t = run(tmp_path, embedder, brain(resolve_update=False))
    assert t["extraction_recall"] == 1.0 and t["update_present"] == 1.0
    assert t["update_stale"] == 1.0 and t["update_correct"] == 0.0


def test_missed_and_invented_facts_lower_recall_and_precision(tmp_path: Path, embedder: Any) -> None:
    b = Brain().on("running", fact("Martin collects antique porcelain teapots from Jingdezhen."))
    t = run(tmp_path, embedder, b)
    assert t["extraction_recall"] == 0.0 and t["facts_written"] == 1 and t["extraction_precision"] == 0.0
    assert t["update_present"] == 0.0


def test_cli_without_llm_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("REMEM_LLM_BASE_URL", "REMEM_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(eval_app, ["halumem", "--data", str(slice_file(tmp_path))])
    assert result.exit_code == 2 and "REMEM_LLM_BASE_URL" in result.output


def test_shared_slices_have_the_expected_shape() -> None:
    folder = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "halumem"
    files = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    if not files:
        pytest.skip("../shared/data/halumem not present")
    user = next(load_users(files[0]))
    session = user["sessions"][0]
    assert {"role", "content", "timestamp"} <= set(session["dialogue"][0])
    assert {"memory_content", "is_update", "original_memories"} <= set(session["memory_points"][0])
