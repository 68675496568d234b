"""Which store backends the behaviour tests run against.

The conformance idea: every behaviour test that takes the ``store_location``
fixture runs once per backend here, so backends cannot drift apart.

PostgreSQL joins when one is reachable: ``REMEM_TEST_PG_URL`` names a server (with
pgvector installed or installable), or else ``scripts/pg.sh start`` starts the local
one (once per session). If neither works the postgres parameters are skipped with
the reason, except under ``CI=true``, where that is an error. ``REMEM_TEST_PG=off``
leaves PostgreSQL out on purpose. Each test gets its own schema in a database made
for this session, dropped when the session ends.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
_pg_state: dict[str, str] = {}


def _server_url() -> tuple[str | None, str]:
    """(URL of a usable PostgreSQL, or None, and why not)."""
    if os.environ.get("REMEM_TEST_PG", "").lower() in ("0", "off", "false", "no"):
        return None, "REMEM_TEST_PG=off"
    url = os.environ.get("REMEM_TEST_PG_URL")
    if url:
        return url, ""
    pg = ["bash", str(REPO / "scripts" / "pg.sh")]
    try:
        was_running = subprocess.run([*pg, "status"], capture_output=True, timeout=30).returncode == 0
        done = subprocess.run([*pg, "start"], capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"scripts/pg.sh start failed: {exc}"
    if done.returncode != 0:
        return None, f"scripts/pg.sh start failed: {(done.stderr or done.stdout).strip()[-500:]}"
    if not was_running:  # this session started it: stop it when the session ends
        atexit.register(subprocess.run, [*pg, "stop"], capture_output=True, timeout=60)
    return done.stdout.strip().splitlines()[-1], ""


def _session_database(server: str) -> str:
    """A fresh database for this test session (dropped at exit); the server's own if we may not create one."""
    try:
        import psycopg
    except ImportError as exc:
        raise RuntimeError("psycopg is not installed (pip install 'remem[postgres]')") from exc
    name = f"remem_test_{os.getpid()}"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.errors.InsufficientPrivilege:
        return server

    def drop() -> None:
        try:
            with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass

    atexit.register(drop)
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _postgres_param() -> object:
    url, why = _server_url()
    if url is not None:
        try:
            _pg_state["db"] = _session_database(url)
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is reported below
            url, why = None, f"PostgreSQL at {url} is unusable: {exc}"
    if url is None:
        if os.environ.get("CI", "").lower() == "true" and why != "REMEM_TEST_PG=off":
            raise RuntimeError(f"CI=true but PostgreSQL could not be started: {why}")
        return pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.skip(reason=f"no PostgreSQL: {why}")])
    return pytest.param("postgres", marks=[pytest.mark.postgres])


BACKENDS = ["sqlite", _postgres_param()]


def location(backend: str, tmp_path: Path, name: str = "memory.db") -> str:
    """A fresh, empty store location for ``backend``."""
    if backend == "sqlite":
        return str(tmp_path / name)
    if backend == "postgres":
        return postgres_url()
    raise ValueError(f"unknown backend {backend}")


def postgres_url(schema: str | None = None) -> str:
    """A URL naming a new, empty schema in this session's test database."""
    if "db" not in _pg_state:
        pytest.skip("no PostgreSQL for this session")
    db = _pg_state["db"]
    schema = schema or "t_" + uuid.uuid4().hex[:16]
    sep = "&" if "?" in db else "?"
    return f"{db}{sep}schema={schema}"
