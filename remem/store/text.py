"""Turning free text into a safe FTS5 query."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"([^\W_]+)(?:'[^\W_]+)?", re.UNICODE)  # the group: the word without "'s", "'t"...

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves s t don didn doesn isn wasn weren ve ll re d m o y
    ever also get got let us like oh yeah yes hey hi hello really thanks thank""".split()
)


def fold(text: str) -> str:
    """Lower case with diacritics removed ("Café" -> "cafe"), as FTS5's ``remove_diacritics 2``."""
    low = text.lower()
    if low.isascii():
        return low
    return "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Lower-cased word tokens, diacritics folded (apostrophe suffixes dropped)."""
    return _WORD.findall(fold(text))


def keywords(text: str) -> list[str]:
    """Distinct content words, stopwords removed, in order of first appearance."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w not in STOPWORDS and w not in seen:
            seen[w] = None
    return list(seen)


def normalized(text: str) -> str:
    """Text compared for exact duplicates: lower case, punctuation and spacing folded."""
    return " ".join(words(text))


FILLER = frozenset(
    """ok okay haha hahaha lol wow cool great nice sure awesome amazing congrats congratulations
    thx ty yep yup nope hmm um uh ah aw omg good fine right true totally exactly agreed glad
    sounds bye cheers welcome""".split()
)


def content_words(text: str) -> int:
    """How many distinct content words a text holds (stopwords and filler such as "haha",
    "ok", "cool" left out)."""
    return sum(1 for w in keywords(text) if w not in FILLER)


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: the query's content words, OR-ed, each quoted."""
    terms = keywords(text) or list(dict.fromkeys(words(text)))
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms[:64])


_stemmer = Stemmer.Stemmer("porter")  # the original Porter algorithm, as FTS5's porter tokenizer


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A lower-case word's Porter stem (how the FTS5 index stores it)."""
    return _stemmer.stemWord(word)
