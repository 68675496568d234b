"""REST API over a real uvicorn server on loopback: behaviour, errors, auth, tenant isolation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("mcp")

from remem.server import create_app  # noqa: E402
from remem.server.app import check_bind  # noqa: E402
from remem.server.auth import create_key, hash_key, revoke_key  # noqa: E402
from remem.server.testing import running  # noqa: E402
from remem.errors import InvalidInputError  # noqa: E402
from remem.store import open_store  # noqa: E402
from served import serve  # noqa: E402


class Server:
    def __init__(self, url: str, keys: dict[str, str], path: Path) -> None:
        self.url, self.keys, self.path = url, keys, path

    def client(self, tenant: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[tenant]}"} if tenant else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("server") / "memory.db"
    store = open_store(path)
    keys = {t: create_key(store, t, name=f"{t} test", admin=t == "globex") for t in ("acme", "globex", "revoked")}
    revoke_key(store, keys["revoked"])
    store.close()
    app = create_app(path, embedder=embedder, max_body_bytes=256 * 1024)
    with running(app) as url:
        yield Server(url, keys, path)


@pytest.fixture
def acme(server: Server) -> Iterator[httpx.Client]:
    with server.client("acme") as c:
        yield c


@pytest.fixture
def globex(server: Server) -> Iterator[httpx.Client]:
    with server.client("globex") as c:
        yield c


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]["code"]


# -- health, docs ---------------------------------------------------------------------


def test_health_and_readiness_need_no_key(server: Server) -> None:
    with server.client(None) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").json() == {"status": "ready"}


def test_openapi_schema_and_docs(server: Server) -> None:
    with server.client(None) as c:
        schema = c.get("/openapi.json").json()
        assert {"/v1/memories", "/v1/search", "/v1/context", "/v1/memories/{memory_id}",
                "/v1/memories/{memory_id}/history", "/v1/users/{user_id}", "/v1/export", "/v1/import",
                "/v1/stats"} <= set(schema["paths"])
        assert set(schema["paths"]["/v1/memories/{memory_id}"]) >= {"get", "patch", "delete"}
        assert "swagger" in c.get("/docs").text.lower()


# -- auth --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "rk_nothing"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
     {"Authorization": "Bearer rk_unknown_key_000000000000000000000000000"}, {"Authorization": "Bearer " + "x" * 5000}],
)
def test_requests_without_a_valid_key_are_refused(server: Server, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=server.url, headers=headers) as c:
        for method, path in [("GET", "/v1/memories"), ("POST", "/v1/search"), ("GET", "/v1/stats")]:
            r = c.request(method, path, json={"query": "x"} if method == "POST" else None)
            assert r.status_code == 401 and error_of(r) == "unauthorized"
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_revoked_key_is_refused_and_revocation_is_immediate(server: Server) -> None:
    with server.client("revoked") as c:
        assert c.get("/v1/stats").status_code == 401
    store = open_store(server.path)
    key = create_key(store, "acme", name="short-lived")
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
            assert c.get("/v1/whoami").json() == {"tenant": "acme", "auth": True}
            assert revoke_key(store, hash_key(key)[:12])
            assert c.get("/v1/whoami").status_code == 401
    finally:
        store.close()


def test_keys_are_stored_hashed_only(server: Server) -> None:
    store = open_store(server.path)
    try:
        rows = store.list_api_keys()
    finally:
        store.close()
    raw = set(server.keys.values())
    assert rows and all(r["key_hash"] not in raw and len(r["key_hash"]) == 64 for r in rows)
    assert server.path.read_bytes().find(server.keys["acme"].encode()) == -1


# -- the API, end to end -------------------------------------------------------------------


def test_memory_lifecycle(acme: httpx.Client) -> None:
    r = acme.post("/v1/memories", json={
        "messages": [{"role": "user", "content": "I moved to Lisbon in May 2023", "timestamp": "2023-05-08T13:56:00Z"},
                     {"role": "assistant", "content": "Congratulations on the move!"}],
        "user_id": "life", "session_id": "s1", "metadata": {"channel": "chat"},
    })
    assert r.status_code == 201, r.text
    added = r.json()["items"]
    assert [m["content"] for m in added] == ["I moved to Lisbon in May 2023", "Congratulations on the move!"]
    first = added[0]
    assert first["event_time"].startswith("2023-05-08T13:56") and first["metadata"] == {"channel": "chat"}

    assert acme.get(f"/v1/memories/{first['id']}").json()["content"] == first["content"]

    page = acme.get("/v1/memories", params={"user_id": "life", "limit": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["next_offset"] == 1
    page2 = acme.get("/v1/memories", params={"user_id": "life", "limit": 1, "offset": 1}).json()
    assert page2["next_offset"] is None and page2["items"][0]["id"] != page["items"][0]["id"]
    only_user = acme.get("/v1/memories", params={"user_id": "life", "filters": json.dumps({"role": "user"})}).json()
    assert [m["id"] for m in only_user["items"]] == [first["id"]]

    hits = acme.post("/v1/search", json={"query": "moved to Lisbon", "user_id": "life", "limit": 5}).json()["items"]
    mine = [h for h in hits if h["memory"]["id"] == first["id"]]  # ranking itself is the read path's to test
    assert len(hits) == 2 and len(mine) == 1
    assert mine[0]["explanation"]["mode"] == "hybrid" and "dense" in mine[0]["explanation"] and "bm25" in mine[0]["explanation"]

    ctx = acme.post("/v1/context", json={"query": "where do they live", "user_id": "life", "token_budget": 500}).json()
    assert "Lisbon" in ctx["text"] and ctx["complete"] is True and len(ctx["memories"]) == 2

    upd = acme.patch(f"/v1/memories/{first['id']}", json={"content": "I moved to Porto in May 2023", "reason": "typo",
                                                         "tags": ["move"], "metadata": {"channel": None, "k": 1}})
    assert upd.status_code == 200, upd.text
    assert upd.json()["version"] == 2 and upd.json()["tags"] == ["move"] and upd.json()["metadata"] == {"k": 1}
    hits = acme.post("/v1/search", json={"query": "Porto", "user_id": "life", "mode": "bm25"}).json()["items"]
    assert [h["memory"]["id"] for h in hits] == [first["id"]]

    deleted = acme.delete(f"/v1/memories/{first['id']}", params={"reason": "user asked"}).json()
    assert deleted["deleted_at"] is not None
    assert acme.get("/v1/memories", params={"user_id": "life"}).json()["total"] == 1
    assert acme.get("/v1/memories", params={"user_id": "life", "include_deleted": True}).json()["total"] == 2
    # once deleted the memory is gone from the API (404), its record and history kept on request
    for path in ("", "/history", "/links"):
        gone = acme.get(f"/v1/memories/{first['id']}{path}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert acme.get(f"/v1/memories/{first['id']}", params={"include_deleted": True}).json()["deleted_at"] is not None
    hist = acme.get(f"/v1/memories/{first['id']}/history", params={"include_deleted": True}).json()["items"]
    assert [(h["version"], h["op"]) for h in hist] == [(1, "ADD"), (2, "UPDATE"), (3, "DELETE")]
    assert hist[1]["reason"] == "typo" and hist[2]["reason"] == "user asked"

    assert acme.delete("/v1/users/life").json() == {"user_id": "life", "purged": 2}
    assert acme.get(f"/v1/memories/{first['id']}").status_code == 404


def test_export_import_and_stats(acme: httpx.Client, globex: httpx.Client) -> None:
    acme.post("/v1/memories", json={"messages": "I like green tea", "user_id": "exp"})
    lines = [json.loads(line) for line in acme.get("/v1/export", params={"user_id": "exp"}).text.splitlines()]
    assert len(lines) == 1 and lines[0]["record"]["content"] == "I like green tea" and lines[0]["vector"]
    # importing our own export again: skipped, nothing duplicated
    assert acme.post("/v1/import", json={"items": lines}).json() == {"added": 0, "skipped": 1}
    stats = acme.get("/v1/stats").json()
    assert stats["tenant"] == "acme" and stats["memories"] >= 1 and "path" not in stats and "size_bytes" not in stats
    assert acme.delete("/v1/users/exp").json()["purged"] == 1


def test_add_records_any_kind(acme: httpx.Client) -> None:
    r = acme.post("/v1/records", json={"records": [{"content": "Alice is vegetarian", "kind": "semantic", "user_id": "rec"}]})
    assert r.status_code == 201 and r.json()["items"][0]["kind"] == "semantic"
    assert acme.get("/v1/memories", params={"user_id": "rec", "kind": "semantic"}).json()["total"] == 1
    assert acme.get("/v1/memories", params={"user_id": "rec", "kind": "episodic"}).json()["total"] == 0
    acme.delete("/v1/users/rec")


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,body,status,code",
    [
        ("GET", "/v1/memories/does-not-exist", None, 404, "not_found"),
        ("PATCH", "/v1/memories/does-not-exist", {"content": "x"}, 404, "not_found"),
        ("DELETE", "/v1/memories/does-not-exist", None, 404, "not_found"),
        ("GET", "/v1/memories/does-not-exist/history", None, 404, "not_found"),
        ("POST", "/v1/memories", {"messages": "   ", "user_id": "e"}, 422, "invalid_input"),
        ("POST", "/v1/memories", {"messages": "hi", "kind": "dream"}, 422, "invalid_input"),
        ("POST", "/v1/memories", {"messages": "hi", "surprise": 1}, 422, "invalid_input"),
        ("POST", "/v1/memories", {"messages": "hi", "timestamp": "not a date at all, really"}, 422, "invalid_input"),
        ("POST", "/v1/search", {"query": "x", "limit": 0}, 422, "invalid_input"),
        ("POST", "/v1/search", {"query": "x", "mode": "magic"}, 422, "invalid_input"),
        ("POST", "/v1/search", {"query": "x", "filters": {"metadata.k": {"regex": "."}}}, 422, "invalid_input"),
        ("POST", "/v1/context", {"query": "x", "token_budget": -1}, 422, "invalid_input"),
        ("GET", "/v1/memories?limit=100000", None, 422, "invalid_input"),
        ("GET", "/v1/memories?filters=[1]", None, 422, "invalid_input"),
        ("GET", "/v1/memories?filters={bad", None, 422, "invalid_input"),
        ("PATCH", "/v1/memories/x", {"user_id": "someone-else"}, 422, "invalid_input"),
        ("POST", "/v1/import", {"items": [{"record": {"nope": 1}}]}, 422, "invalid_input"),
        ("PUT", "/v1/memories", None, 405, "method_not_allowed"),
        ("GET", "/v1/nothing-here", None, 404, "not_found"),
    ],
)
def test_errors_are_structured_with_stable_codes(acme: httpx.Client, method: str, path: str, body: Any,
                                                 status: int, code: str) -> None:
    before = acme.get("/v1/stats").json()
    r = acme.request(method, path, json=body)
    assert r.status_code == status, r.text
    assert error_of(r) == code
    assert acme.get("/v1/stats").json() == before  # bad input changes nothing


def test_malformed_json_is_invalid_input(acme: httpx.Client) -> None:
    r = acme.post("/v1/search", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and error_of(r) == "invalid_input"


def test_request_size_limit(acme: httpx.Client) -> None:
    big = {"messages": [{"content": "x" * 90_000} for _ in range(4)], "user_id": "big"}
    r = acme.post("/v1/memories", json=big)
    assert r.status_code == 413 and error_of(r) == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: streamed, counted as it arrives
        yield b'{"messages": "'
        for _ in range(40):
            yield b"y" * 10_000
        yield b'", "user_id": "big"}'

    r = acme.post("/v1/memories", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and error_of(r) == "payload_too_large"
    assert acme.get("/v1/memories", params={"user_id": "big"}).json()["total"] == 0


# -- tenant isolation ------------------------------------------------------------------------


def _every_endpoint(memory_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", f"/v1/memories/{memory_id}", None),
        ("PATCH", f"/v1/memories/{memory_id}", {"content": "hijacked"}),
        ("DELETE", f"/v1/memories/{memory_id}", None),
        ("GET", f"/v1/memories/{memory_id}/history", None),
        ("GET", f"/v1/memories/{memory_id}/links", None),
        ("GET", "/v1/memories?user_id=victim", None),
        ("GET", "/v1/memories", None),
        ("POST", "/v1/search", {"query": "secret password", "user_id": "victim"}),
        ("POST", "/v1/search", {"query": "secret password"}),
        ("POST", "/v1/context", {"query": "secret password", "user_id": "victim"}),
        ("GET", "/v1/export?user_id=victim", None),
        ("GET", "/v1/export", None),
        ("GET", "/v1/stats", None),
        ("GET", "/v1/whoami", None),
        ("DELETE", "/v1/users/victim", None),
        ("POST", "/v1/memories", {"messages": "decoy", "user_id": "victim"}),
        ("POST", "/v1/records", {"records": [{"content": "decoy record", "user_id": "victim"}]}),
        ("POST", "/v1/import", {"items": []}),
        ("POST", f"/v1/memories/{memory_id}/archive", None),
        ("POST", f"/v1/memories/{memory_id}/restore", None),
        ("GET", "/v1/audit?user_id=victim", None),
        ("GET", f"/v1/audit?memory_id={memory_id}", None),
        ("GET", "/v1/audit", None),
        ("POST", "/v1/maintain", {"user_id": "victim"}),  # globex's key is admin-scoped: its own tenant only
        ("POST", "/v1/maintain", {}),
        ("POST", "/v1/rollback", {"user_id": "victim", "to": "2020-01-01"}),
        ("POST", "/v1/learn", {"task": "secret password", "trajectory": ["x"], "outcome": "success", "task_id": "t-x"}),
        ("POST", "/v1/procedures", {"task": "secret password"}),
        ("POST", "/v1/feedback", {"task_id": "t-x", "outcome": "success"}),
    ]


def test_cross_tenant_attempts_on_every_endpoint_leak_nothing(server: Server, acme: httpx.Client,
                                                              globex: httpx.Client) -> None:
    secret = acme.post("/v1/memories", json={"messages": "the secret password is swordfish", "user_id": "victim"}).json()["items"][0]
    acme.patch(f"/v1/memories/{secret['id']}", json={"tags": ["v2"]})
    calls = _every_endpoint(secret["id"])

    schema_paths = {p for p in httpx.get(server.url + "/openapi.json").json()["paths"] if p.startswith("/v1/")}
    covered = {path.split("?")[0].replace(secret["id"], "{memory_id}").replace("/users/victim", "/users/{user_id}")
               for _, path, _ in calls}
    assert schema_paths <= covered, f"add the new endpoints to the isolation test: {schema_paths - covered}"

    for method, path, body in calls:
        r = globex.request(method, path, json=body)
        assert "swordfish" not in r.text, (method, path)
        if secret["id"] in path.split("?")[0]:  # the 404 message may echo the id the caller sent, nothing more
            assert r.status_code == 404 and error_of(r) == "not_found", (method, path)
        else:
            assert secret["id"] not in r.text, (method, path)
            assert r.status_code < 400, (method, path, r.text)
    assert globex.delete("/v1/users/victim").json()["purged"] >= 0

    # acme's memory is untouched: same content, same version, not deleted
    mine = acme.get(f"/v1/memories/{secret['id']}").json()
    assert mine["content"] == "the secret password is swordfish" and mine["version"] == 2 and mine["deleted_at"] is None
    assert acme.post("/v1/search", json={"query": "secret password", "user_id": "victim"}).json()["items"][0]["memory"]["id"] == secret["id"]
    # globex's own decoys exist only for globex
    assert globex.get("/v1/memories", params={"user_id": "victim"}).json()["total"] == 0  # purged above
    assert all("decoy" not in m["content"] for m in acme.get("/v1/memories", params={"user_id": "victim"}).json()["items"])
    acme.delete("/v1/users/victim")


# -- server options ------------------------------------------------------------------------------


def test_no_auth_refuses_non_loopback_binds() -> None:
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        check_bind(host, auth=False)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(InvalidInputError):
            check_bind(host, auth=False)
        check_bind(host, auth=True)
    r = subprocess.run([sys.executable, "-m", "remem.server", "serve", "--no-auth", "--host", "0.0.0.0", "--path",
                        "/nonexistent/never-created.db"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "refusing to serve without authentication" in r.stderr


def test_no_auth_server_serves_default_tenant_and_cors(tmp_path: Path, embedder) -> None:
    app = create_app(tmp_path / "m.db", embedder=embedder, auth=False, cors_origins=["http://localhost:3000"])
    with running(app) as url, httpx.Client(base_url=url) as c:
        assert c.get("/v1/whoami").json() == {"tenant": "default", "auth": False}
        r = c.options("/v1/search", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
        assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
        r = c.get("/v1/stats", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_cors_is_off_by_default(acme: httpx.Client) -> None:
    r = acme.get("/v1/stats", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = acme.options("/v1/search", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers


def test_serve_command_with_workers(tmp_path: Path) -> None:
    """`remem serve` as a real subprocess (two worker processes) with a key made by `remem keys create`."""
    db = str(tmp_path / "served.db")
    key = subprocess.run([sys.executable, "-m", "remem.server", "keys", "create", "--tenant", "t1", "--path", db],
                         capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert key.startswith("rk_")
    with serve("--path", db, "--workers", "2", "--log-level", "warning", timeout=90) as url:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
            for i in range(6):  # spread over both workers
                assert c.post("/v1/memories", json={"messages": f"note {i}", "user_id": "u"}).status_code == 201
            assert c.get("/v1/memories", params={"user_id": "u"}).json()["total"] == 6
            assert c.post("/v1/search", json={"query": "note 3", "user_id": "u"}).json()["items"]
        assert httpx.get(url + "/v1/stats").status_code == 401


# -- DNS rebinding and peers on an unauthenticated server ---------------------------------------


def test_no_auth_server_refuses_foreign_host_names(tmp_path: Path, embedder) -> None:
    """A page on evil.com rebound to 127.0.0.1 sends ``Host: evil.com``: refused before anything runs."""
    app = create_app(tmp_path / "m.db", embedder=embedder, auth=False)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        port = url.rsplit(":", 1)[1]
        assert c.post("/v1/memories", json={"messages": "keep me", "user_id": "u"}).status_code == 201
        for host in ("evil.com", f"evil.com:{port}", "127.0.0.1.evil.com", "localhost.evil.com:80", "www.localhost"):
            evil = {"Host": host}
            assert c.get("/v1/export", headers=evil).status_code == 400, host
            assert c.delete("/v1/users/u", headers=evil).status_code == 400, host
            assert c.get("/", headers=evil).status_code == 400, host
            assert c.post("/mcp", headers=evil, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 400
        assert c.get("/v1/memories", params={"user_id": "u"}).json()["total"] == 1  # nothing was purged
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost", "LOCALHOST", "[::1]"):
            assert c.get("/v1/whoami", headers={"Host": host}).json() == {"tenant": "default", "auth": False}, host


def test_auth_server_answers_any_host_name(acme: httpx.Client) -> None:
    """With keys the Host header is no defence to add: a rebound page has no key (and proxies rename hosts)."""
    assert acme.get("/v1/whoami", headers={"Host": "memory.example.com"}).json()["tenant"] == "acme"


def test_no_auth_server_refuses_peers_that_are_not_loopback(tmp_path: Path, embedder) -> None:
    import asyncio

    app = create_app(tmp_path / "m.db", embedder=embedder, auth=False, host="127.0.0.2", mcp=False)

    async def get(client: tuple[str, int], host: str, path: str = "/v1/whoami") -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as c:
            return await c.get(path, headers={"Host": host})

    async def main() -> list[httpx.Response]:
        return [
            await get(("192.0.2.7", 5000), "127.0.0.1:8080"),
            await get(("10.0.0.1", 5000), "localhost"),
            await get(("127.0.0.1", 5000), "evil.com"),
            await get(("127.0.0.1", 5000), "127.0.0.2:8080"),  # the loopback address it was bound to
            await get(("::1", 5000), "[::1]:8080"),
            await get(("::ffff:127.0.0.1", 5000), "localhost:8080"),
            await get(("127.0.0.1", 5000), "127.0.0.3:8080"),
        ]

    foreign, foreign2, rebound, bound, v6, mapped, other = asyncio.run(main())
    assert foreign.status_code == 403 and error_of(foreign) == "forbidden"
    assert foreign2.status_code == 403
    assert rebound.status_code == 400
    assert [r.status_code for r in (bound, v6, mapped)] == [200, 200, 200]
    assert bound.json() == {"tenant": "default", "auth": False}
    assert other.status_code == 400  # only the names above, not every loopback address


# -- time-aware reads ---------------------------------------------------------------------------


def test_search_and_context_as_of_and_now(acme: httpx.Client) -> None:
    fact = {"content": "Noor works at Initech as an engineer", "kind": "semantic", "user_id": "timey",
            "valid_from": "2020-01-01T00:00:00Z"}
    created = acme.post("/v1/records", json={"records": [fact]})
    assert created.status_code == 201, created.text
    fid = created.json()["items"][0]["id"]
    r = acme.patch(f"/v1/memories/{fid}", json={"valid_to": "2023-01-01T00:00:00Z", "reason": "left Initech"})
    assert r.status_code == 200 and r.json()["valid_to"].startswith("2023-01-01")
    q = {"query": "where does Noor work?", "user_id": "timey"}

    def found(path: str, **extra: Any) -> bool:
        r = acme.post(path, json={**q, **extra})
        assert r.status_code == 200, r.text
        body = r.json()
        ids = [h["memory"]["id"] for h in body["items"]] if path == "/v1/search" else [m["id"] for m in body["memories"]]
        return fid in ids

    assert not found("/v1/search") and not found("/v1/context")  # ended: not current
    assert found("/v1/search", as_of="2021-06-01T00:00:00Z") and found("/v1/context", as_of="2021-06-01")
    assert not found("/v1/search", as_of="2019-06-01") and not found("/v1/context", as_of="2024-02-01")
    assert found("/v1/search", now="2021-06-01T00:00:00Z") and found("/v1/context", now=1622505600)  # 2021-06-01
    assert found("/v1/context", as_of="2021-06-01", neighbors=0) and found("/v1/context", as_of="2021-06-01", neighbors=3)
    for bad in ({"as_of": "not a time at all, no"}, {"now": "yesterday-ish maybe"}, {"as_of": "10000-01-01"}):
        for path in ("/v1/search", "/v1/context"):
            r = acme.post(path, json={**q, **bad})
            assert r.status_code == 422 and error_of(r) == "invalid_input", (path, bad)
    for neighbors in (-1, 51, "two"):
        r = acme.post("/v1/context", json={**q, "neighbors": neighbors})
        assert r.status_code == 422 and error_of(r) == "invalid_input"
    acme.delete("/v1/users/timey")


def test_years_before_1000_round_trip(acme: httpx.Client) -> None:
    rec = {"content": "The Battle of Hastings", "kind": "semantic", "user_id": "history-buff",
           "event_time": "0966-10-14T09:00:00Z", "valid_from": "0001-01-01T00:00:00Z"}
    r = acme.post("/v1/records", json={"records": [rec]})
    assert r.status_code == 201, r.text
    got = acme.get(f"/v1/memories/{r.json()['items'][0]['id']}").json()
    assert got["event_time"].startswith("0966-10-14T09:00") and got["valid_from"].startswith("0001-01-01")
    listed = acme.get("/v1/memories", params={"user_id": "history-buff", "since": "0900-01-01", "until": "1000-01-01"})
    assert listed.json()["total"] == 1
    assert acme.get("/v1/memories", params={"user_id": "history-buff", "since": "1000-01-01"}).json()["total"] == 0
    r = acme.patch(f"/v1/memories/{got['id']}", json={"event_time": "0066-10-14T09:00:00Z"})
    assert r.status_code == 200 and r.json()["event_time"].startswith("0066-10-14")
    acme.delete("/v1/users/history-buff")


def test_stats_hide_server_layout_but_keep_backend(store_location: str, embedder) -> None:
    from remem import Memory

    with Memory(store_location, embedder=embedder) as m:
        m.add("a note", user_id="s")
        local = m.stats()
    with running(create_app(store_location, embedder=embedder, auth=False)) as url:
        served = httpx.get(url + "/v1/stats", timeout=60).json()
    assert not {"path", "size_bytes", "schema"} & set(served)
    assert set(served) == set(local) - {"path", "size_bytes", "schema"}
    assert served["memories"] == local["memories"] == 1
    if "backend" in local:
        assert served["backend"] == local["backend"]


def test_path_option_takes_a_store_url_or_remem_path(tmp_path: Path) -> None:
    import os

    db = tmp_path / "keys.db"
    cmd = [sys.executable, "-m", "remem.server", "keys"]
    made = subprocess.run([*cmd, "create", "--tenant", "t1", "--path", f"sqlite:{db}"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    subprocess.run([*cmd, "create", "--tenant", "t2", "--store", str(db)], capture_output=True, check=True, timeout=60)
    env = {k: v for k, v in os.environ.items() if k != "REMEM_PATH"} | {"REMEM_PATH": str(db)}
    listed = subprocess.run([*cmd, "list", "--json"], capture_output=True, text=True, timeout=60, env=env)
    assert listed.returncode == 0, listed.stderr
    assert sorted(k["tenant"] for k in json.loads(listed.stdout)) == ["t1", "t2"]
    helped = subprocess.run([*cmd, "create", "--help"], capture_output=True, text=True, timeout=60, env=env).stdout
    assert "postgresql://" in helped and "--store" in helped


def test_links_of_a_memory(server: Server, acme: httpx.Client, embedder) -> None:
    from remem import Memory
    from remem.store.base import Link

    made = acme.post("/v1/records", json={"records": [{"content": "Ravi likes chess", "kind": "semantic", "user_id": "ln"},
                                                      {"content": "Ravi: I play chess", "user_id": "ln"}]}).json()
    fact, turn = (r["id"] for r in made["items"])
    with Memory(server.path, tenant="acme", embedder=embedder) as m:
        m.store.add_links([Link(src=fact, dst=turn, relation="mentioned_in")])
    for mid in (fact, turn):
        r = acme.get(f"/v1/memories/{mid}/links")
        assert r.status_code == 200
        assert r.json()["items"] == [{"src": fact, "dst": turn, "relation": "mentioned_in", "weight": 1.0}]
    r = acme.get("/v1/memories/no-such-memory/links")
    assert r.status_code == 404 and error_of(r) == "not_found"
    acme.delete("/v1/users/ln")


def test_search_threshold_over_rest(acme: httpx.Client) -> None:
    r = acme.post("/v1/memories", json={"messages": "I am allergic to peanuts.", "user_id": "thresh"})
    assert r.status_code in (200, 201), r.text
    q = {"query": "what am I allergic to?", "user_id": "thresh"}
    everything = acme.post("/v1/search", json=q).json()["items"]
    assert everything and 0 < everything[0]["score"] < 1
    kept = acme.post("/v1/search", json={**q, "threshold": 0.05}).json()["items"]
    none = acme.post("/v1/search", json={"query": "quantum chromodynamics lecture", "user_id": "thresh", "threshold": 0.05}).json()["items"]
    assert len(kept) == 1 and none == []
    assert acme.post("/v1/search", json={**q, "threshold": 2}).status_code == 422


def test_filters_nested_too_deep_are_invalid_input_not_a_server_error(tmp_path, embedder) -> None:  # noqa: ANN001
    import httpx

    from remem.server import create_app
    from remem.server.testing import running

    deep = '{"a":' * 1500 + "1" + "}" * 1500
    with running(create_app(tmp_path / "m.db", embedder=embedder, auth=False)) as url:
        r = httpx.get(url + "/v1/memories", params={"filters": deep})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
        assert "nested too deeply" in r.json()["error"]["message"]
