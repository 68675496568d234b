"""The fitted ranker: logistic regression over :data:`remem.read.features.FEATURES`.

``score = sigmoid(bias + Σ weight_i · feature_i)`` is an estimate of the probability that
the memory is relevant to the query (calibrated on the benchmarks it was fitted on), so
scores compare across queries and stores and a threshold means the same everywhere.
The parameters ship in ``ranker.json`` beside this file; ``python scripts/fit_ranker.py``
refits them reproducibly from ``../shared`` (see its docstring).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from remem.errors import InvalidInputError
from remem.read.features import FEATURES

PARAMS_FILE = "ranker.json"


@dataclass(frozen=True)
class Ranker:
    weights: dict[str, float]
    bias: float
    meta: dict[str, Any]

    def logit(self, values: dict[str, float], drop: tuple[str, ...] = ()) -> float:
        return self.bias + sum(w * values.get(name, 0.0) for name, w in self.weights.items() if name not in drop)

    def score(self, values: dict[str, float], drop: tuple[str, ...] = ()) -> float:
        """Probability of relevance in (0, 1)."""
        z = self.logit(values, drop)
        return 1.0 / (1.0 + math.exp(-z)) if z >= -700 else 0.0

    def scores(self, rows: list[dict[str, float]], drop: tuple[str, ...] = ()) -> list[float]:
        """:meth:`score` for many candidates at once."""
        if not rows:
            return []
        w = self.weights if not drop else {n: v for n, v in self.weights.items() if n not in drop}
        # a candidate has a few non-zero features of many: sum over what it has
        z = np.fromiter((sum(w.get(n, 0.0) * v for n, v in r.items()) for r in rows), dtype=np.float64, count=len(rows))
        z += self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))).tolist()

    def contributions(self, values: dict[str, float]) -> dict[str, float]:
        """Each feature's share of the logit (for explanations), non-zero ones only."""
        return {n: round(w * values[n], 4) for n, w in self.weights.items() if values.get(n)}


def parse(data: dict[str, Any]) -> Ranker:
    try:
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        bias = float(data["bias"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInputError(f"ranker parameters are malformed: {exc}") from None
    unknown = set(weights) - set(FEATURES)
    if unknown:
        raise InvalidInputError(f"ranker parameters name unknown features {sorted(unknown)}; known: {list(FEATURES)}")
    return Ranker(weights, bias, {k: v for k, v in data.items() if k not in ("weights", "bias")})


@cache
def load(path: str | None = None) -> Ranker:
    """The shipped parameters, or those in the JSON file at ``path``."""
    if path is None:
        text = resources.files("remem.read").joinpath(PARAMS_FILE).read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read ranker parameters {path}: {exc}") from None
    try:
        return parse(json.loads(text))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"ranker parameters {path or PARAMS_FILE} are not JSON: {exc}") from None
