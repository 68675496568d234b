"""The procedural part of :class:`remem.Memory`: learn from trajectories, count outcomes,
retrieve strategies for a new task (implemented in :mod:`remem.procedural`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remem._args import check_scope
from remem.models.procedural import FeedbackResult, LearnResult, ProcedureHit
from remem.procedural.records import TYPE_KEY
from remem.store import Query

if TYPE_CHECKING:
    from remem.read import SearchConfig
    from remem.store import Store
    from remem.write.writer import Writer

HOW_TO_SHARE = 4  # the "How to" section of a context gets at most 1/4 of its budget (and 400 tokens)


class ProceduralMethods:
    """Mixed into :class:`remem.Memory`."""

    llm: Any
    search_config: "SearchConfig"
    store: "Store"
    _writer: "Writer"

    def _how_to(self, query: str, user_id: str | None, agent_id: str | None, token_budget: int) -> tuple[str, int]:
        """The "How to" section of :meth:`remem.Memory.context` for an agent: the learned strategies
        (or past attempts) that apply to ``query``; ("", 0) when none do or no agent is named.

        Only an agent's context gets one: that keeps the common case (a user's context) free of
        the lookup, and the agent check is one indexed count."""
        if agent_id is None:
            return "", 0
        scope = Query(agent_id=agent_id, filters={f"metadata.{TYPE_KEY}": ["strategy", "trajectory"]})
        if self.store.count(scope) == 0:
            return "", 0
        text, _, tokens = self._procedures.how_to(
            query, agent_id=agent_id, user_id=user_id, token_budget=min(400, token_budget // HOW_TO_SHARE)
        )
        return text, tokens

    @property
    def _procedures(self) -> Any:
        """The procedural-memory engine (:class:`remem.procedural.Procedures`), built on first use."""
        if "_procedural" not in self.__dict__:
            from remem.procedural import Procedures

            engine = Procedures(self._writer, search_config=lambda: self.search_config, llm=lambda: self.llm)
            self.__dict__.setdefault("_procedural", engine)  # atomic: threads racing here share one engine
        return self.__dict__["_procedural"]

    def learn(
        self, task: str, trajectory: list[Any], outcome: str, *, feedback: str | None = None, agent_id: str | None = None,
        user_id: str | None = None, task_id: str | None = None, metadata: dict[str, Any] | None = None, infer: bool | None = None,
    ) -> LearnResult:
        """Store a trajectory (steps: strings or message/step dicts) with its outcome ("success" or
        "failure"); with an LLM, distil strategies (things to do or avoid) reconciled with the stored
        ones. ``task_id`` closes the loop of ``procedures(task, task_id=...)``. See :mod:`remem.procedural`."""
        check_scope(agent_id=agent_id, user_id=user_id)
        return self._procedures.learn(
            task, trajectory, outcome, feedback=feedback, agent_id=agent_id, user_id=user_id, task_id=task_id,
            metadata=metadata, infer=infer,
        )

    def feedback(self, task_id: str, outcome: str, *, agent_id: str | None = None, user_id: str | None = None) -> FeedbackResult:
        """Count a task's outcome once on the strategies ``procedures(task, task_id=...)`` returned for it."""
        check_scope(agent_id=agent_id, user_id=user_id)
        return self._procedures.feedback(task_id, outcome, agent_id=agent_id, user_id=user_id)

    def procedures(
        self, task: str, *, agent_id: str | None = None, user_id: str | None = None, limit: int = 5, task_id: str | None = None,
    ) -> list[ProcedureHit]:
        """Strategies (and past trajectories) for a new task, best first: relevance times a bounded
        success prior, explained in ``hit.explanation``."""
        check_scope(agent_id=agent_id, user_id=user_id)
        return self._procedures.procedures(task, agent_id=agent_id, user_id=user_id, limit=limit, task_id=task_id)
