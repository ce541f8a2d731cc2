"""How an output is compared with its baseline: the ``compare:`` block of an output in
sandboxer.yaml (``pipeline.outputs.<name>.compare``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sandboxer.config.strict import Strict


class Tolerance(Strict):
    """Two values match when any given bound holds (nulls match only nulls)."""

    abs: Annotated[float, Field(ge=0)] | None = None
    rel: Annotated[float, Field(ge=0)] | None = None
    """Relative to the baseline value: |a - b| <= rel * |b|."""
    decimals: Annotated[int, Field(ge=0)] | None = None
    """Round both sides to this many decimals first."""


class ExpectedChange(Strict):
    """A declared, intended difference: it passes instead of failing."""

    column: str | None = None
    """The column whose values may change (``kind: values``), or that is added/removed."""
    kind: Literal[
        "values", "added_column", "removed_column", "type", "rows_added", "rows_removed"
    ] = "values"
    max_rows: Annotated[int, Field(ge=0)] | None = None
    """At most this many rows may show the change (default: any number)."""
    reason: str = ""


class StatsLimits(Strict):
    """Control limits for outputs compared statistically (no key): relative deltas."""

    count: Annotated[float, Field(ge=0)] = 0.0
    nulls: Annotated[float, Field(ge=0)] = 0.0
    distinct: Annotated[float, Field(ge=0)] = 0.0
    mean: Annotated[float, Field(ge=0)] = 1e-9
    std: Annotated[float, Field(ge=0)] = 1e-9
    quantiles: Annotated[float, Field(ge=0)] = 1e-9


class OutputCompare(Strict):
    tolerances: dict[str, Tolerance] = Field(default_factory=dict)
    """Per column; ``"*"`` applies to every numeric column without its own."""
    ignore: list[str] = Field(default_factory=list)
    """Columns left out of the comparison (timestamps of the run, random ids)."""
    expected: list[ExpectedChange] = Field(default_factory=list)
    stats: StatsLimits = Field(default_factory=StatsLimits)
    max_modified_rows: Annotated[int, Field(ge=0)] = 0
    """Rows that may differ beyond tolerance and still pass (default 0)."""
