"""PostgreSQL source: catalog introspection and Arrow reads inside one read-only snapshot.

Reader, chosen by measurement (``bench/pg_readers.py``, TPC-H SF1 ``orders``, 1.5 M rows, one
run on the 2-core project machine; the bare wire cost, a binary COPY to nowhere, was 1.3 s):

=========================================  ==========  =========  ============  =========
reader                                     full table  peak MiB   15 k-key      peak MiB
                                           rows/s      (full)     semi-join ms  (semi)
=========================================  ==========  =========  ============  =========
ADBC fetch_arrow_table (COPY binary)       0.64 M      193        199           16
ADBC fetch_record_batch (streamed)         0.69 M      51         179           16
ADBC DECLARE CURSOR + FETCH batches        0.53 M      231        210           16
psycopg COPY CSV -> pyarrow.csv reader     0.62 M      319        341 [1]_      24
psycopg server-side cursor rows -> Arrow   0.20 M      429        223           28
connectorx (1 connection) [2]_             0.72 M      200        145           17
connectorx (2 partitions) [2]_             0.65 M      206        180           17
=========================================  ==========  =========  ============  =========

.. [1] ``COPY (query)`` takes no parameters: keys go to a temp table first (needs a writable
   transaction).
.. [2] Opens its own connections (cannot join our snapshot); no bound parameters, so keys
   would have to be formatted into the SQL text.

ADBC won by 3.2x over row-at-a-time psycopg (3.9x in a second run, taken while another
benchmark loaded the machine, where ADBC was fastest outright at 0.84 M rows/s) and tied with
connectorx and psycopg COPY CSV, whose order changed between runs; COPY CSV also needs 1.6x
the memory. ADBC is the only fast reader that runs inside our own transaction snapshot, takes
bound parameters and yields Arrow batches, so it is the reader here:

- ``select`` (no parameters): ADBC's COPY-binary path, ``fetch_arrow_table``.
- ``fetch_matching``: the keys are bound as one array parameter per key column
  (``(a, b) IN (SELECT ... FROM unnest($1::int8[], $2::text[]))``), which works in a READ ONLY
  transaction and on a hot standby, unlike a temp table. ADBC cannot use COPY with bound
  parameters and would buffer the whole result, so the query runs as a server-side cursor
  (``DECLARE ... NO SCROLL CURSOR``) read by ``FETCH FORWARD n`` batches sized to ~32 MiB:
  memory stays bounded whatever the fan-out, for 20-50 % less throughput than COPY.

Arrow types of the results:

- integers, float4/8, boolean, text/varchar/char, name, date, timestamp, timestamptz (UTC),
  time, bytea: their natural Arrow types.
- ``numeric(p, s)``: ``decimal128(p, s)`` up to 38 digits. Wider and unconstrained ``numeric``
  are returned as their exact text (Arrow decimals need a fixed scale, and polars, which
  redaction and profiles run on, holds at most 38 digits). A ``NaN`` in a
  ``numeric(p, s)`` column is an error naming the column.
- ``json``/``jsonb``: string (the JSON text). ``uuid``: string (canonical lowercase form).
- arrays of integers, floats, booleans, text-like types, dates and timestamps: Arrow lists.
- anything else (interval, enums, domains, inet, money, ranges, geometric, arrays of other
  types, extension types): their ``::text`` cast, as string (``inet`` keeps its ``/32``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlglot import exp

from sandboxer.errors import SchemaError, SourceError
from sandboxer.sources.base import Sample, Source
from sandboxer.sources.schema import Column, ForeignKey, Schema, Table, TableName
from sandboxer.sources.sql import col, ident, select_query, table_ref

if TYPE_CHECKING:
    import pyarrow as pa

# -- types -----------------------------------------------------------------------------------
_TYPMOD = re.compile(r"\(\s*-?\d+(\s*,\s*-?\d+)?\s*\)")
_INTEGERS = {"smallint", "integer", "bigint"}
_FLOATS = {"real", "double precision"}
_TEXTS = {"text", "character varying", "character", "name"}
_TEMPORAL = {
    "date",
    "timestamp without time zone",
    "timestamp with time zone",
    "time without time zone",
}
# Types ADBC hands over as sensible Arrow types; every other column is read as its text form.
_NATIVE = (
    _INTEGERS | _FLOATS | _TEXTS | _TEMPORAL | {"numeric", "boolean", "bytea", "json", "jsonb"}
)
_NATIVE_ARRAY_ELEMENTS = (
    _INTEGERS
    | _FLOATS
    | _TEXTS
    | {
        "boolean",
        "date",
        "timestamp without time zone",
        "timestamp with time zone",
    }
)
# Base types that must not be used as cast targets without their modifier (``character`` alone
# means ``character(1)``, which would truncate).
_CAST_TARGETS = {"character": "bpchar"}


def base_type(type_name: str) -> str:
    """``character varying(20)`` -> ``character varying``; ``numeric(12,2)[]`` -> ``numeric[]``."""
    return _TYPMOD.sub("", type_name).strip()


def is_native(type_name: str) -> bool:
    """True when a column of this ``format_type`` is read as is rather than as text."""
    base = base_type(type_name)
    if base.endswith("[]"):
        return base[:-2] in _NATIVE_ARRAY_ELEMENTS
    return base in _NATIVE


# -- catalog queries (constant text: they take no input) -------------------------------------
_USER_TABLES = """
    SELECT c.oid
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND NOT c.relispartition
      AND n.nspname !~ '^pg_'
      AND n.nspname <> 'information_schema'
"""
# (user schemas cannot start with ``pg_``: that excludes pg_catalog, pg_toast, pg_temp_N.)

_TABLES_SQL = f"""
SELECT c.oid::int8 AS oid, n.nspname::text AS schema, c.relname::text AS name
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid IN ({_USER_TABLES})
ORDER BY n.nspname, c.relname
"""

_COLUMNS_SQL = f"""
SELECT a.attrelid::int8 AS oid, a.attname::text AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
FROM pg_catalog.pg_attribute a
WHERE a.attrelid IN ({_USER_TABLES}) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

# conkey/confkey keep the constraint's own column order: composite FKs pair up by position.
_CONSTRAINTS_SQL = f"""
SELECT con.conrelid::int8 AS oid, con.contype::text AS kind, con.conname::text AS name,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.i) AS columns,
       rn.nspname::text AS ref_schema, rc.relname::text AS ref_name,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.i) AS ref_columns
FROM pg_catalog.pg_constraint con
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'f')
  AND con.conparentid = 0
  AND con.conrelid IN ({_USER_TABLES})
ORDER BY con.conrelid, con.contype, con.conname
"""

# Unique indexes that are not constraints: only plain column lists (no expressions, no
# predicate), key columns only (INCLUDE columns do not make rows unique).
_UNIQUE_INDEXES_SQL = f"""
SELECT i.indrelid::int8 AS oid, ic.relname::text AS name,
       ARRAY(SELECT a.attname::text
             FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.n <= i.indnkeyatts
             ORDER BY k.n) AS columns
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indisunique AND NOT i.indisprimary AND i.indisvalid
  AND i.indpred IS NULL AND i.indexprs IS NULL
  AND i.indrelid IN ({_USER_TABLES})
ORDER BY i.indrelid, ic.relname
"""

_CURSOR = "sandboxer_matching"
_TARGET_BATCH_BYTES = 32 << 20
_FIRST_FETCH_ROWS = 10_000


# What changes when a table's data does: counters of the cumulative statistics system and the
# file node (TRUNCATE, VACUUM FULL, restores). Ordered, so the token is stable.
_STATE_SQL = """
SELECT n.nspname AS schema, c.relname AS name, pg_relation_filenode(c.oid) AS filenode,
       coalesce(s.n_tup_ins, 0) AS ins, coalesce(s.n_tup_upd, 0) AS upd,
       coalesce(s.n_tup_del, 0) AS del, current_setting('track_counts') AS track_counts
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'm')
ORDER BY n.nspname, c.relname
"""


def _withheld(message: str) -> str:
    """A server message without the cell value some carry (``invalid input syntax for type
    integer: "abc"``, ``value "99999999999" is out of range``): a value may be personal."""
    message = re.sub(
        r"(invalid input (?:syntax|value) for [^:]*): .*", r"\1: <value withheld>", message
    )
    return re.sub(r'value "(?:[^"]|"")*"', "value <withheld>", message)


class PostgresSource(Source):
    """A PostgreSQL database, read through ADBC inside one REPEATABLE READ, READ ONLY snapshot.

    ``postgresql://user:password@host:port/dbname`` (``postgres://`` too; libpq query
    parameters such as ``sslmode`` pass through). Methods open the source on first use;
    ``close()`` ends the snapshot.
    """

    type = "postgresql"
    dialect = "postgres"
    consistent_snapshot = True

    connect_timeout_s: ClassVar[int] = 10
    """libpq ``connect_timeout`` used unless the URL sets one: fail fast on a dead host."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._conn: Any = None
        self._cursors = 0

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> None:
        """Connect and start the read snapshot every later read sees."""
        if self._conn is not None:
            return
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                # REPEATABLE READ takes its snapshot at the first query, not at BEGIN: take it
                # now, so that "between open() and close()" means what it says.
                cur.execute("SELECT 1")
                cur.fetchall()
                # Key sets of a large subset sort and hash in memory rather than on disk;
                # set_config(..., true) lasts only for this transaction.
                cur.execute("SELECT set_config('work_mem', '64MB', true)")
                cur.fetchall()
                # Reads here are plain scans, joins and counts: compiling them (JIT) costs
                # more than it saves (0.1-0.7 s a query, measured on TPC-H SF1).
                cur.execute("SELECT set_config('jit', 'off', true)")
                cur.fetchall()
        except Exception as e:
            conn.close()
            raise self._query_error(e, "starting the read snapshot") from None
        self._conn = conn

    def close(self) -> None:
        """Roll the snapshot back and disconnect; safe to call twice."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            with conn.cursor() as cur:
                cur.execute("ROLLBACK")
        except Exception:  # a broken connection has nothing left to roll back
            pass
        finally:
            conn.close()

    def _connect(self) -> Any:
        import adbc_driver_manager
        import adbc_driver_postgresql.dbapi as adbc

        scheme = urlsplit(self.url).scheme.lower()
        if scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise SourceError(
                f"Not a PostgreSQL URL: {self.display_url}",
                hint="Use postgresql://user:password@host:port/dbname",
            )
        try:
            # Transactions are ours (BEGIN ... ROLLBACK), so the driver must not issue its own.
            return adbc.connect(self._libpq_url(), autocommit=True)
        except adbc_driver_manager.Error as e:
            raise self._connect_error(e) from None

    def _libpq_url(self) -> str:
        parts = urlsplit(self.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if not any(k == "connect_timeout" for k, _ in query):
            query.append(("connect_timeout", str(self.connect_timeout_s)))
        return urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))

    def _connect_error(self, error: Exception) -> SourceError:
        text = self._scrub(str(error))
        # libpq: "... failed: connection to server at "h", port p failed: FATAL:  reason"
        reason = text.rsplit("failed:", 1)[-1].strip().splitlines()[0] if text else ""
        reason = reason.removeprefix("FATAL:").strip() or "unknown error"
        low = text.lower()
        if "password authentication failed" in low or "no password supplied" in low:
            hint = "Check the user name and password in the URL (or PGPASSWORD / ~/.pgpass)."
        elif "role" in low and "does not exist" in low:
            hint = "Check the user name in the URL."
        elif "database" in low and "does not exist" in low:
            hint = "Check the database name at the end of the URL (`psql -l` lists them)."
        elif "connection refused" in low:
            hint = (
                "Check the host and port, and that the server is running and accepts TCP "
                "connections (listen_addresses, firewall)."
            )
        elif "translate host name" in low or "name or service not known" in low:
            hint = "Check the host name in the URL."
        elif "timeout" in low or "timed out" in low:
            hint = "Check the host and port, and that no firewall drops the connection."
        elif "pg_hba.conf" in low:
            hint = "The server does not accept this user/database/client: check pg_hba.conf."
        else:
            hint = "Check the URL, the server, and the user's permissions."
        return SourceError(
            f"Cannot connect to PostgreSQL at {self.display_url}: {reason}", hint=hint
        )

    def _scrub(self, text: str) -> str:
        """Remove the URL's password from a driver message, should one ever echo it."""
        password = urlsplit(self.url).password
        return text.replace(password, "***") if password else text

    def _query_error(self, error: Exception, what: str) -> SourceError:
        # The first line only: DETAIL lines of PostgreSQL errors can quote row values.
        first = self._scrub(str(error)).strip().splitlines()[0] if str(error).strip() else ""
        first = re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", first)
        return SourceError(
            f"PostgreSQL error while {what} ({self.display_url}): {_withheld(first)}"
        )

    def _connection(self) -> Any:
        if self._conn is None:
            self.open()
        return self._conn

    def _run(self, sql_text: str, what: str, params: pa.Table | None = None) -> pa.Table:
        import adbc_driver_manager

        try:
            with self._connection().cursor() as cur:
                cur.execute(sql_text, params)
                return cur.fetch_arrow_table()
        except adbc_driver_manager.Error as e:
            raise self._query_error(e, what) from None

    # -- catalog ---------------------------------------------------------------------------
    def introspect(self) -> Schema:
        """Every ordinary and partitioned table of every user schema, with keys."""
        tables: dict[int, Table] = {}
        for row in self._run(_TABLES_SQL, "reading the table list").to_pylist():
            tables[row["oid"]] = Table(TableName(row["name"], row["schema"]), columns=[])
        for row in self._run(_COLUMNS_SQL, "reading columns").to_pylist():
            if row["oid"] in tables:
                tables[row["oid"]].columns.append(
                    Column(row["name"], row["type"], nullable=not row["not_null"])
                )
        for row in self._run(_CONSTRAINTS_SQL, "reading constraints").to_pylist():
            table = tables.get(row["oid"])
            if table is None:
                continue
            columns = tuple(row["columns"])
            if row["kind"] == "p":
                table.primary_key = columns
            elif row["kind"] == "u":
                if columns not in table.unique_keys:
                    table.unique_keys.append(columns)
            else:
                table.foreign_keys.append(
                    ForeignKey(
                        table=table.name,
                        columns=columns,
                        ref_table=TableName(row["ref_name"], row["ref_schema"]),
                        ref_columns=tuple(row["ref_columns"]),
                        name=row["name"],
                    )
                )
        for row in self._run(_UNIQUE_INDEXES_SQL, "reading unique indexes").to_pylist():
            table = tables.get(row["oid"])
            columns = tuple(row["columns"])
            if table is not None and columns and columns not in table.unique_keys:
                table.unique_keys.append(columns)
        return Schema({t.key: t for t in tables.values()})

    def aggregate(self, query: exp.Expression, table: Table) -> list[tuple[Any, ...]]:
        result = self._run(query.sql(dialect=self.dialect), f"reading `{table.key}`")
        return list(zip(*(c.to_pylist() for c in result.columns), strict=True))

    def state(self, schema: Schema) -> str | None:
        """The change counters (rows inserted, updated, deleted) and file nodes of every table
        in the schemas ``schema`` reads. TRUNCATE and restores change the file node; the
        counters reach the statistics system when the writing session goes idle, within
        seconds of a commit (PostgreSQL's cumulative statistics are not transactional). None
        when ``track_counts`` is off."""
        import hashlib

        namespaces = sorted({t.name.schema or "public" for t in schema.tables.values()})
        rows = self._run(_STATE_SQL, "reading table change counters").to_pylist()
        if any(row.pop("track_counts") != "on" for row in rows):
            return None  # without counters a change would go unnoticed
        digest = hashlib.sha256()
        for row in rows:
            if row["schema"] in namespaces:
                digest.update(repr(sorted(row.items())).encode())
        return digest.hexdigest()

    # -- reads -----------------------------------------------------------------------------
    def select(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        where: exp.Expression | None = None,
        sample: Sample | None = None,
        limit: int | None = None,
        order_by: Sequence[str] | None = None,
    ) -> pa.Table:
        query = select_query(
            table,
            columns,
            where=where,
            sample=sample,
            limit=limit,
            order_by=order_by,
            dialect=self.dialect,
        )
        query.set("expressions", self._output_columns(table, columns))
        result = self._run(query.sql(dialect=self.dialect), f"reading `{table.key}`")
        return _to_arrow_types(result, table)

    def fetch_matching(
        self,
        table: Table,
        columns: Sequence[str],
        match_columns: Sequence[str],
        keys: pa.Table,
        *,
        order_by: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        import adbc_driver_manager

        if not match_columns or len(keys.column_names) != len(match_columns):
            raise SourceError(
                f"fetch_matching on `{table.key}`: keys have columns {keys.column_names}, "
                f"expected one per match column {list(match_columns)}"
            )
        query, params = self._matching_query(table, columns, match_columns, keys, order_by)
        conn = self._connection()
        self._cursors += 1
        name = f"{_CURSOR}_{self._cursors}"
        what = f"reading matching rows of `{table.key}`"
        # sqlglot has no DECLARE CURSOR / FETCH / CLOSE node: the wrappers are constant text
        # around the generated query; the cursor name and batch size are ours, never input.
        declare = f"DECLARE {name} NO SCROLL CURSOR FOR {query.sql(dialect=self.dialect)}"
        try:
            with conn.cursor() as cur:
                cur.execute(declare, params)
        except adbc_driver_manager.Error as e:
            raise self._query_error(e, what) from None
        return self._fetch_batches(name, table, what)

    def _fetch_batches(self, name: str, table: Table, what: str) -> Iterator[pa.RecordBatch]:
        import adbc_driver_manager
        import adbc_driver_postgresql

        conn = self._conn
        rows = _FIRST_FETCH_ROWS
        sent = False
        try:
            with conn.cursor() as cur:
                # FETCH cannot run inside COPY: take the plain protocol for this statement.
                cur.adbc_statement.set_options(
                    **{adbc_driver_postgresql.StatementOptions.USE_COPY.value: "false"}
                )
                while True:
                    try:
                        cur.execute(f"FETCH FORWARD {int(rows)} FROM {name}")
                        part = _to_arrow_types(cur.fetch_arrow_table(), table)
                    except adbc_driver_manager.Error as e:
                        raise self._query_error(e, what) from None
                    for batch in part.to_batches():
                        if batch.num_rows:
                            sent = True
                            yield batch
                    if part.num_rows < rows:
                        if not sent:  # an empty result still tells the caller its schema
                            yield _empty_batch(part.schema)
                        break
                    per_row = max(part.nbytes // max(part.num_rows, 1), 1)
                    rows = min(max(_TARGET_BATCH_BYTES // per_row, 1_000), 1_000_000)
        finally:
            if self._conn is conn and conn is not None:
                try:
                    with conn.cursor() as cur:
                        cur.execute(f"CLOSE {name}")
                except adbc_driver_manager.Error:
                    pass  # the transaction is already aborted; the error was reported above

    # -- SQL building ----------------------------------------------------------------------
    def _column(self, table: Table, name: str) -> Column:
        try:
            return table.column(name)
        except KeyError:
            from sandboxer.errors import did_you_mean

            raise SchemaError(
                f"Unknown column `{name}` in `{table.key}`",
                hint=did_you_mean(name, table.column_names),
            ) from None

    def _output_columns(self, table: Table, columns: Sequence[str]) -> list[exp.Expression]:
        """Select-list items: columns with an Arrow mapping as is, the rest as their text."""
        out: list[exp.Expression] = []
        for name in columns:
            if is_native(self._column(table, name).type):
                out.append(col(name))
            else:
                out.append(exp.Alias(this=exp.cast(col(name), "text"), alias=ident(name)))
        return out

    def _matching_query(
        self,
        table: Table,
        columns: Sequence[str],
        match_columns: Sequence[str],
        keys: pa.Table,
        order_by: Sequence[str] | None,
    ) -> tuple[exp.Select, pa.Table]:
        """``SELECT cols FROM t WHERE (m1, m2) IN (SELECT k0, k1 FROM unnest($1, $2) k)``
        with one array parameter per key column (a one-row Arrow table of lists)."""
        import pyarrow as pa

        params: dict[str, pa.Array] = {}
        unnest_args: list[exp.Expression] = []
        key_items: list[exp.Expression] = []
        single: exp.Expression | None = None
        for i, (name, values) in enumerate(zip(match_columns, keys.columns, strict=True)):
            column = self._column(table, name)
            array, pg_type, needs_cast = _bind_array(values, column)
            # One list value holding every key: built from offsets, no per-value conversion.
            params[f"p{i}"] = pa.ListArray.from_arrays(pa.array([0, len(array)], pa.int32()), array)
            placeholder = exp.Parameter(this=exp.Literal.number(i + 1))
            bound = exp.Cast(
                this=placeholder, to=exp.DataType.build(f"{pg_type}[]", dialect="postgres")
            )
            unnest_args.append(bound)
            item: exp.Expression = col(f"k{i}", "k")
            if needs_cast:
                item = exp.cast(item, _cast_target(column, table))
                target_type = _cast_target(column, table).sql(dialect="postgres")
                bound = exp.Cast(
                    this=bound,
                    to=exp.DataType.build(f"{target_type}[]", dialect="postgres", udt=True),
                )
            key_items.append(item)
            single = bound
        if len(match_columns) == 1 and single is not None:
            # `col = ANY($1)` plans as a hashed filter; `IN (SELECT unnest(...))` as a join
            # with a poor row estimate: about 2x faster on large key sets.
            condition: exp.Expression = exp.EQ(
                this=col(match_columns[0]), expression=exp.Any(this=exp.Paren(this=single))
            )
        else:
            source = exp.Unnest(
                expressions=unnest_args,
                alias=exp.TableAlias(
                    this=ident("k"), columns=[ident(f"k{i}") for i in range(len(match_columns))]
                ),
            )
            keys_query = exp.select(*key_items).from_(source)
            condition = exp.In(
                this=exp.Tuple(expressions=[col(c) for c in match_columns]),
                query=keys_query.subquery(),
            )
        query = (
            exp.select(*self._output_columns(table, columns))
            .from_(table_ref(table.name))
            .where(condition)
        )
        if order_by:
            # Qualified, so ORDER BY means the stored column even when the output is its text.
            query = query.order_by(*(col(c, table.name.name) for c in order_by))
        return query, pa.table(params)


def _bind_array(values: Any, column: Column) -> tuple[pa.Array, str, bool]:
    """Key values as an Arrow array ADBC can bind, its PostgreSQL array element type, and
    whether the unnested value must be cast to the column's type to compare."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if isinstance(array.type, pa.BaseExtensionType):
        array = array.storage
    base = base_type(column.type)
    t = array.type
    if pa.types.is_integer(t):
        # Integer columns compare with int8 without a cast (and without overflowing int4).
        return pc.cast(array, pa.int64()), "int8", base not in _INTEGERS
    if pa.types.is_floating(t):
        return pc.cast(array, pa.float64()), "float8", base not in _FLOATS
    if pa.types.is_boolean(t):
        return array, "bool", base != "boolean"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pc.cast(array, pa.binary()), "bytea", base != "bytea"
    # Everything else travels as text and is cast to the column's type on the server
    # (dates, timestamps, decimals, uuids and enums all parse from Arrow's text form).
    text = pc.cast(array, pa.string())
    return text, "text", base not in ("text", "character varying")


def _cast_target(column: Column, table: Table) -> exp.DataType:
    base = base_type(column.type)
    if base.startswith("bit"):
        raise SourceError(
            f"Cannot match rows of `{table.key}` on column `{column.name}` of type {column.type}"
        )
    return exp.DataType.build(_CAST_TARGETS.get(base, base), dialect="postgres", udt=True)


def _to_arrow_types(result: pa.Table, table: Table) -> pa.Table:
    """Replace ADBC's extension types (numeric is ``arrow.opaque`` text) and drop the driver's
    field metadata, so snapshots hold plain Arrow types."""
    import pyarrow as pa

    fields, arrays = [], []
    for field, column in zip(result.schema, result.columns, strict=True):
        meta = field.metadata or {}
        array = column
        if isinstance(field.type, pa.BaseExtensionType):
            array = pa.chunked_array(
                [c.storage for c in column.chunks], type=field.type.storage_type
            )
            if meta.get(b"POSTGRESQL:type") == b"numeric":
                array = _numeric(array, int(meta.get(b"POSTGRESQL:typmod", b"-1")), table, field)
        fields.append(pa.field(field.name, array.type, nullable=field.nullable))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _numeric(array: Any, typmod: int, table: Table, field: Any) -> Any:
    import pyarrow as pa

    if typmod < 4:
        return array  # unconstrained numeric: exact text
    precision = ((typmod - 4) >> 16) & 0xFFFF
    scale = (((typmod - 4) & 0x7FF) ^ 1024) - 1024  # PostgreSQL 15 allows negative scales
    if not 0 <= scale <= precision or precision > 38:
        return array
    target = pa.decimal128(precision, scale)
    try:
        return array.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise SourceError(
            f"Column `{field.name}` of `{table.key}` is numeric({precision},{scale}) but holds "
            "values that are not finite numbers (NaN)",
        ) from None


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
