"""JSON Lines files: what export writes and import reads (shared by Memory and the client)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Iterator

from remem.errors import InvalidInputError


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
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"line {number}: not JSON ({exc})") from None
        except RecursionError:
            raise InvalidInputError(f"line {number}: JSON nested too deeply") from None
        if not isinstance(item, dict):
            raise InvalidInputError(f"line {number}: expected a JSON object")
        yield item
