"""Dashboard page for procedural memory: an agent's learned strategies with their success
rates and source trajectories, and its recent trajectories."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from remem.errors import RememError
from remem.procedural.records import STRATEGY, TRAJECTORY, TYPE_KEY, to_hit
from remem.server.dashboard_kit import Session, Text, page_url, render

SHOWN = 200


def mount(app: FastAPI) -> None:
    """Add /procedures to ``app``."""

    @app.get("/procedures", include_in_schema=False)
    def procedures(request: Request, agent: Text = None) -> Response:
        s = Session(request)
        try:
            scope = {"agent_id": agent or None, "limit": SHOWN}
            strategies = [to_hit(r, 0.0, {}) for r in s.mem.get_all(kind="procedural", filters={f"metadata.{TYPE_KEY}": STRATEGY}, **scope)]
            trajectories = [to_hit(r, 0.0, {}) for r in s.mem.get_all(kind="episodic", filters={f"metadata.{TYPE_KEY}": TRAJECTORY}, **scope)]
        except RememError as exc:
            return render(request, "error.html", 422, s, title="Invalid input", message=str(exc))
        by_id = {t.memory.id: t for t in trajectories}
        missing = [sid for h in strategies for sid in h.sources if sid not in by_id]
        by_id.update({r.id: to_hit(r, 0.0, {}) for r in s.mem.get_many(list(dict.fromkeys(missing)))})
        agents = sorted({h.memory.agent_id for h in [*strategies, *trajectories] if h.memory.agent_id})
        strategies.sort(key=lambda h: (-(h.success_rate if h.success_rate is not None else 0.5), h.title))
        return render(request, "procedures.html", session=s, agent=agent, agents=agents, strategies=strategies,
                      trajectories=trajectories, by_id=by_id, url=page_url)
