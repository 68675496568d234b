"""Time expressions in queries become the right ranges."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from remem.read.timeparse import is_when_question, parse_time_expressions, query_tense

NOW = datetime(2023, 5, 30, 23, 40, tzinfo=timezone.utc)  # a Tuesday


def d(y: int, m: int, day: int) -> datetime:
    return datetime(y, m, day, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "query, start, end",
    [
        ("what did I do yesterday?", d(2023, 5, 29), d(2023, 5, 30)),
        ("what did I eat today", d(2023, 5, 30), d(2023, 5, 31)),
        ("where did I go last night", datetime(2023, 5, 29, 18, tzinfo=timezone.utc), datetime(2023, 5, 30, 6, tzinfo=timezone.utc)),
        ("the movie I saw the day before yesterday", d(2023, 5, 28), d(2023, 5, 29)),
        ("what happened last week?", d(2023, 5, 22), d(2023, 5, 29)),
        ("plans for this week", d(2023, 5, 29), d(2023, 6, 5)),
        ("where did I hike last weekend?", d(2023, 5, 27), d(2023, 5, 29)),
        ("what did we do this past weekend", d(2023, 5, 27), d(2023, 5, 29)),
        ("what did I cook over the weekend?", d(2023, 5, 27), d(2023, 5, 29)),
        ("what happened this  past   week", d(2023, 5, 22), d(2023, 5, 29)),
        ("what's on next week", d(2023, 6, 5), d(2023, 6, 12)),
        ("what did I buy last month", d(2023, 4, 1), d(2023, 5, 1)),
        ("my goals this month", d(2023, 5, 1), d(2023, 6, 1)),
        ("trips last year", d(2022, 1, 1), d(2023, 1, 1)),
        ("what happened in March?", d(2023, 3, 1), d(2023, 4, 1)),
        ("what did I do in May 2022", d(2022, 5, 1), d(2022, 6, 1)),
        ("the concert in December", d(2022, 12, 1), d(2023, 1, 1)),
        ("what happened last May", d(2022, 5, 1), d(2022, 6, 1)),
        ("on May 8, 2023 what did I say", d(2023, 5, 8), d(2023, 5, 9)),
        ("what happened on 8 May 2023", d(2023, 5, 8), d(2023, 5, 9)),
        ("the 3rd of April party", d(2023, 4, 3), d(2023, 4, 4)),
        ("events on 2023-04-17", d(2023, 4, 17), d(2023, 4, 18)),
        ("what did I do in 2021?", d(2021, 1, 1), d(2022, 1, 1)),
        ("who did I meet last Friday", d(2023, 5, 26), d(2023, 5, 27)),
        ("what did I read in the past 3 days", d(2023, 5, 27), None),
        ("what have I cooked over the past few weeks", d(2023, 5, 9), None),
        ("what did I do recently", d(2023, 4, 30), None),
    ],
)
def test_ranges(query: str, start: datetime, end: datetime | None) -> None:
    [r] = parse_time_expressions(query, NOW)
    assert r.start == start
    if end is not None:
        assert r.end == end


@pytest.mark.parametrize(
    "query, center",
    [
        ("what did I do two weeks ago", d(2023, 5, 16)),
        ("the book I finished 3 days ago", d(2023, 5, 27)),
        ("a month ago I started running", d(2023, 4, 30)),
        ("a couple of months ago", d(2023, 3, 31)),
        ("a year ago", d(2022, 5, 30)),
    ],
)
def test_ago_is_a_window_around_the_point(query: str, center: datetime) -> None:
    [r] = parse_time_expressions(query, NOW)
    assert r.start is not None and r.end is not None and r.start <= center < r.end


def test_before_and_after_open_the_range() -> None:
    [before] = parse_time_expressions("what did I do before March 2023?", NOW)
    assert before.start is None and before.end == d(2023, 3, 1)
    [after] = parse_time_expressions("what changed after May 2022", NOW)
    assert after.start == d(2022, 6, 1) and after.end is None
    [since] = parse_time_expressions("everything since 2021", NOW)
    assert since.start == d(2021, 1, 1) and since.end is None


@pytest.mark.parametrize("query", ["where does Alice live?", "May I ask what my cat's name is?", "what is my favourite colour", "I may go hiking"])
def test_no_time_expression(query: str) -> None:
    assert parse_time_expressions(query, NOW) == []


def test_several_expressions() -> None:
    ranges = parse_time_expressions("did I run more in April 2023 or in March 2023?", NOW)
    assert [(r.start, r.end) for r in ranges] == [(d(2023, 4, 1), d(2023, 5, 1)), (d(2023, 3, 1), d(2023, 4, 1))]


@pytest.mark.parametrize(
    "query, expected",
    [("When did Caroline go to the support group?", True), ("What year did she move?", True),
     ("How many days ago did I buy it?", True), ("Where does Alice live?", False)],
)
def test_when_questions(query: str, expected: bool) -> None:
    assert is_when_question(query) is expected


# --- relative expressions against a fixed "now": Thursday 2024-03-14 09:30 UTC ---

NOW2 = datetime(2024, 3, 14, 9, 30, tzinfo=timezone.utc)  # a Thursday
UNTIL_NOW2 = datetime(2024, 3, 14, 9, 30, 1, tzinfo=timezone.utc)  # "up to now" ranges end 1 s after now


def h(y: int, m: int, day: int, hour: int = 0) -> datetime:
    return datetime(y, m, day, hour, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "query, start, end",
    [
        # days
        ("what did I do yesterday?", h(2024, 3, 13), h(2024, 3, 14)),
        ("what did I eat today", h(2024, 3, 14), h(2024, 3, 15)),
        ("what was today's special", h(2024, 3, 14), h(2024, 3, 15)),
        ("what am I cooking tonight", h(2024, 3, 14, 18), h(2024, 3, 15, 6)),
        ("what did I have for breakfast this morning", h(2024, 3, 14), h(2024, 3, 14, 12)),
        ("who called this afternoon", h(2024, 3, 14, 12), h(2024, 3, 14, 18)),
        ("plans for this evening", h(2024, 3, 14, 18), h(2024, 3, 15)),
        ("where did I go last night", h(2024, 3, 13, 18), h(2024, 3, 14, 6)),
        ("what did I watch yesterday evening", h(2024, 3, 13, 18), h(2024, 3, 14)),
        ("what did I do yesterday morning", h(2024, 3, 13), h(2024, 3, 13, 12)),
        ("the movie I saw the day before yesterday", h(2024, 3, 12), h(2024, 3, 13)),
        ("what is on tomorrow", h(2024, 3, 15), h(2024, 3, 16)),
        ("dinner tomorrow night", h(2024, 3, 15, 18), h(2024, 3, 16, 6)),
        ("the day after tomorrow", h(2024, 3, 16), h(2024, 3, 17)),
        # weekdays: the most recent one strictly before today / the first strictly after
        ("who did I meet last Tuesday", h(2024, 3, 12), h(2024, 3, 13)),
        ("what did I buy on Tuesday?", h(2024, 3, 12), h(2024, 3, 13)),
        ("this Tuesday I went swimming", h(2024, 3, 12), h(2024, 3, 13)),
        ("what did I do last Thursday", h(2024, 3, 7), h(2024, 3, 8)),
        ("on Friday we had pizza", h(2024, 3, 8), h(2024, 3, 9)),
        ("last Sunday's hike", h(2024, 3, 10), h(2024, 3, 11)),
        ("this past Monday", h(2024, 3, 11), h(2024, 3, 12)),
        ("what is planned for next Tuesday", h(2024, 3, 19), h(2024, 3, 20)),
        ("this coming Friday", h(2024, 3, 15), h(2024, 3, 16)),
        # N units ago: the day / the 7 days centred on it / the calendar month / the calendar year
        ("the book I finished 3 days ago", h(2024, 3, 11), h(2024, 3, 12)),
        ("three days ago I went running", h(2024, 3, 11), h(2024, 3, 12)),
        ("a day ago", h(2024, 3, 13), h(2024, 3, 14)),
        ("ten days ago", h(2024, 3, 4), h(2024, 3, 5)),
        ("a couple of days ago", h(2024, 3, 11), h(2024, 3, 14)),
        ("a few days ago", h(2024, 3, 10), h(2024, 3, 13)),
        ("a week ago", h(2024, 3, 4), h(2024, 3, 11)),
        ("what did I do 2 weeks ago", h(2024, 2, 26), h(2024, 3, 4)),
        ("a couple of weeks ago", h(2024, 2, 19), h(2024, 3, 11)),
        ("a couple weeks ago", h(2024, 2, 19), h(2024, 3, 11)),
        ("a month ago I started running", h(2024, 2, 1), h(2024, 3, 1)),
        ("three months ago", h(2023, 12, 1), h(2024, 1, 1)),
        ("a few months ago", h(2023, 11, 1), h(2024, 2, 1)),
        ("a year ago", h(2023, 1, 1), h(2024, 1, 1)),
        ("two years ago", h(2022, 1, 1), h(2023, 1, 1)),
        ("a couple of years ago", h(2021, 1, 1), h(2024, 1, 1)),
        # periods
        ("what did I buy earlier this month", h(2024, 3, 1), UNTIL_NOW2),
        ("earlier this week I met Sam", h(2024, 3, 11), UNTIL_NOW2),
        ("earlier in the week", h(2024, 3, 11), UNTIL_NOW2),
        ("earlier this year", h(2024, 1, 1), UNTIL_NOW2),
        ("what did I say earlier today", h(2024, 3, 14), UNTIL_NOW2),
        ("what am I doing later today", NOW2, h(2024, 3, 15)),
        ("later this week", NOW2, h(2024, 3, 18)),
        ("my goals this month", h(2024, 3, 1), h(2024, 4, 1)),
        ("plans for this week", h(2024, 3, 11), h(2024, 3, 18)),
        ("this year's trips", h(2024, 1, 1), h(2025, 1, 1)),
        ("what did I buy last month", h(2024, 2, 1), h(2024, 3, 1)),
        ("what happened last week?", h(2024, 3, 4), h(2024, 3, 11)),
        ("trips last year", h(2023, 1, 1), h(2024, 1, 1)),
        ("where did I hike last weekend?", h(2024, 3, 9), h(2024, 3, 11)),
        ("what did I do recently", h(2024, 2, 13), UNTIL_NOW2),
        ("what have I been reading lately", h(2024, 2, 13), UNTIL_NOW2),
        # absolute dates and guarded month words
        ("what happened on 3/14/2024", h(2024, 3, 14), h(2024, 3, 15)),
        ("what happened on 14/3/2024", h(2024, 3, 14), h(2024, 3, 15)),
        ("notes from 2024/03/01", h(2024, 3, 1), h(2024, 3, 2)),
        ("what did I do in Jan", h(2024, 1, 1), h(2024, 2, 1)),
        ("at the end of May", h(2023, 5, 1), h(2023, 6, 1)),
        ("what did I do before yesterday", None, h(2024, 3, 13)),
        ("everything since last week", h(2024, 3, 4), None),
    ],
)
def test_relative_ranges(query: str, start: datetime | None, end: datetime | None) -> None:
    [r] = parse_time_expressions(query, NOW2)
    assert (r.start, r.end) == (start, end)


def test_separate_mentions_of_nested_phrases_both_count() -> None:
    ranges = parse_time_expressions("did I run yesterday or the day before yesterday?", NOW2)
    assert [(r.start, r.end) for r in ranges] == [(h(2024, 3, 13), h(2024, 3, 14)), (h(2024, 3, 12), h(2024, 3, 13))]


@pytest.mark.parametrize(
    "query",
    [
        "May I ask what my cat's name is?",
        "I may go hiking",
        "what did Jan say about the trip?",
        "what did April's mom bake?",
        "what do I usually do on Tuesdays?",
        "how many days did the trip take",
        "I have a few days off",
        "what was the last day of school like",
        "it was a weekend to remember",
        "I read 2000 pages",
        "how old am I",
        "what do I know about the night sky",
    ],
)
def test_not_time_expressions(query: str) -> None:
    assert parse_time_expressions(query, NOW2) == []


@pytest.mark.parametrize("query", ["9999 years ago", "the last 9999 years", "may 0000", "0000-01-01", "1/1/0000", "2023-02-30"])
def test_impossible_dates_are_skipped_not_raised(query: str) -> None:
    assert parse_time_expressions(query, NOW2) == []


def test_long_queries_parse_fast() -> None:
    import time

    words = "so I told her that we went to the market and she may have bought a few apples there with Jan".split()
    dialogue = " ".join(words[i % len(words)] for i in range(400)) + " what did I do last Tuesday?"
    adversarial = ["1 " * 1500, "a " * 1500, "last " * 600, "may " * 600, "12 may " * 400, "2023/" * 400]
    start = time.perf_counter()
    for _ in range(20):
        assert [r.expression for r in parse_time_expressions(dialogue, NOW2)] == ["last tuesday"]
    for text in adversarial:
        parse_time_expressions(text, NOW2)
    assert time.perf_counter() - start < 1.0  # typically ~10 ms for all of it


def test_anchor_windows_match_a_whole_query_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """The anchored-window speed-up finds exactly what one pass of each pattern over the query finds."""
    import remem.read.timeparse as tp

    queries = [
        "what did I do 3 days ago and a couple of weeks ago, in the last 2 months, and on 8 May 2023?",
        "since last week, earlier this month, later today, this coming Friday, tomorrow night",
        "the day before yesterday, last night, this morning, yesterday evening, in 2021 and 2024-03-01, 3/14/2024",
        "may I ask, maybe in may, jan said the market summary for dec 5 was recent, before March 2023",
        "Where did I live before I moved? Do I still have my old bike? What's my current job these days?",
        "I used to work at my previous company back in 2019; at first it was fine. Is it up-to-date now?",
    ]
    windowed = [(parse_time_expressions(q, NOW2), query_tense(q)) for q in queries]
    monkeypatch.setattr(tp, "_near", lambda pattern, q, anchors, back, fwd: list(pattern.finditer(q)))
    assert windowed == [(parse_time_expressions(q, NOW2), query_tense(q)) for q in queries]


@pytest.mark.parametrize(
    "query, tense",
    [
        # past: an explicit past time, or a past cue
        ("What did I do in 2022?", "past"),
        ("Where did I travel last year?", "past"),
        ("What was my address three years ago?", "past"),
        ("Which city did I live in back in college?", "past"),
        ("Was I still living in Paris last year?", "past"),
        ("Where did I use to live?", "past"),
        ("Where did I used to work?", "past"),
        ("What did I previously say about my diet?", "past"),
        ("Formerly, where did I work?", "past"),
        ("Which gym did I originally join?", "past"),
        ("What car did I have at first?", "past"),
        ("What was my old job?", "past"),
        ("what was my previous address", "past"),
        ("What was Alice's first car?", "past"),
        ("What was my job before I moved to Berlin?", "past"),
        ("Where did I live in the past?", "past"),
        # present: a present marker, or a present-tense question
        ("Where do I live?", "present"),
        ("What is my job?", "present"),
        ("Where does Alice live?", "present"),
        ("What's my current address?", "present"),
        ("Where do I work now?", "present"),
        ("Do I still have the blue bike?", "present"),
        ("Do I still live at my old address?", "present"),
        ("What am I reading these days?", "present"),
        ("What is Bob doing at the moment?", "present"),
        ("What are my plans today?", "present"),
        ("What do I currently drive?", "present"),
        ("How old is my dog?", "present"),
        ("Am I vegetarian?", "present"),
        ("who\u2019s my dentist?", "present"),
        # neutral: neither (plain past tense asks about an event, not a state)
        ("When did Caroline go to the support group?", "neutral"),
        ("What did Melanie paint?", "neutral"),
        ("How many books did I read?", "neutral"),
        ("Tell me about hiking", "neutral"),
        ("hiking trip photos", "neutral"),
        ("Can you remind me what the recipe was?", "neutral"),
        ("Do you remember what my dog's name was?", "neutral"),
        ("Have I ever been to Japan?", "neutral"),
        ("Which restaurant did we go to for my birthday?", "neutral"),
        ("May I ask what my cat's name was?", "neutral"),
        ("what did I think of the films I watched in the past few weeks", "neutral"),
        ("Where will I go for vacation?", "neutral"),
    ],
)
def test_query_tense(query: str, tense: str) -> None:
    assert query_tense(query) == tense
