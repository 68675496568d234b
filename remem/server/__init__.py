"""remem's server side: REST API, MCP endpoint and dashboard in one ASGI app.

Needs the ``server`` extra (``pip install "remem[server]"``).

>>> from remem.server import create_app
>>> app = create_app("memory.db")          # serve with any ASGI server
"""

from remem.server.app import create_app

__all__ = ["create_app"]
