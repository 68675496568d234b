"""``remem eval small``: small stores through the harness, the held-out set kept apart from the fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remem.errors import InvalidInputError
from remem.eval.benchmarks.small import FITTED_FILE, HELDOUT_FILE, bundled, run_small
from remem.eval.cli import eval_app
from remem.eval.small_stores import load_small_stores

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    data = {
        "about": "test",
        "stores": [
            {
                "id": "two",
                "memories": [
                    {"id": "dog", "content": "My dog is called Biscuit.", "time": "2024-01-01T09:00:00Z"},
                    {"id": "tea", "content": "I drink green tea every morning.", "time": "2024-01-02T09:00:00Z"},
                ],
                "queries": [{"q": "what is my dog called?", "gold": ["dog"]}, {"q": "what do I drink?", "gold": ["tea", "nope"]}],
            }
        ],
    }
    path = tmp_path / "small.json"
    path.write_text(json.dumps(data))
    return path


def test_run_small_scores_right_first_and_recall(tmp_path: Path, small_file: Path, embedder) -> None:
    out = tmp_path / "out"
    report = run_small(small_file, out_dir=out, modes="bm25,hybrid", embedder=embedder, cache_dir=tmp_path, progress=False)
    results = json.loads((out / "results.json").read_text())
    by = {(q["id"], q["mode"]): q for q in results["questions"]}
    first = by[("two#0", "hybrid")]
    assert first["retrieved"][0] == "dog" and first["metrics"]["first@1"] == 1.0 and first["metrics"]["recall@1"] == 1.0
    second = by[("two#1", "hybrid")]
    assert second["metrics"]["first@1"] == 1.0  # "tea" first is right
    assert second["metrics"]["recall@10"] == 0.5  # a gold id that names no memory counts as a miss
    assert report.metric("first@1", mode="hybrid") == 1.0
    md = (out / "report.md").read_text()
    hits = {h["mode"]: h for h in results["questions"] if h["id"] == "two#0"}["hybrid"]
    m = hits["metrics"]  # one right hit (dog) and one wrong (tea): kept / dropped are 0 or 1 each
    assert m["kept@0.01"] in (0.0, 1.0) and m["dropped@0.01"] in (0.0, 1.0)
    assert m["kept@0.01"] >= m["kept@0.05"] and m["dropped@0.01"] <= m["dropped@0.05"]  # monotone in t
    assert "a threshold keeps" in md and "a threshold drops" in md
    assert "a right memory first" in md and "1 gold id(s) name no memory" in md
    assert results["config"]["file"] == str(small_file)


def test_heldout_and_data_are_exclusive(small_file: Path) -> None:
    with pytest.raises(InvalidInputError, match="not both"):
        run_small(small_file, heldout=True, out_dir=None, modes="bm25", progress=False)
    with pytest.raises(InvalidInputError, match="not found"):
        run_small(small_file.parent / "missing.json", out_dir=None, modes="bm25", progress=False)


def test_cli_small(tmp_path: Path, small_file: Path) -> None:
    result = CliRunner().invoke(
        eval_app, ["small", "--data", str(small_file), "--out", str(tmp_path / "o"), "--compare", "bm25,hybrid", "--cache-dir", str(tmp_path), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "Small stores: recall@k" in " ".join(result.output.split())


def test_the_heldout_stores_are_bundled_and_never_fitted_on() -> None:
    fitted, heldout = load_small_stores(bundled(FITTED_FILE)), load_small_stores(bundled(HELDOUT_FILE))
    assert len(heldout) >= 10 and sum(len(h.questions) for h in heldout) >= 30
    assert not {h.id for h in fitted} & {h.id for h in heldout}
    for h in heldout:  # every gold id names a memory of its store
        ids = {m["metadata"]["unit_id"] for s in h.sessions for m in s.messages}
        assert all(set(q.gold["turn"]) <= ids for q in h.questions), h.id
    fit_script = (REPO / "scripts" / "fit_ranker.py").read_text()
    assert HELDOUT_FILE not in fit_script and "load_small_stores()" in fit_script  # the fit reads the default file only
