"""Shared fixtures: real stores in temporary locations, one embedder per session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from backends import BACKENDS, location
from remem import Memory
from remem.embed import default_embedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# `bash scripts/test.sh --fast` (REMEM_TEST_FAST=1): no services, their tests skipped with the reason.
FAST = os.environ.get("REMEM_TEST_FAST", "").strip().lower() in ("1", "true", "yes")
SERVICES = {"postgres": "PostgreSQL", "llm": "the llama.cpp LLM server", "browser": "Chromium"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not FAST:
        return
    for item in items:
        for marker, service in SERVICES.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=f"--fast: needs {service}; `bash scripts/test.sh` runs it"))
                break


@pytest.fixture(scope="session")
def embedder():
    return default_embedder()


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return location(request.param, tmp_path)


@pytest.fixture
def mem(store_location: str, embedder) -> Iterator[Memory]:
    m = Memory(store_location, embedder=embedder)  # open_store() picks the backend from the location
    yield m
    m.close()


@pytest.fixture
def sqlite_mem(tmp_path: Path, embedder) -> Iterator[Memory]:
    m = Memory(tmp_path / "memory.db", embedder=embedder)
    yield m
    m.close()
