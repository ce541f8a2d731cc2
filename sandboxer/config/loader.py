"""Load a config file as a pydantic model: ``yamlfile.load_yaml`` then ``validation.validate``.

The two steps are usable apart (the sandbox templates validate parts of one file); this is the
usual way to read a whole file, with one ``ConfigError`` for everything wrong in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from sandboxer.config.validation import validate
from sandboxer.config.yamlfile import PathKey, load_yaml

M = TypeVar("M", bound=BaseModel)

INIT_HINT = "Run `sandboxer init` to create one."
"""The ``missing_hint`` to pass when loading sandboxer.yaml."""


def load_config(
    path: Path,
    model_cls: type[M],
    *,
    root: PathKey = (),
    max_bytes: int = 1_000_000,
    env: Mapping[str, str] | None = None,
    missing_hint: str | None = None,
) -> M:
    """``load_yaml`` then ``validate``: the model for a config file, or one ``ConfigError``."""
    loaded = load_yaml(path, max_bytes=max_bytes, env=env, missing_hint=missing_hint)
    return validate(model_cls, loaded, root=root)
