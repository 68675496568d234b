"""The registered benchmarks: every module here registers one (imported in name order).

A new benchmark is a module in this folder that calls :func:`remem.eval.benchmark.register`;
``remem eval <name>`` and ``results.json`` follow from it.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
