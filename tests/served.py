"""`remem serve` as a real subprocess on a free loopback port, for tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(*args: str, timeout: float = 120) -> Iterator[str]:
    """Run ``remem serve ARGS --port <free>`` until ``/readyz`` answers; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "remem.server", "serve", *args, "--port", str(port)],
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
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
