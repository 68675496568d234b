"""Maintenance over a real uvicorn server: admin-scoped maintain and rollback, archive and
restore, and the audit log with the caller's key name and request id."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import httpx
import pytest

pytest.importorskip("fastapi")

from remem.server import create_app  # noqa: E402
from remem.server.auth import create_key  # noqa: E402
from remem.server.testing import running  # noqa: E402
from remem.store import open_store  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, dict[str, str]]]:  # noqa: ANN001
    path: Path = tmp_path_factory.mktemp("maint") / "memory.db"
    store = open_store(path)
    keys = {
        "member": create_key(store, "acme", name="acme app"),
        "admin": create_key(store, "acme", name="acme ops", admin=True),
        "other": create_key(store, "globex", name="globex app"),
    }
    store.close()
    with running(create_app(path, embedder=embedder)) as url:
        yield url, keys


def client(server: tuple[str, dict[str, str]], who: str) -> httpx.Client:
    url, keys = server
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys[who]}"}, timeout=60)


def test_archive_restore_and_audit_with_actor_and_request_id(server) -> None:  # noqa: ANN001
    with client(server, "member") as c:
        [rec] = c.post("/v1/memories", json={"messages": "I keep bees on my roof", "user_id": "u1"},
                       headers={"X-Request-ID": "req-42"}).json()["items"]
        archived = c.post(f"/v1/memories/{rec['id']}/archive", json={"reason": "stale"})
        assert archived.status_code == 200 and archived.json()["archived_at"] is not None
        assert c.post("/v1/search", json={"query": "bees", "user_id": "u1"}).json()["items"] == []
        found = c.post("/v1/search", json={"query": "bees", "user_id": "u1", "include_archived": True}).json()["items"]
        assert [h["memory"]["id"] for h in found] == [rec["id"]]
        page = c.get("/v1/memories", params={"user_id": "u1", "include_archived": "true"}).json()
        assert page["total"] == 1
        assert c.post(f"/v1/memories/{rec['id']}/restore").json()["archived_at"] is None
        response = c.get("/v1/audit", params={"user_id": "u1"})
        assert response.headers["x-request-id"]
        log = response.json()["items"]
        assert [e["op"] for e in log] == ["ADD", "ARCHIVE", "RESTORE"]
        assert log[0]["actor"] == "acme app" and log[0]["request_id"] == "req-42"
        assert log[1]["detail"]["reason"] == "stale"
        assert [e["op"] for e in c.get("/v1/audit", params={"user_id": "u1", "op": "RESTORE"}).json()["items"]] == ["RESTORE"]
    with client(server, "other") as c:  # another tenant sees none of it
        assert c.get("/v1/audit", params={"user_id": "u1"}).json()["items"] == []
        assert c.post(f"/v1/memories/{rec['id']}/archive").status_code == 404


def test_maintain_and_rollback_need_an_admin_key(server) -> None:  # noqa: ANN001
    with client(server, "member") as c:
        c.post("/v1/memories", json={"messages": ["ok", "I adopted a greyhound named Pixel"], "user_id": "u2"})
        denied = c.post("/v1/maintain", json={"user_id": "u2"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
        assert c.post("/v1/rollback", json={"user_id": "u2", "to": "2020-01-01"}).status_code == 403
    with client(server, "admin") as c:
        report = c.post("/v1/maintain", json={"user_id": "u2", "dry_run": True}).json()
        assert report["dry_run"] is True and report["scanned"] == 2
        bad = c.post("/v1/maintain", json={"policy": {"grace_days": -1}})
        assert bad.status_code == 422
        time.sleep(0.01)
        mark = datetime.now(timezone.utc).isoformat()
        time.sleep(0.01)
        c.post("/v1/memories", json={"messages": "I also have a cat", "user_id": "u2"})
        preview = c.post("/v1/rollback", json={"user_id": "u2", "to": mark, "dry_run": True}).json()
        assert preview["changed"] == 1 and preview["changes"][0]["action"] == "delete"
        done = c.post("/v1/rollback", json={"user_id": "u2", "to": mark}).json()
        assert done["changed"] == 1
        assert c.get("/v1/memories", params={"user_id": "u2"}).json()["total"] == 2
        undo = c.post("/v1/rollback", json={"user_id": "u2", "to": done["undo_to"]}).json()
        assert undo["changed"] == 1
        assert c.get("/v1/memories", params={"user_id": "u2"}).json()["total"] == 3
        ops = [e["op"] for e in c.get("/v1/audit", params={"user_id": "u2", "op": "ROLLBACK"}).json()["items"]]
        assert ops.count("ROLLBACK") == 4 and all(
            e["actor"] == "acme ops" for e in c.get("/v1/audit", params={"user_id": "u2", "op": "ROLLBACK"}).json()["items"]
        )


def test_clients_mirror_the_maintenance_methods(server) -> None:  # noqa: ANN001
    import anyio

    from remem import AsyncRememClient, RememClient
    from remem.models import AuditEntry, MaintenanceReport, RollbackReport

    url, keys = server
    with RememClient(url, api_key=keys["admin"]) as mem:
        [rec] = mem.add("I collect vinyl records", user_id="u3")
        assert mem.archive(rec.id, reason="x").is_archived
        assert mem.count(user_id="u3") == 0 and mem.count(user_id="u3", include_archived=True) == 1
        assert [r.id for r in mem.get_all(user_id="u3", include_archived=True)] == [rec.id]
        assert not mem.restore(rec.id).is_archived
        report = mem.maintain(user_id="u3", dry_run=True)
        assert isinstance(report, MaintenanceReport) and report.scanned == 1
        log = mem.audit(user_id="u3", op=["ARCHIVE", "RESTORE"])
        assert all(isinstance(e, AuditEntry) for e in log) and [e.op for e in log] == ["ARCHIVE", "RESTORE"]
        rb = mem.rollback(user_id="u3", to=log[0].at, dry_run=True)
        assert isinstance(rb, RollbackReport) and rb.changed == 1 and rb.to == log[0].at

    async def run() -> list[str]:
        async with AsyncRememClient(url, api_key=keys["admin"]) as amem:
            return [e.op for e in await amem.audit(user_id="u3", limit=2)]

    assert anyio.run(run) == ["ADD", "ARCHIVE"]
    with RememClient(url, api_key=keys["member"]) as mem:
        from remem.errors import AuthenticationError

        with pytest.raises(AuthenticationError, match="admin"):
            mem.maintain()


def test_serve_runs_maintenance_on_a_schedule(tmp_path: Path, embedder) -> None:  # noqa: ANN001
    from remem import Memory
    from remem.models import Kind, MemoryRecord

    path = tmp_path / "sched.db"
    with Memory(path, embedder=embedder) as mem:
        mem.add_records([MemoryRecord(content="Likes green tea.", kind=Kind.SEMANTIC, user_id="u"),
                         MemoryRecord(content="likes green tea", kind=Kind.SEMANTIC, user_id="u")])
    with running(create_app(path, embedder=embedder, auth=False, maintain_every=1 / 3600)) as url:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=url, timeout=30) as c:
            while time.monotonic() < deadline:
                runs = c.get("/v1/audit", params={"op": "MAINTAIN"}).json()["items"]
                if runs:
                    break
                time.sleep(0.3)
            assert runs and runs[0]["actor"] == "remem.schedule"
            assert c.get("/v1/memories", params={"user_id": "u"}).json()["total"] == 1  # the duplicate merged
