"""SQLite database files, opened read-only, read as Arrow through ADBC.

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``. The file is opened with a
``mode=ro`` URI, so it is never created or written; temporary tables (for ``fetch_matching``)
live in SQLite's separate temp database.

SQLite is loosely typed: a column declared INTEGER may hold text, and the ADBC driver infers
each result's Arrow types from its first batch (all-NULL -> int64), then fails on a later
batch that disagrees. So each table's storage classes are surveyed once (one scan, on first
read), every column gets one Arrow type (its declared affinity, widened when the data does
not fit it), the query casts to that type, and a one-row *type witness* leads the result so
the driver's inference always lands on it. The witness row is dropped again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from sandboxer.errors import SourceError
from sandboxer.sources.base import Sample, Source, files_state
from sandboxer.sources.duckdb import database_path, safe_reason
from sandboxer.sources.schema import Column, ForeignKey, Schema, Table, TableName
from sandboxer.sources.sql import col, ident, sample_predicate, table_ref

if TYPE_CHECKING:
    import pyarrow as pa
    from adbc_driver_manager.dbapi import Connection, Cursor

_STORAGE_CLASSES = ("integer", "real", "text", "blob")
"""Narrowest to widest: a column holding several is read as the widest."""

# Catalog queries: constants with bound parameters, no user input in the text.
_TABLES = """
SELECT name FROM sqlite_master
WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
  AND upper(coalesce(sql, '')) NOT LIKE 'CREATE VIRTUAL TABLE%'
ORDER BY name
"""
_COLUMNS = 'SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid'
_INDEXES = 'SELECT name, "unique", origin, partial FROM pragma_index_list(?) ORDER BY seq'
_INDEX_COLUMNS = "SELECT name FROM pragma_index_info(?) ORDER BY seqno"
_FOREIGN_KEYS = (
    'SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq'
)


def affinity(declared: str) -> str:
    """SQLite's type affinity rules (datatype3.html, 3.1) as a storage class name."""
    t = declared.upper()
    if "INT" in t:
        return "integer"
    if any(s in t for s in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in t or not t:
        return "blob"
    if any(s in t for s in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


def storage_class(declared: str, widest: str | None) -> str:
    """The one storage class a column is read as: the widest among its values, or, for an
    empty or all-NULL column, its declared affinity."""
    if widest is not None:
        return widest
    kind = affinity(declared)
    if kind == "numeric":
        t = declared.upper()
        # Dates and times are stored as text by convention; booleans as 0/1.
        if "DATE" in t or "TIME" in t:
            return "text"
        return "integer" if "BOOL" in t else "real"
    if kind == "blob" and not declared:
        return "text"  # an untyped column with no values: text is the least surprising
    return kind


_SQL_TYPE = {"integer": "INTEGER", "real": "REAL", "text": "TEXT", "blob": "BLOB"}
_WITNESS = {
    "integer": exp.Literal.number(0),
    "real": exp.Literal.number("0.0"),
    "text": exp.Literal.string(""),
    "blob": exp.cast(exp.Literal.string(""), "BLOB"),
}


class SQLiteSource(Source):
    """A SQLite database file, read-only, through the Arrow-native ADBC SQLite driver."""

    type = "sqlite"
    dialect = "sqlite"
    # SQLite has no md5: ``select`` filters samples locally with DuckDB, same predicate.
    batch_rows: ClassVar[int] = 65_536
    """Rows per Arrow batch in streamed reads."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._con: Connection | None = None
        self._classes: dict[str, dict[str, str]] = {}
        """Table key -> column -> the storage class it is read as (see module docstring)."""
        self._duck: Any = None

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> None:
        if self._con is None:
            self._con = self._connect()

    def close(self) -> None:
        self._classes.clear()
        if self._duck is not None:
            duck, self._duck = self._duck, None
            duck.close()
        if self._con is not None:
            con, self._con = self._con, None
            con.close()

    def _uri(self) -> str:
        from urllib.parse import quote

        path = database_path(self.url, "sqlite").resolve()
        return "file:" + quote(str(path)) + "?mode=ro"

    def _connect(self) -> Connection:
        import adbc_driver_sqlite.dbapi

        path = database_path(self.url, "sqlite")
        hint = "Check the path: sqlite:///relative/path.db or sqlite:////absolute/path.db"
        if not path.exists():
            raise SourceError(f"SQLite database file `{path}` does not exist", hint=hint)
        if not path.is_file():
            raise SourceError(f"SQLite database path `{path}` is not a file", hint=hint)
        # autocommit: a read transaction left open would block writers of a rollback-journal
        # database for the whole build.
        con = adbc_driver_sqlite.dbapi.connect(self._uri(), autocommit=True)
        try:
            self._query(con, "SELECT count(*) FROM sqlite_master")
        except SourceError as e:
            con.close()
            if "not a database" in e.message or "encrypted" in e.message:
                raise SourceError(
                    f"`{path}` is not a SQLite database file",
                    hint="Use duckdb:///... for DuckDB files, or a directory path for "
                    "Parquet/CSV files.",
                ) from None
            raise SourceError(f"Cannot open SQLite database `{path}`: {e.message}") from None
        return con

    @property
    def con(self) -> Connection:
        """The connection, opened on first use."""
        self.open()
        assert self._con is not None
        return self._con

    def _query(
        self, con: Connection, sql: str, params: Sequence[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        import adbc_driver_manager

        cur = con.cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall())
        except adbc_driver_manager.Error as e:
            raise SourceError(safe_reason(e)) from None
        finally:
            cur.close()

    # -- catalog -------------------------------------------------------------------------
    def introspect(self) -> Schema:
        names = [row[0] for row in self._query(self.con, _TABLES)]
        # SQLite resolves names case-insensitively; FK targets are written as the user typed.
        by_folded = {n.casefold(): n for n in names}
        tables: dict[str, Table] = {}
        for name in names:
            info = self._query(self.con, _COLUMNS, [name])
            pk = sorted((pk_pos, cname) for cname, _, _, pk_pos in info if pk_pos)
            columns: list[Column] = []
            for cname, ctype, notnull, pk_pos in info:
                # An INTEGER PRIMARY KEY is the rowid: never NULL, whatever it declares.
                rowid = pk_pos and len(pk) == 1 and (ctype or "").upper() == "INTEGER"
                columns.append(Column(cname, ctype or "", nullable=not (notnull or rowid)))
            table = Table(
                name=TableName(name), columns=columns, primary_key=tuple(c for _, c in pk)
            )
            for index, unique, origin, partial in self._query(self.con, _INDEXES, [name]):
                if not unique or partial or origin == "pk":
                    continue
                cols = [r[0] for r in self._query(self.con, _INDEX_COLUMNS, [index])]
                if (
                    cols
                    and all(c is not None for c in cols)
                    and tuple(cols) not in (table.unique_keys)
                ):
                    table.unique_keys.append(tuple(cols))
            tables[name] = table
        for table in tables.values():
            groups: dict[int, list[tuple[str, str | None]]] = {}
            ref_of: dict[int, str] = {}
            for fk_id, _seq, ref, frm, to in self._query(
                self.con, _FOREIGN_KEYS, [table.name.name]
            ):
                groups.setdefault(fk_id, []).append((frm, to))
                ref_of[fk_id] = ref
            for fk_id, pairs in sorted(groups.items()):
                ref_name = by_folded.get(ref_of[fk_id].casefold())
                if ref_name is None:
                    continue  # SQLite accepts FKs to tables that do not exist
                ref_table = tables[ref_name]
                if any(to is None for _, to in pairs):
                    ref_columns = ref_table.primary_key  # `REFERENCES parent` with no columns
                else:
                    ref_columns = tuple(_column_case(ref_table, str(to)) for _, to in pairs)
                table.foreign_keys.append(
                    ForeignKey(
                        table=table.name,
                        columns=tuple(_column_case(table, frm) for frm, _ in pairs),
                        ref_table=ref_table.name,
                        ref_columns=ref_columns,
                    )
                )
        return Schema(tables=tables)

    def aggregate(self, query: exp.Expression, table: Table) -> list[tuple[Any, ...]]:
        return self._read_query(query.sql(dialect=self.dialect), table)

    def state(self, schema: Schema) -> str | None:
        path = database_path(self.url, "sqlite")
        return files_state([path, *(path.with_name(path.name + s) for s in ("-wal", "-journal"))])

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
        import pyarrow as pa

        sampled = sample is not None and sample.percent < 100
        # With a sample, the row identity is read too (the md5 is taken locally) and the
        # limit applies after sampling.
        read = list(columns)
        if sampled:
            read += [c for c in table.row_identity if c not in read]
        query = exp.select(*(col(c) for c in read)).from_(table_ref(table.name))
        if where is not None:
            query = query.where(where.copy())
        if order_by:
            # Qualified: SQLite's ORDER BY would otherwise pick the cast alias of the column.
            query = query.order_by(*(col(c, table.name.name) for c in order_by))
        if limit is not None and not sampled:
            query = query.limit(limit)

        con = self.con
        batches = []
        remaining = limit
        schema = None
        for batch in self._stream(con, table, query, read):
            schema = batch.schema
            if sampled:
                assert sample is not None
                batch = self._sample(batch, table.row_identity, sample)
            if remaining is not None:
                batch = batch.slice(0, remaining)
                remaining -= batch.num_rows
            batches.append(batch)
            if remaining == 0:
                break
        if schema is None:  # pragma: no cover - _stream always yields the schema
            raise AssertionError("no result schema")
        result = pa.Table.from_batches(batches, schema=schema)
        return result.select(list(columns))

    def fetch_matching(
        self,
        table: Table,
        columns: Sequence[str],
        match_columns: Sequence[str],
        keys: pa.Table,
        *,
        order_by: Sequence[str] | None = None,
    ) -> Iterator[pa.RecordBatch]:
        import adbc_driver_sqlite.dbapi

        keys_name = f"__sandboxer_keys_{uuid.uuid4().hex}"
        aliases = [f"k{i}" for i in range(len(match_columns))]
        renamed = keys.select(list(range(len(match_columns)))).rename_columns(aliases)
        keys_table = exp.Table(this=ident(keys_name), db=ident("temp"))
        keys_query = exp.select(*(col(a) for a in aliases)).from_(keys_table)
        for alias in aliases:
            keys_query = keys_query.where(
                exp.Not(this=exp.Is(this=col(alias), expression=exp.null()))
            )
        lhs: exp.Expression = (
            col(match_columns[0])
            if len(match_columns) == 1
            else exp.Tuple(expressions=[col(c) for c in match_columns])
        )
        query = (
            exp.select(*(col(c) for c in columns))
            .from_(table_ref(table.name))
            .where(lhs.isin(query=keys_query.subquery()))
        )
        if order_by:
            query = query.order_by(*(col(c, table.name.name) for c in order_by))

        # A connection of its own: temp tables are per connection, and the stream may be
        # consumed while other reads run on the main one.
        con = adbc_driver_sqlite.dbapi.connect(self._uri(), autocommit=True)
        try:
            cur = con.cursor()
            try:
                cur.adbc_ingest(keys_name, renamed, mode="create", temporary=True)
            finally:
                cur.close()
            yield from self._stream(con, table, query, list(columns))
        finally:
            con.close()  # drops the temp table with it

    # -- helpers -------------------------------------------------------------------------
    def _column_classes(self, table: Table) -> dict[str, str]:
        """Each column's storage class as read (see module docstring); one scan, cached."""
        if table.key in self._classes:
            return self._classes[table.key]
        # max(rank of typeof(c)) per column: 0 = only NULLs, else the widest class present.
        ranks = [
            exp.Max(
                this=exp.Case(
                    this=exp.func("typeof", col(c)),
                    ifs=[
                        exp.If(this=exp.Literal.string(k), true=exp.Literal.number(rank))
                        for rank, k in enumerate(_STORAGE_CLASSES, start=1)
                    ],
                    default=exp.Literal.number(0),
                )
            )
            for c in table.column_names
        ]
        survey = exp.select(*ranks).from_(table_ref(table.name))
        row = self._read_query(survey.sql(dialect=self.dialect), table)[0]
        classes = {}
        for column, rank in zip(table.columns, row, strict=True):
            widest = _STORAGE_CLASSES[rank - 1] if rank else None
            classes[column.name] = storage_class(column.type, widest)
        self._classes[table.key] = classes
        return classes

    def _stream(
        self, con: Connection, table: Table, query: exp.Select, columns: Sequence[str]
    ) -> Iterator[pa.RecordBatch]:
        """Run ``query`` (whose projections are ``columns``) with one Arrow type per column.

        Yields at least one batch (possibly empty) so callers always see the schema.
        """
        import adbc_driver_manager
        import pyarrow.compute as pc

        classes = self._column_classes(table)
        marker = "__sandboxer_witness"
        while marker in classes:
            marker += "_"
        typed = query.copy()
        typed.set(
            "expressions",
            [
                exp.alias_(exp.cast(col(c), _SQL_TYPE[classes[c]]), ident(c))
                if classes[c] != "integer"
                else col(c)
                for c in columns
            ],
        )
        witness = exp.select(
            exp.alias_(exp.Literal.number(1), ident(marker)),
            *(exp.alias_(_WITNESS[classes[c]].copy(), ident(c)) for c in columns),
        )
        rows = exp.select(exp.alias_(exp.null(), ident(marker)), *(col(c) for c in columns)).from_(
            typed.subquery("__sandboxer_rows")
        )
        sql = exp.union(witness, rows, distinct=False).sql(dialect=self.dialect)

        cur: Cursor = con.cursor()
        try:
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(self.batch_rows)})
            cur.execute(sql)
            reader = cur.fetch_record_batch()
            schema = reader.schema.remove(0)
            yielded = False
            for batch in reader:
                real = batch.filter(pc.is_null(batch.column(0))).drop_columns([marker])
                if real.num_rows or not yielded:
                    yielded = True
                    yield real
            if not yielded:
                import pyarrow as pa

                yield pa.RecordBatch.from_pylist([], schema=schema)
        except adbc_driver_manager.Error as e:
            raise self._read_error(e, table) from None
        finally:
            cur.close()

    def _sample(self, batch: pa.RecordBatch, identity: Sequence[str], sample: Sample) -> Any:
        """The rows of ``batch`` in ``sample``: the md5 predicate every source uses, evaluated
        by DuckDB on the Arrow batch so the same keys give the same rows as DuckDB sources."""
        import duckdb

        if self._duck is None:
            self._duck = duckdb.connect(":memory:")
        name = f"__sandboxer_batch_{uuid.uuid4().hex}"
        predicate = sample_predicate(identity, sample, dialect="duckdb")
        query = exp.select(exp.alias_(predicate, "m")).from_(exp.Table(this=ident(name)))
        self._duck.register(name, batch)
        try:
            mask = self._duck.sql(query.sql(dialect="duckdb")).to_arrow_table().column(0)
        finally:
            self._duck.unregister(name)
        return batch.filter(mask)

    def _read_query(self, sql: str, table: Table) -> list[tuple[Any, ...]]:
        try:
            return self._query(self.con, sql)
        except SourceError as e:
            raise SourceError(
                f"Reading `{table.key}` from {self.display_url} failed: {e.message}"
            ) from None

    def _read_error(self, error: Exception, table: Table) -> SourceError:
        hint = None
        if "Type mismatch" in str(error):
            hint = "The table changed while it was read; run again."
        return SourceError(
            f"Reading `{table.key}` from {self.display_url} failed: {safe_reason(error)}",
            hint=hint,
        )


def _column_case(table: Table, name: str) -> str:
    """A column name as declared (SQLite FK lists keep the case they were written in)."""
    for column in table.columns:
        if column.name.casefold() == name.casefold():
            return column.name
    return name
