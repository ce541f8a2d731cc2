"""Sandbox data engines: one class per engine, chosen by name through one registry.

``ENGINES`` is built from the classes (a class's ``name`` is its key), so the names templates
accept, the CLI offers and the backends dispatch on cannot drift apart. Backends and the
pipeline ask an engine for its capabilities (``embedded``, ``service_kind``, ...), never
compare its name. Importing this package is cheap: drivers are imported inside functions.
"""

from __future__ import annotations

from collections.abc import Mapping

from sandboxer.errors import SandboxerError, did_you_mean
from sandboxer.sandbox.engines.base import Engine, LoadError, LoadReport
from sandboxer.sandbox.engines.duckdb import DuckDBEngine
from sandboxer.sandbox.engines.postgres import PostgresEngine

ENGINES: dict[str, type[Engine]] = {cls.name: cls for cls in (DuckDBEngine, PostgresEngine)}
ENGINE_NAMES: tuple[str, ...] = tuple(ENGINES)
"""What ``data.engine`` of a template may say."""
DEFAULT_ENGINE = DuckDBEngine.name


def get_engine(name: str) -> Engine:
    """The engine called ``name``; a ``SandboxerError`` that suggests a name otherwise."""
    cls = ENGINES.get(name)
    if cls is None:
        raise SandboxerError(
            f"Unknown sandbox engine `{name}`",
            hint=did_you_mean(name, ENGINES) or f"Engines: {', '.join(ENGINES)}",
        )
    return cls()


def engine_from_connections(connections: Mapping[str, str]) -> Engine:
    """The engine of a sandbox from its connections (one engine per sandbox, its name among
    their keys); the default engine when none is there (a sandbox whose state is gone)."""
    for name, cls in ENGINES.items():
        if name in connections:
            return cls()
    return get_engine(DEFAULT_ENGINE)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "ENGINE_NAMES",
    "DuckDBEngine",
    "Engine",
    "LoadError",
    "LoadReport",
    "PostgresEngine",
    "engine_from_connections",
    "get_engine",
]
