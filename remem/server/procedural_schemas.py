"""Request and response bodies of the procedural-memory endpoints (learn, procedures, feedback)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from remem.models.procedural import ProcedureHit
from remem.server.schemas import Id, Strict, Text

Step = Annotated[str, Field(min_length=1, max_length=100_000)] | dict[str, Any]


class LearnRequest(Strict):
    task: Text
    trajectory: list[Step] = Field(min_length=1, max_length=1000, description="Steps: strings, or message/step objects")
    outcome: Literal["success", "failure"]
    feedback: Annotated[str, Field(max_length=10_000)] | None = None
    agent_id: Id | None = None
    user_id: Id | None = None
    task_id: Id | None = Field(None, description="Closes the loop of an earlier procedures(task_id=...)")
    metadata: dict[str, Any] | None = None
    infer: bool | None = Field(None, description="Distil strategies with the LLM (default: when one is configured)")


class ProceduresRequest(Strict):
    task: Text
    agent_id: Id | None = None
    user_id: Id | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 5
    task_id: Id | None = Field(None, description="Remember what was shown, to count the task's outcome on it later")


class FeedbackRequest(Strict):
    task_id: Id
    outcome: Literal["success", "failure"]
    agent_id: Id | None = None
    user_id: Id | None = None


class ProcedureList(BaseModel):
    results: list[ProcedureHit]
