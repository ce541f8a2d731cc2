"""The databases of the labelled set (``detect_precision``): where each comes from and how it
becomes one database file that sandboxer reads.

Public sample databases are not in this repository. Their files are read from
``$SANDBOXER_BENCH_DATA`` (default ``/work/shared/data``), one directory per database, and
turned into a SQLite or DuckDB file under ``bench/.data/precision/`` (git-ignored), rebuilt when
an input is newer. Each origin names the repository, the commit and the files, so a missing
database says exactly what to download and where to put it (``python bench/precision_sets.py``
builds them all, or prints the commands for the missing ones). Two databases need no download:
TPC-H (``tpchgen-cli``) and the invented-identity canary database (``canary_db.py``).

Every loader keeps the shape a user of that database would point sandboxer at:

- ``chinook``: the project's own SQLite file, as is.
- ``northwind``: the SQLite file the project's Makefile builds (``create.sql``, then
  ``update.sql``, which moves birth and hire dates and fills the regions).
- ``pagila``: the PostgreSQL dump (``COPY`` blocks) with the column types of its PostgreSQL
  schema, in DuckDB (``text[]`` as a list, ``bytea`` as a blob, ``year``, enums and ranges as
  their base types; the payment partitions as one ``payment`` table; the two generated columns,
  which the dump does not hold, left out).
- ``adventureworks``: "AdventureWorks for Postgres" (headerless tab-separated files and the
  ``install.sql`` that loads them), in DuckDB with PostgreSQL's folding of unquoted names to
  lower case (``person.address.postalcode``) and the types of ``install.sql``. Only the tables
  listed in ``ADVENTUREWORKS_TABLES``; ``person.person`` is absent from the snapshot that was
  available (its file is stored out of band), so the names of people appear here only in
  ``production.productreview`` and in the resumes of ``humanresources.jobcandidate``.
- ``jaffle_shop``: the dbt seeds, typed the way DuckDB reads CSV (as ``dbt seed`` on
  dbt-duckdb does).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA_ENV = "SANDBOXER_BENCH_DATA"
DEFAULT_DATA = Path("/work/shared/data")
OUT = HERE / ".data" / "precision"
LOADER_VERSION = 1
"""Part of every output file name: bump it when a loader changes what it writes."""


def data_root() -> Path:
    """Where the fetched public databases live: ``$SANDBOXER_BENCH_DATA`` or the default."""
    return Path(os.environ.get(DATA_ENV) or DEFAULT_DATA)


class Absent(Exception):
    """A database's input files are not on this machine; the message says how to get them."""


@dataclass(frozen=True)
class Origin:
    """Where a public database comes from: a GitHub repository at one commit."""

    repo: str
    commit: str
    files: tuple[tuple[str, str], ...]
    """(file under the database's data directory, path in the repository)."""
    licence: str

    def raw_url(self, path: str) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{path}"

    def missing(self, directory: Path) -> list[str]:
        return [local for local, _ in self.files if not (directory / local).is_file()]

    def how_to_get(self, directory: Path) -> str:
        lines = [
            f"# from https://github.com/{self.repo} at {self.commit[:12]} ({self.licence})",
            *(
                f"curl -fsSL --create-dirs -o {directory / local} {self.raw_url(path)}"
                for local, path in self.files
            ),
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class Prepared:
    """A labelled database ready to scan: a source URL sandboxer opens, and the keys a
    dataset would declare for it (Parquet files declare none)."""

    name: str
    url: str
    keys: dict[str, Any] | None = None
    files: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class LabelledDatabase:
    name: str
    description: str
    build: Callable[[Path, Path], str]
    """(input directory, output directory) -> source URL."""
    origin: Origin | None = None

    def prepare(self, root: Path | None = None, out: Path = OUT) -> Prepared:
        """The database file (built when missing or older than its inputs) as a source URL;
        raises ``Absent`` with download commands when its files are missing."""
        directory = (root or data_root()) / self.name
        if self.origin is not None:
            missing = self.origin.missing(directory)
            if missing:
                raise Absent(
                    f"{self.name}: {len(missing)} file(s) missing under {directory} "
                    f"(first: {missing[0]}); get them with\n{self.origin.how_to_get(directory)}"
                )
        out.mkdir(parents=True, exist_ok=True)
        return Prepared(self.name, self.build(directory, out))


# -- helpers -------------------------------------------------------------------------------
def _fresh(output: Path, inputs: list[Path]) -> bool:
    if not output.exists():
        return False
    built = output.stat().st_mtime
    return all(p.stat().st_mtime <= built for p in inputs)


def _atomic(output: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file renamed into place: a killed load leaves no half file."""
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    write(partial)
    os.replace(partial, output)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- chinook and northwind: SQLite, as their projects ship or build them -------------------
def build_chinook(src: Path, out: Path) -> str:
    source = src / "Chinook_Sqlite.sqlite"
    target = out / f"chinook-v{LOADER_VERSION}.sqlite"
    if not _fresh(target, [source]):
        _atomic(target, lambda p: shutil.copyfile(source, p))
    return f"sqlite:///{target}"


def build_northwind(src: Path, out: Path) -> str:
    scripts = [src / "create.sql", src / "update.sql"]
    target = out / f"northwind-v{LOADER_VERSION}.sqlite"

    def write(path: Path) -> None:
        with sqlite3.connect(path) as conn:
            for script in scripts:
                conn.executescript(script.read_text(encoding="utf-8"))
        conn.close()

    if not _fresh(target, scripts):
        _atomic(target, write)
    return f"sqlite:///{target}"


# -- pagila: a PostgreSQL COPY dump, typed by its PostgreSQL schema, into DuckDB -----------
_PG_TABLE = re.compile(r"^CREATE TABLE (?:public\.)?(\w+) \($")
_PG_COLUMN = re.compile(r"^\s{4}(\w+) (.+?)(?: DEFAULT .*?| GENERATED .*?)?(?: NOT NULL)?,?$")
_COPY = re.compile(r"^COPY (?:\w+\.)?(\w+) \(([^)]*)\) FROM stdin;$")
_PARTITION = re.compile(r"^(\w+?)_p\d{4}_\w+$")
"""Pagila's payment partitions (``payment_p2007_01`` ...) load into their parent table."""


def pg_type(declared: str) -> str:
    """The DuckDB type of a PostgreSQL column type of the Pagila and AdventureWorks schemas."""
    t = declared.strip().strip('"').lower().removeprefix("public.")
    simple = {
        "integer": "INTEGER", "int": "INTEGER", "serial": "INTEGER", "year": "INTEGER",
        "smallint": "SMALLINT", "boolean": "BOOLEAN", "flag": "BOOLEAN",
        "namestyle": "BOOLEAN", "date": "DATE", "time": "TIME", "uuid": "UUID",
        "bytea": "BLOB", "text[]": "VARCHAR[]", "numeric": "DECIMAL(19,4)",
    }  # fmt: skip
    if t in simple:
        return simple[t]
    if t.startswith("timestamp"):
        return "TIMESTAMP"
    number = re.fullmatch(r"(?:numeric|decimal)\((\d+),\s*(\d+)\)", t)
    if number:
        return f"DECIMAL({number[1]},{number[2]})"
    # Character types, XML, tsvector, tsrange, enums (mpaa_rating), text domains (Name ...).
    return "VARCHAR"


def _pg_tables(schema_sql: str) -> dict[str, dict[str, str]]:
    """table -> column -> DuckDB type, from ``CREATE TABLE`` statements of a pg_dump."""
    tables: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in schema_sql.splitlines():
        start = _PG_TABLE.match(line)
        if start:
            current = tables.setdefault(start[1], {})
        elif current is not None and line.startswith(")"):
            current = None
        elif current is not None:
            column = _PG_COLUMN.match(line)
            if column:
                current[column[1]] = pg_type(column[2])
    return tables


def _pg_unescape(value: str) -> str:
    escapes = {"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m[1], m[1]), value)


def _pg_array(value: str) -> list[str | None]:
    """A one-dimensional PostgreSQL array literal (``{a,"b c"}``) as a list."""
    inner = value[1:-1]
    items: list[str | None] = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|([^,]+)', inner):
        if m[1] is not None:
            items.append(re.sub(r"\\(.)", r"\1", m[1]))
        else:
            items.append(None if m[2] == "NULL" else m[2])
    return items


def _copy_blocks(dump: str) -> Iterator[tuple[str, list[str], list[list[str | None]]]]:
    lines = iter(dump.splitlines())
    for line in lines:
        m = _COPY.match(line)
        if not m:
            continue
        columns = [c.strip() for c in m[2].split(",")]
        rows: list[list[str | None]] = []
        for row in lines:
            if row == "\\.":
                break
            rows.append([None if v == "\\N" else _pg_unescape(v) for v in row.split("\t")])
        yield m[1], columns, rows


def build_pagila(src: Path, out: Path) -> str:
    schema_sql = src / "pagila-schema.sql"
    data_sql = src / "pagila-data.sql"
    target = out / f"pagila-v{LOADER_VERSION}.duckdb"
    if not _fresh(target, [schema_sql, data_sql]):
        types = _pg_tables(schema_sql.read_text(encoding="utf-8"))
        merged: dict[str, tuple[list[str], list[list[str | None]]]] = {}
        for table, columns, rows in _copy_blocks(data_sql.read_text(encoding="utf-8")):
            partition = _PARTITION.match(table)
            name = partition[1] if partition and partition[1] in types else table
            if name in merged:
                if merged[name][0] != columns:
                    raise ValueError(f"pagila: {table} has other columns than {name}")
                merged[name][1].extend(rows)
            else:
                merged[name] = (columns, list(rows))
        blocks = [(t, cols, rows) for t, (cols, rows) in merged.items()]
        _atomic(target, lambda p: _write_duckdb(p, None, types, blocks))
    return f"duckdb:///{target}"


def _write_duckdb(
    path: Path,
    schema: str | None,
    types: dict[str, dict[str, str]],
    blocks: list[tuple[str, list[str], list[list[str | None]]]],
) -> None:
    """Tables typed by ``types`` from rows of text (arrays as ``{...}`` literals, blobs as
    ``\\x`` hex), cast by DuckDB."""
    import duckdb
    import pyarrow as pa

    conn = duckdb.connect(str(path))
    try:
        prefix = ""
        if schema:
            conn.execute(f"CREATE SCHEMA {_quote(schema)}")
            prefix = _quote(schema) + "."
        for table, columns, rows in blocks:
            declared = types[table]
            conn.execute(
                f"CREATE TABLE {prefix}{_quote(table)} ("
                + ", ".join(f"{_quote(c)} {declared[c]}" for c in columns)
                + ")"
            )
            arrays: dict[str, pa.Array] = {}
            for i, c in enumerate(columns):
                values = [r[i] for r in rows]
                if declared[c] == "VARCHAR[]":
                    arrays[c] = pa.array(
                        [None if v is None else _pg_array(v) for v in values],
                        pa.list_(pa.string()),
                    )
                elif declared[c] == "BLOB":
                    arrays[c] = pa.array(
                        [None if v is None else bytes.fromhex(v[2:]) for v in values], pa.binary()
                    )
                else:
                    arrays[c] = pa.array(values, pa.string())
            frame = pa.table(arrays) if rows else pa.table(
                {c: pa.array([], pa.string()) for c in columns}
            )  # fmt: skip
            select = ", ".join(
                _quote(c)
                if declared[c] in ("VARCHAR[]", "BLOB")
                else f"CAST({_quote(c)} AS {declared[c]})"
                for c in columns
            )
            conn.register("frame", frame)
            conn.execute(f"INSERT INTO {prefix}{_quote(table)} SELECT {select} FROM frame")
            conn.unregister("frame")
    finally:
        conn.close()


# -- adventureworks: "AdventureWorks for Postgres" files, into DuckDB ---------------------
ADVENTUREWORKS_TABLES: dict[str, tuple[str, ...]] = {
    "person": ("address", "addresstype", "contacttype", "countryregion", "emailaddress",
               "password", "personphone", "phonenumbertype", "stateprovince"),
    "humanresources": ("department", "employee", "employeepayhistory", "jobcandidate", "shift"),
    "production": ("culture", "location", "product", "productcategory", "productdescription",
                   "productmodel", "productreview", "productsubcategory", "scrapreason",
                   "unitmeasure"),
    "purchasing": ("purchaseorderheader", "shipmethod", "vendor"),
    "sales": ("creditcard", "currency", "customer", "personcreditcard", "salesperson",
              "salesreason", "salestaxrate", "salesterritory", "specialoffer", "store"),
}  # fmt: skip
"""The tables loaded, by (lower-cased) schema: those that hold people, their contact points and
documents, plus the lookups and catalogues around them."""

_AW_SCHEMA = re.compile(r"^CREATE SCHEMA (\w+)", re.M)
_AW_TABLE = re.compile(r"^\s+CREATE TABLE (\w+)\($")
_AW_COLUMN = re.compile(r'^\s{4}("?\w+"?) ("?\w+"?(?:\(\d+(?:,\s*\d+)?\))?)')
_AW_FILE = re.compile(r"^\\copy (\w+)\.(\w+) FROM '\./data/(\w+\.csv)'", re.M | re.I)


def _adventureworks_schema(install_sql: str) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, table) -> column -> DuckDB type, lower-cased, in file order."""
    tables: dict[tuple[str, str], dict[str, str]] = {}
    schema = None
    current: dict[str, str] | None = None
    for line in install_sql.splitlines():
        s = _AW_SCHEMA.match(line)
        if s:
            schema = s[1].lower()
        t = _AW_TABLE.match(line)
        if t and schema:
            current = tables.setdefault((schema, t[1].lower()), {})
            continue
        if current is not None:
            if re.match(r"^\s*\)", line):
                current = None
                continue
            c = _AW_COLUMN.match(line)
            if c and c[1].upper() != "CONSTRAINT":
                current[c[1].strip('"').lower()] = pg_type(c[2])
    return tables


def _adventureworks_files(install_sql: str) -> dict[tuple[str, str], str]:
    return {(s.lower(), t.lower()): f for s, t, f in _AW_FILE.findall(install_sql)}


def _read_tsv(path: Path, width: int) -> list[list[str | None]]:
    """Rows of a headerless tab-separated file as PostgreSQL's CSV mode reads them (quoted
    fields may span lines; an empty field is NULL). ``productreview`` has comments with
    unquoted line breaks: a short row continues on the next line."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    rows: list[list[str]] = []
    pending: list[str] | None = None
    for record in csv.reader(text.splitlines(keepends=True), delimiter="\t", quotechar='"'):
        if pending is not None:
            pending[-1] += "\n" + (record[0] if record else "")
            pending.extend(record[1:])
            record = pending
        if len(record) < width:
            pending = record
            continue
        pending = None
        if len(record) != width:
            raise ValueError(f"{path.name}: a row of {len(record)} fields, expected {width}")
        rows.append(record)
    if pending:
        raise ValueError(f"{path.name}: the last row has {len(pending)} fields of {width}")
    return [[v if v != "" else None for v in r] for r in rows]


def adventureworks_inputs() -> tuple[tuple[str, str], ...]:
    """The files to fetch: install.sql and one data file per loaded table."""
    names = {
        "address": "Address", "addresstype": "AddressType", "contacttype": "ContactType",
        "countryregion": "CountryRegion", "emailaddress": "EmailAddress",
        "password": "Password", "personphone": "PersonPhone",
        "phonenumbertype": "PhoneNumberType", "stateprovince": "StateProvince",
        "department": "Department", "employee": "Employee",
        "employeepayhistory": "EmployeePayHistory", "jobcandidate": "JobCandidate",
        "shift": "Shift", "culture": "Culture", "location": "Location", "product": "Product",
        "productcategory": "ProductCategory", "productdescription": "ProductDescription",
        "productmodel": "ProductModel", "productreview": "ProductReview",
        "productsubcategory": "ProductSubcategory", "scrapreason": "ScrapReason",
        "unitmeasure": "UnitMeasure", "purchaseorderheader": "PurchaseOrderHeader",
        "shipmethod": "ShipMethod", "vendor": "Vendor", "creditcard": "CreditCard",
        "currency": "Currency", "customer": "Customer", "personcreditcard": "PersonCreditCard",
        "salesperson": "SalesPerson", "salesreason": "SalesReason",
        "salestaxrate": "SalesTaxRate", "salesterritory": "SalesTerritory",
        "specialoffer": "SpecialOffer", "store": "Store",
    }  # fmt: skip
    files = [("install.sql", "install.sql")]
    for tables in ADVENTUREWORKS_TABLES.values():
        files.extend((f"data/{names[t]}.csv", f"data/{names[t]}.csv") for t in tables)
    return tuple(files)


def build_adventureworks(src: Path, out: Path) -> str:
    install = src / "install.sql"
    target = out / f"adventureworks-v{LOADER_VERSION}.duckdb"
    inputs = [install, *(src / local for local, _ in adventureworks_inputs()[1:])]
    if not _fresh(target, inputs):
        sql = install.read_text(encoding="utf-8", errors="replace")
        types = _adventureworks_schema(sql)
        files = _adventureworks_files(sql)
        # productreview is loaded by an INSERT in install.sql; its file is the same rows.
        files.setdefault(("production", "productreview"), "ProductReview.csv")

        def write(path: Path) -> None:
            for schema, tables in ADVENTUREWORKS_TABLES.items():
                blocks = []
                for table in tables:
                    columns = list(types[(schema, table)])
                    rows = _read_tsv(src / "data" / files[(schema, table)], len(columns))
                    blocks.append((table, columns, rows))
                _write_duckdb(path, schema, {t: types[(schema, t)] for t in tables}, blocks)

        _atomic(target, write)
    return f"duckdb:///{target}"


# -- jaffle_shop: dbt seeds ----------------------------------------------------------------
JAFFLE_SEEDS = ("raw_customers", "raw_orders", "raw_payments")


def build_jaffle_shop(src: Path, out: Path) -> str:
    seeds = [src / f"{name}.csv" for name in JAFFLE_SEEDS]
    target = out / f"jaffle_shop-v{LOADER_VERSION}.duckdb"

    def write(path: Path) -> None:
        import duckdb

        conn = duckdb.connect(str(path))
        try:
            for name, seed in zip(JAFFLE_SEEDS, seeds, strict=True):
                conn.execute(
                    f"CREATE TABLE {_quote(name)} AS SELECT * FROM read_csv(?, header = true)",
                    [str(seed)],
                )
        finally:
            conn.close()

    if not _fresh(target, seeds):
        _atomic(target, write)
    return f"duckdb:///{target}"


# -- TPC-H and the canary database: generated here ----------------------------------------
def tpch_parquet(directory: Path, sf: float) -> Path:
    """The eight TPC-H tables as Parquet in ``directory`` (generated once)."""
    marker = directory / "_COMPLETE"
    if marker.exists():
        return directory
    tool = Path(sys.executable).parent / "tpchgen-cli"
    if not tool.exists():
        raise Absent(f"{tool} not found: run `make venv` (tpchgen-cli is a dev extra)")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    subprocess.run(
        [str(tool), "parquet", "-s", f"{sf:g}", "--output-dir", str(directory),
         "--no-progress", "--quiet"],
        check=True,
    )  # fmt: skip
    marker.write_text(f"{sf:g}\n")
    return directory


def prepare_tpch(sf: float, directory: Path | None = None) -> Prepared:
    """TPC-H at ``sf``: the benchmarks' cached Parquet files (``tpch.ensure_parquet``), or
    files generated into ``directory``; with the keys a dataset declares for them."""
    from tpch import ensure_parquet, virtual_keys

    path = ensure_parquet(sf) if directory is None else tpch_parquet(directory, sf)
    return Prepared("tpch", str(path), keys=virtual_keys())


def prepare_canary(out: Path = OUT) -> Prepared:
    from canary_db import write_canary

    out.mkdir(parents=True, exist_ok=True)
    target = out / f"canary-v{LOADER_VERSION}.duckdb"
    if not target.exists():
        _atomic(target, write_canary)
    return Prepared("canary", f"duckdb:///{target}")


# -- the registry --------------------------------------------------------------------------
PUBLIC: dict[str, LabelledDatabase] = {
    db.name: db
    for db in (
        LabelledDatabase(
            "chinook",
            "digital music store: customers, employees, invoices; artists, albums, tracks",
            build_chinook,
            Origin(
                "lerocha/chinook-database",
                "7f67772503d71ba90f19283c38e93923addb43fa",
                (("Chinook_Sqlite.sqlite", "ChinookDatabase/DataSources/Chinook_Sqlite.sqlite"),),
                "MIT",
            ),
        ),
        LabelledDatabase(
            "northwind",
            "Northwind Traders (Access 2000) for SQLite: customers, employees with notes, "
            "orders, suppliers, products",
            build_northwind,
            Origin(
                "jpwhite3/northwind-SQLite3",
                "4f56e7f5906dfd23b25244c5bfe8fb5da6402efd",
                (("create.sql", "src/create.sql"), ("update.sql", "src/update.sql")),
                "MIT",
            ),
        ),
        LabelledDatabase(
            "pagila",
            "DVD rental (Sakila ported to PostgreSQL): customers, staff, addresses, films, actors",
            build_pagila,
            Origin(
                "xzilla/pagila",
                "eb65be5bc01833c4a4b716e611b82d0f680e359a",
                tuple((f, f) for f in ("pagila-schema.sql", "pagila-data.sql")),
                "PostgreSQL License",
            ),
        ),
        LabelledDatabase(
            "adventureworks",
            "AdventureWorks 2014 OLTP for PostgreSQL (37 tables): employees, addresses, "
            "e-mail, phones, cards, resumes, reviews; products and lookups",
            build_adventureworks,
            Origin(
                "ggodreau/adventureworks",
                "2c5e89b1dabf405a8ce2be781af411add386126f",
                adventureworks_inputs(),
                "MIT (Microsoft sample data)",
            ),
        ),
        LabelledDatabase(
            "jaffle_shop",
            "dbt's jaffle_shop seeds: customers (first name, last initial), orders, payments",
            build_jaffle_shop,
            Origin(
                "dbt-labs/jaffle-shop-classic",
                "fd7bfacae4f497ff044a6a0275268676bf1b64c3",
                tuple((f"{name}.csv", f"seeds/{name}.csv") for name in JAFFLE_SEEDS),
                "Apache-2.0",
            ),
        ),
    )
}


def main() -> int:
    """``python bench/precision_sets.py``: build every public database's file, or say how to
    fetch the missing ones."""
    missing = 0
    for db in PUBLIC.values():
        try:
            print(f"{db.name}: {db.prepare().url}")
        except Absent as e:
            missing += 1
            print(e, file=sys.stderr)
    print(f"canary: {prepare_canary().url}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
