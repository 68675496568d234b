"""Property-based fuzzing of the REST API from our own OpenAPI schema (schemathesis):
no generated request may cause a 5xx, and responses must match the documented schemas.
Bounded (few examples per operation) so it runs in well under a minute."""

from __future__ import annotations

from typing import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error, response_schema_conformance  # noqa: E402

from schemathesis.config import (  # noqa: E402
    CoveragePhaseConfig,
    PhasesConfig,
    ProjectConfig,
    ProjectsConfig,
    SchemathesisConfig,
)

from remem.server import create_app  # noqa: E402
from remem.server.auth import create_key  # noqa: E402
from remem.server.testing import running  # noqa: E402
from remem.store import open_store  # noqa: E402

KEY: dict[str, str] = {}
# Explicit examples and random fuzzing; the exhaustive "coverage" phase is off to stay
# well under a minute (it makes hundreds of embedding-bound requests per operation).
CONFIG = SchemathesisConfig(
    projects=ProjectsConfig(default=ProjectConfig(phases=PhasesConfig(coverage=CoveragePhaseConfig(enabled=False))))
)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[object]:
    db = tmp_path_factory.mktemp("fuzz") / "memory.db"
    store = open_store(db)
    KEY["value"] = create_key(store, "fuzz")
    store.close()
    with running(create_app(db, embedder=embedder)) as url:
        yield schemathesis.openapi.from_url(url + "/openapi.json", config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_server_errors_for_any_input(case) -> None:  # noqa: ANN001
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY['value']}"},
        checks=[not_a_server_error, response_schema_conformance],
        timeout=60,
    )
