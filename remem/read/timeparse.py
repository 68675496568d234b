"""Time expressions in a query ("last weekend", "in May", "two months ago") → time ranges.

Relative expressions are resolved against a reference time ``now`` (in benchmarks,
the question's date). Rules cover the common relative phrasings; absolute dates go
through dateparser. Ranges are half-open [start, end) in UTC.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple of": 2, "a couple of": 2,
    "few": 3, "a few": 3, "several": 4,
}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS.pop("may", None)
_MONTHS["may"] = 5
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

_NUM = r"(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:a )?couple of|(?:a )?few|several)"
_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"


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


def _num(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else _NUMBERS.get(text, 1)


def parse_time_expressions(query: str, now: datetime) -> list[TimeRange]:
    """Every time range the query mentions, in order of appearance."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    now = now.astimezone(timezone.utc)
    today = _day(now)
    q = query.lower()
    found: list[tuple[int, TimeRange]] = []

    def add(match: re.Match[str], start: datetime | None, end: datetime | None) -> None:
        found.append((match.start(), TimeRange(start, end, match.group(0))))

    # "N days/weeks/months/years ago" (a window around that point)
    for m in re.finditer(rf"\b{_NUM}\s+(day|week|month|year)s?\s+ago\b", q):
        n, unit = _num(m.group(1)), m.group(2)
        center = today - timedelta(days=n * _UNIT_DAYS[unit])
        half = timedelta(days={"day": 1, "week": 4, "month": 16, "year": 183}[unit])
        add(m, center - half, center + half + timedelta(days=1))
    # "in the last/past N days", "over the past few weeks", "the past month"
    for m in re.finditer(rf"\b(?:last|past)\s+(?:{_NUM}\s+)?(day|week|month|year)s\b", q):
        n = _num(m.group(1)) if m.group(1) else 1
        add(m, today - timedelta(days=n * _UNIT_DAYS[m.group(2)]), now + timedelta(seconds=1))
    for word, delta in (("yesterday", 1), ("today", 0), ("tonight", 0), ("this morning", 0), ("last night", 1)):
        for m in re.finditer(rf"\b{word}\b", q):
            add(m, today - timedelta(days=delta), today - timedelta(days=delta) + timedelta(days=1))
    for m in re.finditer(r"\bday before yesterday\b", q):
        add(m, today - timedelta(days=2), today - timedelta(days=1))
    # last/this/next week|weekend|month|year
    for m in re.finditer(r"\b(last|this|next|this past|past)\s+(week|weekend|month|year)\b", q):
        which, unit = m.group(1), m.group(2)
        shift = {"last": -1, "past": -1, "this past": -1, "this": 0, "next": 1}[which]
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
            y, mo = today.year, today.month + shift
            y, mo = y + (mo - 1) // 12, (mo - 1) % 12 + 1
            add(m, *_month_span(y, mo))
        else:
            y = today.year + shift
            add(m, datetime(y, 1, 1, tzinfo=timezone.utc), datetime(y + 1, 1, 1, tzinfo=timezone.utc))
    # "last monday", "on friday"
    for m in re.finditer(r"\b(last|this|on|past)\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", q):
        back = (today.weekday() - _WEEKDAYS[m.group(2)]) % 7 or 7
        day = today - timedelta(days=back)
        add(m, day, day + timedelta(days=1))
    # "in May", "in May 2023", "last May", "May 8(th)(, 2023)", "8 May 2023"
    for m in re.finditer(rf"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?{_MONTH}\b(?:\s+(\d{{1,2}})(?:st|nd|rd|th)?\b)?(?:,?\s+(\d{{4}}))?", q):
        day_before, month_name, day_after, year = m.group(1), m.group(2), m.group(3), m.group(4)
        if month_name == "may" and not (day_before or day_after or year) and not re.search(r"\b(in|last|during|since|of)\s+may\b", q):
            continue  # "may" the verb
        month = _MONTHS[month_name]
        y = int(year) if year else (today.year if month <= today.month else today.year - 1)
        if re.search(rf"\blast\s+{month_name}\b", q) and not year:
            y = today.year - 1 if month >= today.month else today.year
        day = day_before or day_after
        if day and 1 <= int(day) <= calendar.monthrange(y, month)[1]:
            start = datetime(y, month, int(day), tzinfo=timezone.utc)
            add(m, start, start + timedelta(days=1))
        else:
            add(m, *_month_span(y, month))
    # bare years "in 2022"
    for m in re.finditer(r"\b(?:in|during|since|before|after)\s+((?:19|20)\d{2})\b", q):
        y = int(m.group(1))
        found.append((m.start(1), TimeRange(datetime(y, 1, 1, tzinfo=timezone.utc), datetime(y + 1, 1, 1, tzinfo=timezone.utc), m.group(1))))
    # ISO dates
    for m in re.finditer(r"\b(\d{4})[-/](\d{1,2})[-/](\d{1,2})\b", q):
        try:
            start = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=timezone.utc)
        except ValueError:
            continue
        add(m, start, start + timedelta(days=1))
    for m in re.finditer(r"\brecent(?:ly)?\b|\blately\b", q):
        add(m, today - timedelta(days=30), now + timedelta(seconds=1))

    found.sort(key=lambda kv: kv[0])
    ranges = _dedupe([r for _, r in found])
    return [_apply_direction(q, r) for r in ranges]


def _dedupe(ranges: list[TimeRange]) -> list[TimeRange]:
    """Drop ranges whose expression is inside another's (e.g. "may" in "8 may 2023")."""
    out: list[TimeRange] = []
    for r in ranges:
        if any(r.expression != o.expression and r.expression in o.expression for o in ranges):
            continue
        if r not in out:
            out.append(r)
    return out


def _apply_direction(q: str, r: TimeRange) -> TimeRange:
    """"before X" → (None, start of X); "after/since X" → (end/start of X, None)."""
    expr = re.escape(r.expression)
    if re.search(rf"\bbefore\s+(?:the\s+)?{expr}", q):
        return TimeRange(None, r.start, "before " + r.expression)
    if re.search(rf"\bafter\s+(?:the\s+)?{expr}", q):
        return TimeRange(r.end, None, "after " + r.expression)
    if re.search(rf"\bsince\s+(?:the\s+)?{expr}", q):
        return TimeRange(r.start, None, "since " + r.expression)
    return r


def is_when_question(query: str) -> bool:
    """Questions whose answer is a date or time."""
    q = query.lower().strip()
    return bool(re.match(r"^(when|what (date|day|time|year|month)|how long ago|how many (days|weeks|months|years))\b", q)) or " when " in f" {q} "
