"""The dashboard end to end in headless Chromium (Debian's package, driven by playwright):
sign in, browse and filter, search with explanations, open a memory, edit, delete, purge.
Saves artifacts/dashboard.png. Needs `scripts/install_browser.sh`."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest

from remem import Memory, MemoryRecord
from remem.store import Link

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _need_browser() -> None:
    missing = []
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("python playwright")
    if not Path(CHROMIUM).exists():
        missing.append("chromium")
    if missing:
        reason = f"{' and '.join(missing)} not installed: run scripts/install_browser.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[tuple[str, str, dict[str, str]]]:
    _need_browser()
    pytest.importorskip("fastapi")
    from remem.server import create_app
    from remem.server.auth import create_key
    from remem.server.testing import running
    from remem.store import open_store

    db = tmp_path_factory.mktemp("browser") / "memory.db"
    store = open_store(db)
    key = create_key(store, "studio")
    ids: dict[str, str] = {}
    with Memory(store=store.with_tenant("studio"), embedder=embedder) as mem:
        turns = mem.add(
            [
                {"role": "user", "content": "I just adopted a greyhound called Pixel", "timestamp": "2024-04-02T09:15:00Z", "id": "msg-1"},
                {"role": "assistant", "content": "Pixel is a lovely name for a greyhound!", "timestamp": "2024-04-02T09:15:30Z"},
                {"role": "user", "content": "We are moving from Leeds to Edinburgh in the summer", "timestamp": "2024-05-20T18:02:00Z", "id": "msg-2"},
                {"role": "user", "content": "My favourite climbing gym is The Depot", "timestamp": "2024-06-11T07:45:00Z"},
            ],
            user_id="robin", session_id="chat-1",
        )
        fact = mem.add_records([MemoryRecord(content="Robin has a greyhound named Pixel", kind="semantic", user_id="robin",
                                             source=[turns[0].id], tags=["pets"], importance=0.8)])[0]
        mem.store.add_links([Link(src=fact.id, dst=turns[1].id, relation="mentioned_in")])
        mem.add("Sam prefers tea over coffee", user_id="sam", session_id="chat-9")
        ids = {"fact": fact.id, "move": turns[2].id, "gym": turns[3].id}
    with running(create_app(db, embedder=embedder)) as url:
        yield url, key, ids


@pytest.fixture(scope="module")
def browser(site):  # noqa: ANN001 - playwright types are optional
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def test_dashboard_end_to_end(site, browser) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    url, key, ids = site
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    foreign: list[str] = []
    errors: list[str] = []
    ours = urlsplit(url).netloc
    page.on("request", lambda r: foreign.append(r.url) if urlsplit(r.url).netloc not in (ours, "") and not r.url.startswith("data:") else None)
    # "Failed to load resource" is the browser noting our deliberate 401/422 answers
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # sign in (a wrong key first)
    page.goto(url + "/")
    expect(page).to_have_url(url + "/login")
    page.fill("#key", "rk_not_the_key")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("unknown or revoked")
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page).to_have_url(url + "/")
    expect(page.locator(".tenant")).to_have_text("studio")
    cookie = next(c for c in context.cookies() if c["name"] == "remem_key")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # invisible to scripts

    # browse a user, filter by kind (htmx swaps the list in place)
    page.click("ul.chips >> text=robin")
    expect(page.locator("h1")).to_contain_text("robin")
    expect(page.locator("table.list tbody tr")).to_have_count(5)
    page.select_option("select[name=kind]", "semantic")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    expect(page).to_have_url(f"{url}/memories?user=robin&kind=semantic&session=&since=&until=&validity=current")
    page.select_option("select[name=kind]", "")
    page.fill("input[name=since]", "2024-05-01")
    page.locator("input[name=since]").dispatch_event("change")
    expect(page.locator("table.list tbody tr")).to_have_count(2)  # the move and the gym (the fact has no event time)

    # search with the score explanation (live, as you type)
    page.click("header nav >> text=Search")
    page.fill("#q", "moving to Edinburgh")
    hit = page.locator("li.hit", has_text="Edinburgh")  # ranking is the read path's business, not the page's
    expect(hit).to_have_count(1)
    expect(hit.locator(".why")).to_contain_text("dense #")
    expect(hit.locator(".why")).to_contain_text("bm25 #")
    expect(hit.locator(".why")).to_contain_text("fusion")
    expect(hit.locator(".score")).to_have_text(re.compile(r"^\d+\.\d{4}$"))
    page.screenshot(path=str(ARTIFACTS / "dashboard-search.png"), full_page=True)

    # open the fact: provenance (the message it came from), links, history
    page.goto(f"{url}/memory/{ids['fact']}")
    expect(page.locator("#content")).to_have_text("Robin has a greyhound named Pixel")
    expect(page.locator("section:has(h2:text('Provenance'))")).to_contain_text("I just adopted a greyhound called Pixel")
    expect(page.locator("section:has(h2:text('Provenance'))")).to_contain_text("mentioned_in")
    expect(page.locator("ol.history li")).to_have_count(1)

    # edit
    page.click("text=Edit")
    page.fill("#content", "Robin has a retired racing greyhound named Pixel")
    page.fill("input[name=tags]", "pets, dogs")
    page.fill("#reason", "more detail")
    page.click("button:text('Save')")
    expect(page.locator(".flash")).to_have_text("Saved.")
    expect(page.locator("#content")).to_have_text("Robin has a retired racing greyhound named Pixel")
    expect(page.locator("ol.history li")).to_have_count(2)
    expect(page.locator("ol.history li").first).to_contain_text("more detail")
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # delete, with a confirmation page
    page.goto(f"{url}/memory/{ids['gym']}")
    page.click("text=Delete…")
    expect(page.locator("h1")).to_have_text("Delete this memory?")
    page.click("button:text('Delete memory')")
    expect(page.locator(".flash")).to_have_text("Memory deleted.")
    expect(page.locator("table.list")).not_to_contain_text("The Depot")
    page.select_option("select[name=validity]", "deleted")
    expect(page.locator("tr.deleted")).to_contain_text("The Depot")

    # timeline
    page.click("header nav >> text=Timeline")
    expect(page.locator("ol.timeline > li h3").first).to_have_text("2024-04-02")
    page.screenshot(path=str(ARTIFACTS / "dashboard-timeline.png"), full_page=True)

    # purge a user: the typed id must match
    page.goto(f"{url}/purge?user=sam")
    page.fill("#confirm", "someone")
    page.click("button:text('Purge user')")
    expect(page.locator(".error")).to_contain_text("does not match")
    page.fill("#confirm", "sam")
    page.click("button:text('Purge user')")
    expect(page.locator(".flash")).to_have_text("Purged 1 memories of sam.")
    expect(page.locator("ul.chips")).not_to_contain_text("sam")

    # sign out
    page.click("text=Sign out")
    expect(page).to_have_url(url + "/login")
    page.goto(f"{url}/memory/{ids['fact']}")
    expect(page).to_have_url(f"{url}/login?next=%2Fmemory%2F{ids['fact']}")

    # the API docs work offline too (vendored Swagger UI)
    page.goto(url + "/docs")
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible()
    expect(page.locator(".swagger-ui")).to_contain_text("/v1/search")

    assert foreign == [], f"the dashboard reached outside: {foreign}"
    assert errors == [], f"browser console errors: {errors}"
    context.close()


PHONE = {"width": 390, "height": 844}
FITS = """(width) => {
  const top = document.querySelector('header.top').getBoundingClientRect();
  const cut = [...document.querySelectorAll('header.top, header.top *')]
    .map(el => [el, el.getBoundingClientRect()])
    .filter(([el, r]) => r.width > 0 && (r.left < 0 || r.right > width || r.top < 0))
    .map(([el, r]) => `${el.tagName}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, headerTop: top.top, cut};
}"""


def test_dashboard_fits_a_phone(site, browser) -> None:  # noqa: ANN001
    """At 390x844 no page is wider than the screen and the top bar is whole; the list table
    scrolls inside its own box; user and assistant turns are told apart."""
    from playwright.sync_api import expect

    url, key, ids = site
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page).to_have_url(url + "/")
    long_word = "https://example.com/" + "x" * 300
    r = context.request.post(url + "/v1/memories", headers={"Authorization": f"Bearer {key}"},
                             data={"messages": [{"role": "assistant", "name": "Helper-with-a-rather-long-name",
                                                 "content": f"See {long_word} for details"}], "user_id": "phone"})
    assert r.status == 201, r.text()
    for path in ("/", "/memories?user=robin", "/memories?user=phone", "/search?q=greyhound&user=robin",
                 "/search?q=details&user=phone", "/timeline?user=robin", f"/memory/{ids['fact']}",
                 f"/memory/{ids['move']}/edit", "/purge?user=robin"):
        page.goto(url + path)
        fit = page.evaluate(FITS, PHONE["width"])
        assert fit["scrollWidth"] <= PHONE["width"], (path, fit)
        assert fit["headerTop"] >= 0 and fit["cut"] == [], (path, fit)
        expect(page.locator("header.top nav >> text=Timeline")).to_be_in_viewport()
        expect(page.locator("header.top .tenant")).to_be_in_viewport()
    page.goto(url + "/memories?user=robin")
    page.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    expect(page.locator("table.list thead")).to_contain_text("Who")
    expect(page.locator("tr", has_text="Pixel is a lovely name").locator(".role")).to_have_text("assistant")
    expect(page.locator("tr", has_text="adopted a greyhound").locator(".role")).to_have_text("user")
    box = page.locator(".table-scroll")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # the table is wider: it scrolls in its box
    box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
