"""Sandboxes: isolated environments built from templates, with a snapshot loaded.

templates (YAML) -> image (generated Dockerfile, content-hash tag) -> backend (docker |
process) -> data engine load (``engines``: a DuckDB file or a PostgreSQL service) -> lifecycle

``BACKENDS`` is built from the backend classes (a class's ``name`` is its key), like
``engines.ENGINES``. Importing them is cheap: the Docker SDK and the database drivers are
imported inside the functions that use them, so ``sandboxer --help`` never loads them.
"""

from __future__ import annotations

from typing import Any

from sandboxer.errors import SandboxerError, did_you_mean
from sandboxer.sandbox.base import SandboxBackend
from sandboxer.sandbox.docker import DockerBackend
from sandboxer.sandbox.engines import ENGINE_NAMES
from sandboxer.sandbox.process import ProcessBackend

BACKENDS: dict[str, type[SandboxBackend]] = {
    cls.name: cls for cls in (DockerBackend, ProcessBackend)
}
BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)
"""What ``--backend`` and ``sandbox.backend`` may say, besides ``auto``."""


def create_backend(name: str, **options: Any) -> SandboxBackend:
    """The backend called ``name``, built with ``options`` (``console``, ``store_root``, ...)."""
    cls = BACKENDS.get(name)
    if cls is None:
        raise SandboxerError(
            f"Unknown sandbox backend `{name}`",
            hint=did_you_mean(name, BACKENDS) or f"Backends: {', '.join(BACKENDS)}",
        )
    return cls(**options)


__all__ = ["BACKENDS", "BACKEND_NAMES", "ENGINE_NAMES", "SandboxBackend", "create_backend"]
