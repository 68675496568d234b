"""Lexical evidence on an absolute scale: how much of the query's information a text holds.

A query's content words are stemmed (Porter, as FTS5 indexes) and weighted by a smoothed
inverse document frequency from the store's own statistics (Lucene's
``ln(1 + (N - df + 0.5) / (df + 0.5))``: always positive, so a tiny store still tells a
rare word from a common one, which FTS5's ``bm25()`` cannot: it clamps the IDF of a word
in more than half the rows to 1e-6). A text's *coverage* is the IDF mass of the query
words it contains over the IDF mass of all of them: 0 = none, 1 = every word. It does not
depend on which or how many other candidates came back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

from remem.store.text import STOPWORDS, stem, words

MAX_QUERY_TERMS = 32  # a whole dialogue as query: its last words matter most (see query_terms)
@lru_cache(maxsize=100_000)
def stems(text: str) -> frozenset[str]:
    """The stemmed content words of ``text`` (cached: candidates recur across queries)."""
    return frozenset(stem(w) for w in words(text) if w not in STOPWORDS)


def query_words(text: str) -> list[str]:
    """Distinct content words of a query, at most MAX_QUERY_TERMS, the latest kept when a long
    query (a dialogue) has more: its last turns are what the next reply is about."""
    kept: list[str] = []
    seen: set[str] = set()
    for w in reversed(words(text)):
        if w in STOPWORDS or stem(w) in seen:
            continue
        seen.add(stem(w))
        kept.append(w)
        if len(kept) >= MAX_QUERY_TERMS:
            break
    return kept[::-1]


@dataclass(frozen=True)
class QueryTerms:
    """The query's stemmed words with their IDF weights."""

    idf: dict[str, float]

    @cached_property
    def total(self) -> float:
        return sum(self.idf.values())

    def coverage(self, text_stems: frozenset[str] | set[str]) -> float:
        """IDF mass of the query words in the text over the query's whole IDF mass, in [0, 1]."""
        total = self.total
        if total <= 0:
            return 0.0
        return sum(w for t, w in self.idf.items() if t in text_stems) / total

    def coverage_pair(self, own: frozenset[str], context: frozenset[str]) -> tuple[float, float]:
        """:meth:`coverage` of ``own`` and, of the words ``own`` lacks, of ``context``: one pass."""
        total = self.total
        if total <= 0:
            return 0.0, 0.0
        mine = theirs = 0.0
        for t, w in self.idf.items():
            if t in own:
                mine += w
            elif t in context:
                theirs += w
        return mine / total, theirs / total


def idf(n_docs: int, df: int) -> float:
    """Smoothed inverse document frequency (Lucene's BM25 IDF), > 0 for any df <= N."""
    n = max(n_docs, df, 1)
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def query_terms(words_: list[str], n_docs: int, doc_freqs: dict[str, int]) -> QueryTerms:
    """Weights for the query words; ``doc_freqs`` maps each word to the rows holding it."""
    weights: dict[str, float] = {}
    for w in words_:
        weights[stem(w)] = max(weights.get(stem(w), 0.0), idf(n_docs, doc_freqs.get(w, 0)))
    return QueryTerms(weights)
