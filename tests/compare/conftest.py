"""Factories for the compare tests: small real Parquet outputs written with polars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sandboxer.compare import TableDiff, compare_table
from sandboxer.config.compare import OutputCompare

MakeOutput = Callable[..., Path]


@pytest.fixture
def make_output(tmp_path: Path) -> MakeOutput:
    """Write ``data`` (columns, or a DataFrame) as ``<tmp>/<side>/<name>.parquet``."""

    def make(side: str, data: dict[str, Any] | pl.DataFrame, name: str = "out") -> Path:
        frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
        path = tmp_path / side / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
        return path

    return make


@pytest.fixture
def diff_of(make_output: MakeOutput) -> Callable[..., TableDiff]:
    """Compare two in-memory tables through real Parquet files."""

    def run(
        baseline: dict[str, Any] | pl.DataFrame,
        current: dict[str, Any] | pl.DataFrame,
        *,
        key: list[str] | None = ("id",),  # type: ignore[assignment]
        samples: int = 0,
        name: str = "out",
        **spec: Any,
    ) -> TableDiff:
        return compare_table(
            name,
            make_output("baseline", baseline),
            make_output("current", current),
            key=list(key) if key else None,
            spec=OutputCompare.model_validate(spec),
            samples=samples,
        )

    return run
