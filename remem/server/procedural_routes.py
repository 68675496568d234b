"""The procedural-memory endpoints under ``/v1``: learn from a trajectory, retrieve
strategies for a task, and count a task's outcome."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from remem.memory import Memory
from remem.models.procedural import FeedbackResult, LearnResult
from remem.server.deps import tenant_memory
from remem.server.procedural_schemas import FeedbackRequest, LearnRequest, ProcedureList, ProceduresRequest
from remem.server.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["procedural"])
Mem = Annotated[Memory, Depends(tenant_memory)]


@router.post("/learn", response_model=LearnResult, status_code=201,
             summary="Store a task's trajectory and outcome; with an LLM, distil strategies (Memory.learn)")
def learn(body: LearnRequest, mem: Mem) -> LearnResult:
    return mem.learn(
        body.task, list(body.trajectory), body.outcome, feedback=body.feedback, agent_id=body.agent_id,
        user_id=body.user_id, task_id=body.task_id, metadata=body.metadata, infer=body.infer,
    )


@router.post("/procedures", response_model=ProcedureList,
             summary="Strategies (and past attempts) for a new task, best first (Memory.procedures)")
def procedures(body: ProceduresRequest, mem: Mem) -> ProcedureList:
    hits = mem.procedures(body.task, agent_id=body.agent_id, user_id=body.user_id, limit=body.limit, task_id=body.task_id)
    return ProcedureList(results=hits)


@router.post("/feedback", response_model=FeedbackResult,
             summary="Count a task's outcome once on the strategies shown for it (Memory.feedback)")
def feedback(body: FeedbackRequest, mem: Mem) -> FeedbackResult:
    return mem.feedback(body.task_id, body.outcome, agent_id=body.agent_id, user_id=body.user_id)
