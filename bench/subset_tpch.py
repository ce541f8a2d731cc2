"""Subset benchmark: x % of TPC-H customers with their full FK closure, from Parquet and PG.

The issue's goal: building the snapshot takes at most 2x the plain baseline and peaks under
2 GB at SF1, for 1 % and 10 % of customers, from Parquet files and from PostgreSQL.

- Tool: ``build_snapshot`` with root ``customer`` at x %; children (orders, lineitem) are
  followed, parents (partsupp, part, supplier, nation, region) pulled.
- Baseline (the same program for both sources, as the issue names it): given the exact key
  sets the tool selected (read from its snapshot beforehand, outside the timing), polars reads
  exactly those rows from the source Parquet files (scan + semi-join on the keys, streaming
  collect) and writes them to Parquet. Its row counts must equal the snapshot's, table by
  table; any difference fails the case.
- Closure check (outside the timing): from the snapshot's customers, polars recomputes the
  expected rows of every other table and compares them with the snapshot's key sets.

Both sides pre-import their libraries before the clock starts; the tool's build includes
opening the source, planning, extraction, writing, hashing and integrity checks.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Result
from tpch import (
    PRIMARY_KEYS,
    TABLES,
    customer_subset,
    ensure_parquet,
    start_postgres,
    virtual_keys,
    warm_page_cache,
)

NAME = "subset_tpch"
PERCENTS = (1.0, 10.0)
QUICK_PERCENTS = (1.0,)
SOURCES = ("parquet", "postgres")
MAX_TIME_RATIO = 2.0
MAX_PEAK_MIB = 2048.0


# -- the measured sides (run in fresh worker processes) ------------------------------------
def tool(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Build the snapshot; return the rows per table and where the snapshot is."""
    # What build_snapshot imports lazily is imported before the clock, as the baseline does.
    import duckdb  # noqa: F401
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    from sandboxer.build.builder import build_snapshot
    from sandboxer.config.models import Dataset
    from sandboxer.console import NoopConsole
    from sandboxer.snapshot.store import LocalStore
    from sandboxer.sources import create_source

    config = customer_subset(args["source"], args["percent"], args.get("keys"))
    dataset = Dataset.model_validate(config)
    source = create_source(dataset.source)  # imports the source module (and its driver)
    with clock:
        info = build_snapshot(NAME, dataset, LocalStore(Path(args["store"])), NoopConsole(),
                              source=source)  # fmt: skip
    tables = info.manifest.tables
    return {
        "id": info.id,
        "path": str(info.path),
        "rows": {meta.name: meta.rows for meta in tables.values()},
        "files": {meta.name: meta.file for meta in tables.values()},
        "plan_seconds": info.manifest.subset.seconds,
        "plan_fetches": info.manifest.subset.fetches,
        "build_seconds": info.manifest.build_seconds,
    }


def baseline(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Read exactly the selected rows from the source Parquet files and write them out."""
    import polars as pl

    data, keys, out = Path(args["data"]), Path(args["keys"]), Path(args["out"])
    rows = {}
    with clock:
        for table in TABLES:
            selected = (
                pl.scan_parquet(data / f"{table}.parquet")
                .join(pl.scan_parquet(keys / f"{table}.parquet"), on=PRIMARY_KEYS[table],
                      how="semi")
                .collect(engine="streaming")
            )  # fmt: skip
            selected.write_parquet(out / f"{table}.parquet")
            rows[table] = selected.height
    return {"rows": rows}


# -- checks (outside the timing) -----------------------------------------------------------
def extract_keys(snapshot: Path, files: dict[str, str], data: Path, out: Path) -> None:
    """Write each table's selected primary keys, typed as in the source Parquet files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True)
    for table in TABLES:
        columns = PRIMARY_KEYS[table]
        source_schema = pq.read_schema(data / f"{table}.parquet")
        wanted = pa.schema([source_schema.field(c).remove_metadata() for c in columns])
        keys = pq.read_table(snapshot / files[table], columns=columns)
        keys = keys.cast(wanted) if keys.schema != wanted else keys
        pq.write_table(keys, out / f"{table}.parquet")


def closure_errors(data: Path, keys: Path) -> list[str]:
    """Recompute the closure of the snapshot's customers with polars; list the differences."""
    import polars as pl

    def scan(table: str) -> pl.LazyFrame:
        return pl.scan_parquet(data / f"{table}.parquet")

    def got(table: str) -> pl.DataFrame:
        return pl.read_parquet(keys / f"{table}.parquet")

    customers = got("customer").lazy()
    orders = scan("orders").join(customers, left_on="o_custkey", right_on="c_custkey",
                                 how="semi")  # fmt: skip
    lineitem = scan("lineitem").join(orders.select("o_orderkey"), left_on="l_orderkey",
                                     right_on="o_orderkey", how="semi")  # fmt: skip
    partsupp = lineitem.select(ps_partkey="l_partkey", ps_suppkey="l_suppkey").unique()
    part = pl.concat([lineitem.select(p_partkey="l_partkey"),
                      partsupp.select(p_partkey="ps_partkey")]).unique()  # fmt: skip
    supplier = pl.concat([lineitem.select(s_suppkey="l_suppkey"),
                          partsupp.select(s_suppkey="ps_suppkey")]).unique()  # fmt: skip
    nation = pl.concat([
        scan("customer").join(customers, on="c_custkey", how="semi")
        .select(n_nationkey="c_nationkey"),
        scan("supplier").join(supplier, on="s_suppkey", how="semi")
        .select(n_nationkey="s_nationkey"),
    ]).unique()  # fmt: skip
    region = scan("nation").join(nation, on="n_nationkey", how="semi").select(
        r_regionkey="n_regionkey").unique()  # fmt: skip
    expected = {
        "orders": orders.select("o_orderkey"),
        "lineitem": lineitem.select(PRIMARY_KEYS["lineitem"]),
        "partsupp": partsupp,
        "part": part,
        "supplier": supplier,
        "nation": nation,
        "region": region,
    }
    errors = []
    for table, frame in expected.items():
        want = frame.collect()
        have = got(table)
        on = PRIMARY_KEYS[table]
        missing = want.join(have, on=on, how="anti").height
        extra = have.join(want, on=on, how="anti").height
        if missing or extra:
            errors.append(f"closure of {table}: {missing} expected row(s) missing, {extra} extra")
    return errors


def same_keys(a: Path, b: Path) -> list[str]:
    """Tables whose selected keys differ between two snapshots (by key set, not order)."""
    import polars as pl

    differ = []
    for table in TABLES:
        on = PRIMARY_KEYS[table]
        x = pl.read_parquet(a / f"{table}.parquet").sort(on)
        y = pl.read_parquet(b / f"{table}.parquet").sort(on)
        if not x.equals(y):
            differ.append(table)
    return differ


# -- the driver ----------------------------------------------------------------------------
def run(bench: Bench) -> list[Result]:
    percents = QUICK_PERCENTS if bench.quick else PERCENTS
    cases = [(s, p) for s in SOURCES for p in percents if bench.selected(case_name(s, p))]
    if not cases:
        return []
    data = ensure_parquet(bench.sf)
    warm_page_cache(data)
    keys_by_percent: dict[float, Path] = {}
    results: list[Result] = []

    pg = None
    pg_url = None
    pg_details: dict[str, Any] = {}
    try:
        if any(s == "postgres" for s, _ in cases):
            pg, pg_url, pg_details = start_postgres(bench, data)
        for source, percent in cases:
            if source == "postgres":
                url = pg_url
                if url is None:
                    result = Result(case_name(source, percent))
                    result.errors.append(f"no PostgreSQL server: {pg_details.get('error')}")
                    results.append(result)
                    continue
            else:
                url = str(data)
            result = run_case(bench, data, source, url, percent, keys_by_percent)
            if source == "postgres":
                result.details["postgres_load"] = pg_details
            results.append(result)
            print(progress_line(result), file=sys.stderr)
    finally:
        if pg is not None:
            pg.stop()
    return results


def case_name(source: str, percent: float) -> str:
    return f"{NAME}/{source}-{percent:g}%"


def progress_line(r: Result) -> str:
    ratio = f"{r.time_ratio:.2f}x" if r.time_ratio else "-"
    return f"  {r.name}: {r.wall or 0:.2f} s vs {r.baseline_wall or 0:.2f} s ({ratio}), " + (
        f"peak {r.peak_mib or 0:.0f} MB, {r.verdict}"
    )


def run_case(
    bench: Bench,
    data: Path,
    source: str,
    url: str,
    percent: float,
    keys_by_percent: dict[float, Path],
) -> Result:
    name = case_name(source, percent)
    print(f"{name} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
    result = Result(name, max_time_ratio=MAX_TIME_RATIO, max_peak_mib=MAX_PEAK_MIB)
    work = bench.scratch / f"{source}-{percent:g}"
    keys_dir = bench.scratch / "keys" / f"{source}-{percent:g}"
    snapshot_ids = set()
    snapshot_rows: dict[str, int] | None = None
    for i in range(bench.repeat):
        store = work / f"store-{i}"
        args: dict[str, Any] = {"source": url, "percent": percent, "store": str(store)}
        if source == "parquet":
            args["keys"] = virtual_keys()
        m = bench.measure(f"{NAME}:tool", args)
        result.tool_runs.append(m)
        if not m.ok:
            result.errors.append(f"tool: {m.error}")
            break
        snapshot_ids.add(m.info["id"])
        if snapshot_rows is None:
            snapshot_rows = m.info["rows"]
            extract_keys(Path(m.info["path"]), m.info["files"], data, keys_dir)
            result.errors += closure_errors(data, keys_dir)
            if percent in keys_by_percent:
                differ = same_keys(keys_by_percent[percent], keys_dir)
                result.info["same_rows_as_parquet"] = "yes" if not differ else ",".join(differ)
            else:
                keys_by_percent[percent] = keys_dir
        shutil.rmtree(store, ignore_errors=True)

        out = work / f"baseline-{i}"
        out.mkdir()
        b = bench.measure(f"{NAME}:baseline", {"data": str(data), "keys": str(keys_dir),
                                                "out": str(out)})  # fmt: skip
        result.baseline_runs.append(b)
        shutil.rmtree(out, ignore_errors=True)
        if not b.ok:
            result.errors.append(f"baseline: {b.error}")
            break
        if b.info["rows"] != snapshot_rows:
            diff = {t: (snapshot_rows.get(t), n) for t, n in b.info["rows"].items()
                    if snapshot_rows.get(t) != n}  # fmt: skip
            result.errors.append(f"baseline rows differ from the snapshot's: {diff}")
    if len(snapshot_ids) > 1:
        result.errors.append(f"the snapshot id changed between runs: {sorted(snapshot_ids)}")
    if snapshot_rows is not None:
        result.info["rows"] = sum(snapshot_rows.values())
        result.info["lineitem"] = snapshot_rows.get("lineitem")
        result.info["rows_match"] = "no" if any("differ" in e for e in result.errors) else "yes"
        result.info["closure"] = "no" if any("closure" in e for e in result.errors) else "ok"
        result.details["rows"] = snapshot_rows
    ok_runs = [r for r in result.tool_runs if r.ok]
    if ok_runs:
        result.info["plan_s"] = _median([r.info["plan_seconds"] for r in ok_runs])
    result.details["snapshot_ids"] = sorted(snapshot_ids)
    result.details["tool_rss_before_mib"] = [r.rss_before_mib for r in result.tool_runs]
    shutil.rmtree(work, ignore_errors=True)
    return result


def _median(values: list[float]) -> float:
    import statistics

    return round(statistics.median(values), 2)
