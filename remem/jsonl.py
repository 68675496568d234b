"""JSON Lines files: what export writes and import reads (shared by Memory and the client)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Iterator

from remem.errors import InvalidInputError


def parse_json(text: str, what: str, *, object_only: bool = False) -> Any:
    """``text`` parsed as JSON; malformed, too deeply nested or (``object_only``) not an
    object is an InvalidInputError naming ``what``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{what}: not JSON ({exc})") from None
    except RecursionError:
        raise InvalidInputError(f"{what}: JSON nested too deeply") from None
    if object_only and not isinstance(value, dict):
        raise InvalidInputError(f"{what}: expected a JSON object")
    return value


class open_text:
    """Open a path, or pass an already open file through without closing it."""

    def __init__(self, file: str | Path | IO[str], mode: str) -> None:
        self._file = file
        self._mode = mode
        self._fh: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        if isinstance(self._file, (str, Path)):
            self._fh = open(self._file, self._mode, encoding="utf-8")
            return self._fh
        return self._file

    def __exit__(self, *exc: Any) -> None:
        if self._fh is not None:
            self._fh.close()


def read_jsonl(fh: IO[str]) -> Iterator[dict[str, Any]]:
    """The objects of a JSON Lines file; a line that is not one is an InvalidInputError."""
    number = 0
    lines = iter(fh)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"line {number + 1}: not UTF-8 text ({exc.reason})") from None
        number += 1
        if line.strip():
            yield parse_json(line, f"line {number}", object_only=True)
