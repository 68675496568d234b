"""What the ranker knows about each candidate: a few features, each on an absolute scale.

Every feature means the same in a store of ten memories and in one of a million, for a
single candidate or for a hundred: cosines and coverages are not normalised over the
candidate list. The fitted model (:mod:`remem.read.ranker`) turns them into a probability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
import numpy as np

from remem.models import MemoryRecord
from remem.store.base import RankingRow
from remem.read.lexical import QueryTerms, stems
from remem.read.timeparse import TimeRange
from remem.write.ingest import context_of

# name -> the sign its weight may take when fitted: more evidence never lowers a score
SIGNS: dict[str, int] = {
    "cos": 1, "lex": 1, "lex_ctx": 1, "sess_cos": 1, "sess_lex": 1, "in_range": 1, "out_range": -1,
    "speaker": 1, "superseded": -1, "superseded_now": -1, "when_date": 1, "cos_long": 0, "lex_long": 0,
    "ctx_question": 1, "cos_last": 1, "question": 0, "lex_asked": 0,
}  # fmt: skip
FEATURES: tuple[str, ...] = (
    "cos",         # cosine of query and memory vectors
    "lex",         # share of the query's IDF mass found in the memory's own words
    "lex_ctx",     # ... found only in its context (the turn before it), not in itself
    "sess_cos",    # best cosine among the other candidate turns of its session
    "sess_lex",    # share of the query the other candidate turns of its session cover together
    "in_range",    # its time lies in a time range the query names
    "out_range",   # the query names a time range and its time lies outside every one
    "speaker",     # the query names its speaker
    "superseded",  # a newer memory says the same thing differently; the query is in the present tense
    "superseded_now",  # ... and the query says so ("now", "currently", "still", "these days", ...)
    "when_date",   # the query asks when, and the memory says a date or time
    "cos_long",    # cos, for a long query (a dialogue rather than a question)
    "lex_long",    # lex, for a long query
    "ctx_question",  # lex_ctx when the context is a question (the memory answers it)
    "cos_last",    # cosine with the last message of a long query (a dialogue's cue)
    "question",    # share of its sentences that are questions (it asks rather than tells)
    "lex_asked",   # share of the query its words hold only in questions (it asks about it)
)
# a query that says it asks about the present; present tense alone is weaker evidence (in
# LoCoMo a quarter of the gold turns were marked superseded under present tense alone), so
# the two are separate features and the fit weighs each
PRESENT_CUE = re.compile(
    r"\b(?:now|currently|current|these days|at the moment|anymore|still|nowadays|today|latest"
    r"|most recent(?:ly)?|at present|presently)\b",
    re.IGNORECASE,
)
LONG_QUERY_WORDS = 40  # a query this long is a conversation to respond to, not a question
SUPERSEDE_COS = 0.35  # two memories this close in meaning, sharing a word, may be about the same thing
SUPERSEDE_SLACK = 0.5  # ... and the newer one must hold a query word or be half as close to the query
SUPERSEDE_RELEVANT = 0.3  # a memory this close to the query (or holding its words) is what it asks about


# a newer memory that *changes* something says so: "moved", "quit", "stopped", "now", "no longer"...
_CHANGE_WORDS = re.compile(
    r"\b(?:mov(?:ed|ing)|relocat\w*|quit|left|stopped|no longer|anymore|any more|switched|changed|now|"
    r"these days|instead|became|started|new|gone|turned|replaced|sold|broke up|divorced|retired)\b",
    re.IGNORECASE,
)
_DATE_WORDS = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekend|yesterday|today|tonight|tomorrow"
    r"|ago|last (?:week|month|year|night)|next (?:week|month|year)|(?:19|20)\d\d|\d{1,2}(?:st|nd|rd|th)"
    r"|\d{1,2}[:.]\d\d|(?:\d{1,2} ?(?:am|pm)))\b",
    re.IGNORECASE,
)


@dataclass
class Candidate:
    row: RankingRow
    values: dict[str, float] = field(default_factory=dict)
    superseded_by: str | None = None

    @property
    def record(self) -> MemoryRecord:
        """The full record (built on first use)."""
        return self.row.record

    @property
    def vector(self) -> np.ndarray | None:
        return self.row.vector

    def feature_row(self) -> list[float]:
        """The feature values in FEATURES order (what the fit script writes)."""
        return [self.values.get(name, 0.0) for name in FEATURES]


def build(
    rows: list[RankingRow],
    query_vector: np.ndarray | None,
    terms: QueryTerms,
    ranges: list[TimeRange],
    query_words: set[str],
    about_now: bool,
    long_query: bool = False,
    when_question: bool = False,
    known_cos: dict[str, float] | None = None,
    present_cue: bool = False,
    last_vector: np.ndarray | None = None,
) -> list[Candidate]:
    """Features for every candidate record (``present_cue``: the query says it is about now)."""
    cands = [Candidate(r) for r in rows]
    own_stems: list[frozenset[str]] = []
    cosines = _cosines(query_vector, cands, known_cos or {})
    last_cosines = _cosines(last_vector, cands, {}) if last_vector is not None else None
    for k, (c, cos) in enumerate(zip(cands, cosines)):
        own = stems(c.row.content)
        context_text = context_of(c.row.index_text, c.row.speaker, c.row.content)
        own_stems.append(own)
        lex, lex_ctx = terms.coverage_pair(own, stems(context_text) - stems(c.row.speaker or "") if context_text else frozenset())
        c.values.update(cos=cos, lex=lex, lex_ctx=lex_ctx)
        asks, told = _asking(c.row.content)
        if asks:
            c.values["question"] = asks
            if lex:
                c.values["lex_asked"] = lex - terms.coverage(own & told)
        if lex_ctx and "?" in context_text:
            c.values["ctx_question"] = lex_ctx
        if long_query:
            c.values.update(cos_long=cos, lex_long=lex)
            if last_cosines is not None:
                c.values["cos_last"] = last_cosines[k]
        when = c.row.event_time
        if ranges:
            inside = when is not None and any(r.contains(when) for r in ranges)
            c.values["in_range"] = 1.0 if inside else 0.0
            c.values["out_range"] = 0.0 if inside else 1.0
        if when_question and _DATE_WORDS.search(c.row.content):
            c.values["when_date"] = 1.0
        speaker = (c.row.speaker or "").lower()
        c.values["speaker"] = 1.0 if speaker and speaker in query_words else 0.0
    _session_features(cands, own_stems, terms)
    if about_now:
        _supersession(cands, own_stems, terms)
        if present_cue:
            for c in cands:
                if c.values.pop("superseded", 0.0):
                    c.values["superseded_now"] = 1.0
    return cands


_SENTENCE = re.compile(r"[^.!?]*[.!?]+|[^.!?]+$")
_WORD = re.compile(r"\w")
_ASKS = re.compile(r"\?\W*$")  # ends in a question mark, whatever follows it ("?!", "? 😊", "?)")


def _sentences(text: str) -> list[str]:
    """The sentences of ``text`` that hold a word (an emoji or a bracket after one is not a sentence)."""
    out: list[str] = []
    for m in _SENTENCE.finditer(text):
        part = m.group().strip()
        if _WORD.search(part):
            out.append(part)
        elif out and "?" in part:
            out[-1] += part  # "Really?" + "!" or "? 😊": the mark belongs to the sentence before
    return out


def question_share(text: str) -> float:
    """The share of a text's sentences that are questions: 1 for "Where do you work?", 0 for a
    statement, a fraction for a message that tells and then asks."""
    return _asking(text)[0]


@lru_cache(maxsize=100_000)
def _says_change(text: str) -> bool:
    """The text holds a word of change ("moved", "quit", "now", "no longer"...); cached."""
    return bool(_CHANGE_WORDS.search(text))


@lru_cache(maxsize=100_000)
def _asking(text: str) -> tuple[float, frozenset[str]]:
    """:func:`question_share` of a text and the stems of its sentences that are not questions
    (cached: candidates recur across queries, and a long message has many sentences)."""
    if "?" not in text:
        return 0.0, frozenset()
    sentences = _sentences(text)
    told = [x for x in sentences if not _ASKS.search(x)]
    share = (len(sentences) - len(told)) / len(sentences) if sentences else 0.0
    return share, stems(" ".join(told))


def _cosines(query_vector: np.ndarray | None, cands: list[Candidate], known: dict[str, float]) -> list[float]:
    """Cosines from the dense retriever where it scored the candidate, else from its vector."""
    if query_vector is None:
        return [0.0] * len(cands)
    out = [float(known.get(c.row.id, 0.0)) for c in cands]
    have = [i for i, c in enumerate(cands) if c.vector is not None and c.row.id not in known]
    if have:
        sims = np.stack([cands[i].vector for i in have]) @ np.asarray(query_vector, dtype=np.float32)  # type: ignore[misc]
        for i, s in zip(have, sims.tolist()):
            out[i] = float(s)
    return out


def _session_features(cands: list[Candidate], own_stems: list[frozenset[str]], terms: QueryTerms) -> None:
    """MemGAS: a session is a unit of its own; a turn learns what the rest of it says."""
    by_session: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        if c.row.session_id:
            by_session.setdefault(c.row.session_id, []).append(i)
    total = terms.total
    for members in by_session.values():
        if len(members) < 2 or total <= 0:
            continue
        # how many members hold each query word, so "the others" is a subtraction, not a union per turn
        holders = {t: sum(1 for j in members if t in own_stems[j]) for t in terms.idf}
        cosines = sorted((cands[j].values["cos"], j) for j in members)
        for i in members:
            best = cosines[-1] if cosines[-1][1] != i else cosines[-2]
            cands[i].values["sess_cos"] = max(0.0, best[0])
            mass = sum(w for t, w in terms.idf.items() if holders[t] - (t in own_stems[i]) > 0)
            cands[i].values["sess_lex"] = mass / total


def _supersession(cands: list[Candidate], own_stems: list[frozenset[str]], terms: QueryTerms) -> None:
    """Mark a memory superseded when a newer candidate is about the same thing and says it
    changed: close in meaning (cosine >= SUPERSEDE_COS), sharing a content word, holding a
    word of change ("moved", "quit", "now", "no longer"...), and at least as relevant to
    the query (it holds a query word, or has at least SUPERSEDE_SLACK of the older one's cosine).
    Only asked for queries about the present; the newest such memory is named."""
    query_stems = frozenset(terms.idf)
    dated = [i for i, c in enumerate(cands) if c.vector is not None and c.row.event_time is not None]
    if len(dated) < 2:
        return
    matrix = np.stack([cands[i].vector for i in dated])  # type: ignore[misc]
    sims = matrix @ matrix.T
    # per memory, once (not per pair): its time, whether it says something changed, holds a query word
    times = np.asarray([cands[i].row.event_time.timestamp() for i in dated])  # type: ignore[union-attr]
    change = np.asarray([_says_change(cands[i].row.content) for i in dated])
    holds = np.asarray([bool(own_stems[i] & query_stems) for i in dated])
    cos = np.asarray([cands[i].values["cos"] for i in dated])
    users = np.asarray([cands[i].row.user_id or "" for i in dated], dtype=object)
    for a_pos, i in enumerate(dated):
        if not holds[a_pos] and cos[a_pos] < SUPERSEDE_RELEVANT:
            continue  # only what the query is asking about can be superseded
        # newer, close in meaning, saying that something changed, about as relevant to the query
        mask = (sims[a_pos] >= SUPERSEDE_COS) & (times > times[a_pos]) & change & (holds | (cos >= cos[a_pos] * SUPERSEDE_SLACK))
        mask &= users == users[a_pos]
        found = np.flatnonzero(mask)
        if not len(found):
            continue
        speaker = stems(cands[i].row.speaker or "")
        for b_pos in found[np.lexsort((found, -times[found]))]:  # newest first (earliest listed on a tie)
            j = dated[int(b_pos)]
            if (own_stems[i] & own_stems[j]) - speaker:  # sharing a content word: about the same thing
                cands[i].values["superseded"] = 1.0
                cands[i].superseded_by = cands[j].row.id
                break
