"""The generated task suite of ``remem eval procedural``: task families, each with a trick.

Every family has three phrasings, a generator of parameters, the correct method (and answer),
the typical mistake (and its wrong answer), and the lessons a good distiller would write: what
to do (from a success), what to avoid (from a failure) and the concept behind it. Everything is
drawn from ``random.Random`` seeded per family, so a seed gives the same suite on every machine.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

Work = tuple[list[str], str]  # (the lines of an attempt; "tool: ..." lines are tool output), final answer


@dataclass(frozen=True)
class Family:
    name: str
    trick: str
    templates: tuple[str, ...]
    params: Callable[[random.Random], dict[str, Any]]
    right: Callable[[dict[str, Any]], Work]
    wrong: Callable[[dict[str, Any]], Work]
    check: Callable[[dict[str, Any], str], bool]  # is a final answer correct
    lessons: dict[str, dict[str, Any]]  # "do" / "avoid" / "concept" -> title, when_to_apply, steps
    tool: str | None = None  # the simulated tool an agent may call: "calendar" | "records"


@dataclass(frozen=True)
class Task:
    id: str
    family: str
    text: str
    params: dict[str, Any] = field(hash=False)
    answer: str


def _lesson(title: str, when: str, *steps: str) -> dict[str, Any]:
    return {"title": title, "when_to_apply": when, "steps": list(steps)}


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def final_answer(reply: str) -> str:
    """The text after the last ``Answer:`` of a reply (else its last non-blank line)."""
    parts = re.split(r"(?i)\banswer\s*:", reply)
    text = parts[-1] if len(parts) > 1 else next((ln for ln in reversed(reply.splitlines()) if ln.strip()), "")
    return text.strip().strip("`*\"' ")


def _number_is(tolerance: float) -> Callable[[dict[str, Any], str], bool]:
    """A check: the first number of the final answer is ``params["expected"]`` within ``tolerance``."""

    def check(p: dict[str, Any], reply: str) -> bool:
        found = _NUMBER.findall(final_answer(reply).replace(",", ""))
        return bool(found) and abs(float(found[0]) - p["expected"]) <= tolerance

    return check


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9.]+", text.lower())


# --------------------------------------------------------------------------- families


def _temperature(r: random.Random) -> dict[str, Any]:
    f = r.randint(-20, 220)
    return {"f": f, "expected": round((f - 32) * 5 / 9, 1)}


def _percent(r: random.Random) -> dict[str, Any]:
    a, pct = r.choice([20, 40, 60, 80, 100, 120, 160, 200]), r.choice([5, 10, 15, 20, 25, 30, 40, 50])
    item = r.choice(["bicycle", "lamp", "concert ticket", "jacket", "subscription", "coffee machine"])
    return {"a": a, "b": a * (100 + pct) // 100, "item": item, "expected": float(pct)}


def _versions(r: random.Random) -> dict[str, Any]:
    major = r.choice([1, 2, 3])
    minors = r.sample([2, 3, 9, 10, 11, 12, 20, 21], 4)
    if not any(m >= 10 for m in minors) or not any(m < 10 for m in minors):
        minors[0], minors[1] = 3, 12
    shown = [f"{major}.{m}" for m in minors]
    return {"shown": shown, "versions": ", ".join(shown), "expected": [f"{major}.{m}" for m in sorted(minors)]}


def _sentence(r: random.Random) -> dict[str, Any]:
    vocab = ["the", "quick", "brown", "fox", "river", "bright", "morning", "jumps", "over", "quiet", "green", "hill", "old", "ship"]
    words = r.sample(vocab, r.randint(4, 5))
    return {"s": " ".join(words), "expected": " ".join(reversed(words))}


def _calendar(r: random.Random) -> dict[str, Any]:
    day = date(2024, 1, 1) + timedelta(days=r.randint(0, 900))
    pretty = f"{day:%B} {day.day}, {day.year}" if r.random() < 0.5 else f"{day.day} {day:%B} {day.year}"
    event = r.choice(["team sync", "dentist visit", "project review", "book club", "budget meeting"])
    return {"iso": day.isoformat(), "pretty": pretty, "event": event, "expected": day.isoformat()}


def _records(r: random.Random) -> dict[str, Any]:
    total = r.randint(23, 67)
    thing = r.choice([("customers", "customer"), ("orders", "order"), ("invoices", "invoice"), ("tickets", "ticket")])
    return {"total": total, "things": thing[0], "thing": thing[1], "expected": float(total)}


def _bill(r: random.Random) -> dict[str, Any]:
    n = r.choice([3, 6, 7])
    cents = r.randint(2000, 20000)
    while cents % n == 0:
        cents += 1
    return {"n": n, "cents": cents, "total": f"{cents / 100:.2f}", "expected": cents}


def _days(r: random.Random) -> dict[str, Any]:
    start = date(2024, 1, 1) + timedelta(days=r.randint(0, 500))
    delta = r.randint(3, 40)
    end = start + timedelta(days=delta)
    return {"d1": f"{start:%B} {start.day}, {start.year}", "d2": f"{end:%B} {end.day}, {end.year}", "delta": delta, "expected": float(delta + 1)}


def _celsius(r: random.Random) -> dict[str, Any]:
    c = r.randint(-30, 110)
    return {"c": c, "expected": round(c * 9 / 5 + 32, 1)}


def _discount(r: random.Random) -> dict[str, Any]:
    price, pct = r.choice([40, 60, 80, 120, 150, 200, 250]), r.choice([10, 15, 20, 25, 30, 40])
    item = r.choice(["pair of boots", "backpack", "headset", "desk chair", "tent"])
    return {"price": price, "pct": pct, "item": item, "expected": round(price * (100 - pct) / 100, 2)}


def _workdays(r: random.Random) -> dict[str, Any]:
    start = date(2024, 1, 1) + timedelta(days=r.randint(0, 500))
    end = start + timedelta(days=r.randint(6, 30))
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    weekdays = sum(1 for d in days if d.weekday() < 5)
    return {"d1": f"{start:%A, %B} {start.day}, {start.year}", "d2": f"{end:%A, %B} {end.day}, {end.year}", "all": len(days), "expected": float(weekdays)}


def _files(r: random.Random) -> dict[str, Any]:
    stem, ext = r.choice([("img", "png"), ("report", "pdf"), ("track", "mp3"), ("scan", "jpg")])
    numbers = r.sample([1, 2, 3, 7, 9, 10, 11, 12, 20, 100], 4)
    if not any(n >= 10 for n in numbers) or not any(n < 10 for n in numbers):
        numbers[0], numbers[1] = 2, 10
    shown = [f"{stem}{n}.{ext}" for n in numbers]
    return {"shown": shown, "files": ", ".join(shown), "expected": [f"{stem}{n}.{ext}" for n in sorted(numbers)]}


def _shares(p: dict[str, Any]) -> list[str]:
    base, extra = divmod(p["cents"], p["n"])
    return [f"${(base + (1 if i < extra else 0)) / 100:.2f}" for i in range(p["n"])]


def _check_bill(p: dict[str, Any], reply: str) -> bool:
    amounts = [round(float(x) * 100) for x in re.findall(r"\d+\.\d{2}", final_answer(reply))]
    return len(amounts) == p["n"] and sum(amounts) == p["cents"] and max(amounts) - min(amounts) <= 1


def _check_calendar(p: dict[str, Any], reply: str) -> bool:
    found = re.search(r"calendar\.book\(\s*date\s*=\s*[\"']([^\"']+)[\"']", reply)
    return bool(found) and found.group(1).strip() == p["iso"]


def _pages(total: int) -> list[str]:
    lines, page = [], 1
    while True:
        n = min(10, total - (page - 1) * 10)
        nxt = page + 1 if page * 10 < total else None
        lines += [f"records.list(page={page})", f"tool: {n} records, next_page: {nxt if nxt else 'null'}"]
        if nxt is None:
            return lines
        page = nxt


FAMILIES: tuple[Family, ...] = (
    Family(
        "temperature", "subtract 32 before multiplying by 5/9",
        ("Convert {f} °F to degrees Celsius.", "The thermometer reads {f} degrees Fahrenheit. What is that in Celsius?",
         "Express a temperature of {f}F on the Celsius scale."),
        _temperature,
        lambda p: ([f"Subtract 32: {p['f']} - 32 = {p['f'] - 32}", f"Multiply by 5/9: {p['expected']}"], f"{p['expected']}"),
        lambda p: ([f"Multiply by 5/9: {p['f'] * 5 / 9:.1f}", f"Subtract 32: {p['f'] * 5 / 9 - 32:.1f}"], f"{p['f'] * 5 / 9 - 32:.1f}"),
        _number_is(0.15),
        {"do": _lesson("Subtract 32 before scaling by 5/9", "Converting a temperature from Fahrenheit to Celsius.",
                       "Subtract 32 from the Fahrenheit reading", "Multiply the difference by 5/9"),
         "avoid": _lesson("Do not scale before removing the 32-degree offset", "Converting a temperature from Fahrenheit to Celsius.",
                          "Multiplying the Fahrenheit value by 5/9 before subtracting 32"),
         "concept": _lesson("Remove an offset before applying a scale factor", "Converting between measurement scales whose zero points differ.",
                            "Shift to the common zero first", "Then rescale")},
    ),
    Family(
        "percent_change", "divide the change by the original value",
        ("A {item} went from ${a} to ${b}. By what percent did its price change?",
         "The price of a {item} rose from ${a} to ${b}; what is the percentage increase?",
         "Sales grew from {a} units to {b} units. Give the growth as a percent."),
        _percent,
        lambda p: ([f"Change: {p['b']} - {p['a']} = {p['b'] - p['a']}", f"Divide by the original {p['a']}: {p['expected']:.0f}%"], f"{p['expected']:.0f}%"),
        lambda p: ([f"Change: {p['b'] - p['a']}", f"Divide by the new {p['b']}: {(p['b'] - p['a']) / p['b'] * 100:.1f}%"], f"{(p['b'] - p['a']) / p['b'] * 100:.1f}%"),
        _number_is(0.05),
        {"do": _lesson("Divide the change by the starting value", "Computing a percentage increase or decrease between two amounts.",
                       "Subtract the old amount from the new one", "Divide by the old amount and multiply by 100"),
         "avoid": _lesson("Do not use the new amount as the base of a percent change", "Computing a percentage increase or decrease between two amounts.",
                          "Dividing the difference by the final amount instead of the starting one"),
         "concept": _lesson("Relative change is measured against the reference point", "Any ratio, growth rate or relative difference.",
                            "Identify the reference (before) value", "Express the difference as a fraction of it")},
    ),
    Family(
        "version_sort", "compare version components as integers",
        ("Sort these version numbers from oldest to newest: {versions}.", "Order the software releases {versions} in ascending version order.",
         "Which order do the versions {versions} go in, lowest first?"),
        _versions,
        lambda p: (["Split each version at the dots into integers", f"Compare component by component: {', '.join(p['expected'])}"], ", ".join(p["expected"])),
        lambda p: (["Sort the version strings alphabetically", f"Sorted text: {', '.join(sorted(p['shown']))}"], ", ".join(sorted(p["shown"]))),
        lambda p, reply: _words(final_answer(reply)) == p["expected"],
        {"do": _lesson("Sort versions numerically by component", "Ordering software version numbers or release names.",
                       "Split each version at the dots", "Compare the parts as integers, left to right"),
         "avoid": _lesson("Do not sort version numbers as text", "Ordering software version numbers or release names.",
                          "Alphabetical sorting, which puts 1.10 before 1.9"),
         "concept": _lesson("Parse structured strings before comparing them", "Sorting identifiers made of numeric parts.",
                            "Turn each string into a tuple of numbers", "Compare the tuples")},
    ),
    Family(
        "reverse_words", "reverse the word order, not the characters",
        ('Reverse the order of the words in: "{s}".', 'Rewrite the sentence "{s}" with its words in reverse order.',
         'Give the words of "{s}" back to front.'),
        _sentence,
        lambda p: (["Split the sentence on spaces into words", "Reverse the list of words, keeping each word intact"], p["expected"]),
        lambda p: (["Reverse the whole string character by character"], p["s"][::-1]),
        lambda p, reply: _words(final_answer(reply)) == p["expected"].split(),
        {"do": _lesson("Reverse the list of words, not the letters", "Reversing the word order of a sentence or phrase.",
                       "Split the sentence into words", "Reverse the list and join it with spaces"),
         "avoid": _lesson("Do not reverse the string character by character", "Reversing the word order of a sentence or phrase.",
                          "Reversing characters, which spells each word backwards"),
         "concept": _lesson("Operate on the right unit of the data", "Text transformations on words, lines or characters.",
                            "Tokenise into the unit the task names", "Transform the sequence of units")},
    ),
    Family(
        "calendar_tool", "the calendar tool takes ISO dates (YYYY-MM-DD)",
        ('Use the calendar tool to book "{event}" on {pretty}.', "Schedule the {event} for {pretty} with the calendar tool.",
         "Put the {event} in the calendar on {pretty}."),
        _calendar,
        lambda p: ([f'calendar.book(date="{p["iso"]}", title="{p["event"]}")', "tool: booked"], f'calendar.book(date="{p["iso"]}", title="{p["event"]}")'),
        lambda p: ([f'calendar.book(date="{p["pretty"]}", title="{p["event"]}")', "tool: error: invalid date, expected YYYY-MM-DD"],
                   f'calendar.book(date="{p["pretty"]}", title="{p["event"]}")'),
        _check_calendar,
        {"do": _lesson("Give the calendar tool ISO dates", "Booking or scheduling an event with the calendar tool.",
                       "Rewrite the date as YYYY-MM-DD", 'Call calendar.book(date="YYYY-MM-DD", title=...)'),
         "avoid": _lesson("Do not pass written-out dates to the calendar tool", "Booking or scheduling an event with the calendar tool.",
                          'Dates like "March 4, 2025", which the tool rejects'),
         "concept": _lesson("Normalise arguments to the format a tool expects", "Calling any tool or API with typed arguments.",
                            "Check the tool's expected format", "Convert the value before the call")},
        tool="calendar",
    ),
    Family(
        "records_pagination", "follow next_page until it is null",
        ("How many {things} are there in total? Use the records API.", "Count every {thing} record through the records API.",
         "Using records.list, report the total number of {things}."),
        _records,
        lambda p: ([*_pages(p["total"]), f"Add up the records of every page: {p['total']}"], str(p["total"])),
        lambda p: ([*_pages(p["total"])[:2], "Count the records on the page: 10"], "10"),
        _number_is(0.0),
        {"do": _lesson("Follow next_page until it is null", "Counting or collecting records from a paginated list API.",
                       "Call records.list(page=1)", "Keep requesting next_page while it is not null", "Sum the records of all pages"),
         "avoid": _lesson("Do not stop at the first page of results", "Counting or collecting records from a paginated list API.",
                          "Reporting the size of page 1 as the total"),
         "concept": _lesson("Exhaust an iterator before aggregating", "Aggregating results that arrive in batches.",
                            "Loop until the source says it is done", "Aggregate over every batch")},
        tool="records",
    ),
    Family(
        "split_bill", "work in cents and hand out the leftover cents",
        ("Split a bill of ${total} evenly among {n} people so the shares add up exactly to the total.",
         "{n} friends share a ${total} dinner bill; give each person's share in dollars and cents, summing to the bill.",
         "Divide ${total} between {n} people, to the cent, with nothing lost to rounding."),
        _bill,
        lambda p: ([f"Work in cents: {p['cents']}", f"{p['cents'] // p['n']} cents each, {p['cents'] % p['n']} cents left over",
                    "Give the leftover cents one by one to the first people"], ", ".join(_shares(p))),
        lambda p: ([f"Each pays {p['cents'] / p['n'] / 100:.2f} after rounding"], ", ".join([f"${p['cents'] / p['n'] / 100:.2f}"] * p["n"])),
        _check_bill,
        {"do": _lesson("Split money in whole cents and distribute the remainder", "Dividing a sum of money into equal shares.",
                       "Convert the total to cents", "Give everyone the floor of the division", "Hand the leftover cents to the first people"),
         "avoid": _lesson("Do not round each share separately", "Dividing a sum of money into equal shares.",
                          "Rounding every share to the cent, so the shares no longer add up"),
         "concept": _lesson("Allocate the integer remainder explicitly", "Dividing indivisible units between several parties.",
                            "Use integer division", "Distribute the remainder deliberately")},
    ),
    Family(
        "inclusive_days", "count both end days (difference + 1)",
        ("How many days are there from {d1} to {d2}, counting both the first and the last day?",
         "A festival runs from {d1} through {d2} inclusive. How many days does it last?",
         "Count the calendar days from {d1} to {d2}, both ends included."),
        _days,
        lambda p: ([f"Subtract the dates: {p['delta']} days apart", "Add 1 because both ends count"], str(p["delta"] + 1)),
        lambda p: ([f"Subtract the dates: {p['delta']} days apart"], str(p["delta"])),
        _number_is(0.0),
        {"do": _lesson("Add one to a date difference when both ends count", "Counting days in an inclusive date range.",
                       "Subtract the start date from the end date", "Add 1 for the first day"),
         "avoid": _lesson("Do not report the bare date difference for an inclusive range", "Counting days in an inclusive date range.",
                          "Forgetting the first day (an off-by-one error)"),
         "concept": _lesson("Check fencepost counts", "Counting items between two boundaries.",
                            "Decide whether the ends are included", "Adjust the difference by one accordingly")},
    ),
    Family(
        "celsius_to_fahrenheit", "multiply by 9/5 first, then add 32",
        ("Convert {c} °C to degrees Fahrenheit.", "It is {c} degrees Celsius outside. How much is that in Fahrenheit?",
         "Express {c}C on the Fahrenheit scale."),
        _celsius,
        lambda p: ([f"Multiply by 9/5: {p['c'] * 9 / 5:.1f}", f"Add 32: {p['expected']}"], f"{p['expected']}"),
        lambda p: ([f"Add 32: {p['c'] + 32}", f"Multiply by 9/5: {(p['c'] + 32) * 9 / 5:.1f}"], f"{(p['c'] + 32) * 9 / 5:.1f}"),
        _number_is(0.15),
        {"do": _lesson("Scale by 9/5, then add 32", "Converting a temperature from Celsius to Fahrenheit.",
                       "Multiply the Celsius value by 9/5", "Add 32 to the product"),
         "avoid": _lesson("Do not add 32 before multiplying by 9/5", "Converting a temperature from Celsius to Fahrenheit.",
                          "Adding the 32-degree offset before scaling"),
         "concept": _lesson("Apply the scale factor before adding the target offset", "Converting into a scale whose zero point is shifted.",
                            "Rescale first", "Then shift to the target zero")},
    ),
    Family(
        "discount_price", "multiply by (1 - rate); the rate is not dollars",
        ("A {item} costs ${price} and is {pct}% off. What is the sale price?",
         "The ${price} {item} is discounted by {pct} percent. How much do I pay?",
         "What do you pay for a {item} listed at ${price} with a {pct}% reduction?"),
        _discount,
        lambda p: ([f"Discount rate: {p['pct']}% = {p['pct'] / 100:.2f}", f"Pay {p['price']} x {(100 - p['pct']) / 100:.2f}"], f"${p['expected']:.2f}"),
        lambda p: ([f"Subtract the percent as dollars: {p['price']} - {p['pct']}"], f"${p['price'] - p['pct']:.2f}"),
        _number_is(0.01),
        {"do": _lesson("Multiply the price by one minus the discount rate", "Working out a sale price after a percentage discount.",
                       "Turn the percentage into a rate", "Pay the price times (1 - rate)"),
         "avoid": _lesson("Do not subtract the percentage as if it were dollars", "Working out a sale price after a percentage discount.",
                          "Taking 20 dollars off for a 20% discount"),
         "concept": _lesson("Percentages are rates to multiply, not amounts", "Any computation with a percentage of a quantity.",
                            "Convert the percent to a fraction", "Multiply the quantity by it")},
    ),
    Family(
        "business_days", "count only Monday to Friday",
        ("How many working days are there from {d1} to {d2}, both included?", "Count the business days between {d1} and {d2}, inclusive.",
         "A contractor bills for weekdays only, from {d1} through {d2}. How many days does he bill?"),
        _workdays,
        lambda p: ([f"List the {p['all']} days of the range", f"Drop Saturdays and Sundays: {p['expected']:.0f} left"], f"{p['expected']:.0f}"),
        lambda p: ([f"Count every day of the range: {p['all']}"], str(p["all"])),
        _number_is(0.0),
        {"do": _lesson("Skip weekends when counting working days", "Counting business or working days between two dates.",
                       "List the dates of the range", "Keep Monday to Friday only and count them"),
         "avoid": _lesson("Do not count weekend days as working days", "Counting business or working days between two dates.",
                          "Counting every calendar day of the range"),
         "concept": _lesson("Filter by the qualifying condition before counting", "Counting items that must meet a condition.",
                            "Enumerate the candidates", "Count only those that qualify")},
    ),
    Family(
        "natural_sort", "compare the numbers inside file names as numbers",
        ("Sort these file names in natural order: {files}.", "Put the files {files} in the order a person would expect.",
         "List {files} from first to last, numbers in increasing order."),
        _files,
        lambda p: (["Split each name into its text and number parts", f"Sort by the number as an integer: {', '.join(p['expected'])}"],
                   ", ".join(p["expected"])),
        lambda p: (["Sort the names as plain strings", f"Sorted: {', '.join(sorted(p['shown']))}"], ", ".join(sorted(p["shown"]))),
        lambda p, reply: re.findall(r"[a-z]+\d+\.[a-z0-9]+", final_answer(reply).lower()) == p["expected"],
        {"do": _lesson("Sort file names by their embedded numbers", "Ordering file names that contain numbers (natural sort).",
                       "Split each name into text and number", "Compare the numbers as integers"),
         "avoid": _lesson("Do not sort numbered file names as plain text", "Ordering file names that contain numbers (natural sort).",
                          "Plain string order, which puts img10 before img2"),
         "concept": _lesson("Compare embedded numbers numerically", "Sorting labels that mix text and numbers.",
                            "Extract the numeric parts", "Order by them as numbers")},
    ),
)
BY_NAME = {f.name: f for f in FAMILIES}


def make_task(family: Family, i: int, template: int, rng: random.Random, split: str) -> Task:
    params = family.params(rng)
    text = family.templates[template % len(family.templates)].format(**params)
    return Task(f"{family.name}/{split}{i}", family.name, text, params, family.right(params)[1])


def generate(seed: int = 0, *, families: int | None = None, train: int = 4, test: int = 3) -> tuple[list[Task], list[Task], dict[str, str]]:
    """(training tasks, test tasks, outcome of each training task). Training tasks use the first
    two phrasings; the first test task of a family uses the third (a phrasing never learned from).
    Training outcomes alternate success / failure, starting with a success."""
    train_tasks, test_tasks, outcomes = [], [], {}
    for family in FAMILIES[:families]:
        rng = random.Random(f"{seed}:{family.name}")
        for i in range(train):
            task = make_task(family, i, i % 2, rng, "train")
            train_tasks.append(task)
            outcomes[task.id] = "success" if i % 2 == 0 else "failure"
        test_tasks += [make_task(family, i, i + 2, rng, "test") for i in range(test)]
    return train_tasks, test_tasks, outcomes


def trajectory(task: Task, outcome: str) -> tuple[list[dict[str, str]], str | None]:
    """The deterministic steps of a successful or failed attempt, and the checker's feedback."""
    family = BY_NAME[task.family]
    lines, answer = family.right(task.params) if outcome == "success" else family.wrong(task.params)
    steps = [{"role": "user", "content": task.text}]
    for line in lines:
        tool = line.startswith("tool: ")
        steps.append({"role": "tool" if tool else "assistant", "content": line[6:] if tool else line})
    steps.append({"role": "assistant", "content": f"Answer: {answer}"})
    verdict = "correct" if outcome == "success" else f"wrong, expected {task.answer}"
    steps.append({"role": "checker", "content": verdict})
    return steps, None if outcome == "success" else f"The answer was wrong: expected {task.answer}."
