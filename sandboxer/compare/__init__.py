"""Compare a run's outputs with a baseline: keyed row diffs, statistics, and the reports.

``compare_outputs`` compares every declared output of a run directory with a baseline
directory; ``compare_table`` compares one output. Results render through ``reports``.
"""

from __future__ import annotations

import re
from pathlib import Path

from sandboxer.compare.diff import compare_table
from sandboxer.compare.result import CompareResult, TableDiff
from sandboxer.config.compare import OutputCompare
from sandboxer.errors import ConfigError

__all__ = ["CompareResult", "TableDiff", "compare_outputs", "compare_table"]

# Output names become file names: <dir>/<name>.parquet.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def compare_outputs(
    baseline_dir: Path,
    current_dir: Path,
    outputs: dict[str, tuple[list[str] | None, OutputCompare]],
    samples: int = 0,
    *,
    baseline_id: str | None = None,
    run_id: str | None = None,
) -> CompareResult:
    """Compare ``<current_dir>/<name>.parquet`` with ``<baseline_dir>/<name>.parquet`` for
    every output (name -> (key or None, compare spec)). An output missing on one side fails;
    missing on both, it is an error."""
    result = CompareResult(baseline_id=baseline_id, run_id=run_id)
    for name, (key, spec) in outputs.items():
        if not _NAME.match(name) or ".." in name:
            raise ConfigError(
                f"Invalid output name {name!r}: use letters, digits, '_', '.' and '-'"
            )
        base = Path(baseline_dir) / f"{name}.parquet"
        cur = Path(current_dir) / f"{name}.parquet"
        missing = [side for side, p in (("baseline", base), ("current run", cur)) if not p.exists()]
        if missing:
            diff = TableDiff(name=name, key=list(key) if key else None,
                             mode="keyed" if key else "stats")  # fmt: skip
            if len(missing) == 2:
                diff.error(f"output missing in both the baseline and the current run ({base.name})")
            else:
                diff.fail(f"output missing in the {missing[0]} ({base.name})")
            result.tables.append(diff)
            continue
        result.tables.append(compare_table(name, base, cur, key=key, spec=spec, samples=samples))
    return result
