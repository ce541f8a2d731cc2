"""What a comparison found: one ``TableDiff`` per output, gathered in a ``CompareResult``.

``CompareResult.to_json()`` is the machine-readable report, schema ``sandboxer.compare/1``,
documented field by field in ``docs/compare-report.md``. Fields are only ever added to a
schema version; renaming or removing one means a new version.

Cell values appear in a result only in ``samples`` (and the numeric statistics of outputs
compared without a key), and samples exist only when the caller asked for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA = "sandboxer.compare/1"

Status = Literal["pass", "fail", "error"]
Mode = Literal["keyed", "stats"]


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it: non-finite floats as strings, other scalars as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def statistic(value: Any) -> Any:
    """An aggregate (mean, std, quantile...) for the report, to 12 significant digits: polars
    sums floats in a different order on one thread than on several, so the last digits of a
    std differ between machines and would make the same comparison's report differ."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: statistic(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [statistic(v) for v in value]
    return value


@dataclass
class ColumnType:
    name: str
    type: str


@dataclass
class TypeChange:
    name: str
    baseline: str
    current: str


@dataclass
class SchemaDiff:
    """Columns of the current output against the baseline's (ignored columns left out)."""

    added: list[ColumnType] = field(default_factory=list)
    removed: list[ColumnType] = field(default_factory=list)
    type_changed: list[TypeChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.type_changed)


@dataclass
class RowCounts:
    """Row counts; the keyed counters are None for outputs compared without a key."""

    baseline: int | None = None
    current: int | None = None
    matched: int | None = None
    """Keys present on both sides."""
    identical: int | None = None
    modified: int | None = None
    """Matched rows with at least one column beyond tolerance (expected changes included)."""
    modified_unexpected: int | None = None
    """Modified rows with a difference in a column no expected change covers."""
    added: int | None = None
    removed: int | None = None


@dataclass
class ColumnDiff:
    """Value comparison of one column over the matched rows of a keyed output."""

    name: str
    compared_as: str
    """``exact``, ``tolerance`` (numeric with a tolerance), or ``cast:<type>`` when types differ."""
    tolerance: dict[str, Any] | None = None
    expected: bool = False
    """An expected change of kind ``values`` covers this column."""
    differing: int = 0
    """Matched rows whose values differ beyond tolerance (the sum of the three counters)."""
    match_rate: float | None = None
    """1 - differing / matched rows; None when no row matched."""
    null_in_baseline_only: int = 0
    null_in_current_only: int = 0
    conflicting: int = 0
    """Both sides non-null and different beyond tolerance."""
    within_tolerance: int = 0
    """Both sides non-null, not equal, but within tolerance (counted as matching)."""


@dataclass
class ColumnStats:
    """Statistics of one column of an output compared without a key."""

    name: str
    kind: str
    """``numeric`` (statistics of the values), ``string`` (of the lengths in characters), or
    ``other`` (count, nulls, distinct only)."""
    baseline: dict[str, float | int | None] = field(default_factory=dict)
    current: dict[str, float | int | None] = field(default_factory=dict)
    deltas: dict[str, float | None] = field(default_factory=dict)
    """|current - baseline| / |baseline| per statistic (inf when baseline is 0 and current not)."""
    violations: list[str] = field(default_factory=list)
    """Statistics whose delta exceeds its control limit."""
    expected: bool = False


@dataclass
class ExpectedMatch:
    """A declared expected change and what was observed of it."""

    kind: str
    column: str | None
    reason: str
    max_rows: int | None
    rows: int = 0
    """Rows showing the change (columns: 1 when the schema change happened, else 0)."""
    seen: bool = False
    within_limit: bool = True


@dataclass
class Duplicates:
    """Key values that occur more than once on a side: counts only, never the values."""

    baseline_keys: int = 0
    baseline_rows: int = 0
    current_keys: int = 0
    current_rows: int = 0


@dataclass
class Sample:
    """One differing row, present only when samples were asked for."""

    change: Literal["modified", "added", "removed"]
    key: dict[str, Any]
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Differing column -> {"baseline": value, "current": value} (modified rows only)."""


@dataclass
class TableDiff:
    """The comparison of one output with its baseline."""

    name: str
    status: Status = "pass"
    reasons: list[str] = field(default_factory=list)
    """Why the output failed or errored, one sentence each; empty when it passed."""
    mode: Mode | None = None
    key: list[str] | None = None
    schema: SchemaDiff = field(default_factory=SchemaDiff)
    rows: RowCounts = field(default_factory=RowCounts)
    columns: list[ColumnDiff] = field(default_factory=list)
    stats: list[ColumnStats] = field(default_factory=list)
    expected: list[ExpectedMatch] = field(default_factory=list)
    duplicates: Duplicates | None = None
    ignored: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    samples: list[Sample] | None = None
    seconds: float = 0.0

    def fail(self, reason: str) -> None:
        if self.status != "error":
            self.status = "fail"
        self.reasons.append(reason)

    def error(self, reason: str) -> None:
        self.status = "error"
        self.reasons.append(reason)

    @property
    def expected_seen(self) -> list[ExpectedMatch]:
        return [e for e in self.expected if e.seen]

    def to_json(self) -> dict[str, Any]:
        s = self.schema
        r = self.rows
        return {
            "name": self.name,
            "status": self.status,
            "reasons": list(self.reasons),
            "mode": self.mode,
            "key": self.key,
            "schema": {
                "added": [{"name": c.name, "type": c.type} for c in s.added],
                "removed": [{"name": c.name, "type": c.type} for c in s.removed],
                "type_changed": [
                    {"name": c.name, "baseline": c.baseline, "current": c.current}
                    for c in s.type_changed
                ],
            },
            "rows": {
                "baseline": r.baseline,
                "current": r.current,
                "matched": r.matched,
                "identical": r.identical,
                "modified": r.modified,
                "modified_unexpected": r.modified_unexpected,
                "added": r.added,
                "removed": r.removed,
            },
            "columns": [
                {
                    "name": c.name,
                    "compared_as": c.compared_as,
                    "tolerance": c.tolerance,
                    "expected": c.expected,
                    "differing": c.differing,
                    "match_rate": jsonable(c.match_rate),
                    "null_in_baseline_only": c.null_in_baseline_only,
                    "null_in_current_only": c.null_in_current_only,
                    "conflicting": c.conflicting,
                    "within_tolerance": c.within_tolerance,
                }
                for c in self.columns
            ],
            "stats": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "baseline": jsonable(statistic(c.baseline)),
                    "current": jsonable(statistic(c.current)),
                    "deltas": jsonable(statistic(c.deltas)),
                    "violations": list(c.violations),
                    "expected": c.expected,
                }
                for c in self.stats
            ],
            "expected": [
                {
                    "kind": e.kind,
                    "column": e.column,
                    "reason": e.reason,
                    "max_rows": e.max_rows,
                    "rows": e.rows,
                    "seen": e.seen,
                    "within_limit": e.within_limit,
                }
                for e in self.expected
            ],
            "duplicates": None
            if self.duplicates is None
            else {
                "baseline_keys": self.duplicates.baseline_keys,
                "baseline_rows": self.duplicates.baseline_rows,
                "current_keys": self.duplicates.current_keys,
                "current_rows": self.duplicates.current_rows,
            },
            "ignored": list(self.ignored),
            "warnings": list(self.warnings),
            "samples": None
            if self.samples is None
            else [
                {"change": x.change, "key": jsonable(x.key), "columns": jsonable(x.columns)}
                for x in self.samples
            ],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class CompareResult:
    """Every output of a run compared with a baseline."""

    tables: list[TableDiff] = field(default_factory=list)
    baseline_id: str | None = None
    run_id: str | None = None

    @property
    def passed(self) -> bool:
        return all(t.status == "pass" for t in self.tables)

    @property
    def summary(self) -> dict[str, int]:
        return {
            "tables": len(self.tables),
            "passed": sum(t.status == "pass" for t in self.tables),
            "failed": sum(t.status == "fail" for t in self.tables),
            "errors": sum(t.status == "error" for t in self.tables),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "baseline_id": self.baseline_id,
            "run_id": self.run_id,
            "passed": self.passed,
            "summary": self.summary,
            "tables": [t.to_json() for t in self.tables],
        }
