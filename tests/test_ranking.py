"""The fitted read path: calibrated scores, degenerate inputs, small stores ranked right.

Everything goes through the public API (``Memory.add`` / ``Memory.search``) on real SQLite
stores with the bundled embedder, except the ranker's own arithmetic.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from remem import Memory
from remem.errors import InvalidInputError
from remem.eval.small_stores import load_small_stores
from remem.read import ranker
from remem.read.features import FEATURES, question_share
from remem.read.search import last_message
from remem.models import MemoryRecord
from remem.write import IndexConfig, index_text
from remem.write.ingest import context_of
from remem.read.lexical import idf, query_terms, stems

REPO = Path(__file__).resolve().parent.parent
SMALL = load_small_stores()


@pytest.fixture
def fresh(tmp_path: Path, embedder: Any) -> Any:
    made = []

    def make(name: str = "m.db") -> Memory:
        m = Memory(tmp_path / name, embedder=embedder, llm=None)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


# --------------------------------------------------------------------------- calibration


def test_shipped_parameters_load_and_name_every_feature() -> None:
    model = ranker.load()
    assert set(model.weights) == set(FEATURES)
    assert model.meta["fitted_on"]  # what it was fitted on is recorded
    assert {e["dataset"] for e in model.meta["leave_one_dataset_out"]} >= {"locomo", "longmemeval"}


@pytest.mark.parametrize("feature", [f for f in FEATURES if ranker.load().weights.get(f, 0.0) > 0])
def test_score_is_bounded_and_monotone_in_positive_evidence(feature: str) -> None:
    model = ranker.load()
    base = {f: 0.0 for f in FEATURES}
    previous = -1.0
    for value in [0.0, 0.1, 0.3, 0.5, 0.8, 1.0]:
        score = model.score({**base, feature: value})
        assert 0.0 < score < 1.0
        assert score > previous
        previous = score


def test_idf_is_positive_and_ordered_even_in_a_tiny_store() -> None:
    # FTS5's bm25() clamps the IDF of a word in 2 of 3 rows to 1e-6; ours stays positive and ordered
    assert idf(3, 2) > 0 and idf(3, 1) > idf(3, 2) > idf(3, 3) > 0
    terms = query_terms(["sister", "wedding"], 3, {"sister": 2, "wedding": 0})
    assert terms.coverage(stems("My sister Ana")) < terms.coverage(stems("sister wedding")) == pytest.approx(1.0)
    assert terms.coverage(set()) == 0.0


def test_malformed_parameters_are_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"bias": 0, "weights": {"nonsense": 1}}))
    with pytest.raises(InvalidInputError, match="unknown features"):
        ranker.load(str(bad))
    bad.write_text("{")
    with pytest.raises(InvalidInputError):
        ranker.load(str(bad))


# --------------------------------------------------------------------------- degenerate inputs


def test_a_single_memory_gets_a_probability_not_a_rank_artifact(fresh: Any) -> None:
    mem = fresh()
    mem.add("I am allergic to peanuts.", user_id="u")
    relevant = mem.search("what am I allergic to?", user_id="u")
    unrelated = mem.search("quantum chromodynamics lecture notes", user_id="u")
    assert len(relevant) == 1 and len(unrelated) == 1
    assert relevant[0].score > 10 * unrelated[0].score  # min-max would have given both 1.0
    assert mem.search("quantum chromodynamics lecture notes", user_id="u", threshold=0.05) == []
    assert len(mem.search("what am I allergic to?", user_id="u", threshold=0.05)) == 1


def test_identical_memories_tie_and_scores_do_not_depend_on_the_candidate_count(fresh: Any) -> None:
    one, many = fresh("one.db"), fresh("many.db")
    one.add("My dog's name is Biscuit.", user_id="u")
    many.add(["My dog's name is Biscuit."] * 1 + ["The train was late again.", "I bought new running shoes."], user_id="u")
    a = one.search("what is my dog called?", user_id="u")[0]
    b = many.search("what is my dog called?", user_id="u")[0]
    assert a.memory.content == b.memory.content
    assert abs(a.score - b.score) < 0.15  # same evidence, about the same probability
    twins = fresh("twins.db")
    twins.add(["I like green tea.", "I like green tea."], user_id="u", timestamp=None)
    hits = twins.search("green tea", user_id="u")
    assert len(hits) == 2 and hits[0].score == pytest.approx(hits[1].score)


def test_one_empty_retriever(fresh: Any) -> None:
    mem = fresh()
    mem.add(["Zyx qwv plonk.", "I moved to Lisbon in May."], user_id="u")
    hits = mem.search("where do I live these days", user_id="u")  # no word of it is indexed: BM25 is empty
    assert hits and hits[0].memory.content == "I moved to Lisbon in May."
    assert "bm25" not in hits[0].explanation and "dense" in hits[0].explanation


def test_threshold_is_validated(fresh: Any) -> None:
    mem = fresh()
    mem.add("x", user_id="u")
    for bad in (-0.1, 1.5, "high", True):
        with pytest.raises(InvalidInputError):
            mem.search("x", user_id="u", threshold=bad)


# --------------------------------------------------------------------------- stores a person checks by eye


def test_three_memories_in_one_session(fresh: Any) -> None:
    mem = fresh()
    mem.add(
        ["I live in Porto, near the river.", "My sister Ana is getting married in June.", "I am allergic to peanuts."],
        user_id="u", session_id="s1",
    )  # fmt: skip
    hits = mem.search("sister wedding", user_id="u")
    assert hits[0].memory.content.startswith("My sister Ana")
    peanut = next(h for h in hits if "peanuts" in h.memory.content)
    assert peanut.score < hits[0].score / 2  # its context (the sister turn) is evidence, not content


def _demo(mem: Memory) -> None:
    data = json.loads(resources.files("remem.data").joinpath("demo_conversation.json").read_text())
    for s in data["sessions"]:
        mem.add(s["messages"], user_id="alice", session_id=s["session_id"], timestamp=s["timestamp"])


@pytest.mark.parametrize(
    "query, expected",
    [
        ("Where does Alice live now?", "Lisbon"),
        ("peanuts", "peanuts"),
        ("What is Alice allergic to?", "allergic to peanuts"),
        ("What is the name of Alice's pet?", "Miso"),
        ("When does the Camino start?", "September 8th"),
        ("Who does Alice hike with?", "Inês"),
    ],
)
def test_demo_queries(fresh: Any, query: str, expected: str) -> None:
    mem = fresh()
    _demo(mem)
    hits = mem.search(query, user_id="alice", now="2024-08-01")
    assert expected in hits[0].memory.content, [h.memory.content for h in hits[:3]]
    if query == "peanuts":  # both turns that say it come first, the allergy among them
        assert all("peanuts" in h.memory.content for h in hits[:2])
        assert any("allergic to peanuts" in h.memory.content for h in hits[:2])


def test_supersession_is_explained(fresh: Any) -> None:
    mem = fresh()
    mem.add("I live in Berlin, in a small flat in Kreuzberg.", user_id="u", timestamp="2022-03-10")
    mem.add("We moved to Munich last month, the new flat is near the Isar.", user_id="u", timestamp="2024-02-20")
    now = datetime(2024, 6, 1, tzinfo=timezone.utc)
    present = mem.search("where do I live now?", user_id="u", now=now)
    assert "Munich" in present[0].memory.content
    berlin = next(h for h in present if "Berlin" in h.memory.content)
    assert berlin.explanation["superseded_by"] == present[0].memory.id
    past = mem.search("where did I live in 2022?", user_id="u", now=now)
    assert "Berlin" in past[0].memory.content
    assert "superseded_by" not in past[0].explanation


def test_supersession_is_two_features_explicit_present_and_tense_alone(fresh: Any) -> None:
    """"now"/"currently"/"still" make it `superseded_now`; present tense alone, `superseded`
    (weaker evidence, fitted apart); a past question makes neither."""
    mem = fresh()
    mem.add("I live in Berlin, in a small flat in Kreuzberg.", user_id="u", timestamp="2022-03-10")
    mem.add("We moved to Munich last month, the new flat is near the Isar.", user_id="u", timestamp="2024-02-20")
    now = datetime(2024, 6, 1, tzinfo=timezone.utc)

    def berlin(query: str) -> dict[str, float]:
        hits = mem.search(query, user_id="u", now=now)
        return next(h for h in hits if "Berlin" in h.memory.content).explanation["features"]

    assert berlin("where do I live now?").get("superseded_now") == 1.0
    assert "superseded" not in berlin("where do I live now?")
    assert berlin("where do I live?").get("superseded") == 1.0
    assert "superseded_now" not in berlin("where do I live?")
    past = berlin("where did I live in 2022?")
    assert "superseded" not in past and "superseded_now" not in past
    model = ranker.load()
    assert model.weights["superseded_now"] < 0 and model.weights["superseded"] <= 0


# cases the shipped ranker still gets wrong, kept in the data so the fit sees them (not strict:
# its margin is small, and other CPUs' int8 kernels may tip it; an XPASS says a refit fixed it)
KNOWN_MISSES = {
    "chat-with-assistant#3": "the assistant's question holds 'food' and 'recipes'; the answer holds neither",
}


@pytest.mark.parametrize(
    "case",
    [pytest.param(q, marks=pytest.mark.xfail(reason=KNOWN_MISSES[q.id], strict=False)) if q.id in KNOWN_MISSES else q for h in SMALL for q in h.questions],
    ids=lambda q: q.id,
)
def test_small_store_cases(fresh: Any, case: Any) -> None:
    hay = next(h for h in SMALL if h.id == case.group)
    mem = fresh()
    for s in hay.sessions:
        mem.add(s.messages, user_id="u", session_id=s.id, timestamp=s.date)
    hits = mem.search(case.question, user_id="u", now=case.date)
    top = str(hits[0].memory.metadata["unit_id"])
    assert top in case.gold["turn"], [(round(h.score, 3), h.memory.content) for h in hits[:3]]


def test_a_whole_dialogue_as_query(fresh: Any) -> None:
    mem = fresh()
    mem.add(
        ["At the lake last summer we taught Max to swim.", "My grandmother baked plum cake every Sunday.", "I broke my arm skiing in 2019."],
        user_id="u",
    )  # fmt: skip
    chatter = " ".join(f"User: I had a long day at work number {i}, meetings and emails. Assistant: That sounds tiring." for i in range(60))
    hits = mem.search(chatter + " User: it's so hot today, I wish I could go swimming at a lake again.", user_id="u")
    assert "lake" in hits[0].memory.content


# --------------------------------------------------------------------------- asking, answering, a dialogue's cue


@pytest.mark.parametrize(
    "text, share",
    [("Where do you work?", 1.0), ("I live in Porto.", 0.0), ("Nice to meet you. What do you do?", 0.5),
     ("I saw a flat. It had a view. It was cheap. Can you help?", 0.25), ("", 0.0), ("...", 0.0),
     ("Really?!", 1.0), ("How are you? 😊", 1.0), ("Where do you live?)", 1.0), ("Great! 🎉", 0.0)],
)  # fmt: skip
def test_question_share(text: str, share: float) -> None:
    assert question_share(text) == share


def test_an_answer_outranks_the_question_it_answers(fresh: Any) -> None:
    mem = fresh()
    mem.add(
        [{"role": "assistant", "content": "Nice to meet you, Sam. What do you do for work?"},
         {"role": "user", "content": "I'm a nurse at the children's hospital."}],
        user_id="u", session_id="s",
    )  # fmt: skip
    hits = mem.search("what do I do for work?", user_id="u")
    assert "nurse" in hits[0].memory.content
    asked, answer = hits[1].explanation["features"], hits[0].explanation["features"]
    assert asked["question"] == 0.5 and asked["lex_asked"] == 1.0  # it asks about work
    assert answer["ctx_question"] == answer["lex_ctx"] > 0  # it answers a question about work
    assert "lex" not in answer  # it does not match on what only its neighbour says


@pytest.mark.parametrize(
    "text, last",
    [("User: hi\nAssistant: hello\nUser: I miss the lake", "User: I miss the lake"),
     ("User: hi\nUser: I miss the lake\nAssistant:", "User: I miss the lake"),  # a label awaiting its reply
     ("one block of text, however long", None), ("Bob:\nAlice:", None)],
)  # fmt: skip
def test_last_message(text: str, last: str | None) -> None:
    assert last_message(text) == last


@pytest.mark.parametrize("config", [IndexConfig(), IndexConfig(dates=True), IndexConfig(previous_turns=0)])
@pytest.mark.parametrize("speaker", [None, "Alice"])
def test_context_of_inverts_index_text(config: IndexConfig, speaker: str | None) -> None:
    when = datetime(2023, 5, 8, tzinfo=timezone.utc)
    before = MemoryRecord(content="Where do you work?", speaker="Bob", event_time=when, session_id="s")
    rec = MemoryRecord(content="At a bakery. ", speaker=speaker, event_time=when, session_id="s")
    text = index_text(rec, [before], config)
    expected = "(Bob: Where do you work?) " if config.previous_turns else ""
    assert context_of(text, rec.speaker, rec.content) == expected


def test_a_date_prefix_in_the_index_is_not_context(tmp_path: Path, embedder: Any) -> None:
    mem = Memory(tmp_path / "d.db", embedder=embedder, llm=None, index_config=IndexConfig(dates=True))
    mem.add([{"role": "assistant", "content": "Anything new?"}, {"role": "user", "content": "Pretty quiet, mostly reading."}],
            user_id="u", session_id="s", timestamp="2023-05-08T10:00:00Z")  # fmt: skip
    hit = next(h for h in mem.search("what did I do in May 2023?", user_id="u") if "quiet" in h.memory.content)
    assert "lex_ctx" not in hit.explanation["features"] and "ctx_question" not in hit.explanation["features"]
    mem.close()


def test_a_dialogue_query_is_also_read_by_its_last_message(fresh: Any) -> None:
    mem = fresh()
    mem.add(["We baked a plum cake with grandma last autumn.", "I broke my arm skiing in 2019."], user_id="u")
    lines = [f"User: work was long today, meeting number {i}.\nAssistant: That sounds tiring." for i in range(12)]
    hits = mem.search("\n".join(lines) + "\nUser: I'd love something sweet, like grandma's cake.", user_id="u")
    assert "plum cake" in hits[0].memory.content
    assert hits[0].explanation["features"]["cos_last"] > hits[1].explanation["features"].get("cos_last", 0.0)
    one_line = mem.search("grandma cake " * 30, user_id="u")  # long, but one block: no last message
    assert "cos_last" not in one_line[0].explanation["features"]


# --------------------------------------------------------------------------- the refit script


def _features_fixture(path: Path) -> None:
    rows = []
    for i in range(12):
        units = [f"u{i}_{j}" for j in range(6)]
        x = [[0.9 - 0.1 * j, 0.8 if j == 0 else 0.1 * j] + [0.0] * (len(FEATURES) - 2) for j in range(6)]
        rows.append({"id": f"q{i}", "group": "g", "gold": [units[i % 2]], "gold_sessions": [], "units": units, "sessions": [""] * 6, "x": x})
    data = {name: rows for name in ("locomo", "longmemeval", "madial", "small")}
    with gzip.open(path, "wt", encoding="utf-8") as f:
        json.dump({"features": list(FEATURES), "data": data}, f)


def test_refit_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    features = tmp_path / "f.json.gz"
    _features_fixture(features)
    outs = []
    for n in (1, 2):
        out = tmp_path / f"r{n}.json"
        done = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "fit_ranker.py"), "fit", "--features", str(features), "--out", str(out)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    check = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "fit_ranker.py"), "fit", "--check", "--features", str(features), "--out", str(tmp_path / "r1.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0 and "byte for byte" in check.stdout
    ranker.parse(json.loads(outs[0]))  # what it writes is what the read path loads


def test_collecting_one_dataset_into_a_file_of_other_features_is_refused(tmp_path: Path) -> None:
    features = tmp_path / "old.json.gz"
    with gzip.open(features, "wt", encoding="utf-8") as f:
        json.dump({"features": ["cos"], "data": {"locomo": []}}, f)
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "fit_ranker.py"), "collect", "--only", "small", "--features", str(features)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "collect every dataset" in done.stderr
    assert json.loads(gzip.open(features, "rt", encoding="utf-8").read())["features"] == ["cos"]  # left as it was
