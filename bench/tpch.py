"""TPC-H data for the benchmarks: Parquet files generated once, a PostgreSQL copy per run.

The Parquet files are cached in ``bench/.data/tpch-sf<SF>/`` (gitignored). A directory only
counts as complete when its ``_COMPLETE`` marker exists and every table's Parquet footer holds
the expected row count; anything else is regenerated from scratch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness import Bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / ".data"
TPCHGEN = Path(sys.executable).parent / "tpchgen-cli"

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")

PRIMARY_KEYS: dict[str, list[str]] = {
    "region": ["r_regionkey"],
    "nation": ["n_nationkey"],
    "supplier": ["s_suppkey"],
    "customer": ["c_custkey"],
    "part": ["p_partkey"],
    "partsupp": ["ps_partkey", "ps_suppkey"],
    "orders": ["o_orderkey"],
    "lineitem": ["l_orderkey", "l_linenumber"],
}

# (table, columns, referenced table, referenced columns)
FOREIGN_KEYS: list[tuple[str, list[str], str, list[str]]] = [
    ("nation", ["n_regionkey"], "region", ["r_regionkey"]),
    ("supplier", ["s_nationkey"], "nation", ["n_nationkey"]),
    ("customer", ["c_nationkey"], "nation", ["n_nationkey"]),
    ("partsupp", ["ps_partkey"], "part", ["p_partkey"]),
    ("partsupp", ["ps_suppkey"], "supplier", ["s_suppkey"]),
    ("orders", ["o_custkey"], "customer", ["c_custkey"]),
    ("lineitem", ["l_orderkey"], "orders", ["o_orderkey"]),
    ("lineitem", ["l_partkey", "l_suppkey"], "partsupp", ["ps_partkey", "ps_suppkey"]),
    ("lineitem", ["l_partkey"], "part", ["p_partkey"]),
    ("lineitem", ["l_suppkey"], "supplier", ["s_suppkey"]),
]


def expected_rows(sf: float) -> dict[str, int]:
    """Row counts of the TPC-H spec (lineitem varies: checked as a range instead)."""
    return {
        "region": 5,
        "nation": 25,
        "supplier": int(10_000 * sf),
        "customer": int(150_000 * sf),
        "part": int(200_000 * sf),
        "partsupp": int(800_000 * sf),
        "orders": int(1_500_000 * sf),
    }


def virtual_keys() -> dict[str, Any]:
    """The ``keys:`` section of a dataset config: Parquet files declare no keys."""
    return {
        "primary": PRIMARY_KEYS,
        "foreign": [
            {"table": t, "columns": c, "references": r, "ref_columns": rc}
            for t, c, r, rc in FOREIGN_KEYS
        ],
    }


SUBSET_SEED = 1


def customer_subset(
    source: str, percent: float, keys: dict[str, Any] | None = None, *, fidelity: bool = False
) -> dict[str, Any]:
    """The dataset config of the subset builds: ``percent`` % of customers as the root, with
    their full FK closure; ``keys`` for sources that declare none (Parquet files). Fidelity
    (on by default in builds) is off unless asked for: the subset benchmark measures the
    subset against its baseline, fidelity_tpch measures what fidelity adds."""
    config: dict[str, Any] = {
        "source": source,
        "seed": SUBSET_SEED,
        "subset": {"roots": [{"table": "customer", "percent": percent}]},
        "fidelity": {"enabled": fidelity},
    }
    if keys:
        config["keys"] = keys
    return config


def _sf_label(sf: float) -> str:
    return f"{sf:g}".replace(".", "_")


def _complete(directory: Path, sf: float, tables: tuple[str, ...] = TABLES) -> bool:
    import pyarrow.parquet as pq

    if not (directory / "_COMPLETE").exists():
        return False
    expected = expected_rows(sf)
    try:
        for table in tables:
            rows = pq.read_metadata(directory / f"{table}.parquet").num_rows
            if table == "lineitem":
                # About 4 lineitems per order, by the spec's generator.
                if not 3.5 * expected["orders"] <= rows <= 4.5 * expected["orders"]:
                    return False
            elif rows != expected[table]:
                return False
    except OSError:
        return False
    return True


def ensure_parquet(sf: float, tables: tuple[str, ...] = TABLES) -> Path:
    """The directory of the TPC-H tables (all eight by default) as Parquet at ``sf``; a full
    cached data set serves any subset of tables."""
    full = DATA / f"tpch-sf{_sf_label(sf)}"
    if _complete(full, sf):
        return full
    directory = full if tables == TABLES else full.with_name(f"{full.name}-{'-'.join(tables)}")
    if _complete(directory, sf, tables):
        return directory
    if not TPCHGEN.exists():
        raise SystemExit(f"{TPCHGEN} not found: run `make venv` (tpchgen-cli is a dev extra)")
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(directory, ignore_errors=True)
    partial.mkdir(parents=True)
    print(f"generating TPC-H SF{sf:g} Parquet into {directory} ...", file=sys.stderr)
    started = time.perf_counter()
    only = [] if tables == TABLES else ["--tables", ",".join(tables)]
    subprocess.run(
        [str(TPCHGEN), "parquet", "-s", f"{sf:g}", *only, "--output-dir", str(partial),
         "--no-progress", "--quiet"],
        check=True,
    )  # fmt: skip
    (partial / "_COMPLETE").write_text(json.dumps({"sf": sf, "tables": list(tables)}) + "\n")
    partial.rename(directory)
    if not _complete(directory, sf, tables):
        raise SystemExit(f"tpchgen-cli wrote an incomplete data set in {directory}")
    print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return directory


def warm_page_cache(directory: Path) -> None:
    """Read every file once so neither side of a comparison pays for a cold cache."""
    for path in sorted(directory.glob("*.parquet")):
        with path.open("rb") as f:
            while f.read(1 << 24):
                pass


def start_postgres(bench: Bench, data: Path) -> tuple[Any, str | None, dict[str, Any]]:
    """A throwaway cluster with the eight tables loaded and constrained (not timed)."""
    sys.path.insert(0, str(REPO))
    from tests.pgcluster import PgCluster, PgClusterError

    pg = PgCluster(bench.scratch / "pg")
    try:
        pg.start()
        url = pg.create_database("tpch")
        print("loading TPC-H into PostgreSQL (not timed) ...", file=sys.stderr)
        started = time.perf_counter()
        steps = load_postgres(url, data)
        steps["total"] = time.perf_counter() - started
        print("  " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()), file=sys.stderr)
    except (PgClusterError, OSError) as e:
        pg.stop()
        return None, None, {"error": str(e).splitlines()[0]}
    return pg, url, {k: round(v, 2) for k, v in steps.items()}


def load_postgres(url: str, directory: Path) -> dict[str, float]:
    """Load the eight tables into the (empty) database at ``url``; return seconds per step.

    Loaded first (ADBC bulk ingest, i.e. binary COPY), constrained after (PKs, then FKs),
    then ANALYZEd: the order that keeps the load fast.
    """
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq
    from psycopg import sql

    def plain(t: pa.DataType) -> pa.DataType:
        # tpchgen writes string_view, which ADBC ingest does not take.
        return pa.string() if t in (pa.string_view(), pa.large_string()) else t

    timings: dict[str, float] = {}
    with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:

        def run(statement: sql.Composable) -> None:
            cur.execute(statement.as_string(None))

        started = time.perf_counter()
        for table in TABLES:
            pf = pq.ParquetFile(directory / f"{table}.parquet")
            schema = pa.schema(
                [pa.field(f.name, plain(f.type), nullable=f.nullable) for f in pf.schema_arrow]
            )
            batches = (b.cast(schema) for b in pf.iter_batches(batch_size=100_000))
            reader = pa.RecordBatchReader.from_batches(schema, batches)
            run(create_table(table, schema))
            cur.adbc_ingest(table, reader, mode="append")
        timings["copy"] = time.perf_counter() - started

        started = time.perf_counter()
        for table, columns in PRIMARY_KEYS.items():
            run(
                sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
            )
        timings["primary_keys"] = time.perf_counter() - started
        started = time.perf_counter()
        for table, columns, ref, ref_columns in FOREIGN_KEYS:
            run(
                sql.SQL("ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({})").format(
                    sql.Identifier(table),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                    sql.Identifier(ref),
                    sql.SQL(", ").join(map(sql.Identifier, ref_columns)),
                )
            )
        timings["foreign_keys"] = time.perf_counter() - started
        started = time.perf_counter()
        cur.execute("VACUUM ANALYZE")
        timings["analyze"] = time.perf_counter() - started
    return timings


def create_table(table: str, schema: Any) -> Any:
    """CREATE TABLE with the spec's column types (decimal(15,2), not ADBC's bare numeric)."""
    import pyarrow as pa
    from psycopg import sql

    def pg_type(t: pa.DataType) -> str:
        if pa.types.is_decimal(t):
            return f"numeric({t.precision}, {t.scale})"
        names = {pa.int64(): "bigint", pa.int32(): "integer", pa.date32(): "date",
                 pa.string(): "text", pa.float64(): "double precision"}  # fmt: skip
        return names[t]

    columns = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(f.name),
            sql.SQL(pg_type(f.type)),
            sql.SQL("" if f.nullable else " NOT NULL"),
        )
        for f in schema
    ]
    return sql.SQL("CREATE TABLE {} ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(columns)
    )
