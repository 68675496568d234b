"""Two `remem serve` processes on one PostgreSQL stay consistent: a write through one is found
through the other on its next search (each keeps its own derived text index, caught up from
the database's texts log)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import httpx
import pytest

from backends import postgres_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serve(store: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "remem.server", "serve", "--no-auth", "--store", store,
                             "--port", str(port), "--log-level", "warning"], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def test_two_servers_on_one_postgres_see_each_others_writes() -> None:
    pytest.importorskip("psycopg")
    store = postgres_url()
    with _serve(store) as one, _serve(store) as two, httpx.Client(timeout=60) as c:
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
