"""The PostgreSQL engine: the snapshot in a database of a PostgreSQL service container.

``load_postgres`` runs from the host (or any machine that reaches the service): load first,
constrain after, in one transaction. Like the DuckDB loader it checks the files' sha256 first,
then compares every table's row count with the manifest and its content checksum
(``loader_duckdb.checksum_terms``, rendered here as PostgreSQL aggregates) with the same
checksum computed by DuckDB over the Parquet file.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sandboxer.sandbox.engines.base import Engine, LoadError, LoadReport, finish_report

if TYPE_CHECKING:
    import pyarrow as pa
    from psycopg import sql

    from sandboxer.sandbox.templates import DataEngine
    from sandboxer.snapshot.manifest import TableSchema
    from sandboxer.snapshot.store import SnapshotInfo

BATCH_ROWS = 64 * 1024
"""Rows per record batch streamed into PostgreSQL: memory stays bounded by a few batches."""


class PostgresEngine(Engine):
    """A PostgreSQL server in a service container of the sandbox, reached over the network."""

    name = "postgres"
    label = "PostgreSQL"
    embedded = False
    service_kind = "postgres"
    port: ClassVar[int] = 5432
    password_file = True
    password_setup = (
        # libpq refuses group-readable password files: build one on tmpfs from the secret.
        'umask 077; printf "*:*:*:*:%s\\n" "$(cat "$SANDBOXER_PG_PASSWORD_FILE")" > "$PGPASSFILE"'
    )
    admin_database: ClassVar[str] = "postgres"
    """The database that always exists: where a sandbox's database is dropped and created."""

    def workspace_env(self, data: DataEngine, *, secret_dir: str) -> dict[str, str]:
        return {
            "PGHOST": data.service,
            "PGPORT": str(self.port),
            "PGUSER": data.user,
            "PGDATABASE": data.database,
            "PGPASSFILE": "/tmp/.pgpass",
            "SANDBOXER_PG_PASSWORD_FILE": f"{secret_dir}/{data.service}_password",
        }

    def load(self, snapshot: SnapshotInfo, target: str, *, replace: bool = False) -> LoadReport:
        return load_postgres(snapshot, target, replace=replace)

    def verify(self, snapshot: SnapshotInfo, target: str) -> LoadReport:
        return verify_loaded_postgres(snapshot, target)


def pg_url(user: str, host: str, port: int, database: str, *, password: str | None = None) -> str:
    """A ``postgresql://`` URL with every part percent-quoted."""
    from urllib.parse import quote

    credentials = quote(user, safe="")
    if password is not None:
        credentials = f"{credentials}:{quote(password, safe='')}"
    return f"postgresql://{credentials}@{host}:{port}/{quote(database)}"


def recreate_database(url: str, database: str) -> None:
    """Drop ``database`` (closing its sessions) and create it empty, connected to ``url``."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as con:
        db = sql.Identifier(database)
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
        con.execute(sql.SQL("CREATE DATABASE {}").format(db))


# -- PostgreSQL: types ----------------------------------------------------------------------

_ARROW_PG = {
    "int8": "smallint",  # PostgreSQL has no one-byte integer
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "uint8": "smallint",
    "uint16": "integer",
    "uint32": "bigint",
    "uint64": "numeric(20,0)",
    "halffloat": "real",
    "float": "real",
    "double": "double precision",
    "bool": "boolean",
    "string": "text",
    "large_string": "text",
    "string_view": "text",
    "binary": "bytea",
    "large_binary": "bytea",
    "binary_view": "bytea",
    "date32[day]": "date",
    "date64[ms]": "date",
    "null": "text",
}
_DECIMAL = re.compile(r"^decimal(?:128|256)?\((\d+), ?(\d+)\)$")
_LIST = re.compile(r"^(?:large_)?list<[^:<>]+: (.+)>$")
# A format_type() spelling of a built-in type: words, an optional (p[,s]), optional array.
_PLAIN_PG_TYPE = re.compile(
    r"^[a-z][a-z0-9_ ]*(?:\(\d+(?:, ?\d+)?\))?(?: with(?:out)? time zone)?(?:\[\])?$"
)
_TYPMOD = re.compile(r"\(\d+(?:, ?\d+)?\)")
# Final types whose binary COPY input is what ADBC sends for the wire type (else ALTER TYPE).
_SAME_WIRE = {"text": {"character varying", "character", "json"}}


def arrow_pg_type(arrow_type: str | None) -> str:
    """The PostgreSQL type for a manifest column's Arrow type string.

    Scalars map one to one (``decimal128(p,s)`` -> ``numeric(p,s)``, ``timestamp[us, tz=UTC]``
    -> ``timestamp with time zone``); a list of scalars becomes an array of the element type
    (ADBC's binary COPY writes arrays natively, and arrays keep ``= ANY`` and indexes usable);
    lists of lists, structs and maps become ``jsonb``; anything else becomes ``text``.
    """
    t = (arrow_type or "").strip()
    if t in _ARROW_PG:
        return _ARROW_PG[t]
    if t.startswith("dictionary<values=string") or t.startswith("dictionary<values=large_str"):
        return "text"
    if m := _DECIMAL.match(t):
        precision, scale = m.groups()
        return f"numeric({precision},{scale})"
    if t.startswith("timestamp["):
        return "timestamp with time zone" if "tz=" in t else "timestamp without time zone"
    if t.startswith(("time32[", "time64[")):
        return "time without time zone"
    if t.startswith("fixed_size_binary"):
        return "bytea"
    if m := _LIST.match(t):
        element = arrow_pg_type(m.group(1))
        return (
            "jsonb"
            if element in ("jsonb", "text") and not _is_text(m.group(1))
            else (f"{element}[]")
        )
    if t.startswith(("struct<", "map<", "list<", "large_list<", "fixed_size_list<")):
        return "jsonb"
    return "text"


def _is_text(arrow_type: str) -> bool:
    return arrow_pg_type(arrow_type) == "text" and arrow_type.strip() in (
        "string", "large_string", "string_view",
    )  # fmt: skip


@dataclass(frozen=True)
class PgColumn:
    name: str
    wire: str
    """The type the column is created with: what binary COPY of the Arrow data fits."""
    final: str
    """The type it ends with (``ALTER ... TYPE final USING col::final`` when they differ)."""
    read: str
    """How DuckDB reads it from Parquet: ``plain``, ``decimal`` (uint64) or ``json``."""
    not_null: bool

    @property
    def converted(self) -> bool:
        return self.wire != self.final and not _same_wire(self.wire, self.final)


def _base(type_name: str) -> str:
    return _TYPMOD.sub("", type_name).strip()


def _same_wire(wire: str, final: str) -> bool:
    return _base(wire) == _base(final) or _base(final) in _SAME_WIRE.get(_base(wire), set())


def plan_columns(meta: TableSchema, *, source_is_postgres: bool, known_type: Any) -> list[PgColumn]:
    """Column types for one table. ``known_type(name) -> bool`` says whether a source type
    exists in the target database (user-defined types such as enums usually do not)."""
    from sandboxer.sandbox.engines.scripts.loader_duckdb import column_kind

    columns = []
    for c in meta.columns:
        wire = arrow_pg_type(c.type)
        read = "plain"
        if wire == "jsonb":
            wire, read = "json", "json"  # json's binary input is the text itself
        elif c.type == "uint64":
            read = "decimal"
        elif wire == "text" and column_kind(c.type) != "string":
            read = "text"  # dictionaries and types without a PostgreSQL peer: as text
        final = "jsonb" if read == "json" else wire
        source_type = (c.source_type or "").strip().lower()
        if (
            source_is_postgres
            and source_type
            and _PLAIN_PG_TYPE.match(source_type)
            and known_type(source_type)
        ):
            final = source_type
        if _same_wire(wire, final):
            wire = final
        columns.append(PgColumn(c.name, wire, final, read, c.nullable is False))
    return columns


# -- PostgreSQL: the load -------------------------------------------------------------------


def target_schema(meta: TableSchema, schema_prefix: str | None) -> str:
    """Tables keep their schema (``public`` when they had none); a prefix is put in front
    of it: ``schema_prefix="s_"`` loads ``sales.orders`` into ``s_sales.orders``."""
    schema = meta.schema_name or "public"
    return f"{schema_prefix}{schema}" if schema_prefix else schema


def _qualified(schema: str, name: str) -> sql.Composable:
    from psycopg import sql

    return sql.Identifier(schema, name)


def _idents(names: Sequence[str]) -> sql.Composable:
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def pg_term(term: str, column: str | None) -> sql.Composable:
    """One checksum term (see ``loader_duckdb``) as a PostgreSQL aggregate."""
    from psycopg import sql

    from sandboxer.sandbox.engines.scripts.loader_duckdb import MODULUS

    if column is None:
        return sql.SQL("count(*)")
    c = sql.Identifier(column)
    m = sql.Literal(MODULUS)
    templates = {
        "nonnull": "count({c})",
        "sum": "sum({c})",
        "sumsq": "sum(({c}::int8 % {m}) * ({c}::int8 % {m}))",
        "chars": "sum(char_length({c}::text))",
        "bytes": "sum(octet_length({c}))",
        "true": "count(*) FILTER (WHERE {c})",
        "days": "sum({c} - DATE '1970-01-01')",
        "epoch_us": "sum((extract(epoch FROM {c}) * 1000000)::int8)",
    }
    return sql.SQL(templates[term]).format(c=c, m=m)


def _reader(path: Path, columns: Sequence[PgColumn]) -> pa.RecordBatchReader:
    """Stream a Parquet file as record batches: pyarrow when ADBC takes its types as they
    are (measured faster than DuckDB's Arrow export), DuckDB when columns need converting."""
    if any(c.read != "plain" for c in columns):
        return _duckdb_reader(path, columns)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    return pa.RecordBatchReader.from_batches(
        pf.schema_arrow, pf.iter_batches(batch_size=BATCH_ROWS)
    )


def _duckdb_reader(path: Path, columns: Sequence[PgColumn]) -> pa.RecordBatchReader:
    """Stream a Parquet file as Arrow record batches shaped for binary COPY."""
    import duckdb

    from sandboxer.sandbox.engines.scripts.loader_duckdb import quote

    exprs = []
    for c in columns:
        q = quote(c.name)
        if c.read == "json":
            exprs.append(f"CAST(to_json({q}) AS VARCHAR) AS {q}")
        elif c.read == "decimal":
            exprs.append(f"CAST({q} AS DECIMAL(20,0)) AS {q}")
        elif c.read == "text":
            exprs.append(f"CAST({q} AS VARCHAR) AS {q}")
        else:
            exprs.append(q)
    con = duckdb.connect(":memory:")
    # A bounded reader: DuckDB streams row groups, we hold BATCH_ROWS at a time.
    rel = con.sql(f"SELECT {', '.join(exprs)} FROM read_parquet(?)", params=[str(path)])
    reader: pa.RecordBatchReader = rel.to_arrow_reader(BATCH_ROWS)
    return reader


def _safe_url(url: str) -> str:
    from sandboxer.sources.urls import redact_url

    return redact_url(url)


def load_postgres(
    snapshot: SnapshotInfo,
    url: str,
    *,
    schema_prefix: str | None = None,
    replace: bool = False,
    virtual_foreign_keys: bool = False,
) -> LoadReport:
    """Load ``snapshot`` into the PostgreSQL database at ``url``; verify; return the report.

    Order: sha256 of every file; then, in **one transaction** on one ADBC connection: create
    schemas and tables without constraints, bulk-load each table (ADBC ingest = binary
    ``COPY``, fed by DuckDB streaming the Parquet file in record batches), convert columns
    whose source type is not what binary COPY delivers (``ALTER ... TYPE``), add primary keys,
    unique keys and foreign keys, ``ANALYZE``, compare row counts and checksums, ``COMMIT``.
    A failure or a killed process rolls everything back: no table is ever visible half loaded.

    Foreign keys declared in the source are created; ``virtual`` ones (declared only in the
    dataset's ``keys:``) only with ``virtual_foreign_keys=True``, since the source itself does
    not enforce them and a sandbox should behave like the source.
    """
    from concurrent.futures import ThreadPoolExecutor

    import adbc_driver_postgresql.dbapi as adbc
    from psycopg import sql

    from sandboxer.sandbox.engines.scripts import loader_duckdb as ld

    started = time.perf_counter()
    steps: dict[str, float] = {}

    def step(name: str, since: float) -> float:
        now = time.perf_counter()
        steps[name] = round(steps.get(name, 0.0) + now - since, 3)
        return now

    manifest = snapshot.manifest
    tables_meta = manifest.tables
    try:
        ld.verify_files(snapshot.path, manifest.to_dict())
    except ld.LoadError as e:
        raise LoadError(f"Snapshot {snapshot.id} does not verify: {e}",
                        hint=f"Run `sandboxer data verify {snapshot.id}`.") from e  # fmt: skip
    t = step("verify_files", started)

    source_is_pg = manifest.source.type == "postgresql"
    safe_url = _safe_url(url)
    try:
        conn = adbc.connect(url)
    except Exception as e:  # ADBC raises its own DatabaseError family
        raise LoadError(f"Cannot connect to {safe_url}: {type(e).__name__}") from e
    tables: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    current = "?"
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        cur = conn.cursor()

        def run(statement: sql.Composable, params: Sequence[Any] | None = None) -> None:
            cur.execute(statement.as_string(None), params)

        known: dict[str, bool] = {}

        def known_type(name: str) -> bool:
            if name not in known:
                cur.execute("SELECT to_regtype($1) IS NOT NULL", (name,))
                known[name] = bool(cur.fetchone()[0])
            return known[name]

        plans = {
            key: plan_columns(meta, source_is_postgres=source_is_pg, known_type=known_type)
            for key, meta in tables_meta.items()
        }
        # DuckDB checksums the Parquet files while PostgreSQL loads them (DuckDB releases
        # the GIL; the server works in its own process).
        expected_future = pool.submit(_expected_checksums, snapshot, plans)
        targets = {
            key: (target_schema(meta, schema_prefix), meta.name)
            for key, meta in tables_meta.items()
        }
        if not replace:
            for key in sorted(tables_meta):
                cur.execute(
                    "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2",
                    targets[key],
                )
                if cur.fetchone() is not None:
                    raise LoadError(
                        f"Table `{key}` already exists in {safe_url}",
                        hint="Reset the sandbox (the load replaces its tables), or load into "
                        "an empty database.",
                    )
        for schema in sorted({s for s, _ in targets.values()}):
            run(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        for key in sorted(tables_meta):
            current = key
            if replace:
                run(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(_qualified(*targets[key])))
            defs = [
                sql.SQL("{} {}{}").format(
                    sql.Identifier(c.name),
                    sql.SQL(c.wire),  # built from fixed names or a _PLAIN_PG_TYPE match
                    sql.SQL(" NOT NULL" if c.not_null else ""),
                )
                for c in plans[key]
            ]
            run(sql.SQL("CREATE TABLE {} ({})").format(
                _qualified(*targets[key]), sql.SQL(", ").join(defs)))  # fmt: skip
        t = step("create", t)

        for key, meta in sorted(tables_meta.items()):
            current = key
            schema, name = targets[key]
            reader = _reader(snapshot.path / meta.file, plans[key])
            cur.adbc_ingest(name, reader, mode="append", db_schema_name=schema)
        t = step("copy", t)

        for key in sorted(tables_meta):
            current = key
            for c in plans[key]:
                if c.converted:
                    run(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                        _qualified(*targets[key]), sql.Identifier(c.name), sql.SQL(c.final),
                        sql.Identifier(c.name), sql.SQL(c.final)))  # fmt: skip
        t = step("convert_types", t)

        for key, meta in sorted(tables_meta.items()):
            current = key
            if meta.primary_key:
                run(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                    _qualified(*targets[key]), _idents(meta.primary_key)))  # fmt: skip
            for cols in meta.unique_keys:
                run(sql.SQL("ALTER TABLE {} ADD UNIQUE ({})").format(
                    _qualified(*targets[key]), _idents(cols)))  # fmt: skip
        t = step("primary_unique_keys", t)

        skipped = 0
        for key, meta in sorted(tables_meta.items()):
            current = key
            for fk in meta.foreign_keys:
                if fk.ref_table not in targets or (fk.virtual and not
                                                   virtual_foreign_keys):  # fmt: skip
                    skipped += 1
                    continue
                run(sql.SQL("ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({})").format(
                    _qualified(*targets[key]), _idents(fk.columns),
                    _qualified(*targets[fk.ref_table]), _idents(fk.ref_columns)))  # fmt: skip
        if skipped:
            notes.append(f"{skipped} virtual or dangling foreign key(s) not created")
        t = step("foreign_keys", t)

        for key in sorted(tables_meta):
            current = key
            run(sql.SQL("ANALYZE {}").format(_qualified(*targets[key])))
        t = step("analyze", t)

        current = "?"
        tables = _verify_postgres(cur, snapshot, plans, targets, expected_future.result())
        t = step("verify", t)
        bad = [k for k, v in tables.items() if not v["checksum_ok"] or v["rows"] != v["expected"]]
        if bad:
            first = tables[bad[0]]
            raise LoadError(
                f"Loaded data does not match snapshot {snapshot.id}: table `{bad[0]}` has "
                f"{first['rows']} rows (manifest: {first['expected']})"
                + ("" if first["checksum_ok"] else f", checksum differs at {first['differs']}"),
            )
        conn.commit()
        step("commit", t)
    except LoadError:
        _rollback(conn)
        raise
    except Exception as e:
        _rollback(conn)
        # Driver messages can quote a row (a duplicate key's value): name the class only.
        raise LoadError(
            f"Loading snapshot {snapshot.id} into {safe_url} failed at table `{current}`: "
            f"{type(e).__name__}; nothing was committed"
        ) from e
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        conn.close()
    return finish_report(
        PostgresEngine.name, snapshot, safe_url, tables, started, steps=steps, notes=notes
    )


def _rollback(conn: Any) -> None:
    # The connection may be gone: the server then rolls back by itself.
    with contextlib.suppress(Exception):
        conn.rollback()


def _expected_checksums(
    snapshot: SnapshotInfo, plans: dict[str, list[PgColumn]]
) -> dict[str, tuple[str, dict[str, str]]]:
    """DuckDB's checksum of every Parquet file (columns PostgreSQL converts are opaque)."""
    import duckdb

    from sandboxer.sandbox.engines.scripts import loader_duckdb as ld

    con = duckdb.connect(":memory:")
    try:
        return {
            key: ld.checksum_duckdb(
                con,
                "read_parquet(?)",
                [c.to_dict() for c in meta.columns],
                [str(snapshot.path / meta.file)],
                {c.name for c in plans[key] if c.converted},
            )
            for key, meta in sorted(snapshot.manifest.tables.items())
        }
    finally:
        con.close()


def _verify_postgres(
    cur: Any,
    snapshot: SnapshotInfo,
    plans: dict[str, list[PgColumn]],
    targets: dict[str, tuple[str, str]],
    expected: dict[str, tuple[str, dict[str, str]]],
) -> dict[str, dict[str, Any]]:
    from psycopg import sql

    from sandboxer.sandbox.engines.scripts import loader_duckdb as ld

    tables: dict[str, dict[str, Any]] = {}
    for key, meta in sorted(snapshot.manifest.tables.items()):
        columns = [c.to_dict() for c in meta.columns]
        terms = ld.checksum_terms(columns, {c.name for c in plans[key] if c.converted})
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(sql.SQL("({})::text").format(pg_term(t, c)) for t, c in terms),
            _qualified(*targets[key]),
        )
        cur.execute(query.as_string(None))
        loaded, got = ld.checksum_digest(terms, cur.fetchone())
        want_digest, want = expected[key]
        tables[key] = {
            "rows": int(got["rows"]),
            "expected": meta.rows,
            "checksum": loaded,
            "checksum_ok": loaded == want_digest,
        }
        if loaded != want_digest:
            tables[key]["differs"] = ld.first_difference(want, got)
    return tables


def verify_loaded_postgres(
    snapshot: SnapshotInfo, url: str, *, schema_prefix: str | None = None
) -> LoadReport:
    """Recompute counts and checksums of loaded tables against the snapshot's files."""
    import adbc_driver_postgresql.dbapi as adbc

    started = time.perf_counter()
    source_is_pg = snapshot.manifest.source.type == "postgresql"
    with adbc.connect(url) as conn:
        cur = conn.cursor()

        def known_type(name: str) -> bool:
            cur.execute("SELECT to_regtype($1) IS NOT NULL", (name,))
            return bool(cur.fetchone()[0])

        tables_meta = snapshot.manifest.tables
        plans = {
            key: plan_columns(meta, source_is_postgres=source_is_pg, known_type=known_type)
            for key, meta in tables_meta.items()
        }
        targets = {
            key: (target_schema(meta, schema_prefix), meta.name)
            for key, meta in tables_meta.items()
        }
        expected = _expected_checksums(snapshot, plans)
        tables = _verify_postgres(cur, snapshot, plans, targets, expected)
        conn.rollback()
    return finish_report(PostgresEngine.name, snapshot, _safe_url(url), tables, started)
