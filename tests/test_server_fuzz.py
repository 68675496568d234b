"""Property-based fuzzing of the REST API from our own OpenAPI schema (schemathesis), with
every check schemathesis has (``--checks all``) but one: no generated request may cause a
5xx, every status and header is documented, responses match their schemas, invalid input
is rejected, unsupported methods get 405 with ``Allow``, a deleted memory is 404 after.

Left out: ``positive_data_acceptance`` (schema-valid means accepted). JSON Schema cannot
say what remem rightly refuses in a schema-valid body: free-text dates it cannot parse
("__main__" as a timestamp), NUL characters, lone surrogates. Those get a documented 422.
Bounded (few examples per operation) so it runs in well under a minute; a longer run:

    remem serve --no-auth --path /tmp/fuzz.db --port 8765 &
    schemathesis run http://127.0.0.1:8765/openapi.json --checks all --max-examples 200
"""

from __future__ import annotations

from typing import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402

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
        excluded_checks=[positive_data_acceptance],
        timeout=60,
    )
