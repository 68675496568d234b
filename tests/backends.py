"""Which store backends the behaviour tests run against.

The conformance idea: every behaviour test that takes the ``store_location``
fixture runs once per backend here, so backends cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

BACKENDS = ["sqlite"]


def location(backend: str, tmp_path: Path, name: str = "memory.db") -> str:
    """A fresh, empty store location for ``backend``."""
    if backend == "sqlite":
        return str(tmp_path / name)
    raise ValueError(f"unknown backend {backend}")
