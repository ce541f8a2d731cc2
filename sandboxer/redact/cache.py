"""A small on-disk cache for word lists built from Faker (vocabularies of fakes, name lists of
detection): building them costs ~0.4 s of Faker calls per process, loading them milliseconds.

Keyed by the Faker and sandboxer versions, so an upgrade rebuilds them (and fakes drawn from
them stay consistent for a given pair of versions). Any problem reading or writing the cache
falls back to building in memory.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    base = os.environ.get("SANDBOXER_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "sandboxer"


def _versions() -> str:
    from importlib.metadata import version

    from sandboxer import __version__

    try:
        faker = version("faker")
    except Exception:  # metadata missing: never trust a cache we cannot key
        faker = "unknown"
    return f"faker-{faker}-sandboxer-{__version__}"


def cached_json(name: str, build: Callable[[], Any]) -> Any:
    """``build()``'s JSON-serialisable result, from the cache when present."""
    path = cache_dir() / "wordlists" / _versions() / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    value = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_text(json.dumps(value), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # read-only home, full disk: building each time is only slower
    return value
