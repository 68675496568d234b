"""Retrieval modes the harness can compare: a name mapped to search kwargs and/or a SearchConfig.

Later work adds a mode with one call::

    register_mode("hybrid-score", config=SearchConfig(fusion="score"))
    register_mode("rerank", mode="hybrid", rerank=True)   # any Memory.search keyword
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from remem.errors import InvalidInputError
from remem.read import SearchConfig
from remem.read.search import LEGACY


@dataclass(frozen=True)
class EvalMode:
    """``search_kwargs`` go to :meth:`Memory.search`; ``config`` (if any) replaces the
    Memory's ``search_config`` while the mode runs."""

    name: str
    search_kwargs: dict[str, Any] = field(default_factory=dict)
    config: SearchConfig | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"search_kwargs": dict(self.search_kwargs)}
        if self.config is not None:
            out["search_config"] = dataclasses.asdict(self.config)
        return out


MODES: dict[str, EvalMode] = {}


def register_mode(name: str, *, config: SearchConfig | None = None, **search_kwargs: Any) -> EvalMode:
    """Add (or replace) a named mode."""
    if not name or "," in name or name != name.strip():
        raise InvalidInputError(f"bad mode name {name!r}")
    mode = EvalMode(name, dict(search_kwargs), config)
    MODES[name] = mode
    return mode


_PLAIN = SearchConfig(fusion="rrf", bm25_weight=1.0, session_weight=0.0, time_weight=0.0)
# Single retrievers, with none of the read path's extra stages: the baselines.
register_mode("bm25", mode="bm25", config=_PLAIN)
register_mode("dense", mode="dense", config=_PLAIN)
# Plain RRF of the two (the first hybrid remem shipped).
register_mode("hybrid-rrf", mode="hybrid", config=_PLAIN)
# The default before the fitted ranker: min-max score fusion, BM25 x2, session bonus (tuned on LoCoMo).
register_mode("legacy", mode="hybrid", config=LEGACY)
# The default read path (fitted ranker), then one group of features left out at a time: the ablation.
register_mode("hybrid", mode="hybrid")
register_mode("no-session", mode="hybrid", config=dataclasses.replace(SearchConfig(), drop_features=("sess_cos", "sess_lex")))
register_mode("no-context", mode="hybrid", config=dataclasses.replace(SearchConfig(), drop_features=("lex_ctx",)))
register_mode("no-time", mode="hybrid", config=dataclasses.replace(SearchConfig(), time_weight=0.0))
register_mode("no-supersede", mode="hybrid", config=dataclasses.replace(SearchConfig(), drop_features=("superseded", "superseded_now")))
register_mode("strength", mode="hybrid", config=dataclasses.replace(SearchConfig(), strength_weight=0.2))
register_mode("mmr", mode="hybrid", config=dataclasses.replace(SearchConfig(), mmr_lambda=0.7))


def resolve_modes(modes: str | EvalMode | list[str | EvalMode] | tuple[str | EvalMode, ...]) -> list[EvalMode]:
    """Names (a list, or one comma-separated string) or EvalMode objects -> EvalModes, deduplicated."""
    if isinstance(modes, (str, EvalMode)):
        modes = [modes]
    out: dict[str, EvalMode] = {}
    for item in modes:
        parts = [item] if isinstance(item, EvalMode) else [p.strip() for p in str(item).split(",") if p.strip()]
        for part in parts:
            if isinstance(part, EvalMode):
                out[part.name] = part
            elif part in MODES:
                out[part] = MODES[part]
            else:
                raise InvalidInputError(f"unknown eval mode {part!r}; known: {', '.join(MODES)}")
    if not out:
        raise InvalidInputError("no eval mode given")
    return list(out.values())
