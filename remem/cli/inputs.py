"""Checking what comes in on the command line and from files, where it enters.

Command-line values that are wrong raise a usage error (exit 2); files that cannot be
read or parsed raise :class:`~remem.errors.InvalidInputError` (exit 1). Either way the
user sees one line naming the option or the file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

from remem.cli.app import usage
from remem.errors import InvalidInputError


def json_arg(text: Optional[str], flag: str, *, object_only: bool = False) -> Any:
    """``text`` parsed as JSON (None stays None)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise usage(f"{flag} is not valid JSON: {exc}") from None
    except RecursionError:
        raise usage(f"{flag} is nested too deeply") from None
    if object_only and not isinstance(value, dict):
        raise usage(f"{flag} must be a JSON object, like '{{\"key\": \"value\"}}'")
    return value


def filters(items: list[str]) -> dict[str, Any] | None:
    """``key=value`` pairs; the value is parsed as JSON when it can be, else kept as text."""
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise usage(f"--filter expects key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        except RecursionError:
            raise usage(f"--filter {key}: the value is nested too deeply") from None
    return out


def query(text: str, name: str = "QUERY") -> str:
    """A search query: not empty or blank."""
    if not text.strip():
        raise usage(f"{name} is empty: say what to look for")
    return text


def time_order(start: Optional[str], end: Optional[str], start_flag: str, end_flag: str) -> None:
    """Both times parse, and ``start`` is not after ``end``."""
    from remem.models import parse_time

    try:
        a = parse_time(start, field=start_flag)
        b = parse_time(end, field=end_flag)
    except InvalidInputError as exc:
        raise usage(str(exc)) from None
    if a is not None and b is not None and a > b:
        raise usage(f"{start_flag} {start} is after {end_flag} {end}: nothing can match")


def read_messages(file: Path) -> list[Any]:
    """Messages from a JSON list/object or JSON Lines file ('-' reads stdin)."""
    text = read_stdin() if str(file) == "-" else read_text(file)
    text = text.strip()
    if not text:
        return []
    name = "stdin" if str(file) == "-" else str(file)
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidInputError(f"{name}: JSON nested too deeply") from None
    except json.JSONDecodeError:
        data = _json_lines(text, name)
    return data if isinstance(data, list) else [data]


def _json_lines(text: str, name: str) -> list[Any]:
    out = []
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 may sit inside a string
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{name}: line {number} is not JSON ({exc}); expected JSON or JSON Lines") from None
        except RecursionError:
            raise InvalidInputError(f"{name}: line {number} is nested too deeply") from None
    return out


def read_export(file: Path) -> list[dict[str, Any]]:
    """The items of a JSON Lines export file, every line parsed (nothing is written yet)."""
    text = read_text(existing_file(file))
    items = _json_lines(text, str(file))
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidInputError(f"{file}: item {number} is not a JSON object")
    return items


def read_text(file: Path) -> str:
    """The UTF-8 text of ``file``, or a one-line error saying why not."""
    if file.is_dir():
        raise InvalidInputError(f"{file} is a directory, not a file")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(f"no such file: {file}") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror or exc}") from None
    return decode(data, str(file))


def read_stdin() -> str:
    buffer = getattr(sys.stdin, "buffer", None)
    return decode(buffer.read(), "stdin") if buffer is not None else sys.stdin.read()


def decode(data: bytes, name: str) -> str:
    """``data`` as UTF-8 (a BOM is dropped); binary or other encodings are refused by name."""
    if b"\x00" in data:
        raise InvalidInputError(f"{name} is binary or UTF-16 (it contains NUL bytes), not UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); convert it to UTF-8"
        ) from None


def existing_file(file: Path) -> Path:
    """``file`` if it is a readable regular file."""
    if file.is_dir():
        raise InvalidInputError(f"{file} is a directory, not a file")
    if not file.is_file():
        raise InvalidInputError(f"no such file: {file}")
    return file
