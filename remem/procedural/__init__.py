"""Procedural memory: strategies learned from agents' trajectories, with evidence counts.

``Memory.learn`` stores a trajectory (an episodic memory with its outcome) and, with an LLM,
distils strategies (procedural memories: instance lessons and abstract concepts, each a thing
to do or to avoid) reconciled with the stored ones by ADD / UPDATE / NOOP; ``Memory.procedures``
finds them for a new task, ranked by relevance and a bounded success prior; ``Memory.feedback``
(or the next ``learn`` of the task) counts the outcome on the strategies that were shown.
"""

from remem.procedural.engine import Procedures
from remem.procedural.distil import DISTIL_STRATEGIES, PROMPTS, RESOLVE_STRATEGY

__all__ = ["DISTIL_STRATEGIES", "PROMPTS", "Procedures", "RESOLVE_STRATEGY"]
