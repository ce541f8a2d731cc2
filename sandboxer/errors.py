"""The error hierarchy. Every failure a user can cause or meet is a SandboxerError.

Errors become output at exactly one boundary (``sandboxer.cli.main``): ``Error: <message>``
and exit code 1 (``UsageError``: 2). Messages name files, lines, tables, columns and counts,
never a cell value from production data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SandboxerError(Exception):
    """Root of every error sandboxer reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  {self.hint}"
        return self.message


class UsageError(SandboxerError):
    """Wrong command-line usage (conflicting flags, missing arguments)."""

    exit_code = 2


class ConfigError(SandboxerError):
    """Invalid sandboxer.yaml (or another config file), with file and line when known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        location = ""
        if path:
            location = f" ({path}:{line})" if line else f" ({path})"
        super().__init__(f"{message}{location}", hint=hint)
        self.path = path
        self.line = line


class SourceError(SandboxerError):
    """A source cannot be reached, read or introspected."""


class SchemaError(SandboxerError):
    """A table, column or key named by the user does not exist or does not fit."""


class SubsetError(SandboxerError):
    """The subset cannot be computed as configured (empty root, budget, bad where)."""


class StoreError(SandboxerError):
    """The snapshot store cannot be read or written (missing snapshot, full disk, lock)."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """Return ``Did you mean `x`?`` for the closest candidate, or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            matches = [lowered[name.lower()]]
    return f"Did you mean `{matches[0]}`?" if matches else None


class InfrastructureError(SandboxerError):
    """The engine, database or image failed (not the user's code or data): exit code 3, so
    CI can tell "your change broke something" (1) from "the machinery broke" (3)."""

    exit_code = 3
