"""The primitives every console implements: lines, warnings, progress, tables, the result."""

from __future__ import annotations

from typing import Any


class Output:
    """Where the core reports progress and results. Every method is a no-op here: a console
    overrides the ones it shows, and the ``show_*`` renderers are built on these alone."""

    verbose: bool = False

    def info(self, message: str) -> None:
        """A line a user should read."""

    def detail(self, message: str) -> None:
        """A line shown only with --verbose."""

    def warn(self, message: str) -> None:
        """Something worth attention that does not stop the work."""

    def step(self, message: str) -> None:
        """Start of a long step (progress)."""

    def problem(self, message: str) -> None:
        """One thing found broken, as a plain line on stderr (ahead of the ``Error:``)."""

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        """A small table of results."""

    def result(self, payload: dict[str, Any]) -> None:
        """The machine-readable result of a command (shown with --json)."""
