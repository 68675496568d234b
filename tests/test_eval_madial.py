"""MADial-Bench in the evaluation harness: loader, run_madial end to end, CLI, and the real file when present."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from remem import Memory
from remem.errors import InvalidInputError
from remem.eval import load_madial, run_madial
from remem.eval.cli import eval_app
from remem.eval.datasets import MADIAL_CATEGORIES
from remem.eval.metrics import mean_metrics
from remem.eval.runner import madial_metrics

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "madial" / "madial_en.json"


def _memory(mid: str, date: str, speaker: str, text: str, scene: str) -> dict:
    return {"id": f"S{mid[1:]}", "date": date, "turns": [{"id": mid, "speaker": speaker, "text": text, "scene": scene, "emotion": "Happy"}]}


def _question(qid: str, lines: list[str], category: str, evidence: list[str]) -> dict:
    return {
        "id": qid,
        "question": "\n".join(lines),
        "query_last_user": lines[-1].split(": ", 1)[1],
        "answer": "Do you remember?",
        "answer_all": ["Do you remember?"],
        "category": category,
        "evidence": evidence,
        "evidence_level": "turn",
        "evidence_sessions": [f"S{e[1:]}" for e in evidence],
        "evidence_primary": evidence[0],
        "test_turn_index": [6],
    }


FIXTURE = {
    "name": "madial_tiny",
    "source": "hand-made for tests",
    "conversations": [
        {
            "id": "user_bart",
            "speakers": ["Bart", "Assistant"],
            "sessions": [
                _memory("M1", "2022-01-01", "Bart", "At the New Year's Eve party, Bart made colored paper lanterns with his classmates.", "Activity"),
                _memory("M2", "2022-03-05", "Bart", "Bart adopted a small grey kitten named Pepper from the animal shelter.", "Preferences"),
                _memory("M3", "2022-06-10", "Bart", "Bart felt nervous before his piano recital but played the sonata perfectly.", "Emotional"),
                _memory("M4", "2022-08-20", "Bart", "Bart loves eating strawberry ice cream on the beach boardwalk.", "Preferences"),
                _memory("M5", "2023-02-14", "Bart", "Bart built a wooden birdhouse with his grandfather in the garage.", "Others"),
                _memory("M6", "2023-05-01", "Bart", "Bart scored the winning goal in the school football match.", "Activity"),
            ],
            "questions": [
                _question(
                    "madial_d0",
                    [
                        "Bart: At the New Year's Eve party, Bart made colored paper lanterns with his classmates.",
                        "Assistant: That sounds like fun!",
                        "Bart: I want to do something like that again.",
                    ],
                    "Activity",
                    ["M1"],
                ),
                _question(
                    "madial_d2",
                    [
                        "Bart: My grey kitten Pepper from the animal shelter is sleeping on my bed.",
                        "Assistant: How cute!",
                        "Bart: What should I do this weekend?",
                    ],
                    "Preferences",
                    ["M2", "M6"],
                ),
            ],
        },
        {
            "id": "user_lisa",
            "speakers": ["Lisa", "Assistant"],
            "sessions": [
                _memory("M1", "2012-12-24", "Lisa", "Lisa received an emerald green jade pendant from her grandmother.", "Others"),
                _memory("M2", "2021-09-01", "Lisa", "Lisa cried when her best friend Emma moved to another country.", "Emotional"),
                _memory("M3", "2022-04-02", "Lisa", "Lisa won first place in the school art competition with a watercolor painting.", "Activity"),
                _memory("M4", "2022-07-15", "Lisa", "Lisa learned to ride a bicycle in the park with her father.", "Activity"),
                _memory("M5", "2023-01-20", "Lisa", "Lisa enjoys reading mystery novels under a blanket on rainy days.", "Preferences"),
                _memory("M6", "2024-06-08", "Lisa", "Lisa planted sunflowers and tomatoes in the school garden.", "Others"),
            ],
            "questions": [
                _question(
                    "madial_d1",
                    [
                        "Lisa: I miss Emma so much, my best friend who moved to another country.",
                        "Assistant: That must be hard.",
                        "Lisa: I still have her letters.",
                    ],
                    "Emotional",
                    ["M2"],
                ),
                _question(
                    "madial_d3",
                    [
                        "Lisa: Grandma came to visit today!",
                        "Assistant: How lovely!",
                        "Lisa: She asked if I still wear the emerald green jade pendant.",
                    ],
                    "Others",
                    ["M1", "M6"],
                ),
            ],
        },
    ],
}


@pytest.fixture
def madial_file(tmp_path: Path) -> Path:
    path = tmp_path / "madial_tiny.json"
    path.write_text(json.dumps(FIXTURE), encoding="utf-8")
    return path


def test_load_madial_structure(madial_file):
    hays = load_madial(madial_file)
    assert [h.id for h in hays] == ["user_bart", "user_lisa"]
    bart, lisa = hays
    assert [s.id for s in bart.sessions] == ["S1", "S2", "S3", "S4", "S5", "S6"] and bart.turns() == 6
    first = bart.sessions[0]
    assert first.date == datetime(2022, 1, 1, tzinfo=timezone.utc) and first.date.tzinfo is not None
    (msg,) = first.messages
    assert msg["role"] == "user" and msg["name"] == "Bart" and msg["id"] == "M1"
    assert msg["content"].startswith("At the New Year's Eve party")
    assert msg["metadata"] == {"unit_id": "M1", "session": "S1", "scene": "Activity", "emotion": "Happy"}
    assert lisa.sessions[0].date == datetime(2012, 12, 24, tzinfo=timezone.utc)
    q = {q.id: q for h in hays for q in h.questions}
    assert set(q) == {"madial_d0", "madial_d1", "madial_d2", "madial_d3"}
    assert q["madial_d2"].gold == {"turn": ["M2", "M6"], "primary": ["M2"]}
    assert q["madial_d2"].group == "Preferences"
    assert q["madial_d2"].question.count("\n") == 2  # the whole dialogue by default
    # no dialogue date in the data: the archive's latest memory date
    assert q["madial_d0"].date == datetime(2023, 5, 1, tzinfo=timezone.utc)
    assert q["madial_d3"].date == datetime(2024, 6, 8, tzinfo=timezone.utc)
    assert q["madial_d3"].extra["evidence_sessions"] == ["S1", "S6"]

    last = {q.id: q for h in load_madial(madial_file, query="last_user") for q in h.questions}
    assert last["madial_d3"].question == "She asked if I still wear the emerald green jade pendant."
    assert last["madial_d3"].extra["dialogue"] == q["madial_d3"].question

    with pytest.raises(InvalidInputError):
        load_madial(madial_file, query="nope")
    with pytest.raises(InvalidInputError):
        load_madial(madial_file.parent / "missing.json")
    bad = madial_file.parent / "bad.json"
    bad.write_text("[]", encoding="utf-8")
    with pytest.raises(InvalidInputError):
        load_madial(bad)


def test_run_madial_end_to_end(tmp_path, madial_file, embedder):
    out = tmp_path / "out"
    built = []

    def factory(path: Path, emb) -> Memory:
        built.append(path)
        return Memory(path=path, embedder=emb)

    report = run_madial(
        madial_file, out_dir=out, modes=("bm25", "hybrid"), cache_dir=tmp_path / "cache",
        embedder=embedder, memory_factory=factory, progress=False,
    )
    assert len(built) == 2  # one fresh store per user archive
    results = json.loads((out / "results.json").read_text())
    qs = results["questions"]
    assert len(qs) == 4 * 2
    by = {(q["id"], q["mode"]): q for q in qs}
    for q in qs:
        assert len(q["retrieved"]) == len(set(q["retrieved"]))
        assert set(q["retrieved"]) <= {f"M{i}" for i in range(1, 7)}  # turn ids map back
        assert q["metrics"] == madial_metrics(q["retrieved"], q["gold"], q["gold_primary"])
    # evidence quoted word for word in the dialogue: BM25 ranks it first
    assert by[("madial_d0", "bm25")]["retrieved"][0] == "M1"
    assert by[("madial_d0", "bm25")]["metrics"]["recall@1"] == 1.0
    assert by[("madial_d1", "bm25")]["retrieved"][0] == "M2"
    # two evidence memories, only the primary one cued: half recall, not all, primary found
    m = by[("madial_d2", "bm25")]["metrics"]
    assert by[("madial_d2", "bm25")]["retrieved"][0] == "M2"
    assert (m["recall@1"], m["all@1"], m["primary@1"]) == (0.5, 0.0, 1.0)
    # hybrid ranks every memory of a 6-memory archive: everything is found by @50
    for qid in ("madial_d0", "madial_d1", "madial_d2", "madial_d3"):
        assert by[(qid, "hybrid")]["metrics"]["all@50"] == 1.0
    # summary rows follow from the entries
    for row in results["summary"]:
        chosen = [q["metrics"] for q in qs if q["mode"] == row["mode"] and row["group"] in ("all", q["category"])]
        means, n = mean_metrics(chosen)
        assert n == row["n"] and means == pytest.approx(row["metrics"])
    groups = {r["group"] for r in results["summary"]}
    assert groups == {"all", "Activity", "Emotional", "Others", "Preferences"}
    bm25_r1 = report.metric("recall@1", mode="bm25")
    assert bm25_r1 == pytest.approx(sum(by[(q, "bm25")]["metrics"]["recall@1"] for q in ("madial_d0", "madial_d1", "madial_d2", "madial_d3")) / 4)
    assert bm25_r1 >= (1 + 1 + 0.5) / 4  # d0, d1 fully found at @1, d2 half
    assert report.metric("primary@10", mode="hybrid") is not None
    assert report.metric("recall@10", mode="bm25", group="Preferences") == pytest.approx(m["recall@10"])
    md = (out / "report.md").read_text()
    assert "MADial-Bench evidence recall@k" in md and "all-evidence@k" in md and "primary-evidence" in md
    assert md.count("| all |") >= 6  # 3 tables x 2 modes
    assert (out / "recall_at_k.png").stat().st_size > 1000
    assert (out / "primary_at_k.png").stat().st_size > 1000
    cfg = results["config"]
    assert cfg["benchmark"] == "madial" and cfg["query"] == "dialogue" and set(cfg["modes"]) == {"bm25", "hybrid"}
    assert results["timings"]["turns"] == 12 and results["timings"]["stores"] == 2


def test_run_madial_subsets_and_query(tmp_path, madial_file, embedder):
    kw = dict(out_dir=None, modes="bm25", embedder=embedder, cache_dir=tmp_path, progress=False)
    first = run_madial(madial_file, limit=1, **kw)
    assert [q["id"] for q in first.questions] == ["madial_d0"]
    s1 = run_madial(madial_file, sample=2, seed=3, **kw)
    s2 = run_madial(madial_file, sample=2, seed=3, **kw)
    assert len(s1.questions) == 2 and [q["id"] for q in s1.questions] == [q["id"] for q in s2.questions]
    last = run_madial(madial_file, query="last_user", **kw)
    q = {q["id"]: q for q in last.questions}
    assert q["madial_d2"]["question"] == "What should I do this weekend?"
    assert q["madial_d3"]["retrieved"][0] == "M1"  # the pendant is named in the last user message
    assert last.config["query"] == "last_user"
    with pytest.raises(InvalidInputError):
        run_madial(madial_file, query="whole", **kw)
    with pytest.raises(InvalidInputError):
        run_madial(madial_file, **{**kw, "modes": "nope"})


def test_cli_madial(tmp_path, madial_file):
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        eval_app,
        ["madial", "--data", str(madial_file), "--out", str(out), "--compare", "bm25,hybrid", "--query", "last_user",
         "--cache-dir", str(tmp_path), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "MADial-Bench evidence recall@k" in result.output and "primary-evidence" in result.output
    assert json.loads((out / "results.json").read_text())["config"]["query"] == "last_user"
    bad = CliRunner().invoke(eval_app, ["madial", "--data", str(madial_file), "--query", "all", "--out", str(tmp_path / "y")])
    assert bad.exit_code == 2 and "unknown MADial query" in bad.output


@pytest.mark.skipif(not REAL.is_file(), reason="../shared/data/madial/madial_en.json not present")
def test_real_madial_file_counts():
    hays = load_madial(REAL)
    assert len(hays) == 2
    assert sum(len(h.questions) for h in hays) == 160
    assert [h.turns() for h in hays] == [76, 84]
    for h in hays:
        units = {m["metadata"]["unit_id"] for s in h.sessions for m in s.messages}
        assert len(units) == h.turns() and all(len(s.messages) == 1 for s in h.sessions)
        assert all(s.date is not None and s.date.tzinfo is not None for s in h.sessions)
        latest = max(s.date for s in h.sessions)
        for q in h.questions:
            assert q.gold["turn"] and set(q.gold["turn"]) <= units
            assert q.gold["primary"] == q.gold["turn"][:1]
            assert q.group in MADIAL_CATEGORIES and q.date == latest
