"""Dashboard maintenance pages over HTTP: archive and restore, the audit timeline, and
rollback with a preview (admin keys only), all tenant-scoped and CSRF-protected."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import httpx
import pytest

pytest.importorskip("jinja2")

from remem import Memory  # noqa: E402
from remem.server import create_app  # noqa: E402
from remem.server.auth import create_key  # noqa: E402
from remem.server.testing import running  # noqa: E402
from remem.store import open_store  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, dict[str, str], str]]:  # noqa: ANN001
    db = tmp_path_factory.mktemp("dashm") / "memory.db"
    store = open_store(db)
    keys = {"admin": create_key(store, "red", name="red ops", admin=True), "member": create_key(store, "red"),
            "blue": create_key(store, "blue")}
    with Memory(store=store.with_tenant("red"), embedder=embedder) as red:
        rid = red.add("the launch is on March 3", user_id="pat")[0].id
    with running(create_app(db, embedder=embedder)) as url:
        yield url, keys, rid


@contextmanager
def signed_in(url: str, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, follow_redirects=False) as c:
        assert c.post("/login", data={"key": key}).status_code == 303
        yield c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]


def test_archive_restore_and_audit_pages(site) -> None:  # noqa: ANN001
    url, keys, rid = site
    with signed_in(url, keys["member"]) as c:
        token = csrf_of(c.get(f"/memory/{rid}").text)
        assert c.post(f"/memory/{rid}/archive").status_code == 403  # no CSRF token
        assert c.post(f"/memory/{rid}/archive", data={"csrf": token}).status_code == 303
        page = c.get("/archived", params={"user": "pat"}).text
        assert "the launch is on March 3" in page and f"/memory/{rid}/restore" in page
        assert "March 3" not in c.get("/search", params={"q": "launch", "user": "pat"}).text
        assert c.post(f"/memory/{rid}/restore", data={"csrf": token}).status_code == 303
        assert "Nothing is archived" in c.get("/archived", params={"user": "pat"}).text
        audit = c.get("/audit", params={"user": "pat"}).text
        ops = re.findall(r'<span class="op \w+">(\w+)</span>', audit)
        assert ops == ["RESTORE", "ARCHIVE", "ADD"]  # newest first
        assert "(dashboard)" in audit  # dashboard writes are audited as the signed-in key
        assert c.get("/rollback", params={"user": "pat"}).status_code == 403  # a member key
    with signed_in(url, keys["blue"]) as blue:
        assert "March 3" not in blue.get("/archived").text and rid not in blue.get("/audit").text
        token = csrf_of(blue.get("/").text)
        assert blue.post(f"/memory/{rid}/archive", data={"csrf": token}).status_code == 404


def test_rollback_page_previews_then_rolls_back(site) -> None:  # noqa: ANN001
    url, keys, rid = site
    time.sleep(0.01)
    mark = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)
    with signed_in(url, keys["admin"]) as c:
        token = csrf_of(c.get(f"/memory/{rid}/edit").text)
        assert c.post(f"/memory/{rid}/edit", data={"content": "the launch moved to April 9", "csrf": token}).status_code == 303
        preview = c.get("/rollback", params={"user": "pat", "to": mark})
        assert preview.status_code == 200 and "1 memory would change" in preview.text and "the launch is on March 3" in preview.text
        assert "April 9" in c.get(f"/memory/{rid}").text  # a preview writes nothing
        done = c.post("/rollback", data={"user": "pat", "to": mark, "csrf": token})
        assert done.status_code == 303 and "Rolled+back+1" in done.headers["location"]
        assert "the launch is on March 3" in c.get(f"/memory/{rid}").text
        assert c.get("/rollback", params={"user": "pat", "to": "not a time"}).status_code == 422


def test_procedures_page_shows_strategies_with_success_rates(tmp_path, embedder) -> None:  # noqa: ANN001
    from remem.llm import ScriptedLLM

    def brain(name: str, v: dict) -> dict:  # one lesson per trajectory, then always a new strategy
        if name == "distil_strategies":
            return {"strategies": [{"title": "Subtract 32 before scaling", "when_to_apply": "Fahrenheit to Celsius",
                                    "steps": ["subtract 32", "multiply by 5/9"], "level": "instance"}]}
        return {"action": "NOOP", "target_id": None, "merged": None, "reason": "same"}

    db = tmp_path / "p.db"
    with Memory(db, embedder=embedder, llm=ScriptedLLM(brain)) as mem:
        mem.learn("Convert 77 F to Celsius", ["subtract 32", "times 5/9"], "success", agent_id="bot")
        mem.procedures("Convert 50 F to Celsius", agent_id="bot", task_id="t1")
        mem.feedback("t1", "success", agent_id="bot")
    with running(create_app(db, embedder=embedder, auth=False)) as url, httpx.Client(base_url=url) as c:
        page = c.get("/procedures", params={"agent": "bot"})
        assert page.status_code == 200
        assert "Subtract 32 before scaling" in page.text and "worked 1 of 1 (100%)" in page.text
        assert "Convert 77 F to Celsius (success)" in page.text  # its source trajectory
        assert "No strategies yet" in c.get("/procedures", params={"agent": "nobody"}).text
