"""Sandboxes: isolated environments built from templates, with a snapshot loaded.

templates (YAML) -> image (generated Dockerfile, content-hash tag) -> backend (docker |
process) -> data engine load (DuckDB file or PostgreSQL service) -> lifecycle
"""

from __future__ import annotations

import importlib

from sandboxer.errors import SandboxerError, did_you_mean
from sandboxer.sandbox.base import SandboxBackend

BACKENDS: dict[str, str] = {
    "docker": "sandboxer.sandbox.docker:DockerBackend",
    "process": "sandboxer.sandbox.process:ProcessBackend",
}


def create_backend(name: str, **options: object) -> SandboxBackend:
    if name not in BACKENDS:
        raise SandboxerError(
            f"Unknown sandbox backend `{name}`",
            hint=did_you_mean(name, BACKENDS) or f"Backends: {', '.join(BACKENDS)}",
        )
    module_name, class_name = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    backend: SandboxBackend = cls(**options)
    return backend
