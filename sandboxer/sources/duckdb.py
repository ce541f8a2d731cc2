"""DuckDB database files, opened read-only.

``duckdb:///relative/path.db`` (relative to the working directory) or
``duckdb:////absolute/path.db``, the SQLAlchemy convention. The file is never created or
written: a missing file or one held open by a writer is a ``SourceError``.

Note on the DuckDB 2.0 Python client: an open result or Arrow reader owns its connection until
it is drained, so each streamed read (``fetch_matching``) runs on its own cursor.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from sandboxer.errors import SourceError
from sandboxer.sources.base import Sample, Source, files_state
from sandboxer.sources.schema import Column, ForeignKey, Schema, Table, TableName
from sandboxer.sources.sql import col, ident, select_query, table_ref

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


def database_path(url: str, scheme: str) -> Path:
    """The file a ``scheme:///rel.db`` or ``scheme:////abs.db`` URL names (not resolved).

    The SQLAlchemy convention: after ``scheme://`` comes an empty host, then ``/`` and the
    path, so a fourth slash makes it absolute.
    """
    prefix = f"{scheme}://"
    if not url.lower().startswith(prefix):
        raise SourceError(
            f"Invalid {scheme} URL `{url}`",
            hint=f"Use {scheme}:///relative/path.db or {scheme}:////absolute/path.db",
        )
    rest = url[len(prefix) :]
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise SourceError(
            f"Invalid {scheme} URL `{url}`: it must name a database file",
            hint=f"Use {scheme}:///relative/path.db or {scheme}:////absolute/path.db",
        )
    return Path(rest[1:])


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def safe_reason(error: BaseException) -> str:
    """The first line of a driver error with quoted spans masked.

    Driver messages can quote cell values (``Could not convert string '...'``); errors must
    name tables and columns, never values.
    """
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return _QUOTED.sub("'…'", text)


def _duckdb_error() -> type[Exception]:
    """``duckdb.Error``, imported only when a query runs."""
    import duckdb

    error: type[Exception] = duckdb.Error
    return error


# Catalog queries: constants, no user input.
_TABLES = """
SELECT schema_name, table_name FROM duckdb_tables()
WHERE database_name = current_database() AND NOT internal AND NOT temporary
ORDER BY schema_name, table_name
"""
_COLUMNS = """
SELECT schema_name, table_name, column_name, data_type, is_nullable FROM duckdb_columns()
WHERE database_name = current_database() AND NOT internal
ORDER BY schema_name, table_name, column_index
"""
_CONSTRAINTS = """
SELECT schema_name, table_name, constraint_type, constraint_column_names, referenced_table,
       referenced_column_names, constraint_name
FROM duckdb_constraints()
WHERE database_name = current_database()
  AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY schema_name, table_name, constraint_index
"""


# Types with no Parquet (or polars) counterpart in Arrow: read as their text form, like the
# PostgreSQL source does for its own (INTERVAL is month_day_nano_interval, UNION a union, VARINT
# an opaque extension, BIT DuckDB's internal bytes). Matched anywhere in the type, so a list or
# struct holding one is read as text too. Type names are upper case; field names are not.
_AS_TEXT = re.compile(r"\b(INTERVAL|UNION|VARINT|BIGNUM|BIT)\b")


def _output_columns(table: Table, columns: Sequence[str]) -> list[exp.Expression]:
    types = {c.name: c.type for c in table.columns}
    return [
        exp.Alias(this=exp.cast(col(name), "text"), alias=ident(name))
        if _AS_TEXT.search(types.get(name, ""))
        else col(name)
        for name in columns
    ]


def _table_name(schema: str, name: str) -> TableName:
    return TableName(name, schema=None if schema == "main" else schema)


class DuckDBSource(Source):
    """A DuckDB database file, read through one read-only connection."""

    type = "duckdb"
    dialect = "duckdb"
    consistent_snapshot = True
    """A read-only DuckDB file cannot change while we hold it: no writer can open it."""
    batch_rows: ClassVar[int] = 65_536
    """Rows per Arrow batch in streamed reads."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._con: duckdb.DuckDBPyConnection | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> None:
        if self._con is None:
            self._con = self._connect()

    def close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            con.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection, opened on first use."""
        self.open()
        assert self._con is not None
        return self._con

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        path = database_path(self.url, "duckdb")
        shown = str(path)
        hint = "Check the path: duckdb:///relative/path.db or duckdb:////absolute/path.db"
        if not path.exists():
            raise SourceError(f"DuckDB database file `{shown}` does not exist", hint=hint)
        if not path.is_file():
            raise SourceError(f"DuckDB database path `{shown}` is not a file", hint=hint)
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error as e:
            text = str(e)
            if "lock" in text.lower():
                raise SourceError(
                    f"DuckDB database `{shown}` is locked by another process writing to it",
                    hint="DuckDB allows one writer or many readers: stop the writing process "
                    "(or read a copy of the file) and run again.",
                ) from None
            if "not a valid DuckDB database" in text:
                raise SourceError(
                    f"`{shown}` is not a DuckDB database file",
                    hint="Use sqlite:///... for SQLite files, or a directory path for "
                    "Parquet/CSV files.",
                ) from None
            raise SourceError(
                f"Cannot open DuckDB database `{shown}`: {safe_reason(e)}",
                hint="The file may come from a newer DuckDB version or be damaged.",
            ) from None

    # -- catalog -------------------------------------------------------------------------
    def introspect(self) -> Schema:
        tables: dict[str, Table] = {}
        for schema, name in self._run(_TABLES):
            tname = _table_name(schema, name)
            tables[tname.key] = Table(name=tname, columns=[])
        for schema, name, column, data_type, nullable in self._run(_COLUMNS):
            table = tables.get(_table_name(schema, name).key)
            if table is not None:  # views have columns too; they are not tables
                table.columns.append(Column(column, data_type, nullable=bool(nullable)))
        for schema, name, kind, cols, ref_table, ref_cols, cname in self._run(_CONSTRAINTS):
            table = tables.get(_table_name(schema, name).key)
            if table is None:
                continue
            columns = tuple(cols)
            if kind == "PRIMARY KEY":
                table.primary_key = columns
            elif kind == "UNIQUE":
                table.unique_keys.append(columns)
            else:
                # DuckDB only allows foreign keys within one schema.
                table.foreign_keys.append(
                    ForeignKey(
                        table=table.name,
                        columns=columns,
                        ref_table=_table_name(schema, ref_table),
                        ref_columns=tuple(ref_cols),
                        name=cname,
                    )
                )
        return Schema(tables=tables)

    def aggregate(self, query: exp.Expression, table: Table) -> list[tuple[Any, ...]]:
        return self._run(query.sql(dialect=self.dialect), table=table)

    def state(self, schema: Schema) -> str | None:
        path = database_path(self.url, "duckdb")
        return files_state([path, path.with_name(path.name + ".wal")])

    # -- reads ---------------------------------------------------------------------------
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
        query.set("expressions", _output_columns(table, columns))
        try:
            return self.con.sql(query.sql(dialect=self.dialect)).to_arrow_table()
        except _duckdb_error() as e:
            raise self._read_error(e, table) from None

    def fetch_matching(
        self,
        table: Table,
        columns: Sequence[str],
        match_columns: Sequence[str],
        keys: pa.Table,
        *,
        order_by: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        keys_name = f"__sandboxer_keys_{uuid.uuid4().hex}"
        # The keys' own column names could collide with anything: give them ours.
        aliases = [f"k{i}" for i in range(len(match_columns))]
        renamed = keys.select(list(range(len(match_columns)))).rename_columns(aliases)
        keys_query = exp.select(*(col(a, "k") for a in aliases)).from_(
            exp.Table(this=ident(keys_name), alias=exp.TableAlias(this=ident("k")))
        )
        for alias in aliases:
            keys_query = keys_query.where(
                exp.Not(this=exp.Is(this=col(alias, "k"), expression=exp.null()))
            )
        lhs = exp.Tuple(expressions=[col(c) for c in match_columns])
        query = (
            exp.select(*_output_columns(table, columns))
            .from_(table_ref(table.name))
            .where(lhs.isin(query=keys_query.subquery()))
        )
        if order_by:
            query = query.order_by(*(col(c) for c in order_by))
        sql = query.sql(dialect=self.dialect)

        # A cursor of its own: the reader owns it until drained, and the registered keys
        # are visible to this cursor only.
        cursor = self.con.cursor()
        reader = None
        try:
            cursor.register(keys_name, renamed)
            try:
                reader = cursor.sql(sql).to_arrow_reader(self.batch_rows)
                yield from reader
            except _duckdb_error() as e:
                raise self._read_error(e, table) from None
        finally:
            if reader is not None:
                reader.close()
            cursor.close()

    # -- helpers -------------------------------------------------------------------------
    def _run(self, sql: str, table: Table | None = None) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql).fetchall()
        except _duckdb_error() as e:
            if table is None:
                raise SourceError(
                    f"Cannot read the catalog of {self.display_url}: {safe_reason(e)}"
                ) from None
            raise self._read_error(e, table) from None

    def _read_error(self, error: Exception, table: Table) -> SourceError:
        """A driver error during a read of ``table``, reworded without cell values."""
        return SourceError(
            f"Reading `{table.key}` from {self.display_url} failed: {safe_reason(error)}"
        )
