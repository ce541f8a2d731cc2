"""SQLiteSource against real SQLite files built in tmp_path (with the stdlib sqlite3)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sandboxer.errors import SourceError
from sandboxer.sources import Sample, TableName, create_source
from sandboxer.sources.files import FilesSource
from sandboxer.sources.sql import parse_where
from sandboxer.sources.sqlite import SQLiteSource, storage_class

SHOP = """
create table customers (id integer primary key, email text not null unique, name text);
create table employees (id integer primary key, reports_to integer references employees(id));
create table orders (
    id integer primary key,
    customer_id integer not null references customers(id),
    ship_to integer references customers,          -- no parent columns: the parent's PK
    billing_email text references customers(email),
    sold_by integer references EMPLOYEES(ID)       -- names resolve case-insensitively
);
create table order_lines (order_id integer references orders(id), line_no integer,
                          qty integer, primary key (order_id, line_no));
create table shipments (id integer primary key, order_id integer, line_no integer,
                        foreign key (line_no, order_id) references order_lines(line_no, order_id));
create table part_refs (id integer primary key, order_id integer, line_no integer,
                        foreign key (order_id, line_no) references order_lines);
create table chicken (id integer primary key, egg_id integer references egg(id));
create table egg (id integer primary key, chicken_id integer references chicken(id));
create table "select" ("my table" integer primary key, "o""q" text, "ünïcødé" text, "a.b" int);
create table "a.b" (id integer primary key, sel integer references "select"("my table"));
create table dangling (id integer primary key, ghost_id integer references ghost(id));
create unique index orders_ship on orders(ship_to, id);
create index orders_customer on orders(customer_id);
create view customer_names as select name from customers;
"""


def fill(con: sqlite3.Connection) -> None:
    con.executemany(
        "insert into customers values (?, ?, ?)",
        [(i, f"c{i}@example.com", f"name {i}") for i in range(10000)],
    )
    con.executemany(
        "insert into employees values (?, ?)", [(i, i // 2 if i else None) for i in range(50)]
    )
    con.executemany(
        "insert into orders values (?, ?, ?, ?, ?)",
        [
            (i, i % 10000, (i * 7) % 10000, f"c{i % 10000}@example.com", i % 50)
            for i in range(20000)
        ],
    )
    con.executemany(
        "insert into order_lines values (?, ?, ?)",
        [(o, line, line + 1) for o in range(20000) for line in range(3)],
    )
    con.executemany(
        "insert into shipments values (?, ?, ?)", [(i, i % 20000, i % 3) for i in range(5000)]
    )
    con.executemany(
        'insert into "select" values (?, ?, ?, ?)',
        [(i, f"q{i}", f"ü{i}", i * 2) for i in range(100)],
    )
    con.executemany('insert into "a.b" values (?, ?)', [(i, i % 100) for i in range(10)])


def build_sqlite(path: Path, ddl: str = SHOP, filler: Callable[..., None] | None = fill) -> str:
    con = sqlite3.connect(path)
    try:
        con.executescript(ddl)
        if filler is not None:
            filler(con)
        con.commit()
    finally:
        con.close()
    return f"sqlite:///{path}"


@pytest.fixture
def make_source(tmp_path: Path) -> Iterator[Callable[..., SQLiteSource]]:
    """Factory: an open SQLiteSource over a fresh file (default: the shop)."""
    opened: list[SQLiteSource] = []

    def make(
        ddl: str = SHOP, filler: Callable[..., None] | None = fill, name: str = "shop.sqlite"
    ) -> SQLiteSource:
        source = create_source(build_sqlite(tmp_path / name, ddl, filler))
        assert isinstance(source, SQLiteSource)
        source.open()
        opened.append(source)
        return source

    yield make
    for source in opened:
        source.close()


def fetch_all(batches: object) -> pa.Table:
    batches = list(batches)  # type: ignore[call-overload]
    assert batches, "fetch_matching must yield at least the schema"
    return pa.Table.from_batches(batches)


# -- opening ---------------------------------------------------------------------------------
def test_relative_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_sqlite(tmp_path / "rel.db", "create table t (id integer primary key)", None)
    monkeypatch.chdir(tmp_path)
    with SQLiteSource("sqlite:///rel.db") as source:
        assert list(source.introspect().tables) == ["t"]


def test_missing_file_is_an_error_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.sqlite"
    with pytest.raises(SourceError, match=r"does not exist") as e:
        SQLiteSource(f"sqlite:///{path}").open()
    assert str(path) in str(e.value) and "sqlite:///" in str(e.value)
    assert not path.exists()


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some text, not a database\n" * 100)
    with pytest.raises(SourceError, match=r"is not a SQLite database file"):
        SQLiteSource(f"sqlite:///{path}").open()


def test_path_with_uri_characters(tmp_path: Path) -> None:
    folder = tmp_path / "we ird #dir?"
    folder.mkdir()
    url = build_sqlite(folder / "my db%20.sqlite", "create table t (id integer primary key)", None)
    with SQLiteSource(url) as source:
        assert list(source.introspect().tables) == ["t"]


def test_reads_never_write_the_file(
    make_source: Callable[..., SQLiteSource], tmp_path: Path
) -> None:
    path = tmp_path / "shop.sqlite"
    source = make_source()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    schema = source.introspect()
    orders = schema.table("orders")
    fetch_all(source.fetch_matching(orders, ["id"], ["id"], pa.table({"id": [1, 2]})))
    source.select(orders, ["id"], sample=Sample(5, 1))
    with pytest.raises(SourceError, match="readonly"):
        source._query(source.con, "create table written (i integer)")
    source.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.sqlite"]


# -- introspection ---------------------------------------------------------------------------
def test_introspect(make_source: Callable[..., SQLiteSource]) -> None:
    schema = make_source().introspect()
    assert sorted(schema.tables) == [
        "a.b",
        "chicken",
        "customers",
        "dangling",
        "egg",
        "employees",
        "order_lines",
        "orders",
        "part_refs",
        "select",
        "shipments",
    ]  # no view, no sqlite_ internals
    customers = schema.table("customers")
    assert customers.primary_key == ("id",)
    assert customers.unique_keys == [("email",)]
    assert customers.column("id").nullable is False  # INTEGER PRIMARY KEY is the rowid
    assert customers.column("email").nullable is False
    assert customers.column("name").nullable is True

    orders = schema.table("orders")
    assert orders.unique_keys == [("ship_to", "id")]  # unique index; plain index ignored
    fks = {fk.columns: fk for fk in orders.foreign_keys}
    assert fks[("ship_to",)].ref_table == TableName("customers")
    assert fks[("ship_to",)].ref_columns == ("id",)  # implicit parent PK
    assert fks[("billing_email",)].ref_columns == ("email",)  # to a UNIQUE non-PK key
    assert fks[("sold_by",)].ref_table == TableName("employees")
    assert fks[("sold_by",)].ref_columns == ("id",)

    assert [str(fk) for fk in schema.table("employees").foreign_keys] == [
        "employees(reports_to) -> employees(id)"
    ]
    assert schema.table("order_lines").primary_key == ("order_id", "line_no")
    [ship] = schema.table("shipments").foreign_keys
    assert (ship.columns, ship.ref_columns) == (("line_no", "order_id"), ("line_no", "order_id"))
    [part] = schema.table("part_refs").foreign_keys
    assert (part.columns, part.ref_columns) == (("order_id", "line_no"), ("order_id", "line_no"))

    assert [fk.ref_table.key for fk in schema.table("chicken").foreign_keys] == ["egg"]
    assert [fk.ref_table.key for fk in schema.table("egg").foreign_keys] == ["chicken"]
    assert schema.table("dangling").foreign_keys == []  # parent table does not exist

    weird = schema.table("select")
    assert weird.column_names == ["my table", 'o"q', "ünïcødé", "a.b"]
    assert [str(fk) for fk in schema.table("a.b").foreign_keys] == ["a.b(sel) -> select(my table)"]


def test_count_rows(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source()
    schema = source.introspect()
    assert source.count_rows(schema.table("order_lines")) == 60000
    assert source.count_rows(schema.table("select")) == 100


# -- types -----------------------------------------------------------------------------------
LOOSE = """
create table loose (id integer primary key, late_int integer, late_real real, num numeric,
                    ints_and_text integer, untyped, raw blob, day date, flag boolean,
                    never_set varchar(10));
"""


def fill_loose(con: sqlite3.Connection) -> None:
    con.executemany(
        "insert into loose (id, late_int, late_real, num, ints_and_text, untyped, raw, day) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                i,
                i if i >= 3000 else None,  # the first batches are all NULL
                (i + 0.5 if i % 2 else i) if i >= 2500 else None,
                i if i % 3 else i + 0.25,
                "n/a" if i == 4000 else i,  # an INTEGER column holding one text value
                i if i < 4500 else f"t{i}",
                bytes([i % 256]) if i % 5 else None,
                "2024-01-01",
            )
            for i in range(5000)
        ],
    )


def test_one_arrow_type_per_column(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source(LOOSE, fill_loose)
    source.batch_rows = 1000
    table = source.introspect().table("loose")
    rows = source.select(table, table.column_names, order_by=["id"])
    assert rows.num_rows == 5000
    assert {f.name: f.type for f in rows.schema} == {
        "id": pa.int64(),
        "late_int": pa.int64(),
        "late_real": pa.float64(),
        "num": pa.float64(),
        "ints_and_text": pa.string(),
        "untyped": pa.string(),
        "raw": pa.binary(),
        "day": pa.string(),
        "flag": pa.int64(),  # empty: from the declared type
        "never_set": pa.string(),
    }
    assert rows.column("late_real").to_pylist()[2500:2502] == [2500.0, 2501.5]
    assert rows.column("ints_and_text").to_pylist()[3999:4002] == ["3999", "n/a", "4001"]
    assert rows.column("late_int").null_count == 3000

    keys = pa.table({"id": list(range(0, 5000, 2))})
    batches = list(source.fetch_matching(table, table.column_names, ["id"], keys, order_by=["id"]))
    assert len(batches) > 1
    assert all(b.schema == rows.schema for b in batches)


def test_empty_table_types_from_declaration(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source(LOOSE, None)
    table = source.introspect().table("loose")
    rows = source.select(table, table.column_names)
    assert rows.num_rows == 0
    assert rows.schema.field("late_int").type == pa.int64()
    assert rows.schema.field("late_real").type == pa.float64()
    assert rows.schema.field("raw").type == pa.binary()
    assert rows.schema.field("day").type == pa.string()
    assert (
        fetch_all(source.fetch_matching(table, ["id"], ["id"], pa.table({"id": [1]}))).num_rows == 0
    )


@pytest.mark.parametrize(
    ("declared", "widest", "expected"),
    [
        ("INTEGER", None, "integer"),
        ("BIGINT", "real", "real"),
        ("VARCHAR(3)", None, "text"),
        ("", None, "text"),
        ("BLOB", None, "blob"),
        ("DOUBLE PRECISION", None, "real"),
        ("DECIMAL(10,2)", None, "real"),
        ("DATETIME", None, "text"),
        ("BOOLEAN", None, "integer"),
        ("REAL", "text", "text"),
    ],
)
def test_storage_class(declared: str, widest: str | None, expected: str) -> None:
    assert storage_class(declared, widest) == expected


# -- select ----------------------------------------------------------------------------------
def test_select_where_order_limit(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source()
    orders = source.introspect().table("orders")
    where = parse_where("customer_id < 3 and sold_by = 1", orders, "sqlite")
    rows = source.select(orders, ["id", "customer_id"], where=where, order_by=["id"], limit=4)
    assert rows.column_names == ["id", "customer_id"]
    assert (
        rows.column("id").to_pylist()
        == [i for i in range(20000) if i % 10000 < 3 and i % 50 == 1][:4]
    )
    by_text = source.select(orders, ["id"], order_by=["billing_email", "id"], limit=3)
    assert by_text.column("id").to_pylist() == [0, 10000, 1000]  # "c0@", "c0@", "c1000@"


def test_order_by_uses_the_column_not_its_cast(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source(LOOSE, fill_loose)
    table = source.introspect().table("loose")
    rows = source.select(table, ["id", "untyped"], order_by=["untyped", "id"], limit=3)
    # Integers sort before text in SQLite; as cast text, "10" would sort before "2".
    assert rows.column("id").to_pylist() == [0, 1, 2]


def test_select_weird_names(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source()
    table = source.introspect().table("select")
    where = parse_where('"a.b" >= 190 and "o""q" <> \'x\'', table, "sqlite")
    rows = source.select(table, ['o"q', "ünïcødé", "my table"], where=where, order_by=["a.b"])
    assert rows.column_names == ['o"q', "ünïcødé", "my table"]
    assert rows.column("my table").to_pylist() == [95, 96, 97, 98, 99]


def test_sample_is_deterministic_and_about_right(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source()
    source.batch_rows = 1000
    customers = source.introspect().table("customers")

    def ids(percent: float, seed: int, **kw: object) -> list[int]:
        rows = source.select(
            customers, ["name"], sample=Sample(percent, seed), order_by=["id"], **kw
        )  # type: ignore[arg-type]
        assert rows.column_names == ["name"]  # the identity read for hashing is dropped
        return [int(n.split()[1]) for n in rows.column("name").to_pylist()]

    first = ids(10, 42)
    assert first == ids(10, 42)
    assert 800 <= len(first) <= 1200
    assert ids(10, 43) != first
    assert ids(10, 42, limit=7) == first[:7]
    assert ids(100, 1) == list(range(10000))
    assert ids(0, 1) == []


def test_same_keys_same_sample_in_every_source(tmp_path: Path) -> None:
    """DuckDB (md5 in SQL), SQLite (md5 in DuckDB over Arrow) and files pick the same rows."""
    ddl = (
        "create table lines (order_id integer, code varchar(8), qty integer, "
        "primary key (order_id, code))"
    )
    rows = [(o, f"c-{c}", c) for o in range(3000) for c in range(3)]

    data = pa.table(
        {
            "order_id": [r[0] for r in rows],
            "code": [r[1] for r in rows],
            "qty": [r[2] for r in rows],
        }
    )
    lite = tmp_path / "lines.sqlite"
    build_sqlite(lite, ddl, lambda con: con.executemany("insert into lines values (?,?,?)", rows))
    duck = tmp_path / "lines.duckdb"
    con = duckdb.connect(str(duck))
    con.execute(ddl)
    con.register("data", data)
    con.execute("insert into lines select * from data")
    con.close()
    files = tmp_path / "files"
    files.mkdir()
    pq.write_table(data, files / "lines.parquet")
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    (csv_dir / "lines.csv").write_text(
        "order_id,code,qty\n" + "".join(f"{o},{c},{q}\n" for o, c, q in rows)
    )

    picked = {}
    for url in (f"sqlite:///{lite}", f"duckdb:///{duck}", str(files), str(csv_dir)):
        with create_source(url) as source:
            table = source.introspect().table("lines")
            if isinstance(source, FilesSource):  # files declare no keys
                table.primary_key = ("order_id", "code")
            sample = source.select(
                table, ["order_id", "code"], sample=Sample(7, 2024), order_by=["order_id", "code"]
            )
            picked[url] = sample.to_pylist()
    first = next(iter(picked.values()))
    assert 400 < len(first) < 900
    assert all(p == first for p in picked.values())


# -- fetch_matching --------------------------------------------------------------------------
def test_fetch_matching_single_key(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source()
    customers = source.introspect().table("customers")
    keys = pa.table({"id": pa.array([5, 3, 9999, 123456], pa.int64())})
    rows = fetch_all(
        source.fetch_matching(customers, ["name", "id"], ["id"], keys, order_by=["id"])
    )
    assert rows.column_names == ["name", "id"]
    assert rows.column("id").to_pylist() == [3, 5, 9999]


def test_fetch_matching_composite_and_colliding_names(
    make_source: Callable[..., SQLiteSource],
) -> None:
    source = make_source()
    lines = source.introspect().table("order_lines")
    keys = pa.table({"k1": [7, 7, 8, 99999], "k0": [2, 0, 5, 0]})  # names of our own aliases
    rows = fetch_all(
        source.fetch_matching(
            lines,
            ["order_id", "line_no", "qty"],
            ["order_id", "line_no"],
            keys,
            order_by=["order_id", "line_no"],
        )
    )
    assert rows.to_pylist() == [
        {"order_id": 7, "line_no": 0, "qty": 1},
        {"order_id": 7, "line_no": 2, "qty": 3},
    ]


def test_fetch_matching_text_keys_and_nulls(make_source: Callable[..., SQLiteSource]) -> None:
    import polars as pl

    source = make_source()
    schema = source.introspect()
    orders = schema.table("orders")
    keys = pl.DataFrame({"billing_email": ["c1@example.com", "c2@example.com"]}).to_arrow()
    rows = fetch_all(
        source.fetch_matching(orders, ["id"], ["billing_email"], keys, order_by=["id"])
    )
    assert rows.column("id").to_pylist() == [1, 2, 10001, 10002]
    employees = schema.table("employees")
    nulls = pa.table({"reports_to": pa.array([None, 0], pa.int64())})
    rows = fetch_all(source.fetch_matching(employees, ["id"], ["reports_to"], nulls))
    assert rows.column("id").to_pylist() == [1]


def test_fetch_matching_many_keys_streams(make_source: Callable[..., SQLiteSource]) -> None:
    source = make_source()
    source.batch_rows = 4096
    schema = source.introspect()
    customers = schema.table("customers")
    many = pa.table({"id": pa.array(range(-50000, 50000), pa.int64())})  # 100 000 keys
    stream = source.fetch_matching(customers, ["id", "email"], ["id"], many, order_by=["id"])
    first = next(stream)
    assert source.count_rows(schema.table("orders")) == 20000  # other reads meanwhile
    batches = [first, *stream]
    assert len(batches) >= 3
    assert max(b.num_rows for b in batches) <= 4096
    assert pa.Table.from_batches(batches).column("id").to_pylist() == list(range(10000))

    lines = schema.table("order_lines")
    keys = pa.table(
        {
            "order_id": [o for o in range(0, 20000, 2) for _ in range(3)],
            "line_no": [0, 1, 2] * 10000,
        }
    )
    rows = fetch_all(source.fetch_matching(lines, ["order_id"], ["order_id", "line_no"], keys))
    assert rows.num_rows == 30000
