"""Time expressions in queries become the right ranges."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from remem.read.timeparse import is_when_question, parse_time_expressions

NOW = datetime(2023, 5, 30, 23, 40, tzinfo=timezone.utc)  # a Tuesday


def d(y: int, m: int, day: int) -> datetime:
    return datetime(y, m, day, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "query, start, end",
    [
        ("what did I do yesterday?", d(2023, 5, 29), d(2023, 5, 30)),
        ("what did I eat today", d(2023, 5, 30), d(2023, 5, 31)),
        ("where did I go last night", d(2023, 5, 29), d(2023, 5, 30)),
        ("the movie I saw the day before yesterday", d(2023, 5, 28), d(2023, 5, 29)),
        ("what happened last week?", d(2023, 5, 22), d(2023, 5, 29)),
        ("plans for this week", d(2023, 5, 29), d(2023, 6, 5)),
        ("where did I hike last weekend?", d(2023, 5, 27), d(2023, 5, 29)),
        ("what did we do this past weekend", d(2023, 5, 27), d(2023, 5, 29)),
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
