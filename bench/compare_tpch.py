"""Compare benchmark: diff TPC-H ``lineitem`` with a copy holding known changes.

The issue's goal (issue 5, Performance): compare TPC-H SF1 ``lineitem`` (6 M rows) with a copy
in which 1 % of rows are modified, 0.1 % added and 0.1 % removed, in at most 1.5x the wall time
of the plain baseline, with the diff counts exactly right.

- The copy is generated once, deterministically, and cached in
  ``bench/.data/compare-tpch-sf<SF>/`` with the counts it must produce (``expected.json``).
  With ``i`` the row's position in the source file: rows with ``i % 1000 == 7`` are removed;
  rows with ``i % 100 == 3`` are modified (``l_extendedprice`` + 1.00; also ``l_comment`` + "x"
  when ``i % 400 == 3``; ``l_shipdate`` set to null when ``i % 500 == 3``); copies of the rows
  with ``i % 1000 == 11`` are added under a new key (``l_linenumber`` + 100). Types are kept,
  so the schema diff is empty.
- Tool: ``compare_table`` with key ``(l_orderkey, l_linenumber)`` and the default spec, no
  samples: the duplicate-key check, the full outer join and every counter.
- Baseline (as the issue names it): ``pl.read_parquet`` of both files and a full outer join
  on the key (in memory, polars' default engine).
- Exactness (checked on every tool run): identical / modified / added / removed and the three
  per-column counters equal the expected counts; any difference fails the case.

Both sides import polars (and the tool sandboxer.compare) before the clock starts.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Result
from tpch import DATA, ensure_parquet, warm_page_cache

NAME = "compare_tpch"
KEY = ["l_orderkey", "l_linenumber"]
MAX_TIME_RATIO = 1.5
CURRENT_FILE = "lineitem_current.parquet"
# (modulus, remainder) of the row position that selects each change.
REMOVED = (1000, 7)
ADDED = (1000, 11)
MODIFIED = (100, 3)
COMMENT = (400, 3)
SHIPDATE = (500, 3)


# -- the measured sides (run in fresh worker processes) ------------------------------------
def tool(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """compare_table on the two files; return its counts."""
    import polars  # noqa: F401

    from sandboxer.compare import compare_table
    from sandboxer.config.compare import OutputCompare

    with clock:
        diff = compare_table(
            "lineitem",
            Path(args["baseline"]),
            Path(args["current"]),
            key=KEY,
            spec=OutputCompare(),
        )
    return {"status": diff.status, "reasons": diff.reasons, **observed_counts(diff)}


def baseline(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Read both files with polars and join them on the key (full outer)."""
    import polars as pl

    with clock:
        base = pl.read_parquet(args["baseline"])
        current = pl.read_parquet(args["current"])
        joined = base.join(current, on=KEY, how="full")
    return {"rows": joined.height}


def observed_counts(diff: Any) -> dict[str, int]:
    columns = {c.name: c for c in diff.columns}
    r = diff.rows
    return {
        "baseline": r.baseline,
        "current": r.current,
        "identical": r.identical,
        "modified": r.modified,
        "added": r.added,
        "removed": r.removed,
        "l_extendedprice.conflicting": columns["l_extendedprice"].conflicting,
        "l_comment.conflicting": columns["l_comment"].conflicting,
        "l_shipdate.null_in_current_only": columns["l_shipdate"].null_in_current_only,
        "other_columns.differing": sum(
            c.differing
            for n, c in columns.items()
            if n not in ("l_extendedprice", "l_comment", "l_shipdate")
        ),
    }


# -- the data ------------------------------------------------------------------------------
def _hits(n: int, rule: tuple[int, int]) -> int:
    """How many of the positions 0..n-1 satisfy ``i % m == r``."""
    m, r = rule
    return 0 if r >= n else (n - 1 - r) // m + 1


def expected_counts(n: int) -> dict[str, int]:
    """What the comparison must report for a source of ``n`` rows."""
    removed, added, modified = _hits(n, REMOVED), _hits(n, ADDED), _hits(n, MODIFIED)
    return {
        "baseline": n,
        "current": n - removed + added,
        "identical": n - removed - modified,
        "modified": modified,
        "added": added,
        "removed": removed,
        "l_extendedprice.conflicting": modified,
        "l_comment.conflicting": _hits(n, COMMENT),
        "l_shipdate.null_in_current_only": _hits(n, SHIPDATE),
        "other_columns.differing": 0,
    }


def ensure_current(data: Path, sf: float) -> tuple[Path, dict[str, int]]:
    """The changed copy of lineitem (generated once) and the counts it must produce."""
    import polars as pl

    directory = DATA / f"compare-tpch-sf{sf:g}".replace(".", "_")
    marker = directory / "expected.json"
    if marker.exists():
        return directory / CURRENT_FILE, json.loads(marker.read_text())
    print(f"generating the changed copy of lineitem into {directory} ...", file=sys.stderr)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    source = pl.read_parquet(data / "lineitem.parquet")
    schema = source.schema
    i = pl.int_range(pl.len(), dtype=pl.Int64)

    def at(rule: tuple[int, int]) -> pl.Expr:
        return i % rule[0] == rule[1]

    one = pl.lit(1).cast(schema["l_extendedprice"])
    # Positions are taken before the filter: the rules name rows of the source file.
    kept = source.with_columns(
        l_extendedprice=pl.when(at(MODIFIED))
        .then(pl.col("l_extendedprice") + one)
        .otherwise(pl.col("l_extendedprice")),
        l_comment=pl.when(at(COMMENT))
        .then(pl.col("l_comment") + "x")
        .otherwise(pl.col("l_comment")),
        l_shipdate=pl.when(at(SHIPDATE)).then(None).otherwise(pl.col("l_shipdate")),
    ).filter(~at(REMOVED))
    added = source.filter(at(ADDED)).with_columns(l_linenumber=pl.col("l_linenumber") + 100)
    current = pl.concat([kept, added]).cast(dict(schema))  # type: ignore[arg-type]
    if current.schema != schema:
        raise SystemExit(f"the changed copy's schema differs: {current.schema} vs {schema}")
    current.write_parquet(directory / CURRENT_FILE)
    expected = expected_counts(source.height)
    if current.height != expected["current"]:
        raise SystemExit(f"changed copy has {current.height} rows, expected {expected['current']}")
    marker.write_text(json.dumps(expected, indent=2) + "\n")
    return directory / CURRENT_FILE, expected


# -- the driver ----------------------------------------------------------------------------
def run(bench: Bench) -> list[Result]:
    name = f"{NAME}/lineitem-sf{bench.sf:g}"
    if not bench.selected(name):
        return []
    data = ensure_parquet(bench.sf)
    current, expected = ensure_current(data, bench.sf)
    base_file = data / "lineitem.parquet"
    warm_page_cache(data)
    with current.open("rb") as f:
        while f.read(1 << 24):
            pass
    print(f"{name} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
    result = Result(name, max_time_ratio=MAX_TIME_RATIO)
    args = {"baseline": str(base_file), "current": str(current)}
    wrong: dict[str, tuple[int, Any]] = {}
    for _ in range(bench.repeat):
        m = bench.measure(f"{NAME}:tool", args)
        result.tool_runs.append(m)
        if not m.ok:
            result.errors.append(f"tool: {m.error}")
            break
        wrong |= {k: (v, m.info.get(k)) for k, v in expected.items() if m.info.get(k) != v}
        b = bench.measure(f"{NAME}:baseline", args)
        result.baseline_runs.append(b)
        if not b.ok:
            result.errors.append(f"baseline: {b.error}")
            break
    if wrong:
        result.errors.append(f"diff counts differ from the expected (expected, got): {wrong}")
    result.info = {
        "rows": expected["baseline"],
        "modified": expected["modified"],
        "added": expected["added"],
        "removed": expected["removed"],
        "counts": "wrong" if wrong else ("exact" if result.tool_runs else "-"),
    }
    result.details["expected"] = expected
    result.details["tool_rss_before_mib"] = [r.rss_before_mib for r in result.tool_runs]
    print(
        f"  {name}: {result.wall or 0:.2f} s vs {result.baseline_wall or 0:.2f} s, "
        f"peak {result.peak_mib or 0:.0f} MB vs {result.baseline_peak_mib or 0:.0f} MB, "
        f"{result.verdict}",
        file=sys.stderr,
    )
    return [result]
