"""Procedural memory through the public Memory API: learn -> procedures, failure lessons,
ADD / UPDATE / NOOP of strategies with history, evidence counts (per agent, across restarts),
tenant / agent / user isolation, and bad input. Decisions come from a scripted LLM whose
rules are keyed by the task text, so the real reconciliation logic runs."""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest

from remem import AsyncMemory, Memory
from remem.errors import InvalidInputError, LLMError, LLMNotConfiguredError, NotFoundError
from remem.llm import ScriptedLLM
from remem.models import Kind, Operation
from remem.procedural import DISTIL_STRATEGIES, PROMPTS
from remem.procedural.evidence import PRIOR_WEIGHT, prior
from remem.read.context import how_to_section

FAHRENHEIT = "Convert 50 degrees Fahrenheit to Celsius"
F_STEPS = ["Subtract 32 first: 50 - 32 = 18", "Then multiply by 5/9: 18 * 5/9 = 10", "Answer: 10 °C"]
F_WRONG = ["Multiply by 5/9: 50 * 5/9 = 27.8", "Subtract 32: -4.2", "Answer: -4.2 °C", "checker: wrong, expected 10"]
PERCENT = "A price rose from $40 to $50. What is the percent increase?"
P_STEPS = ["Change = 50 - 40 = 10", "Divide by the original price: 10 / 40 = 0.25", "Answer: 25%"]

F_DO = {"title": "Subtract 32 before scaling", "when_to_apply": "Converting a temperature from Fahrenheit to Celsius.",
        "steps": ["Subtract 32 from the Fahrenheit value", "Multiply the result by 5/9"], "level": "instance"}
F_CONCEPT = {"title": "Apply the offset before the scale factor", "when_to_apply": "Converting between units with an offset.",
             "steps": ["Remove the offset first", "Then apply the scale factor"], "level": "concept"}
F_AVOID = {"title": "Do not scale before removing the offset", "when_to_apply": "Converting Fahrenheit to Celsius.",
           "steps": ["Multiplying by 5/9 before subtracting 32"], "level": "instance"}
P_DO = {"title": "Divide the change by the original value", "when_to_apply": "Computing a percent increase or decrease of a price.",
        "steps": ["Take new minus old", "Divide by the old value, not the new one"], "level": "instance"}
LINE = re.compile(r"^\[(?P<id>[^\]]+)\] (?P<text>.*)$")


class Brain:
    """Answers distil_strategies from ``lessons`` (task substring, outcome -> strategies) and
    resolve_strategy from ``rules`` (new title substring -> action, target title substring, merged)."""

    def __init__(self) -> None:
        self.lessons: list[tuple[str, str, list[dict[str, Any]]]] = []
        self.rules: list[tuple[str, str, str | None, dict[str, Any] | None]] = []
        self.fail: dict[str, int] = {}
        self.seen: list[str] = []

    def __call__(self, name: str, v: dict[str, Any]) -> Any:
        self.seen.append(name)
        if self.fail.get(name, 0) > 0:
            self.fail[name] -= 1
            return LLMError(f"scripted {name} outage")
        if name == "distil_strategies":
            for key, outcome, strategies in self.lessons:
                if key in v["task"] and outcome.upper() == v["outcome"]:
                    return {"strategies": strategies}
            return {"strategies": []}
        assert name == "resolve_strategy", name
        existing = [LINE.match(line) for line in v["existing"].splitlines()]
        for new, action, target, merged in self.rules:
            if new in v["strategy"]:
                ids = [m["id"] for m in existing if m and target and target in m["text"]]
                if action == "ADD" or not ids:
                    return {"action": "ADD", "target_id": None, "merged": None, "reason": "new"}
                return {"action": action, "target_id": ids[0], "merged": merged, "reason": f"scripted {action}"}
        return {"action": "ADD", "target_id": None, "merged": None, "reason": "nothing like it"}


@pytest.fixture
def brain() -> Brain:
    b = Brain()
    b.lessons += [(FAHRENHEIT, "success", [F_DO, F_CONCEPT]), ("212", "failure", [F_AVOID]), (PERCENT, "success", [P_DO])]
    return b


@pytest.fixture
def smart(mem: Memory, brain: Brain) -> Memory:
    mem.llm = ScriptedLLM(brain)
    return mem


def strategies(mem: Memory, **scope: Any) -> list[Any]:
    return [r for r in mem.get_all(kind="procedural", **scope) if r.metadata.get("procedural") == "strategy"]


# --------------------------------------------------------------------------- without an LLM


def test_learn_without_llm_stores_the_trajectory_and_procedures_finds_it(mem: Memory) -> None:
    out = mem.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot", feedback="correct")
    mem.learn(PERCENT, P_STEPS, "success", agent_id="bot")
    rec = out.trajectory
    assert rec.kind == Kind.EPISODIC and rec.agent_id == "bot" and not out.strategies and not out.distilled
    assert rec.metadata["outcome"] == "success" and rec.metadata["task"] == FAHRENHEIT
    assert rec.metadata["steps"][0] == {"role": None, "content": F_STEPS[0]}
    assert rec.content.startswith(f"Task: {FAHRENHEIT}\nOutcome: success\nFeedback: correct\nKey steps:\n- Subtract 32")
    hits = mem.procedures("Convert 86 °F into Celsius", agent_id="bot")
    assert [h.type for h in hits] == ["trajectory", "trajectory"]
    top = hits[0]
    assert top.memory.id == rec.id and top.outcome == "success" and top.task == FAHRENHEIT and top.steps[0].startswith("Subtract 32")
    assert set(top.explanation) >= {"relevance", "prior", "evidence", "success_rate", "features"}
    assert mem.procedures("Convert 86 °F into Celsius", agent_id="other") == []
    text, used, tokens = how_to_section(hits, 500)
    assert text.startswith("## How to\n- Past attempt (success): Convert 50 degrees") and used and tokens > 0


def test_steps_may_be_messages_or_step_dicts(sqlite_mem: Memory) -> None:
    steps = [
        {"role": "user", "content": "Book a meeting on 4 March"},
        {"thought": "the tool wants ISO dates", "action": "calendar.book(date='2024-03-04')"},
        {"role": "tool", "content": "booked\n(id 7)"},
    ]
    rec = sqlite_mem.learn("Book a meeting", steps, "success", agent_id="bot").trajectory
    assert rec.metadata["key_lines"] == [
        "user: Book a meeting on 4 March", "thought: the tool wants ISO dates; action: calendar.book(date='2024-03-04')", "tool: booked",
    ]


def test_relearning_the_same_trajectory_adds_nothing(smart: Memory, brain: Brain) -> None:
    first = smart.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot")
    calls = len(brain.seen)
    again = smart.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot")
    assert again.trajectory.id == first.trajectory.id and again.distilled and not again.changes
    assert len(brain.seen) == calls and smart.count(agent_id="bot") == 3  # one trajectory, two strategies


# --------------------------------------------------------------------------- with an LLM


def test_learn_distils_strategies_with_provenance_and_levels(smart: Memory) -> None:
    out = smart.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot")
    traj = out.trajectory
    assert out.distilled and [c.action for c in out.changes] == ["ADD", "ADD"]
    by_level = {s.metadata["level"]: s for s in out.strategies}
    assert set(by_level) == {"instance", "concept"}
    do = by_level["instance"]
    assert do.kind == Kind.PROCEDURAL and do.agent_id == "bot" and do.source == [traj.id]
    assert do.metadata["polarity"] == "do" and do.metadata["evidence"] == {"success": 0, "failure": 0}
    assert do.content == "Subtract 32 before scaling. When: Converting a temperature from Fahrenheit to Celsius. Do: Subtract 32 from the Fahrenheit value; Multiply the result by 5/9"
    assert traj.metadata["distilled"] == DISTIL_STRATEGIES.id and set(traj.metadata["strategies"]) == {s.id for s in out.strategies}
    assert {(link.src, link.relation) for link in smart.links(do.id)} == {(traj.id, "distilled_into")}
    hits = smart.procedures("How do I turn 77 Fahrenheit into Celsius?", agent_id="bot", limit=3)
    assert hits[0].type == "strategy" and hits[0].memory.id == do.id and hits[0].level == "instance"
    assert hits[0].sources == [traj.id] and hits[0].when_to_apply.startswith("Converting a temperature")


def test_failure_lessons_are_things_to_avoid(smart: Memory) -> None:
    out = smart.learn("Convert 212 F to C", F_WRONG, "failure", agent_id="bot", feedback="expected 100")
    (lesson,) = out.strategies
    assert lesson.metadata["polarity"] == "avoid" and "Avoid: Multiplying by 5/9 before subtracting 32" in lesson.content
    hit = smart.procedures("convert 100 F to C", agent_id="bot")[0]
    assert hit.type == "strategy" and hit.polarity == "avoid"
    text, _, _ = how_to_section([hit], 300)
    assert "Avoid: Multiplying by 5/9" in text


def test_the_same_lesson_again_is_a_noop_and_a_refinement_an_update_with_history(smart: Memory, brain: Brain) -> None:
    first = smart.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot")
    do = next(s for s in first.strategies if s.metadata["level"] == "instance")
    # the same lesson from another task: an exact duplicate, NOOP without asking the LLM
    brain.lessons.insert(0, ("68", "success", [F_DO]))
    before = brain.seen.count("resolve_strategy")
    second = smart.learn("Convert 68 F to Celsius", ["68-32=36", "36*5/9=20", "Answer: 20"], "success", agent_id="bot")
    assert [c.action for c in second.changes] == ["NOOP"] and second.changes[0].memory_id == do.id and not second.strategies
    assert brain.seen.count("resolve_strategy") == before
    assert {link.src for link in smart.links(do.id)} == {first.trajectory.id, second.trajectory.id}
    # a refined wording: the LLM says UPDATE, so the stored strategy gets a new version
    refined = {**F_DO, "title": "Subtract 32 before scaling by 5/9", "steps": [*F_DO["steps"], "Round to one decimal"]}
    merged = {"title": refined["title"], "when_to_apply": F_DO["when_to_apply"], "steps": refined["steps"]}
    brain.lessons.insert(0, ("104", "success", [refined]))
    brain.rules.append(("Subtract 32 before scaling by 5/9", "UPDATE", "Subtract 32 before scaling", merged))
    third = smart.learn("Convert 104 F to Celsius", ["104-32=72", "72*5/9=40", "Answer: 40.0"], "success", agent_id="bot")
    assert [c.action for c in third.changes] == ["UPDATE"] and third.strategies[0].id == do.id
    current = smart.get(do.id)
    assert current.version == 2 and current.metadata["title"] == refined["title"] and current.metadata["steps"][-1] == "Round to one decimal"
    assert current.source == [first.trajectory.id, third.trajectory.id]
    history = smart.history(do.id)
    assert [h.op for h in history] == [Operation.ADD, Operation.UPDATE]
    assert history[0].record.metadata["title"] == "Subtract 32 before scaling" and "content" in history[1].changed_fields
    assert len(strategies(smart, agent_id="bot")) == 2  # no duplicate


def test_llm_noop_writes_nothing(smart: Memory, brain: Brain) -> None:
    smart.learn(PERCENT, P_STEPS, "success", agent_id="bot")
    other = {**P_DO, "title": "Use the old price as the base", "steps": ["Divide the difference by the old price"]}
    brain.lessons.insert(0, ("$80", "success", [other]))
    brain.rules.append(("Use the old price", "NOOP", "Divide the change", None))
    out = smart.learn("A price went from $80 to $100; percent increase?", ["20/80 = 0.25", "25%"], "success", agent_id="bot")
    assert [c.action for c in out.changes] == ["NOOP"] and len(strategies(smart, agent_id="bot")) == 1


def test_learned_strategies_are_not_facts_to_resolve(smart: Memory) -> None:
    from remem.models import utcnow
    from remem.write.resolve import nearest_facts

    do = _do_strategy(smart)
    vector = smart.embedder.embed([do.content])[0]
    found = nearest_facts(smart.store, vector, user_id=None, agent_id="bot", when=utcnow(), limit=5)
    assert do.id not in [c.record.id for c in found]  # the fact pipeline never UPDATEs or INVALIDATEs a strategy


def test_a_failed_distillation_keeps_the_trajectory_and_a_retry_distils_once(smart: Memory, brain: Brain) -> None:
    brain.fail["distil_strategies"] = 1  # a transport failure (not re-asked)
    with pytest.raises(LLMError, match="trajectory .* is stored"):
        smart.learn(PERCENT, P_STEPS, "success", agent_id="bot")
    assert smart.count(agent_id="bot") == 1 and not strategies(smart, agent_id="bot")
    out = smart.learn(PERCENT, P_STEPS, "success", agent_id="bot")
    assert out.distilled and [c.action for c in out.changes] == ["ADD"] and smart.count(agent_id="bot") == 2


def test_infer_false_skips_the_llm_and_infer_true_needs_one(smart: Memory, brain: Brain, tmp_path: Any, embedder: Any) -> None:
    out = smart.learn(PERCENT, P_STEPS, "success", agent_id="bot", infer=False)
    assert not out.distilled and not brain.seen
    with Memory(tmp_path / "plain.db", embedder=embedder, llm=None) as plain:
        with pytest.raises(LLMNotConfiguredError):
            plain.learn(PERCENT, P_STEPS, "success", agent_id="bot", infer=True)
        assert plain.count() == 0


def test_the_how_to_section_holds_the_strategies_that_apply(smart: Memory) -> None:
    smart.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot")
    smart.learn(PERCENT, P_STEPS, "success", agent_id="bot")
    text, hits, tokens = smart._procedures.how_to("Convert 77 F to Celsius", agent_id="bot", token_budget=400)
    assert text.startswith("## How to\n- Subtract 32 before scaling (instance). When: Converting a temperature from Fahrenheit to Celsius. Do: ")
    assert P_DO["title"] not in text and 0 < tokens <= 400 and hits[0].type == "strategy"
    assert smart._procedures.how_to("Write a poem about the sea", agent_id="bot") == ("", [], 0)
    small, used, _ = smart._procedures.how_to("Convert 77 F to Celsius", agent_id="bot", token_budget=60)
    assert len(used) == 1 and small.count("\n- ") == 1


def test_context_gains_a_how_to_section_when_strategies_apply(smart: Memory) -> None:
    smart.add("I prefer answers in metric units", user_id="u", agent_id="bot", infer=False)
    smart.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot")
    ctx = smart.context("Convert 77 F to Celsius", agent_id="bot", token_budget=800)
    assert ctx.how_to.startswith("## How to\n- Subtract 32 before scaling") and ctx.text.endswith(ctx.how_to)
    assert "metric units" in ctx.text and ctx.tokens <= 800
    assert all("procedural" not in m.metadata for m in ctx.memories)  # trajectories are not packed as turns
    assert smart.context("Write a poem about the sea", agent_id="bot").how_to == ""
    assert smart.context("Convert 77 F to Celsius", agent_id="other").how_to == ""


# --------------------------------------------------------------------------- evidence


def _do_strategy(mem: Memory, agent: str = "bot") -> Any:
    out = mem.learn(FAHRENHEIT, F_STEPS, "success", agent_id=agent)
    return next(s for s in out.strategies if s.metadata["level"] == "instance")


def test_learn_with_a_task_id_closes_the_loop_once(smart: Memory) -> None:
    do = _do_strategy(smart)
    shown = smart.procedures("Convert 59 F to Celsius", agent_id="bot", task_id="t1")
    assert do.id in [h.memory.id for h in shown]
    smart.procedures("Convert 59 F to Celsius", agent_id="bot", task_id="t1")  # looked up twice: still one task
    out = smart.learn("Convert 59 F to Celsius", ["59-32=27", "27*5/9=15", "15"], "success", agent_id="bot", task_id="t1", infer=False)
    assert do.id in out.rewarded and out.trajectory.metadata["task_id"] == "t1" and out.trajectory.metadata["counted"] == "success"
    assert smart.get(do.id).metadata["evidence"] == {"success": 1, "failure": 0}
    again = smart.feedback("t1", "success", agent_id="bot")
    assert not again.counted and smart.get(do.id).metadata["evidence"] == {"success": 1, "failure": 0}
    with pytest.raises(InvalidInputError, match="already closed"):
        smart.feedback("t1", "failure", agent_id="bot")
    smart.procedures("Convert 59 F to Celsius", agent_id="bot", task_id="t1")  # after closing: counts for nothing
    assert smart.get(do.id).metadata["evidence"] == {"success": 1, "failure": 0}
    last = smart.history(do.id)[-1]
    assert last.reason == "feedback: success (task t1)" and last.changed_fields == ["metadata"]
    hit = next(h for h in smart.procedures("Convert 59 F to Celsius", agent_id="bot") if h.memory.id == do.id)
    assert hit.evidence == {"success": 1, "failure": 0} and hit.success_rate == 1.0
    assert hit.explanation["prior"] == pytest.approx(1 + PRIOR_WEIGHT * (2 * 2 / 3 - 1), abs=1e-4)


def test_feedback_before_learn_counts_once(smart: Memory) -> None:
    do = _do_strategy(smart)
    smart.procedures("Convert 41 F to Celsius", agent_id="bot", task_id="t2")
    result = smart.feedback("t2", "failure")
    assert result.counted and [s.id for s in result.strategies if s.id == do.id]
    smart.learn("Convert 41 F to Celsius", ["41*5/9=22.8", "22.8"], "failure", agent_id="bot", task_id="t2", infer=False)
    assert smart.get(do.id).metadata["evidence"] == {"success": 0, "failure": 1}
    with pytest.raises(InvalidInputError, match="already closed as a failure"):
        smart.learn("Convert 41 F to Celsius", ["5"], "success", agent_id="bot", task_id="t2")
    with pytest.raises(NotFoundError):
        smart.feedback("nope", "success")


def test_the_success_prior_reorders_equally_relevant_strategies(smart: Memory, brain: Brain) -> None:
    twin = {**F_DO, "title": "Subtract 32 before you scale"}
    brain.lessons.insert(0, (FAHRENHEIT, "success", [F_DO, twin]))  # both as relevant as the task they come from
    a, b = smart.learn(FAHRENHEIT, F_STEPS, "success", agent_id="bot").strategies
    query = "Convert 95 degrees Fahrenheit to Celsius"
    first = smart.procedures(query, agent_id="bot", limit=1)[0]
    assert first.memory.id in {a.id, b.id} and first.explanation["prior"] == 1.0
    for i in range(4):  # the top strategy is shown (alone) and the task fails, until its twin overtakes it
        top = smart.procedures(query, agent_id="bot", limit=1, task_id=f"t{i}")[0]
        if top.memory.id != first.memory.id:
            break
        smart.feedback(f"t{i}", "failure", agent_id="bot")
    else:
        pytest.fail("four failures did not lower the strategy below its twin")
    loser = smart.get(first.memory.id)
    assert loser.metadata["evidence"] == {"success": 0, "failure": i} and 1 - PRIOR_WEIGHT <= prior(loser) < 1.0
    assert i == 1 and top.memory.id in {a.id, b.id} and top.explanation["prior"] == 1.0


def test_counters_survive_a_restart_and_are_per_agent(tmp_path: Any, embedder: Any, brain: Brain) -> None:
    path = tmp_path / "p.db"
    with Memory(path, embedder=embedder, llm=ScriptedLLM(brain)) as mem:
        mine, theirs = _do_strategy(mem, "a"), _do_strategy(mem, "b")
        assert mine.id != theirs.id
        mem.procedures("Convert 23 F to Celsius", agent_id="a", task_id="t")
        mem.procedures("Convert 23 F to Celsius", agent_id="b", task_id="t")
        with pytest.raises(InvalidInputError, match="several scopes"):
            mem.feedback("t", "success")
        mem.feedback("t", "success", agent_id="a")
    with Memory(path, embedder=embedder, llm=None) as mem:
        assert mem.get(mine.id).metadata["evidence"] == {"success": 1, "failure": 0}
        assert mem.get(theirs.id).metadata["evidence"] == {"success": 0, "failure": 0}
        hit = next(h for h in mem.procedures("Convert 23 F to Celsius", agent_id="a") if h.memory.id == mine.id)
        assert hit.success_rate == 1.0
        assert mem.feedback("t", "success", agent_id="a").counted is False  # closed before the restart


# --------------------------------------------------------------------------- isolation


def test_agents_users_and_tenants_are_isolated(store_location: str, embedder: Any, brain: Brain) -> None:
    llm = ScriptedLLM(brain)
    with Memory(store_location, embedder=embedder, llm=llm) as mem:
        mem.learn(FAHRENHEIT, F_STEPS, "success", agent_id="a")  # agent-level
        mem.learn(PERCENT, P_STEPS, "success", agent_id="a", user_id="u1")  # only for u1
        query = "percent increase of a price from $10 to $12"
        seen = lambda **scope: {h.title for h in mem.procedures(query, limit=10, **scope)}  # noqa: E731
        assert P_DO["title"] in seen(agent_id="a", user_id="u1") and F_DO["title"] in seen(agent_id="a", user_id="u1")
        assert P_DO["title"] not in seen(agent_id="a") and F_DO["title"] in seen(agent_id="a")
        assert P_DO["title"] not in seen(agent_id="a", user_id="u2")
        assert seen(agent_id="b") == set() and seen() == set()  # no agent: only agent-less strategies (none)
        other = Memory(store=mem.store.with_tenant("other"), embedder=embedder, llm=llm)
        assert other.procedures(query, agent_id="a", user_id="u1") == [] and other.count() == 0
        with pytest.raises(NotFoundError):
            other.feedback("t", "success")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, kwargs, needle",
    [
        ((FAHRENHEIT, [], "success"), {}, "trajectory is empty"),
        ((FAHRENHEIT, F_STEPS, "won"), {}, "outcome must be one of"),
        ((FAHRENHEIT, F_STEPS, None), {}, "outcome must be one of"),
        (("  ", F_STEPS, "success"), {}, "task is empty"),
        ((FAHRENHEIT, "one step", "success"), {}, "must be a non-empty list"),
        ((FAHRENHEIT, [3], "success"), {}, r"trajectory\[0\] must be a string or a dict"),
        ((FAHRENHEIT, [{"role": "user"}], "success"), {}, r"trajectory\[0\] needs 'content'"),
        ((FAHRENHEIT, ["ok", ""], "success"), {}, r"trajectory\[1\] is empty"),
        ((FAHRENHEIT, [{"content": float("nan")}], "success"), {}, "finite"),
        ((FAHRENHEIT, F_STEPS, "success"), {"metadata": {"outcome": "x"}}, "kept by procedural memory"),
        ((FAHRENHEIT, F_STEPS, "success"), {"agent_id": ""}, "agent_id"),
        ((FAHRENHEIT, F_STEPS, "success"), {"feedback": ""}, "feedback is empty"),
        ((FAHRENHEIT, F_STEPS, "success"), {"infer": "yes"}, "infer must be"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(smart: Memory, brain: Brain, args: tuple, kwargs: dict, needle: str) -> None:
    with pytest.raises(InvalidInputError, match=needle):
        smart.learn(*args, **kwargs)
    assert smart.count(include_deleted=True) == 0 and not brain.seen


def test_bad_lookups_are_refused(sqlite_mem: Memory) -> None:
    for kwargs, needle in [({"limit": 0}, "limit"), ({"task_id": ""}, "task_id"), ({"agent_id": 5}, "agent_id")]:
        with pytest.raises(InvalidInputError, match=needle):
            sqlite_mem.procedures("a task", **kwargs)
    with pytest.raises(InvalidInputError, match="task is empty"):
        sqlite_mem.procedures("")
    with pytest.raises(InvalidInputError, match="outcome"):
        sqlite_mem.feedback("t", "maybe")
    with pytest.raises(InvalidInputError, match="task_id is required"):
        sqlite_mem.feedback(None, "success")  # type: ignore[arg-type]
    assert sqlite_mem.count(include_deleted=True) == 0


# --------------------------------------------------------------------------- surfaces and prompts


def test_async_memory_learns_and_retrieves(tmp_path: Any, embedder: Any) -> None:
    async def main() -> None:
        async with AsyncMemory(tmp_path / "a.db", embedder=embedder, llm=None) as mem:
            out = await mem.learn(PERCENT, P_STEPS, "success", agent_id="bot")
            hits = await mem.procedures("percent increase from 20 to 30", agent_id="bot", task_id="x")
            assert hits[0].memory.id == out.trajectory.id
            assert (await mem.feedback("x", "success", agent_id="bot")).counted

    anyio.run(main)


@pytest.mark.parametrize("prompt", list(PROMPTS.values()), ids=list(PROMPTS))
def test_prompts_are_strict_and_render_every_variable(prompt: Any) -> None:
    text = str(prompt.json_schema)
    assert "$ref" not in text and "'title': 'Strategy" not in text
    values = {name: f"<<{name}>>" for name in prompt.variables}
    rendered = "".join(m["content"] for m in prompt.render(values))
    assert all(f"<<{name}>>" in rendered for name in prompt.variables) and "{" not in rendered
