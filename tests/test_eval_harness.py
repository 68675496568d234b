"""End to end on tiny hand-made benchmark files: shapes, auditability, QA path, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remem import Memory
from remem.errors import InvalidInputError, LLMNotConfiguredError
from remem.eval import register_mode, run_locomo, run_longmemeval
from remem.eval.cli import eval_app
from remem.eval.metrics import lme_metrics, locomo_metrics, mean_metrics, sessions_by_best_turn
from remem.eval.modes import MODES
from remem.llm import ScriptedLLM
from remem.read import SearchConfig

FIXTURES = Path(__file__).parent / "fixtures" / "eval"
LOCOMO = FIXTURES / "locomo_tiny.json"
LME = FIXTURES / "longmemeval_tiny.json"


def _check_summary_recomputes(results: dict, group_field: str, recompute) -> None:
    """Every entry's metrics follow from its retrieved/gold lists, and the summary from the entries."""
    questions = results["questions"]
    assert questions
    for q in questions:
        assert q["metrics"] == recompute(q["retrieved"], q["gold"])
    for row in results["summary"]:
        chosen = [
            q["metrics"]
            for q in questions
            if q["mode"] == row["mode"]
            and row["group"] in ("all", str(q[group_field]))
            and all(q.get(k) == row[k] for k in ("protocol", "granularity") if k in row)
        ]
        means, n = mean_metrics(chosen)
        assert n == row["n"]
        assert means == pytest.approx(row["metrics"])


def test_locomo_end_to_end(tmp_path, embedder):
    out = tmp_path / "out"
    built = []

    def factory(path: Path, emb) -> Memory:
        built.append(path)
        return Memory(path=path, embedder=emb)

    report = run_locomo(
        LOCOMO, out_dir=out, modes=("bm25", "dense", "hybrid"), cache_dir=tmp_path / "cache",
        embedder=embedder, memory_factory=factory, progress=False,
    )
    assert len(built) == 2  # one fresh store per conversation
    results = json.loads((out / "results.json").read_text())
    assert {"config", "timings", "summary", "questions"} <= set(results)
    qs = results["questions"]
    # 8 questions in categories 1-4 (category 5 skipped), each in 3 modes
    assert len(qs) == 8 * 3
    assert {q["category"] for q in qs} == {1, 2, 3, 4}
    for q in qs:
        assert {"id", "question", "category", "gold", "retrieved", "metrics", "mode"} <= set(q)
        assert len(q["retrieved"]) == len(set(q["retrieved"]))
        assert all(r.startswith("D") for r in q["retrieved"])  # dia_ids map back
    by = {(q["id"], q["mode"]): q for q in qs}
    # malformed evidence normalised
    assert by[("conv-a/q2", "hybrid")]["gold"] == ["D2:2", "D1:4"]
    assert by[("conv-a/q3", "hybrid")]["gold"] == ["D2:3"]
    # the photo caption is indexed with the turn: BM25 finds it from words only in the caption
    assert by[("conv-a/q1", "bm25")]["retrieved"][0] == "D1:3"
    # the question without evidence is kept in results but out of the means
    assert by[("conv-a/q5", "hybrid")]["metrics"]["recall@10"] is None
    _check_summary_recomputes(results, "category", locomo_metrics)
    overall = report.metric("recall@50", mode="hybrid")
    # conv-b/q1 has one gold id naming no turn (D9:9): recall@50 is 0.5 there, 1.0 elsewhere
    assert overall == pytest.approx((6 + 0.5) / 7)
    assert report.metric("all@50", mode="bm25") == pytest.approx(6 / 7)
    assert (out / "report.md").read_text().count("| all |") >= 3
    assert (out / "recall_at_k.png").stat().st_size > 1000
    assert (out / "latency.png").stat().st_size > 1000
    cfg = results["config"]
    assert cfg["embedder"]["model"] == embedder.model_name
    assert set(cfg["modes"]) == {"bm25", "dense", "hybrid"}
    assert cfg["git_commit"] and cfg["remem_version"]
    t = results["timings"]
    assert t["turns"] == 11 and t["stores"] == 2
    assert set(t["search_ms"]) == {"bm25", "dense", "hybrid"}


def test_locomo_subsets(tmp_path, embedder):
    one = run_locomo(LOCOMO, out_dir=None, limit=1, embedder=embedder, cache_dir=tmp_path, progress=False)
    assert {q["id"].split("/")[0] for q in one.questions} == {"conv-a"}
    cats = run_locomo(LOCOMO, out_dir=None, categories=[4], embedder=embedder, cache_dir=tmp_path, progress=False)
    assert {q["category"] for q in cats.questions} == {4}
    s1 = run_locomo(LOCOMO, out_dir=None, sample=3, seed=1, embedder=embedder, cache_dir=tmp_path, progress=False)
    s2 = run_locomo(LOCOMO, out_dir=None, sample=3, seed=1, embedder=embedder, cache_dir=tmp_path, progress=False)
    assert len(s1.questions) == 3 and [q["id"] for q in s1.questions] == [q["id"] for q in s2.questions]
    with pytest.raises(InvalidInputError):
        run_locomo(LOCOMO, out_dir=None, categories=[9], embedder=embedder, progress=False)
    with pytest.raises(InvalidInputError):
        run_locomo(LOCOMO, out_dir=None, modes=("nope",), embedder=embedder, progress=False)


def test_registered_mode_with_search_config(tmp_path, embedder):
    register_mode("hybrid-score-test", config=SearchConfig(fusion="score"), mode="hybrid")
    try:
        report = run_locomo(
            LOCOMO, out_dir=None, modes="hybrid,hybrid-score-test", limit=1, embedder=embedder, cache_dir=tmp_path, progress=False
        )
        assert {q["mode"] for q in report.questions} == {"hybrid", "hybrid-score-test"}
        assert report.config["modes"]["hybrid-score-test"]["search_config"]["fusion"] == "score"
    finally:
        MODES.pop("hybrid-score-test")


def test_longmemeval_end_to_end(tmp_path, embedder):
    out = tmp_path / "lme"
    report = run_longmemeval(LME, out_dir=out, modes=("bm25", "hybrid"), cache_dir=tmp_path, embedder=embedder, progress=False)
    results = json.loads((out / "results.json").read_text())
    qs = results["questions"]
    assert "q-multi_abs" not in {q["id"] for q in qs}  # abstention skipped
    # 3 questions x 2 protocols x 2 granularities x 2 modes
    assert len(qs) == 24
    by = {(q["id"], q["protocol"], q["granularity"], q["mode"]): q for q in qs}
    official_turns = by[("q-user", "official", "turn", "bm25")]["retrieved"]
    # official protocol indexes user turns only (odd positions: 1, 3 in a user-first session)
    assert official_turns and all(int(t.rsplit("_", 1)[1]) % 2 == 1 for t in official_turns)
    assert by[("q-user", "official", "turn", "bm25")]["gold"] == ["answer_q1_1_1"]
    assert by[("q-user", "full", "turn", "bm25")]["gold"] == ["answer_q1_1_1"]
    # the answer is in an assistant turn: no official gold at all, the quirk applies
    quirk = by[("q-assistant", "official", "turn", "hybrid")]
    assert quirk["gold"] == [] and quirk["metrics"]["recall_all@5"] == 1.0 and quirk["metrics"]["recall_any@5"] == 0.0
    assert by[("q-assistant", "official", "session", "hybrid")]["gold"] == []
    assert by[("q-assistant", "full", "turn", "hybrid")]["gold"] == ["answer_q2_1_2"]
    assert by[("q-assistant", "full", "session", "hybrid")]["gold"] == ["answer_q2_1"]
    assert by[("q-multi", "official", "session", "bm25")]["gold"] == ["answer_q3_1", "answer_q3_2"]
    # the empty assistant turn was skipped, not stored
    assert "answer_q1_1_4" not in by[("q-user", "full", "turn", "bm25")]["retrieved"]
    # session ranking is the turn ranking deduplicated by best turn
    for (qid, proto, gran, mode), q in by.items():
        if gran == "session":
            turns = by[(qid, proto, "turn", mode)]["retrieved"]
            assert q["retrieved"] == sessions_by_best_turn(turns)
    _check_summary_recomputes(results, "type", lme_metrics)
    assert report.metric("recall_all@5", mode="bm25", protocol="official", granularity="session") is not None
    assert (out / "recall_all_official_session.png").exists() and (out / "report.md").exists()
    assert results["config"]["no_gold"]["official/turn"] == ["q-assistant"]


def test_longmemeval_filters(tmp_path, embedder):
    r = run_longmemeval(LME, out_dir=None, types=["multi-session"], protocols=["full"], embedder=embedder, cache_dir=tmp_path, progress=False)
    assert {q["id"] for q in r.questions} == {"q-multi"} and {q["protocol"] for q in r.questions} == {"full"}
    r = run_longmemeval(LME, out_dir=None, limit=1, embedder=embedder, cache_dir=tmp_path, progress=False)
    assert {q["id"] for q in r.questions} == {"q-user"}
    with pytest.raises(InvalidInputError):
        run_longmemeval(LME, out_dir=None, types=["nonsense"], embedder=embedder, progress=False)


def _responder(calls: list):
    def reply(name: str, variables: dict):
        calls.append(name)
        if name == "answer":
            return {"reasoning": "from memory [1]", "answer": "Biscuit" if "dog" in variables["question"] else "Kyoto, Berlin"}
        return {"reasoning": "compared", "label": "CORRECT" if variables["answer"].lower() in variables["gold"].lower() else "WRONG"}

    return reply


def test_locomo_qa_with_scripted_llm_and_cache(tmp_path, embedder):
    calls: list[str] = []
    llm = ScriptedLLM(_responder(calls))
    report = run_locomo(
        LOCOMO, out_dir=tmp_path / "qa", qa=True, llm=llm, cache_dir=tmp_path, embedder=embedder, categories=[4], progress=False
    )
    qa = {q["id"]: q["qa"] for q in report.questions}
    assert qa["conv-a/q0"]["answer"] == "Biscuit" and qa["conv-a/q0"]["label"] == "CORRECT" and qa["conv-a/q0"]["f1"] == 1.0
    assert qa["conv-b/q0"]["label"] == "WRONG" and qa["conv-b/q0"]["f1"] == 0.0
    assert all(v["context_tokens"] > 0 for v in qa.values())
    row = next(r for r in report.qa_summary if r["group"] == "all")
    assert row["metrics"]["J"] == pytest.approx(sum(v["correct"] for v in qa.values()) / len(qa))
    assert "J (judge)" in (tmp_path / "qa" / "report.md").read_text()
    n_calls = len(calls)
    assert n_calls == 2 * len(qa)
    # a rerun is answered from the disk cache
    again = run_locomo(
        LOCOMO, out_dir=None, qa=True, llm=ScriptedLLM(_responder(calls)), cache_dir=tmp_path, embedder=embedder, categories=[4], progress=False
    )
    assert len(calls) == n_calls
    assert all(q["qa"]["cached"] for q in again.questions)


def test_qa_without_llm_fails_clearly(monkeypatch, tmp_path):
    for var in ("REMEM_LLM_BASE_URL", "REMEM_LLM_MODEL", "REMEM_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(LLMNotConfiguredError):
        run_locomo(LOCOMO, out_dir=None, qa=True, progress=False)
    result = CliRunner().invoke(eval_app, ["locomo", "--data", str(LOCOMO), "--qa", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "REMEM_LLM_BASE_URL" in result.output
    assert not (tmp_path / "x").exists()


def test_cli_prints_tables_and_writes_files(tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        eval_app,
        ["longmemeval", "--data", str(LME), "--out", str(out), "--compare", "bm25,hybrid", "--cache-dir", str(tmp_path), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "official protocol" in result.output and "full mode" in result.output
    assert "p95" in result.output
    assert (out / "results.json").exists()
    bad = CliRunner().invoke(eval_app, ["locomo", "--data", str(LOCOMO), "--compare", "bm25,nope", "--out", str(tmp_path / "y")])
    assert bad.exit_code == 2 and "unknown eval mode" in bad.output
