"""remem's server side: REST API, MCP endpoint and dashboard in one ASGI app.

Needs the ``server`` extra (``pip install "remem[server]"``). Importing this package
is cheap and dependency-free (so ``remem.server.cli`` can be mounted in the main CLI);
``create_app`` loads FastAPI on first use.

>>> from remem.server import create_app
>>> app = create_app("memory.db")          # serve with any ASGI server
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from remem.server.app import create_app

        return create_app
    raise AttributeError(name)
