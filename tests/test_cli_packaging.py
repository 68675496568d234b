"""Packaging around the CLI: LICENSE, py.typed, project URLs, changelog, and the Docker files
(`Dockerfile` for `remem serve`, `compose.yaml` with PostgreSQL + pgvector). Docker itself is not
needed: the files are parsed and every path they name is checked."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_license_is_the_full_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert "9. Accepting Warranty or Additional Liability." in text and len(text.splitlines()) >= 200


def test_pyproject_ships_license_types_and_urls() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (ROOT / "remem" / "py.typed").is_file()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["remem"]
    assert project["tool"]["setuptools"]["license-files"] == ["LICENSE"]
    urls = project["project"]["urls"]
    assert {"Homepage", "Repository", "Issues", "Changelog"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())


def test_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog") and "keepachangelog.com" in text
    assert "## [Unreleased]" in text
    for section in ("### Added", "### Changed", "### Fixed"):
        assert section in text


def test_dockerfile_serves_remem_as_a_non_root_user() -> None:
    steps = dockerfile()
    args = {word: [a for w, a in steps if w == word] for word in {w for w, _ in steps}}
    assert args["FROM"] == ["python:3.11-slim"]
    for copy in args["COPY"]:
        *sources, _ = shlex.split(copy)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path"
    install = next(a for a in args["RUN"] if "pip install" in a)
    assert "PIP_CONSTRAINT=scripts/constraints.txt" in install and '".[server,postgres]"' in install
    assert (ROOT / "scripts" / "constraints.txt").is_file()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"server", "postgres"} <= set(extras)
    assert args["USER"] == ["remem"] and any("useradd" in a and "remem" in a for a in args["RUN"])
    assert args["VOLUME"] == ['["/data"]'] and any("REMEM_PATH=/data/" in a for a in args["ENV"])
    assert args["EXPOSE"] == ["8080"]
    [health] = args["HEALTHCHECK"]
    assert "http://127.0.0.1:8080/healthz" in health
    assert args["ENTRYPOINT"] == ['["remem"]']
    assert '"serve"' in args["CMD"][0] and '"0.0.0.0"' in args["CMD"][0] and '"8080"' in args["CMD"][0]


def test_the_health_endpoint_the_image_probes_exists(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from remem.server import create_app

    with TestClient(create_app(tmp_path / "h.db")) as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_dockerignore_keeps_what_the_image_copies() -> None:
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines() if p.strip() and not p.startswith("#")]
    for needed in ("pyproject.toml", "README.md", "LICENSE", "scripts/constraints.txt", "remem", "remem/memory.py",
                   "remem/server/templates/base.html"):
        assert not any(fnmatch.fnmatch(needed, p) for p in patterns), needed


def test_compose_runs_remem_on_pgvector() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    db, server = compose["services"]["db"], compose["services"]["remem"]
    assert db["image"].startswith("pgvector/pgvector:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert server["build"] == "." and (ROOT / "Dockerfile").is_file()
    url = server["environment"]["REMEM_PATH"]
    user, database = db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_DB"]
    assert re.fullmatch(rf"postgresql://{user}:\$\{{REMEM_DB_PASSWORD:-remem\}}@db:5432/{database}", url), url
    assert db["environment"]["POSTGRES_PASSWORD"] == "${REMEM_DB_PASSWORD:-remem}"
    assert server["depends_on"]["db"]["condition"] == "service_healthy"
    assert server["ports"] == ["127.0.0.1:8080-8081:8080"] and server["deploy"]["replicas"] == 2  # one port each
    assert server["command"][:1] == ["serve"] and "--host" in server["command"]
    assert set(compose["volumes"]) == {"pgdata"}
