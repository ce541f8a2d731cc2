"""Which PostgreSQL reader should PostgresSource use? Measure, don't guess.

Loads TPC-H SF1 ``orders`` (1.5 M rows) into a throwaway PostgreSQL cluster, then reads into a
``pyarrow.Table``:

  (a) the whole table, and
  (b) a 1 % key semi-join (15 k ``o_orderkey`` values),

with ADBC (``adbc_driver_postgresql``), psycopg (COPY CSV -> ``pyarrow.csv`` streaming reader,
and a plain server-side cursor as the baseline) and connectorx. Each case runs in its own
subprocess, so peak memory (max RSS minus RSS just before the read) is the case's own.

    .venv/bin/python bench/pg_readers.py [--repeat 3] [--only adbc]

Notes on fairness:
- connectorx opens its own connections: it cannot join our snapshot, and it has no bound
  parameters, so its semi-join gets the keys inlined into the SQL text (fine for integers we
  generated; never acceptable for real keys).
- ``COPY (query) TO STDOUT`` takes no parameters either, so the psycopg COPY semi-join loads the
  keys into a temp table by binary COPY first; that needs a writable transaction.
- ADBC with bound parameters cannot use COPY: the whole result is buffered by libpq. The
  ``adbc-cursor`` case (DECLARE ... CURSOR with the keys bound, then FETCH in batches) is the
  streaming variant PostgresSource uses for ``fetch_matching``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = HERE / ".data"
ORDERS = DATA / "orders.parquet"
SEMI_JOIN_EVERY = 100  # every 100th order key: 1 % = 15 k keys at SF1
BATCH_ROWS = 100_000

FULL_SQL = "SELECT * FROM orders"
SEMI_SQL_PARAM = "SELECT * FROM orders WHERE o_orderkey IN (SELECT unnest($1::int8[]))"
SEMI_SQL_TEMP = "SELECT o.* FROM orders o WHERE o.o_orderkey IN (SELECT k FROM bench_keys)"

CASES = {
    # name: (scenario, description)
    "adbc-table": "ADBC fetch_arrow_table (COPY binary)",
    "adbc-stream": "ADBC fetch_record_batch (discarded)",
    "adbc-cursor": "ADBC DECLARE CURSOR + FETCH batches",
    "psycopg-copy-csv": "psycopg COPY CSV -> pyarrow.csv reader",
    "psycopg-rows": "psycopg server cursor rows -> Arrow",
    "connectorx": "connectorx arrow, 1 connection",
    "connectorx-2": "connectorx arrow, 2 partitions",
}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> int:
    """Reset the kernel's peak-RSS mark (VmHWM) and return the current RSS in KiB.

    ``ru_maxrss`` is no use here: Linux carries it over from the parent across fork+exec.
    """
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status_kib("VmRSS")


def peak_rss_kib() -> int:
    return _status_kib("VmHWM")


# -- data ----------------------------------------------------------------------------------
def ensure_orders() -> Path:
    if not ORDERS.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(REPO / ".venv/bin/tpchgen-cli"), "parquet", "-s", "1", "--tables", "orders",
             "--output-dir", str(DATA)],
            check=True,
        )  # fmt: skip
    return ORDERS


def load_orders(url: str) -> int:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(ensure_orders())
    # tpchgen writes string_view; ADBC ingest wants plain strings.
    schema = pa.schema(
        [
            pa.field(f.name, pa.string() if f.type == pa.string_view() else f.type)
            for f in table.schema
        ]
    )
    table = table.cast(schema)
    with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.adbc_ingest("orders", table, mode="create")
        cur.execute("ALTER TABLE orders ADD PRIMARY KEY (o_orderkey)")
        cur.execute("ANALYZE orders")
    return table.num_rows


def semi_keys(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT o_orderkey FROM orders ORDER BY o_orderkey").fetchall()
    return [r[0] for r in rows[::SEMI_JOIN_EVERY]]


# -- readers (each returns the number of rows read) ----------------------------------------
def read_adbc_table(url: str, keys: list[int] | None) -> int:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if keys is None:
            cur.execute(FULL_SQL)
        else:
            params = pa.table({"k": pa.array([keys], pa.list_(pa.int64()))})
            cur.execute(SEMI_SQL_PARAM, params)
        table = cur.fetch_arrow_table()
        cur.execute("ROLLBACK")
    return table.num_rows


def read_adbc_stream(url: str, keys: list[int] | None) -> int:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    n = 0
    with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if keys is None:
            cur.execute(FULL_SQL)
        else:
            params = pa.table({"k": pa.array([keys], pa.list_(pa.int64()))})
            cur.execute(SEMI_SQL_PARAM, params)
        for batch in cur.fetch_record_batch():
            n += batch.num_rows
        cur.execute("ROLLBACK")
    return n


def read_adbc_cursor(url: str, keys: list[int] | None) -> int:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    batches = []
    with adbc.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if keys is None:
            cur.execute(f"DECLARE c NO SCROLL CURSOR FOR {FULL_SQL}")
        else:
            params = pa.table({"k": pa.array([keys], pa.list_(pa.int64()))})
            cur.execute(f"DECLARE c NO SCROLL CURSOR FOR {SEMI_SQL_PARAM}", params)
        with conn.cursor() as fetch:
            fetch.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})
            while True:
                fetch.execute(f"FETCH FORWARD {BATCH_ROWS} FROM c")
                part = fetch.fetch_arrow_table()
                if part.num_rows == 0:
                    break
                batches.append(part)
        cur.execute("ROLLBACK")
    return pa.concat_tables(batches).num_rows if batches else 0


def _orders_csv_options():  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = pq.read_schema(ensure_orders())
    types = {f.name: (pa.string() if f.type == pa.string_view() else f.type) for f in schema}
    return (
        pacsv.ReadOptions(column_names=list(types), block_size=8 << 20),
        pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
    )


class _CopyStream:
    """A read()-able file over psycopg COPY chunks, for pyarrow's CSV reader."""

    def __init__(self, copy) -> None:  # type: ignore[no-untyped-def]
        self._chunks = iter(copy)
        self._buf = bytearray()
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buf += chunk
        if n < 0:
            n = len(self._buf)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def close(self) -> None:
        self.closed = True


def read_psycopg_copy_csv(url: str, keys: list[int] | None) -> int:
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read_opts, convert_opts = _orders_csv_options()
    with psycopg.connect(url) as conn:
        if keys is None:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            query = FULL_SQL
        else:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            conn.execute("CREATE TEMP TABLE bench_keys (k int8 PRIMARY KEY) ON COMMIT DROP")
            with conn.cursor().copy("COPY bench_keys FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(["int8"])
                for k in keys:
                    copy.write_row((k,))
            conn.execute("ANALYZE bench_keys")
            query = SEMI_SQL_TEMP
        with conn.cursor().copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            reader = pacsv.open_csv(
                _CopyStream(copy), read_options=read_opts, convert_options=convert_opts
            )
            table = pa.Table.from_batches(list(reader), schema=reader.schema)
        conn.rollback()
    return table.num_rows


def read_psycopg_rows(url: str, keys: list[int] | None) -> int:
    import psycopg
    import pyarrow as pa

    batches = []
    with psycopg.connect(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        with conn.cursor(name="bench") as cur:
            if keys is None:
                cur.execute(FULL_SQL)
            else:
                cur.execute(SEMI_SQL_PARAM.replace("$1", "%s"), (keys,))
            names = None
            while rows := cur.fetchmany(BATCH_ROWS):
                names = names or [d.name for d in cur.description or []]
                columns = list(zip(*rows, strict=True))
                batches.append(pa.table(dict(zip(names, columns, strict=True))))
        conn.rollback()
    return sum(b.num_rows for b in batches)


def read_connectorx(url: str, keys: list[int] | None, partitions: int = 1) -> int:
    import connectorx as cx

    if keys is None:
        query = FULL_SQL
    else:  # no bound parameters in connectorx: inline our own generated integers (bench only)
        query = f"SELECT * FROM orders WHERE o_orderkey IN ({','.join(map(str, keys))})"
    kwargs = {}
    if partitions > 1 and keys is None:
        kwargs = {"partition_on": "o_orderkey", "partition_num": partitions}
    table = cx.read_sql(url, query, return_type="arrow", **kwargs)
    return int(table.num_rows)


READERS = {
    "adbc-table": read_adbc_table,
    "adbc-stream": read_adbc_stream,
    "adbc-cursor": read_adbc_cursor,
    "psycopg-copy-csv": read_psycopg_copy_csv,
    "psycopg-rows": read_psycopg_rows,
    "connectorx": read_connectorx,
    "connectorx-2": lambda url, keys: read_connectorx(url, keys, partitions=2),
}


# -- driver --------------------------------------------------------------------------------
def worker(case: str, scenario: str, url: str, keys_file: str, repeat: int) -> None:
    """Run one case in this (fresh) process; print one JSON line."""
    import adbc_driver_postgresql.dbapi  # noqa: F401  # import cost is not part of the read
    import connectorx  # noqa: F401
    import psycopg  # noqa: F401
    import pyarrow
    import pyarrow.csv  # noqa: F401

    keys = json.loads(Path(keys_file).read_text()) if scenario == "semi" else None
    reader = READERS[case]
    times, rows, peak = [], 0, 0
    for _ in range(repeat):
        base = reset_peak_rss()
        t0 = time.perf_counter()
        rows = reader(url, keys)
        times.append(time.perf_counter() - t0)
        peak = max(peak, peak_rss_kib() - base)
    print(json.dumps({"rows": rows, "seconds": min(times), "peak_mib": peak / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="case names to run")
    parser.add_argument("--worker", nargs=4, metavar=("CASE", "SCENARIO", "URL", "KEYS"))
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, repeat=args.repeat)
        return

    sys.path.insert(0, str(REPO))
    from tests.pgcluster import PgCluster

    ensure_orders()
    with tempfile.TemporaryDirectory(prefix="pg-readers-") as tmp, PgCluster(Path(tmp)) as pg:
        url = pg.create_database("bench")
        t0 = time.perf_counter()
        n = load_orders(url)
        print(f"loaded {n:,} orders in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        keys = semi_keys(url)
        keys_file = Path(tmp) / "keys.json"
        keys_file.write_text(json.dumps(keys))

        results = []
        for case in args.only or list(CASES):
            for scenario in ("full", "semi"):
                proc = subprocess.run(
                    [sys.executable, __file__, "--repeat", str(args.repeat),
                     "--worker", case, scenario, url, str(keys_file)],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                if proc.returncode != 0:
                    err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    results.append((case, scenario, None, err))
                    print(f"{case} {scenario}: FAILED {err}", file=sys.stderr)
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                results.append((case, scenario, r, None))
                print(f"{case} {scenario}: {r}", file=sys.stderr)

    print(
        f"\nTPC-H SF1 orders, {n:,} rows; semi-join on {len(keys):,} keys; best of "
        f"{args.repeat}; peak = max RSS growth during the reads\n"
    )
    print(
        f"| {'reader':<40} | {'full s':>6} | {'full rows/s':>11} | {'full MiB':>8} "
        f"| {'semi ms':>7} | {'semi MiB':>8} |"
    )
    print(f"|{'-' * 42}|{'-' * 7}:|{'-' * 12}:|{'-' * 9}:|{'-' * 8}:|{'-' * 9}:|")
    by_case: dict[str, dict[str, dict[str, float] | None]] = {}
    for case, scenario, r, _err in results:
        by_case.setdefault(case, {})[scenario] = r
    for case, cell in by_case.items():
        full, semi = cell.get("full"), cell.get("semi")
        f_s = f"{full['seconds']:.2f}" if full else "failed"
        f_rate = f"{full['rows'] / full['seconds'] / 1e6:.2f} M" if full else "-"
        f_mem = f"{full['peak_mib']:.0f}" if full else "-"
        s_ms = f"{semi['seconds'] * 1000:.0f}" if semi else "failed"
        s_mem = f"{semi['peak_mib']:.0f}" if semi else "-"
        print(
            f"| {CASES[case]:<40} | {f_s:>6} | {f_rate:>11} | {f_mem:>8} | {s_ms:>7} | {s_mem:>8} |"
        )


if __name__ == "__main__":
    main()
