"""Answer scoring as in LoCoMo's official ``task_eval/evaluation.py``.

Normalisation: drop commas, lower-case, drop punctuation, drop the words
``a an the and``, squeeze spaces; tokens are Porter-stemmed (NLTK) before the
token F1.  Category 1 (multi-hop) splits prediction and gold on commas and
averages, over gold parts, the best F1 against any predicted part; category 3
keeps only the gold text before the first ``;``.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import cache
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_PUNCT = set(string.punctuation)


@cache
def _stemmer() -> Any:
    try:
        from nltk.stem import PorterStemmer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("LoCoMo F1 needs nltk (pip install nltk); it uses NLTK's Porter stemmer") from exc
    return PorterStemmer()


def normalize_answer(text: str) -> str:
    """LoCoMo's ``normalize_answer``."""
    text = str(text).replace(",", "").lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _tokens(text: str) -> list[str]:
    stem = _stemmer().stem
    return [stem(w) for w in normalize_answer(text).split()]


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 between stemmed, normalised prediction and gold."""
    pred, ref = _tokens(prediction), _tokens(gold)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def multi_answer_f1(prediction: str, gold: str) -> float:
    """Category 1: mean over comma-separated gold parts of the best part-wise F1."""
    preds = [p.strip() for p in str(prediction).split(",")]
    golds = [g.strip() for g in str(gold).split(",")]
    return sum(max(f1_score(p, g) for p in preds) for g in golds) / len(golds)


def locomo_f1(prediction: str, gold: str, category: int) -> float:
    """The official per-category F1 for LoCoMo categories 1-4."""
    gold = str(gold)
    if category == 1:
        return multi_answer_f1(prediction, gold)
    if category == 3:
        gold = gold.split(";")[0].strip()
    return f1_score(prediction, gold)
