"""Time expressions in a query ("last weekend", "in May", "two months ago") → time ranges.

Relative expressions are resolved against a reference time ``now`` (in benchmarks,
the question's date). Ranges are half-open [start, end) in UTC; "up to now" ranges
end at ``now + 1 s`` so that a memory stamped exactly ``now`` is inside.

Everything is rules over precompiled, backtracking-safe regexes (this runs on every
search query, whole dialogues included). dateparser is deliberately not used: the
absolute forms people type in questions (ISO dates, "May 8, 2023", "8 May 2023",
"3/14/2024", "in 2022") are covered by rules, and dateparser costs milliseconds a
call and reads too much into ordinary words.

Rules (``today`` is ``now``'s UTC day, weeks start on Monday):

* yesterday / today / tomorrow: that calendar day.
* the day before yesterday / the day after tomorrow: that calendar day.
* this morning [00:00, 12:00), this afternoon [12:00, 18:00), this evening
  [18:00, 24:00) of today; tonight [today 18:00, tomorrow 06:00); last night /
  yesterday night [yesterday 18:00, today 06:00); "yesterday|tomorrow" +
  morning/afternoon/evening/night: the same parts of that day.
* earlier today / this week / this month / this year: [start of that period, now];
  later today / this week / this month / this year: [now, end of that period).
* this / last / next week: the Monday-to-Sunday week (0 / -1 / +1).
* this / last / next month, year: the calendar month / year.
* last weekend / this past weekend: the most recent Saturday+Sunday that started
  before today (on a weekend day, "last weekend" is the one before); this weekend:
  the current or coming one; next weekend: the coming one; over the weekend: the latest
  one, the current one on a Saturday or Sunday (read as the past: memories are of what happened).
* last / this / on / past / this past <weekday>: the most recent such weekday strictly
  before today (on a Thursday, "last Thursday" is a week ago); next / this coming /
  coming <weekday>: the first such weekday strictly after today.
* N days ago: that day. N weeks ago: the 7 days centred on today - 7N.
  N months ago: the calendar month N months back. N years ago: the calendar year.
  N is digits or a number word ("a", "three", "twelve"...). Vague counts ("a couple
  of", "a few", "several" = 2, 3, 4) widen to N±1 units: "a few days ago" is
  [today-4, today-1), "a couple of months ago" the three months 3..1 back.
* in the last/past N days|weeks|months|years: [today - N units (30-day months,
  365-day years), now].
* recently / recent / lately: [today - 30 days, now].
* <month> (optionally with day and/or year), "last <month>": that month/day; a month
  without year is the latest one not after today's month ("last <month>" the one
  before that when it is the current month). "may", the three-letter abbreviations
  and "<month>'s" only count with a day, a year, or a cue just before them (in, last,
  since, during, until, before, after, through, next, this, early, late, mid, around,
  "end/beginning/start/middle/rest/first of"): "May I ask", "Jan said", "April's mom"
  are not dates.
* in|during|since|before|after YYYY: that calendar year; YYYY-MM-DD, YYYY/MM/DD and
  M/D/YYYY (D/M/YYYY when the first number is over 12): that day.
* before X → (None, start of X); after X → (end of X, None); since X → (start of X, None).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "couple": 2, "few": 3, "several": 4,
}
_VAGUE = frozenset({"couple", "few", "several"})
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
# Month words that are also ordinary words or names: they need a day, a year or a cue word.
_AMBIGUOUS_MONTHS = frozenset({"may", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"})
# Parts of a day as (first hour, end hour) from that day's midnight.
_PARTS = {"morning": (0, 12), "afternoon": (12, 18), "evening": (18, 24), "night": (18, 30)}
_DAY_OFFSET = {"yesterday": -1, "today": 0, "this": 0, "tomorrow": 1, "last": -1, "tonight": 0}

_NUM = (
    r"(\d{1,4}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|several)"
)
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
_MONTH_ANCHORS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"

_AGO_RE = re.compile(rf"\b{_NUM}\s+(day|week|month|year)s?\s+ago\b")
_LAST_N_RE = re.compile(rf"\b(?:last|past)\s+(?:{_NUM}\s+)?(day|week|month|year)s\b")
_DAY_BEFORE_AFTER_RE = re.compile(r"\bday\s+(before|after)\s+(yesterday|tomorrow)\b")
_DAY_PART_RE = re.compile(
    r"\b(?:(this|yesterday|today|tomorrow)\s+(morning|afternoon|evening|night)|(last)\s+(night|evening)|(tonight))\b"
)
_DAY_WORD_RE = re.compile(r"\b(yesterday|today|tomorrow)\b")
_EARLIER_LATER_RE = re.compile(r"\b(earlier|later)\s+(?:(today)|(?:in\s+)?(?:this|the)\s+(week|month|year))\b")
_PERIOD_RE = re.compile(r"\b(this\s+past|last|this|next|past)\s+(week|weekend|month|year)\b|\b(over\s+the)\s+(weekend)\b")
_WEEKDAY_RE = re.compile(rf"\b(this\s+past|this\s+coming|last|this|on|past|next|coming)\s+{_WEEKDAY}\b")
_MONTH_RE = re.compile(
    rf"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?{_MONTH}\b\.?(?:\s+(\d{{1,2}})(?:st|nd|rd|th)?\b)?(?:,?\s+(\d{{4}})\b)?"
)
_MONTH_CUE_RE = re.compile(
    r"\b(?:in|last|since|during|until|till|before|after|through|next|this|early|late|mid|around"
    r"|(?:end|beginning|start|middle|rest|first|month)\s+of)[\s-]+$"
)
_LAST_MONTH_NAME_RE = re.compile(r"\blast\s+$")
_YEAR_RE = re.compile(r"\b(?:in|during|since|before|after)\s+((?:19|20)\d{2})\b")
_ISO_RE = re.compile(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})\b")
_NUMERIC_DATE_RE = re.compile(r"(?<![\d/-])(\d{1,2})/(\d{1,2})/(\d{4})\b")
_RECENT_RE = re.compile(r"\brecent(?:ly)?\b|\blately\b")
_DIRECTION_RE = re.compile(r"(?<![a-z])(before|after|since)\s+(?:the\s+)?$")


@dataclass(frozen=True)
class TimeRange:
    """A span the query refers to; ``start``/``end`` may be open (None)."""

    start: datetime | None
    end: datetime | None
    expression: str

    def contains(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def _day(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_span(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _year_span(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=timezone.utc), datetime(year + 1, 1, 1, tzinfo=timezone.utc)


def _num(text: str) -> tuple[int, bool]:
    """(count, vague) for a matched count: "3" → (3, False), "a couple of" → (2, True)."""
    words = [w for w in text.split() if w not in ("a", "of")] or ["a"]
    word = words[0]
    if word.isdigit():
        return int(word), False
    return _NUMBERS.get(word, 1), word in _VAGUE


def _ago_span(today: datetime, n: int, unit: str) -> tuple[datetime, datetime]:
    """The span meant by "n <unit>s ago" (n may be 0 or negative when widening vague counts)."""
    if unit == "day":
        start = today - timedelta(days=n)
        return start, start + timedelta(days=1)
    if unit == "week":
        center = today - timedelta(days=7 * n)
        return center - timedelta(days=3), center + timedelta(days=4)
    if unit == "month":
        return _month_span(*_shift_month(today.year, today.month, -n))
    return _year_span(today.year - n)


def _near(pattern: re.Pattern[str], q: str, anchors: tuple[str, ...], back: int, fwd: int) -> list[re.Match[str]]:
    """``pattern``'s matches that contain one of the literal ``anchors``, in order.

    Instead of running every pattern over the whole query (slow for whole-dialogue
    queries: Python's ``re`` tries each alternation at every word), find the anchors
    with ``str.find`` and run the pattern only in a window around each. ``back`` and
    ``fwd`` must exceed the longest text a match can have before / after its anchor
    (whitespace is collapsed first, so ``\\s+`` is one character). Every match of these
    patterns contains an anchor, so with many anchors one whole-query pass gives the same.
    """
    hits = sum(q.count(anchor) for anchor in anchors)
    if hits == 0:
        return []
    if hits > 6 and hits > len(q) // 48:  # anchors everywhere: one pass over the whole query is cheaper
        return list(pattern.finditer(q))
    spans: dict[tuple[int, int], re.Match[str]] = {}
    n = len(q)
    for anchor in anchors:
        i = q.find(anchor)
        while i >= 0:
            for m in pattern.finditer(q, max(0, i - back), min(n, i + len(anchor) + fwd)):
                if m.start() <= i < m.end():
                    spans.setdefault(m.span(), m)
            i = q.find(anchor, i + len(anchor))
    return [spans[span] for span in sorted(spans)]


def _normalize(query: str) -> str:
    return " ".join(query.lower().replace("\u2019", "'").split())


def parse_time_expressions(query: str, now: datetime) -> list[TimeRange]:
    """Every time range the query mentions, in order of appearance (rules in the module docstring)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    now = now.astimezone(timezone.utc)
    today = _day(now)
    until_now = now + timedelta(seconds=1)
    q = _normalize(query)
    found: list[tuple[int, int, TimeRange]] = []

    def add(match: re.Match[str], start: datetime | None, end: datetime | None, group: int = 0) -> None:
        found.append((match.start(group), match.end(group), TimeRange(start, end, match.group(group))))

    for m in _near(_AGO_RE, q, ("ago",), 32, 2):
        (n, vague), unit = _num(m.group(1)), m.group(2)
        try:
            if vague:
                add(m, _ago_span(today, n + 1, unit)[0], _ago_span(today, n - 1, unit)[1])
            else:
                add(m, *_ago_span(today, n, unit))
        except (ValueError, OverflowError):  # "9999 years ago": before year 1
            continue
    for m in _near(_LAST_N_RE, q, ("last", "past"), 2, 32):
        n = _num(m.group(1))[0] if m.group(1) else 1
        try:
            add(m, today - timedelta(days=n * _UNIT_DAYS[m.group(2)]), until_now)
        except OverflowError:
            continue
    for m in _near(_DAY_BEFORE_AFTER_RE, q, ("yesterday", "tomorrow"), 16, 2):
        start = today + timedelta(days=_DAY_OFFSET[m.group(2)] + (1 if m.group(1) == "after" else -1))
        add(m, start, start + timedelta(days=1))
    for m in _near(_DAY_WORD_RE, q, ("yesterday", "today", "tomorrow"), 2, 2):
        start = today + timedelta(days=_DAY_OFFSET[m.group(1)])
        add(m, start, start + timedelta(days=1))
    for m in _near(_DAY_PART_RE, q, ("night", "morning", "afternoon", "evening"), 16, 2):
        which = m.group(1) or m.group(3) or m.group(5)
        part = m.group(2) or m.group(4) or "night"
        base = today + timedelta(days=_DAY_OFFSET[which])
        first, last = _PARTS[part]
        add(m, base + timedelta(hours=first), base + timedelta(hours=last))
    for m in _near(_EARLIER_LATER_RE, q, ("earlier", "later"), 2, 24):
        unit = m.group(3) or "day"
        if unit == "day":
            period = (today, today + timedelta(days=1))
        elif unit == "week":
            monday = today - timedelta(days=today.weekday())
            period = (monday, monday + timedelta(days=7))
        elif unit == "month":
            period = _month_span(today.year, today.month)
        else:
            period = _year_span(today.year)
        add(m, *((period[0], until_now) if m.group(1) == "earlier" else (now, period[1])))
    for m in _near(_PERIOD_RE, q, ("week", "month", "year"), 16, 6):
        which, unit = (m.group(1), m.group(2)) if m.group(1) else ("this past", m.group(4))  # "over the weekend": the latest
        shift = {"last": -1, "past": -1, "this past": -1, "this": 0, "next": 1}[" ".join(which.split())]
        if unit == "week":
            start = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
            add(m, start, start + timedelta(days=7))
        elif unit == "weekend":
            saturday = today - timedelta(days=(today.weekday() - 5) % 7)
            if shift > 0:
                saturday += timedelta(weeks=1) if saturday <= today else timedelta(0)
            elif shift == 0 and saturday + timedelta(days=2) <= today:
                saturday += timedelta(weeks=1)
            elif shift < 0 and today.weekday() >= 5 and which == "last":
                saturday -= timedelta(weeks=1)
            add(m, saturday, saturday + timedelta(days=2))
        elif unit == "month":
            add(m, *_month_span(*_shift_month(today.year, today.month, shift)))
        else:
            add(m, *_year_span(today.year + shift))
    for m in _near(_WEEKDAY_RE, q, ("day",), 28, 2):  # every weekday name ends in "day"
        target = _WEEKDAYS[m.group(2)]
        if m.group(1).endswith(("next", "coming")):
            day = today + timedelta(days=(target - today.weekday()) % 7 or 7)
        else:
            day = today - timedelta(days=(today.weekday() - target) % 7 or 7)
        add(m, day, day + timedelta(days=1))
    for m in _near(_MONTH_RE, q, _MONTH_ANCHORS, 12, 28):
        day_before, month_name, day_after, year = m.group(1), m.group(2), m.group(3), m.group(4)
        prefix = q[max(0, m.start() - 16) : m.start()]
        ambiguous = month_name in _AMBIGUOUS_MONTHS or q.startswith("'s", m.end(2))
        if ambiguous and not (day_before or day_after or year) and not _MONTH_CUE_RE.search(prefix):
            continue  # "may" the verb, "Jan" / "April's" the name
        month = _MONTHS[month_name]
        if year and int(year) < 1:
            continue
        y = int(year) if year else (today.year if month <= today.month else today.year - 1)
        if not year and _LAST_MONTH_NAME_RE.search(prefix):
            y = today.year - 1 if month >= today.month else today.year
        day = day_before or day_after
        if day and 1 <= int(day) <= calendar.monthrange(y, month)[1]:
            start = datetime(y, month, int(day), tzinfo=timezone.utc)
            add(m, start, start + timedelta(days=1))
        else:
            add(m, *_month_span(y, month))
    for m in _near(_YEAR_RE, q, ("19", "20"), 8, 4):
        add(m, *_year_span(int(m.group(1))), group=1)
    for m in _near(_ISO_RE, q, ("-", "/"), 8, 8):
        _add_date(add, m, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    for m in _near(_NUMERIC_DATE_RE, q, ("/",), 8, 8):
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        month, day = (b, a) if a > 12 else (a, b)
        _add_date(add, m, y, month, day)
    for m in _near(_RECENT_RE, q, ("recent", "lately"), 2, 4):
        add(m, today - timedelta(days=30), until_now)

    return [_apply_direction(q, pos, r) for pos, r in _dedupe(found)]


def _add_date(add, match: re.Match[str], year: int, month: int, day: int) -> None:  # type: ignore[no-untyped-def]
    try:
        start = datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:
        return
    add(match, start, start + timedelta(days=1))


def _dedupe(found: list[tuple[int, int, TimeRange]]) -> list[tuple[int, TimeRange]]:
    """In order of appearance; drop matches lying inside a longer one ("yesterday" in
    "the day before yesterday", "may" in "8 may 2023") and repeats of the same range."""
    out: list[tuple[int, TimeRange]] = []
    seen: set[TimeRange] = set()
    reach_end, reach_start = -1, -1  # the furthest-reaching span kept so far
    for start, end, r in sorted(found, key=lambda f: (f[0], f[0] - f[1])):
        if end < reach_end or (end == reach_end and reach_start < start):
            continue  # inside a longer match
        if end > reach_end:
            reach_end, reach_start = end, start
        if r not in seen:
            seen.add(r)
            out.append((start, r))
    return out


def _apply_direction(q: str, pos: int, r: TimeRange) -> TimeRange:
    """"before X" → (None, start of X); "after X" → (end of X, None); "since X" → (start of X, None)."""
    m = _DIRECTION_RE.search(q, max(0, pos - 12), pos)
    if not m:
        return r
    word = m.group(1)
    if word == "before":
        return TimeRange(None, r.start, "before " + r.expression)
    if word == "after":
        return TimeRange(r.end, None, "after " + r.expression)
    return TimeRange(r.start, None, "since " + r.expression)


def is_when_question(query: str) -> bool:
    """Questions whose answer is a date or time."""
    q = query.lower().strip()
    return bool(re.match(r"^(when|what (date|day|time|year|month)|how long ago|how many (days|weeks|months|years))\b", q)) or " when " in f" {q} "


# query_tense's cues: (pattern, anchors, back, fwd) for _near.
_PAST_TIME_CUES = (
    (re.compile(r"\b(?:yesterday|ago)\b"), ("yesterday", "ago"), 2, 2),
    (re.compile(rf"\b(?:last|this\s+past)\s+(?:night|week|weekend|month|year|summer|winter|spring|fall|autumn|semester|christmas|{_WEEKDAY}|{_MONTH})\b"),
     ("last", "past"), 6, 16),
    (re.compile(r"\bback\s+(?:in|then|when)\b|\bat\s+the\s+time\b"), ("back", "the time"), 4, 8),
    (re.compile(r"\bin\s+the\s+past\b(?!\s+(?:\w+\s+)?(?:days?|weeks?|months?|years?)\b)"), ("past",), 8, 24),
    (re.compile(r"\b(?:in|during|before|around)\s+(?:the\s+)?(?:(?:early|late|mid)[\s-]+)?(?:19|20)\d{2}s?\b"), ("19", "20"), 24, 5),
)
_PRESENT_CUES = (
    (re.compile(r"\b(?:now|nowadays|currently|current|presently|at\s+present|at\s+the\s+moment|these\s+days|still|anymore"
                r"|any\s+more|today|latest|most\s+recent(?:ly)?|recently|lately|up[\s-]to[\s-]date)\b"),
     ("now", "current", "present", "moment", "these days", "still", "more", "today", "latest", "recent", "lately", "to date", "to-date"),
     12, 10),
)
_PAST_CUES = (
    (re.compile(r"\b(?:used?\s+to|previously|formerly|originally|at\s+first|in\s+the\s+beginning|once\s+upon)\b"),
     ("use", "previously", "formerly", "originally", "at first", "beginning", "once upon"), 8, 10),
    # "my old job", "the previous address", "Alice's former boss", "my first car"
    (re.compile(r"(?:\b(?:my|our|your|his|her|their|the)|[a-z]'s)\s+(?:old|previous|former|prior|original)\s+(?!one\b|of\b|and\b|or\b|to\b|is\b|was\b|are\b)[a-z]"
                r"|(?:\b(?:my|our|your|his|her|their)|[a-z]'s)\s+first\s+(?!of\b|and\b|to\b|is\b)[a-z]"),
     ("old", "previous", "former", "prior", "original", "first"), 8, 12),
    # "did I ... before", "where was I living before I moved"
    (re.compile(r"\b(?:did|was|were|had)\b[^.?!]{0,80}?\bbefore\b"), ("before",), 90, 2),
)
_CONTRACTION_SUBJECTS = ("what", "who", "where", "how", "which", "when", "that", "it", "he", "she", "there", "here", "i", "you", "we", "they")
# The tense of each tense-bearing auxiliary token (modals carry none): True = present.
_AUX_TENSE: dict[str, bool] = {
    **dict.fromkeys(("is", "are", "am", "do", "does", "isn't", "aren't", "don't", "doesn't"), True),
    **dict.fromkeys(("was", "were", "did", "had", "has", "have", "will", "wasn't", "weren't", "didn't", "hadn't", "hasn't",
                     "haven't", "won't"), False),
    **{f"{s}'{t}": True for s in _CONTRACTION_SUBJECTS for t in ("s", "re", "m")},
    **{f"{s}'{t}": False for s in _CONTRACTION_SUBJECTS for t in ("ve", "d", "ll")},
}
_FRAME_AUX = frozenset({"do", "did", "will"})
_FRAME_VERBS = frozenset({"remember", "recall", "know", "think", "tell", "remind", "please"})
_PUNCT_TO_SPACE = str.maketrans({c: " " for c in ".,;:!?\"()[]{}"})


def _any(cues: tuple[tuple[re.Pattern[str], tuple[str, ...], int, int], ...], q: str) -> bool:
    return any(_near(pattern, q, anchors, back, fwd) for pattern, anchors, back, fwd in cues)


def _first_aux_is_present(q: str) -> bool:
    """Whether the first tense-bearing auxiliary is present tense, skipping "do you remember" frames."""
    words = q.translate(_PUNCT_TO_SPACE).split()
    get = _AUX_TENSE.get
    for i, w in enumerate(words):
        tense = get(w)
        if tense is None:
            continue
        if w in _FRAME_AUX and words[i + 1 : i + 2] == ["you"] and words[i + 2 : i + 3] and words[i + 2] in _FRAME_VERBS:
            continue  # "do you remember where ...": the tense is in what follows
        return tense
    return False


def query_tense(query: str) -> str:
    """"past", "present" or "neutral": which version of a changing fact the query wants.

    First rule that fires wins (lower-cased, whitespace collapsed, regexes and word lists only):

    1. a past time expression → "past": yesterday, last night, "... ago", "back in/then/when",
       "at the time", "in the past" (but not "in the past few weeks"), "in/during/before/around
       YYYY" ("in the 1990s", "in early 2020"), "last|this past" + night/week/weekend/month/year/
       season/semester/christmas/weekday/month name;
    2. a present marker → "present": now, nowadays, currently, current, presently, at present,
       at the moment, these days, still, anymore, today, latest, most recent(ly), recently, lately,
       up to date;
    3. another past cue → "past": used to, previously, formerly, originally, at first, in the
       beginning, once upon, "my/the/Alice's old|previous|former|prior|original <noun>",
       "my/Alice's first <noun>", did/was/were/had ... before (within 80 characters, one sentence);
    4. the first tense-bearing auxiliary (skipping "do you remember", "can you tell me" frames;
       modals don't count) is present — is/are/am/do/does, what's/it's/I'm/you're — → "present"
       ("where do I live", "what is my job", "where does Alice live");
    5. otherwise "neutral" (plain past tense such as "when did Caroline go" stays neutral:
       it asks about an event, not about which of two states holds).
    """
    q = _normalize(query)
    if _any(_PAST_TIME_CUES, q):
        return "past"
    if _any(_PRESENT_CUES, q):
        return "present"
    if _any(_PAST_CUES, q):
        return "past"
    return "present" if _first_aux_is_present(q) else "neutral"
