"""Dashboard over HTTP (no browser): sign-in cookie, CSRF, origin checks, tenant isolation."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
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
def site(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, dict[str, str], str]]:
    db = tmp_path_factory.mktemp("dash") / "memory.db"
    store = open_store(db)
    keys = {t: create_key(store, t) for t in ("red", "blue")}
    with Memory(store=store.with_tenant("red"), embedder=embedder) as red:
        rid = red.add("red team's launch date is March 3", user_id="pat")[0].id
    with running(create_app(db, embedder=embedder)) as url:
        yield url, keys, rid


@contextmanager
def signed_in(url: str, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, follow_redirects=False) as c:
        r = c.post("/login", data={"key": key})
        assert r.status_code == 303, r.text
        yield c


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)  # type: ignore[union-attr]


def test_pages_need_sign_in(site: tuple[str, dict[str, str], str]) -> None:
    url, _, rid = site
    with httpx.Client(base_url=url) as c:
        for path in ("/", "/memories?user=pat", "/search?q=x", f"/memory/{rid}", "/timeline"):
            r = c.get(path)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        assert c.post("/login", data={"key": "rk_wrong"}).status_code == 401
        assert "htmx" in c.get("/static/htmx.min.js").text[:200]


def test_sign_in_sets_a_strict_httponly_cookie(site: tuple[str, dict[str, str], str]) -> None:
    url, keys, _ = site
    with httpx.Client(base_url=url) as c:
        r = c.post("/login", data={"key": keys["red"]})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert r.status_code == 303 and r.headers["location"] == "/"
        page = c.get("/")
        assert page.status_code == 200 and "pat" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_forms_need_the_csrf_token_and_our_origin(site: tuple[str, dict[str, str], str]) -> None:
    url, keys, rid = site
    with signed_in(url, keys["red"]) as c:
        token = csrf_of(c.get(f"/memory/{rid}/delete").text)
        assert c.post(f"/memory/{rid}/delete").status_code == 403
        assert c.post(f"/memory/{rid}/delete", data={"csrf": "0" * 32}).status_code == 403
        r = c.post(f"/memory/{rid}/delete", data={"csrf": token}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        assert c.post("/purge", data={"user": "pat", "confirm": "pat"}).status_code == 403
        assert c.get(f"/memory/{rid}").status_code == 200 and "deleted" not in c.get(f"/memory/{rid}").text.lower()
        # the token is bound to the key: blue's token does not work for red
        with signed_in(url, keys["blue"]) as blue:
            blue_token = csrf_of(blue.get("/").text)
        assert blue_token != token
        assert c.post(f"/memory/{rid}/delete", data={"csrf": blue_token}).status_code == 403


def test_dashboard_is_tenant_scoped(site: tuple[str, dict[str, str], str]) -> None:
    url, keys, rid = site
    with signed_in(url, keys["blue"]) as blue:
        token = csrf_of(blue.get("/").text)
        assert blue.get(f"/memory/{rid}").status_code == 404
        assert blue.get(f"/memory/{rid}/edit").status_code == 404
        assert blue.post(f"/memory/{rid}/edit", data={"content": "pwned", "csrf": token}).status_code == 404
        assert blue.post(f"/memory/{rid}/delete", data={"csrf": token}).status_code == 404
        for path in ("/", "/memories?user=pat", "/search?q=launch+date&user=pat", "/timeline?user=pat",
                     "/memories?validity=deleted"):
            r = blue.get(path)
            assert r.status_code == 200 and "March 3" not in r.text and rid not in r.text, path
        blue.post("/purge", data={"user": "pat", "confirm": "pat", "csrf": token})
    with signed_in(url, keys["red"]) as red:
        assert "launch date is March 3" in red.get(f"/memory/{rid}").text


def test_bad_filters_show_an_error_not_a_crash(site: tuple[str, dict[str, str], str]) -> None:
    url, keys, _ = site
    with signed_in(url, keys["red"]) as c:
        for path in ("/memories?since=not-a-date-at-all-zz", "/memories?kind=dream", "/memories?validity=maybe",
                     "/search?q=x&mode=magic"):
            r = c.get(path)
            assert r.status_code == 422 and 'class="error"' in r.text, path
        assert c.get("/memory/nope").status_code == 404


def test_no_auth_dashboard_needs_no_sign_in(tmp_path: Path, embedder) -> None:
    with running(create_app(tmp_path / "m.db", embedder=embedder, auth=False)) as url, httpx.Client(base_url=url) as c:
        assert c.get("/").status_code == 200
        assert c.get("/login").status_code == 303


def test_no_auth_dashboard_refuses_rebound_host_names(tmp_path: Path, embedder) -> None:
    """DNS rebinding: a page on evil.com that now resolves to 127.0.0.1 must not reach the dashboard."""
    with running(create_app(tmp_path / "m.db", embedder=embedder, auth=False)) as url, httpx.Client(base_url=url) as c:
        for path in ("/", "/memories", "/search?q=x", "/login"):
            assert c.get(path, headers={"Host": "evil.com"}).status_code == 400, path
            assert c.get(path, headers={"Host": f"evil.com:{url.rsplit(':', 1)[1]}"}).status_code == 400, path
        assert c.get("/", headers={"Host": "localhost"}).status_code == 200


def test_lists_show_who_said_each_turn(tmp_path: Path, embedder) -> None:
    """Memories, search, timeline and memory pages tell user turns from assistant turns (role, then speaker)."""
    db = tmp_path / "who.db"
    with Memory(db, embedder=embedder) as mem:
        user_turn, bot_turn, odd = mem.add(
            [
                {"role": "user", "name": "Robin", "content": "I adopted a greyhound called Pixel"},
                {"role": "assistant", "content": "Pixel is a lovely name for a greyhound"},
                {"role": "<b>x</b>", "content": "a turn from an odd role about greyhounds"},
            ],
            user_id="robin", session_id="s1",
        )
    with running(create_app(db, embedder=embedder, auth=False)) as url, httpx.Client(base_url=url) as c:
        page = c.get("/memories", params={"user": "robin"}).text
        assert "<th>Who</th>" in page
        row = lambda text: re.search(r"<tr[^>]*>(?:(?!</tr>).)*" + re.escape(text) + r".*?</tr>", page, re.S).group(0)  # noqa: E731
        assert '<span class="role role-user">user</span> <span class="speaker">Robin</span>' in row("adopted a greyhound")
        assert '<span class="role role-assistant">assistant</span>' in row("lovely name") and "speaker" not in row("lovely name")
        assert '<span class="role">&lt;b&gt;x&lt;/b&gt;</span>' in row("odd role")  # escaped, and no class of its own
        hits = c.get("/search", params={"q": "greyhound", "user": "robin"}).text
        assert hits.count('class="role role-user"') == 1 and hits.count('class="role role-assistant"') == 1
        assert 'class="role role-user"' in c.get("/timeline", params={"user": "robin"}).text
        said = c.get(f"/memory/{user_turn.id}").text
        assert re.search(r"<dt>said by</dt><dd><span class=\"said\"><span class=\"role role-user\">user</span> "
                         r"<span class=\"speaker\">Robin</span></span></dd>", said)
        assert bot_turn.id and odd.id
