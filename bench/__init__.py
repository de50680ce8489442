"""Benchmarks (``make bench``): numbers written to bench/results.json, never timed unit tests.

A benchmark is a function that returns a JSON-able dict, registered under the key it writes in
``results.json``::

    from bench import register

    @register("sweep")
    def sweep() -> dict[str, object]:
        ...

Every module of this package is imported by ``discover()`` (so a new ``bench/<name>.py`` needs nothing
else); ``python -m bench`` runs them all, ``python -m bench emulator sweep`` only those named.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

Result = dict[str, Any]
Benchmark = Callable[[], Result]

#: name -> function, in registration order.
REGISTRY: dict[str, Benchmark] = {}


def register(name: str) -> Callable[[Benchmark], Benchmark]:
    """Register ``function`` as the benchmark writing the key ``name`` of results.json."""

    def decorate(function: Benchmark) -> Benchmark:
        if name in REGISTRY and REGISTRY[name] is not function:
            raise ValueError(f"benchmark {name!r} is registered twice")
        REGISTRY[name] = function
        return function

    return decorate


def discover() -> dict[str, Benchmark]:
    """Import every module of the package (registering its benchmarks) and return the registry."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY
