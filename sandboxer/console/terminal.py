"""The console of the command line: people's output with rich, JSON results with ``--json``."""

from __future__ import annotations

import json
import sys
from typing import Any

from sandboxer.console.base import Console


class TerminalConsole(Console):
    """Human output on stderr/stdout with rich; JSON results on stdout with ``--json``."""

    def __init__(self, *, verbose: bool = False, json_output: bool = False) -> None:
        self.verbose = verbose
        self.json_output = json_output
        self._out: Any = None
        self._err: Any = None

    @property
    def out(self) -> Any:
        if self._out is None:
            from rich.console import Console as RichConsole

            self._out = RichConsole(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Any:
        if self._err is None:
            from rich.console import Console as RichConsole

            self._err = RichConsole(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def info(self, message: str) -> None:
        if self.json_output:
            self.err.print(message, markup=False)
        else:
            self.out.print(message, markup=False)

    def detail(self, message: str) -> None:
        if self.verbose:
            self.err.print(f"  {message}", style="dim", markup=False)

    def warn(self, message: str) -> None:
        self.err.print(f"Warning: {message}", style="yellow", markup=False)

    def step(self, message: str) -> None:
        self.err.print(f"- {message}", style="cyan", markup=False)

    def problem(self, message: str) -> None:
        # Plain text, not rich: the line carries a file name verbatim (no emoji codes).
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        if self.json_output:
            return
        from rich.table import Table

        table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.out.print(table)

    def result(self, payload: dict[str, Any]) -> None:
        if self.json_output:
            sys.stdout.write(json.dumps(payload, default=str, sort_keys=True) + "\n")
            sys.stdout.flush()
