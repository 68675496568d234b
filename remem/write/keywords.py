"""Deterministic keywords for memories written without an LLM.

Words are scored by frequency, an early-position bonus and a bonus for words that
look like names (capitalised mid-sentence) or numbers; stopwords and very short
words are dropped. The same text always gives the same keywords.
"""

from __future__ import annotations

import re

from remem.store.text import STOPWORDS, words

_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'-]+)")
EXTRA_STOPWORDS = frozenset(
    """able actually always anything around back bit day days doing done feel feeling going good great
    gonna know last lot made make maybe much need new next one pretty right said say see seems since
    something still sure take tell thing things think time today told try want way well went yesterday
    would could should might must many every""".split()
)


def extract_keywords(text: str, limit: int = 8) -> list[str]:
    """The ``limit`` most salient lower-cased words of ``text``, best first."""
    tokens = words(text)
    if not tokens:
        return []
    names = {m.split("'")[0].lower() for m in _CAPITALISED.findall(text)}
    scores: dict[str, float] = {}
    first: dict[str, int] = {}
    n = len(tokens)
    for position, word in enumerate(tokens):
        if word in STOPWORDS or word in EXTRA_STOPWORDS:
            continue
        if len(word) < 3 and not word.isdigit():
            continue
        first.setdefault(word, position)
        scores[word] = scores.get(word, 0.0) + 1.0
    for word in scores:
        scores[word] += 0.5 * (1.0 - first[word] / n)  # earlier words matter a little more
        if word in names:
            scores[word] += 1.0
        if word.isdigit():
            scores[word] += 0.5
    ranked = sorted(scores, key=lambda w: (-scores[w], first[w]))
    return ranked[:limit]
