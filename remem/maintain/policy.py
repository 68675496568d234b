"""What maintenance may do: one documented config object, :class:`MaintenancePolicy`."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from remem.models import Kind
from remem.models.records import CheckedModel


class KindPolicy(CheckedModel):
    """The retention rules of one kind of memory. A rule left at None never fires.

    - ``ttl_days``: archive once older than this (event time, else creation).
    - ``min_retention``: archive once ``R = exp(-Δt / S)`` falls below this, with Δt the days
      since the memory was last recalled (or formed) and S its stability, which grows with
      importance and with every recall (:mod:`remem.read.strength`).
    - ``importance_floor``: archive when importance is below this.
    """

    model_config = ConfigDict(extra="forbid")

    ttl_days: float | None = Field(None, gt=0)
    min_retention: float | None = Field(None, gt=0, lt=1)
    importance_floor: float | None = Field(None, ge=0, le=1)


def _default_kinds() -> dict[Kind, KindPolicy]:
    # raw turns fade (R < 0.001: about 7 months unrecalled at importance 0.5, 14 at 1.0);
    # facts, summaries, profiles and strategies stay until something supersedes them
    return {Kind.EPISODIC: KindPolicy(min_retention=0.001)}


class MaintenancePolicy(CheckedModel):
    """Everything :meth:`remem.Memory.maintain` does, in one place. Nothing is ever deleted:
    a memory maintenance removes is *archived* — out of default search and context, listed
    with ``include_archived=True``, back with :meth:`remem.Memory.restore`.

    Forgetting: ``kinds`` (per-kind :class:`KindPolicy`), ``max_active_per_user`` (keep the
    strongest N per user), and ``grace_days`` (nothing younger is archived by any rule).

    Consolidation: ``merge_duplicates`` folds near-duplicates (same normalised text; for
    facts and strategies also cosine ≥ ``duplicate_similarity``) into one memory whose
    history and ``source`` name every original. ``archive_filler`` archives the turns with
    fewer than ``filler_words`` content words ("haha thanks!") of sessions older than
    ``consolidate_after_days``. ``summarize_sessions_after_days`` (off by default) also
    writes one summary per session older than that, by the LLM write path when one is
    configured, extractively otherwise (its ``summary_lines`` most informative turns).

    Measured (``remem eval locomo|longmemeval --consolidate``, benchmarks/README.md): the
    defaults shrink the active store at a cost within a point of recall@10; session summaries
    grow it (one per session) and, competing with the turns they repeat, cost LongMemEval
    5 points of turn recall, so they are opt-in.
    """

    model_config = ConfigDict(extra="forbid")

    kinds: dict[Kind, KindPolicy] = Field(default_factory=_default_kinds)
    max_active_per_user: int | None = Field(None, ge=1)
    grace_days: float = Field(7.0, ge=0)
    merge_duplicates: bool = True
    duplicate_similarity: float = Field(0.95, gt=0, le=1)
    consolidate_after_days: float = Field(30.0, ge=0)
    archive_filler: bool = True
    filler_words: int = Field(4, ge=1, le=10)
    summarize_sessions_after_days: float | None = Field(None, ge=0)
    summary_lines: int = Field(5, ge=1, le=50)

    def for_kind(self, kind: Kind) -> KindPolicy:
        return self.kinds.get(kind) or KindPolicy()
