"""A directory of Parquet and CSV files, read through an in-memory DuckDB.

``path/to/dir`` or ``file:///abs/dir``. Each ``*.parquet`` file, each ``*.csv`` file and each
subdirectory of Parquet part files (hive-style ``key=value`` folders or plain) is one table
named after the file stem or directory name. Files declare no keys; virtual keys come from
``keys:`` in sandboxer.yaml.

CSV files are read as RFC 4180 (comma, double-quote quoting, header line, UTF-8). Column types
are detected once at open from the whole file, then fixed, so every later query reads the same
types without sniffing again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlglot import exp

from sandboxer.errors import SourceError
from sandboxer.sources.base import files_state
from sandboxer.sources.duckdb import DuckDBSource, safe_reason
from sandboxer.sources.schema import Column, Schema, Table, TableName
from sandboxer.sources.sql import ident

if TYPE_CHECKING:
    import duckdb

_GLOB_CHARS = frozenset("*?[")
_HIVE_DIR = re.compile(r"^[^=/]+=[^/]*$")
_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMN_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CONVERSION = re.compile(r"Column (.+) is being converted as type (\S+)")
_SUPPORTED = "Parquet files (*.parquet), CSV files (*.csv), or folders of Parquet part files"


def _ignored(path: Path) -> bool:
    """Hidden and marker files (``.DS_Store``, ``_SUCCESS``, ``_metadata``) are not data."""
    return path.name.startswith((".", "_"))


def _parts(folder: Path) -> list[Path]:
    """The Parquet part files under ``folder``, skipping hidden and staging paths."""
    return sorted(
        p
        for p in folder.rglob("*.parquet")
        if p.is_file() and not any(_ignored(Path(d)) for d in p.relative_to(folder).parts)
    )


def _check_glob(path: Path) -> None:
    if any(c in _GLOB_CHARS for c in str(path)):
        raise SourceError(
            f"Cannot read `{path}`: its path contains one of `*`, `?`, `[`, which DuckDB reads "
            "as a file pattern",
            hint="Rename the file or folder.",
        )


def _named(name: str, value: exp.Expression) -> exp.EQ:
    """A DuckDB table-function named argument, ``name = value``."""
    return exp.EQ(this=exp.column(name), expression=value)


def _csv_dialect() -> list[exp.Expression]:
    return [
        _named("header", exp.true()),
        _named("delim", exp.Literal.string(",")),
        _named("quote", exp.Literal.string('"')),
        _named("escape", exp.Literal.string('"')),
        _named("strict_mode", exp.true()),
    ]


class FilesSource(DuckDBSource):
    """Parquet and CSV files in one directory, each file or part folder one table."""

    type = "files"
    consistent_snapshot = False
    """Files can be replaced between reads; nothing holds them."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._files: dict[str, Path] = {}
        """Table key -> the file or folder it is read from."""
        self._kinds: dict[str, str] = {}
        """Table key -> ``csv``, ``parquet`` or ``parquet_dir``."""

    # -- lifecycle -----------------------------------------------------------------------
    def directory(self) -> Path:
        """The directory the URL names."""
        url = self.url
        if "://" in url:
            scheme, rest = url.split("://", 1)
            if scheme.lower() != "file" or not rest.startswith("/"):
                raise SourceError(
                    f"Invalid files URL `{url}`",
                    hint="Use a directory path, or file:///absolute/dir",
                )
            return Path(rest)
        return Path(url)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        directory = self.directory()
        if not directory.exists():
            raise SourceError(
                f"Source directory `{directory}` does not exist",
                hint="Check the source path; relative paths start at the working directory.",
            )
        if not directory.is_dir():
            raise SourceError(
                f"Source path `{directory}` is not a directory",
                hint="A files source is a directory holding " + _SUPPORTED + ".",
            )
        found = self._discover(directory)
        if not found:
            raise SourceError(
                f"Source directory `{directory}` holds no tables",
                hint="Put " + _SUPPORTED + " in it.",
            )
        con = duckdb.connect(":memory:")
        try:
            for name, (kind, path) in sorted(found.items()):
                self._files[name] = path
                self._kinds[name] = kind
                con.execute(self._view_sql(con, name, kind, path))
        except BaseException:
            con.close()
            self._files.clear()
            self._kinds.clear()
            raise
        return con

    def _discover(self, directory: Path) -> dict[str, tuple[str, Path]]:
        found: dict[str, tuple[str, Path]] = {}
        unreadable: list[str] = []
        for entry in sorted(directory.iterdir()):
            if _ignored(entry):
                continue
            if entry.is_dir():
                if not _parts(entry):
                    unreadable.append(entry.name + "/")
                    continue
                name, kind = entry.name, "parquet_dir"
            elif entry.suffix.lower() == ".parquet":
                name, kind = entry.stem, "parquet"
            elif entry.suffix.lower() == ".csv":
                name, kind = entry.stem, "csv"
            else:
                unreadable.append(entry.name)
                continue
            _check_glob(entry)
            if name in found:
                raise SourceError(
                    f"Two files in `{directory}` would both be table `{name}`: "
                    f"`{found[name][1].name}` and `{entry.name}`",
                    hint="Keep one of them, or rename the other.",
                )
            found[name] = (kind, entry)
        if unreadable:
            raise SourceError(
                f"Source directory `{directory}` holds entries sandboxer cannot read: "
                + ", ".join(f"`{u}`" for u in unreadable),
                hint="A files source reads " + _SUPPORTED + "; move the other entries out "
                "(names starting with `.` or `_` are ignored).",
            )
        return found

    def _view_sql(self, con: duckdb.DuckDBPyConnection, name: str, kind: str, path: Path) -> str:
        if kind == "csv":
            reader = self._csv_reader(con, name, path)
        elif kind == "parquet":
            reader = exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(str(path))])
        else:
            parts = _parts(path)
            for part in parts:
                _check_glob(part)
            hive = any(_HIVE_DIR.match(d) for p in parts for d in p.relative_to(path).parts[:-1])
            reader = exp.Anonymous(
                this="read_parquet",
                expressions=[
                    exp.Array(expressions=[exp.Literal.string(str(p)) for p in parts]),
                    _named("hive_partitioning", exp.Boolean(this=hive)),
                    _named("union_by_name", exp.true()),
                ],
            )
        if kind != "csv":
            self._check_parquet(con, name, path, reader)
        query = exp.select(exp.Star()).from_(exp.Table(this=reader))
        create = exp.Create(this=exp.Table(this=ident(name)), kind="VIEW", expression=query)
        return create.sql(dialect="duckdb")

    def _check_parquet(
        self, con: duckdb.DuckDBPyConnection, name: str, path: Path, reader: exp.Expression
    ) -> None:
        import duckdb

        probe = exp.Describe(this=exp.select(exp.Star()).from_(exp.Table(this=reader.copy())))
        try:
            con.execute(probe.sql(dialect="duckdb")).fetchall()
        except duckdb.Error as e:
            raise SourceError(
                f"Cannot read Parquet `{path}` (table `{name}`): {safe_reason(e)}",
                hint="Check that it is a complete Parquet file (or folder of part files); "
                "rewrite or remove it.",
            ) from None

    def _csv_reader(self, con: duckdb.DuckDBPyConnection, name: str, path: Path) -> exp.Expression:
        """``read_csv(path, ..., columns = {...})`` with types detected once from the file."""
        import duckdb

        if path.stat().st_size == 0:
            raise SourceError(
                f"CSV file `{path}` is empty: it has no header line",
                hint="Write the header line (column names), or remove the file.",
            )
        sniff = exp.Anonymous(
            this="read_csv",
            expressions=[
                exp.Literal.string(str(path)),
                *_csv_dialect(),
                _named("sample_size", exp.Literal.number(-1)),
            ],
        )
        describe = exp.Describe(this=exp.select(exp.Star()).from_(exp.Table(this=sniff)))
        try:
            described = con.execute(describe.sql(dialect="duckdb")).fetchall()
        except duckdb.Error as e:
            raise self._csv_error(con, path, e) from None
        columns = exp.Struct(
            expressions=[
                exp.PropertyEQ(
                    this=exp.Literal.string(row[0]), expression=exp.Literal.string(row[1])
                )
                for row in described
            ]
        )
        return exp.Anonymous(
            this="read_csv",
            expressions=[
                exp.Literal.string(str(path)),
                *_csv_dialect(),
                _named("auto_detect", exp.false()),
                _named("columns", columns),
            ],
        )

    def _csv_error(
        self, con: duckdb.DuckDBPyConnection, path: Path, error: Exception
    ) -> SourceError:
        """Reword a CSV error with the file and line, never the line's content.

        When the dialect sniffer gives up it names no line; reading the file again with every
        column as text, without sniffing, finds the first bad line.
        """
        import csv

        import duckdb

        if _CSV_LINE.search(str(error)) is None:
            try:
                with path.open(newline="", encoding="utf-8", errors="replace") as f:
                    header = next(csv.reader(f), [])
                columns = exp.Struct(
                    expressions=[
                        exp.PropertyEQ(
                            this=exp.Literal.string(h or f"column{i}"),
                            expression=exp.Literal.string("VARCHAR"),
                        )
                        for i, h in enumerate(header)
                    ]
                )
                scan = exp.Anonymous(
                    this="read_csv",
                    expressions=[
                        exp.Literal.string(str(path)),
                        *_csv_dialect(),
                        _named("auto_detect", exp.false()),
                        _named("columns", columns),
                    ],
                )
                query = exp.select(exp.func("count", exp.Star())).from_(exp.Table(this=scan))
                con.execute(query.sql(dialect="duckdb")).fetchall()
            except duckdb.Error as e:
                if _CSV_LINE.search(str(e)):
                    error = e
            except (OSError, csv.Error):
                pass
        return csv_error(path, error)

    # -- catalog -------------------------------------------------------------------------
    def introspect(self) -> Schema:
        tables: dict[str, Table] = {}
        self.open()
        for name in sorted(self._files):
            describe = exp.Describe(this=exp.Table(this=ident(name)))
            rows = self._run(describe.sql(dialect="duckdb"))
            tables[name] = Table(
                name=TableName(name),
                columns=[Column(row[0], row[1], nullable=row[2] != "NO") for row in rows],
            )
        return Schema(tables=tables)

    def state(self, schema: Schema) -> str | None:
        self.open()
        return files_state(self._files[k] for k in schema.tables if k in self._files)

    def close(self) -> None:
        super().close()
        self._files.clear()
        self._kinds.clear()

    # -- errors --------------------------------------------------------------------------
    def _read_error(self, error: Exception, table: Table) -> SourceError:
        path = self._files.get(table.key)
        if path is not None and self._kinds.get(table.key) == "csv":
            return csv_error(path, error)
        if path is not None:
            return SourceError(
                f"Reading `{path}` (table `{table.key}`) failed: {safe_reason(error)}",
                hint="The file may have changed or been damaged since the source was opened.",
            )
        return super()._read_error(error, table)


def csv_error(path: Path, error: Exception) -> SourceError:
    """A ``SourceError`` for a DuckDB CSV error: file, line and reason, no cell values."""
    text = str(error)
    line = _CSV_LINE.search(text)
    if (m := _COLUMN_COUNT.search(text)) is not None:
        # DuckDB's "found" count is unreliable once a line has too many fields.
        reason = f"the line does not have {m[1]} fields like the header"
    elif "unterminated quote" in text:
        reason = "a quoted value is never closed"
    elif (m := _CONVERSION.search(text)) is not None:
        reason = f"column `{m[1]}` holds a value that is not {m[2]}"
    elif "unicode" in text.lower():
        reason = "the file is not valid UTF-8"
    elif "sniffing" in text:
        reason = "its layout is not comma-separated values with a header line"
    else:
        reason = safe_reason(error)
    where = f", line {line[1]}" if line else ""
    fix = f"Fix or remove line {line[1]} of the file" if line else "Fix the file"
    return SourceError(
        f"Cannot read CSV file `{path}`{where}: {reason}",
        hint=f"{fix}: sandboxer reads CSV as comma-separated, double-quoted, UTF-8, "
        "with a header line.",
    )
