"""Load benchmark: a snapshot into PostgreSQL with ``load_postgres`` vs a plain COPY.

The issue's goal: the load reaches at least 70 % of plain COPY throughput (wall at most
1/0.7 = 1.43x the baseline's), for TPC-H SF1 1 % and the example shop dataset.

- Snapshots (built once, not timed): TPC-H 1 % of customers with their FK closure, built the
  way ``subset_tpch`` does (Parquet source, virtual keys); and the shop dataset of
  ``examples/shop/sandboxer.yaml`` (10 % of customers, lookup tables whole, no redaction) from
  a shop of ``SHOP_CUSTOMERS`` customers generated with ``examples/shop/generate.py``.
- Tool: ``load_postgres(snapshot, url, virtual_foreign_keys=True)`` into a fresh database:
  sha256 of the files, tables, binary COPY (ADBC) fed by DuckDB, primary/unique/foreign keys
  (the TPC-H keys are all virtual: creating them is the demanding case), ANALYZE, row counts
  and content checksums against DuckDB over the Parquet files, one transaction.
- Baseline (plain COPY): the same Parquet files, read with pyarrow in record batches and
  written with ADBC bulk ingest (binary ``COPY FROM STDIN``) into tables created with the same
  column types and no constraints, autocommit, nothing verified. ADBC's binary COPY was the
  fastest plain method measured here (CSV COPY through psycopg was on par, row-wise psycopg
  binary COPY 2-7x slower), so the baseline is not a straw man.

Both sides import their libraries before the clock; each run loads into its own new database
of one throwaway cluster started by the driver (not timed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness import Bench, Clock, Result
from tpch import REPO, ensure_parquet, virtual_keys, warm_page_cache

NAME = "load_postgres"
MIN_THROUGHPUT_RATIO = 0.7
MAX_TIME_RATIO = 1 / MIN_THROUGHPUT_RATIO
SHOP_CUSTOMERS = 20_000
SEED = 1


# -- the measured sides (run in fresh worker processes) ------------------------------------
def _snapshot(args: dict[str, Any]) -> Any:
    sys.path.insert(0, str(REPO))
    from sandboxer.snapshot.store import LocalStore

    return LocalStore(Path(args["store"])).resolve(args["snapshot"])


def tool(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    import adbc_driver_postgresql.dbapi  # noqa: F401
    import duckdb  # noqa: F401
    import psycopg  # noqa: F401
    import pyarrow  # noqa: F401

    from sandboxer.sandbox.engines.postgres import load_postgres

    snapshot = _snapshot(args)
    with clock:
        report = load_postgres(snapshot, args["url"], virtual_foreign_keys=True)
    if not report.ok:
        raise RuntimeError("the load did not verify")
    return {
        "rows": sum(t["rows"] for t in report.tables.values()),
        "steps": report.steps,
        "checksums": {k: t["checksum"] for k, t in report.tables.items()},
    }


def baseline(args: dict[str, Any], clock: Clock) -> dict[str, Any]:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq
    from psycopg import sql

    from sandboxer.sandbox.engines.postgres import arrow_pg_type

    snapshot = _snapshot(args)
    rows = 0
    with clock, adbc.connect(args["url"], autocommit=True) as conn, conn.cursor() as cur:
        for meta in snapshot.manifest.tables.values():
            pf = pq.ParquetFile(snapshot.path / meta.file)
            schema = pf.schema_arrow
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(arrow_pg_type(str(f.type))))
                for f in schema
            )
            cur.execute(
                sql.SQL("CREATE TABLE {} ({})")
                .format(sql.Identifier(meta.name), columns)
                .as_string(None)
            )
            reader = pa.RecordBatchReader.from_batches(
                schema, pf.iter_batches(batch_size=64 * 1024)
            )
            rows += cur.adbc_ingest(meta.name, reader, mode="append")
    return {"rows": rows}


# -- snapshots (not timed) -----------------------------------------------------------------
def build_tpch(store: Path, sf: float) -> str:
    from sandboxer.build.builder import build_snapshot
    from sandboxer.config.models import Dataset
    from sandboxer.console import NoopConsole
    from sandboxer.snapshot.store import LocalStore

    data = ensure_parquet(sf)
    warm_page_cache(data)
    dataset = Dataset.model_validate(
        {
            "source": str(data),
            "seed": SEED,
            "keys": virtual_keys(),
            "subset": {"roots": [{"table": "customer", "percent": 1.0}]},
        }
    )
    return build_snapshot("tpch", dataset, LocalStore(store), NoopConsole()).id


def build_shop(store: Path, work: Path) -> str:
    import yaml

    sys.path.insert(0, str(REPO))
    from examples.shop.generate import generate_shop, write_duckdb
    from sandboxer.build.builder import build_snapshot
    from sandboxer.config.models import Dataset
    from sandboxer.console import NoopConsole
    from sandboxer.snapshot.store import LocalStore

    db = write_duckdb(generate_shop(customers=SHOP_CUSTOMERS, seed=7), work / "prod.duckdb")
    config = yaml.safe_load((REPO / "examples" / "shop" / "sandboxer.yaml").read_text())
    shop = config["datasets"]["shop"]
    dataset = Dataset.model_validate(
        {"source": f"duckdb:///{db}", "seed": shop["seed"], "subset": shop["subset"]}
    )
    return build_snapshot("shop", dataset, LocalStore(store), NoopConsole()).id


# -- the driver ----------------------------------------------------------------------------
def run(bench: Bench) -> list[Result]:
    cases = [c for c in ("tpch-1%", "shop") if bench.selected(f"{NAME}/{c}")]
    if not cases:
        return []
    sys.path.insert(0, str(REPO))
    from tests.pgcluster import PgCluster, PgClusterError

    store = bench.scratch / "store"
    snapshots = {}
    print("building snapshots (not timed) ...", file=sys.stderr)
    if "tpch-1%" in cases:
        snapshots["tpch-1%"] = build_tpch(store, bench.sf)
    if "shop" in cases:
        work = bench.scratch / "shop"
        work.mkdir()
        snapshots["shop"] = build_shop(store, work)

    results: list[Result] = []
    pg = PgCluster(bench.scratch / "pg")
    try:
        pg.start()
    except PgClusterError as e:
        for case in cases:
            result = Result(f"{NAME}/{case}")
            result.errors.append(f"no PostgreSQL server: {str(e).splitlines()[0]}")
            results.append(result)
        return results
    try:
        for case in cases:
            results.append(run_case(bench, pg, store, case, snapshots[case]))
    finally:
        pg.stop()
    return results


def run_case(bench: Bench, pg: Any, store: Path, case: str, snapshot_id: str) -> Result:
    name = f"{NAME}/{case}"
    print(f"{name} ({bench.repeat} run(s) per side) ...", file=sys.stderr)
    result = Result(name, max_time_ratio=MAX_TIME_RATIO)
    args = {"store": str(store), "snapshot": snapshot_id}
    rows: int | None = None
    for _ in range(bench.repeat):
        for side, runs in (("tool", result.tool_runs), ("baseline", result.baseline_runs)):
            url = pg.create_database()
            try:
                m = bench.measure(f"{NAME}:{side}", {**args, "url": url})
            finally:
                pg.drop_database(url)
            runs.append(m)
            if not m.ok:
                result.errors.append(f"{side}: {m.error}")
                break
            if rows is None:
                rows = m.info["rows"]
            elif m.info["rows"] != rows:
                result.errors.append(f"{side} loaded {m.info['rows']} rows, expected {rows}")
        if result.errors:
            break
    if rows is not None:
        result.info["rows"] = rows
        if result.wall:
            result.info["rows/s"] = f"{rows / result.wall:,.0f}"
        if result.baseline_wall:
            result.info["base rows/s"] = f"{rows / result.baseline_wall:,.0f}"
        if result.time_ratio:
            result.info["throughput"] = f"{1 / result.time_ratio:.0%} of COPY"
        ok = [r for r in result.tool_runs if r.ok]
        if ok:
            result.details["steps"] = [r.info["steps"] for r in ok]
            result.info["copy_s"] = round(
                sorted(r.info["steps"]["copy"] for r in ok)[len(ok) // 2], 2
            )
    result.details["snapshot"] = snapshot_id
    ratio = f"{result.time_ratio:.2f}x" if result.time_ratio else "-"
    print(f"  {name}: {result.wall or 0:.2f} s vs {result.baseline_wall or 0:.2f} s ({ratio}), "
          f"{result.verdict}", file=sys.stderr)  # fmt: skip
    return result
