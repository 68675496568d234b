"""Drop-in facades that speak other memory libraries' APIs on top of remem.

- :mod:`remem.compat.mem0` — ``Memory`` and ``AsyncMemory`` shaped like Mem0 OSS
  (``from remem.compat.mem0 import Memory``); no extra needed.
"""
