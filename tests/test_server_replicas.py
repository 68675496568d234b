"""Two `remem serve` processes on one PostgreSQL stay consistent: a write through one is found
through the other on its next search (each keeps its own derived text index, caught up from
the database's texts log)."""

from __future__ import annotations

import httpx
import pytest

from backends import postgres_url
from served import serve


def test_two_servers_on_one_postgres_see_each_others_writes() -> None:
    pytest.importorskip("psycopg")
    store = postgres_url()
    args = ("--no-auth", "--store", store, "--log-level", "warning")
    with serve(*args) as one, serve(*args) as two, httpx.Client(timeout=60) as c:
        def search(url: str, query: str, mode: str) -> list[str]:
            r = c.post(url + "/v1/search", json={"query": query, "user_id": "u", "mode": mode})
            assert r.status_code == 200, r.text
            return [h["memory"]["content"] for h in r.json()["items"]]

        assert c.post(one + "/v1/memories", json={"messages": "my sister lives in Porto", "user_id": "u"}).status_code == 201
        assert search(two, "Porto", "bm25") == ["my sister lives in Porto"]  # two builds its index here
        made = c.post(one + "/v1/memories", json={"messages": "my cat is called Miso", "user_id": "u"}).json()["items"][0]
        assert search(two, "Miso", "bm25") == ["my cat is called Miso"]  # caught up on the next search
        assert search(two, "what is my cat called?", "hybrid")[0] == "my cat is called Miso"
        r = c.patch(two + f"/v1/memories/{made['id']}", json={"content": "my cat is called Tofu"})
        assert r.status_code == 200, r.text
        assert search(one, "Tofu", "bm25") == ["my cat is called Tofu"] and search(one, "Miso", "bm25") == []
