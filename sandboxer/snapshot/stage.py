"""A snapshot build is a sequence of stages over Arrow record batches, table by table:

    extract (subset) -> [synthesize] -> [redact] -> write

Synthesis runs first so that synthetic rows go through the same keyed redaction rules as real
ones (``sandboxer.context`` assembles the list; the builder runs it in order).

Each stage sees every table's batch stream and may transform it (change values, add or drop
columns, add rows); ``report`` goes into the manifest under ``stages.<name>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from sandboxer.sources.schema import Schema, Table

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

    from sandboxer.config.models import Dataset
    from sandboxer.console import Console
    from sandboxer.sources.base import Source
    from sandboxer.subset.planner import SubsetPlan


@dataclass
class BuildContext:
    dataset_name: str
    dataset: Dataset
    schema: Schema
    plan: SubsetPlan
    console: Console
    source: Source


class Stage:
    """A transformation of every table's rows between extraction and writing."""

    name = "stage"
    checks_files: ClassVar[bool] = False
    """True when ``check_file`` searches files for production values (the leak gate)."""

    def start(self, ctx: BuildContext) -> None:
        """Called once before the first table."""

    def process(self, table: Table, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Transform one table's batches. Must yield at least one batch (possibly empty) so
        the schema reaches the writer."""
        return batches

    def check_output(self, files: dict[str, Path]) -> None:
        """Called after every table is written and before publishing; raise a
        SandboxerError to refuse publication (e.g. the redaction leak gate)."""

    def check_file(self, path: Path) -> None:
        """Called on every other file the build writes under the store (the manifest, a
        cached source profile) before it is kept; raise a SandboxerError to refuse it."""

    def report(self) -> dict[str, Any] | None:
        """What the manifest records about this stage (counts, never values)."""
        return None

    def rewritten_columns(self) -> set[tuple[str, str]]:
        """``(table, column)`` pairs whose values this stage replaced (after ``start``):
        fidelity compares them by shape only, never by value."""
        return set()
