"""DuckDBSource against real DuckDB files built in tmp_path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from sandboxer.errors import SourceError
from sandboxer.sources import Sample, TableName, create_source
from sandboxer.sources.duckdb import DuckDBSource
from sandboxer.sources.schema import ForeignKey
from sandboxer.sources.sql import parse_where

SHOP = """
create table customers (id integer primary key, email varchar not null unique, name varchar);
create table employees (id integer primary key, reports_to integer references employees(id));
create table orders (
    id integer primary key,
    customer_id integer not null references customers(id),
    ship_to integer references customers(id),
    billing_email varchar references customers(email),
    sold_by integer references employees(id)
);
create table order_lines (order_id integer references orders(id), line_no integer,
                          qty integer, primary key (order_id, line_no));
create table shipments (id integer primary key, order_id integer, line_no integer,
                        foreign key (order_id, line_no) references order_lines(order_id, line_no));
create schema "ünï schema";
create table "ünï schema"."select" ("my table" integer primary key, "o""q" varchar,
                                    "ünïcødé" varchar, "a.b" integer);
create table "ünï schema"."a.b" (id integer primary key,
                                 sel integer references "select"("my table"));
create view customer_names as select name from customers;
insert into customers select i, 'c' || i || '@example.com', 'name ' || i from range(10000) t(i);
insert into employees values (0, null);
insert into employees select i, i // 2 from range(1, 2) t(i);
insert into employees select i, i // 2 from range(2, 4) t(i);
insert into employees select i, i // 2 from range(4, 8) t(i);
insert into employees select i, i // 2 from range(8, 16) t(i);
insert into employees select i, i // 2 from range(16, 32) t(i);
insert into employees select i, i // 2 from range(32, 50) t(i);
insert into orders select i, i % 10000, (i * 7) % 10000, 'c' || (i % 10000) || '@example.com',
    i % 50 from range(20000) t(i);
insert into order_lines select o, l, l + 1 from range(20000) a(o), range(3) b(l);
insert into shipments select i, i % 20000, i % 3 from range(5000) t(i);
insert into "ünï schema"."select" select i, 'q' || i, 'ü' || i, i * 2 from range(100) t(i);
insert into "ünï schema"."a.b" select i, i % 100 from range(10) t(i);
"""


def build_duckdb(path: Path, ddl: str) -> str:
    con = duckdb.connect(str(path))
    try:
        con.execute(ddl)
    finally:
        con.close()
    return f"duckdb:///{path}"


@pytest.fixture
def make_source(tmp_path: Path) -> Callable[..., DuckDBSource]:
    """Factory: a DuckDBSource over a fresh file built from ``ddl`` (default: the shop)."""
    opened: list[DuckDBSource] = []

    def make(ddl: str = SHOP, name: str = "shop.duckdb") -> DuckDBSource:
        source = create_source(build_duckdb(tmp_path / name, ddl))
        assert isinstance(source, DuckDBSource)
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


# -- URLs and opening ------------------------------------------------------------------------
def test_relative_and_absolute_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_duckdb(tmp_path / "rel.db", "create table t (id integer primary key)")
    monkeypatch.chdir(tmp_path)
    with DuckDBSource("duckdb:///rel.db") as rel:
        assert list(rel.introspect().tables) == ["t"]
    with DuckDBSource(f"duckdb:///{tmp_path / 'rel.db'}") as absolute:
        assert str(tmp_path).startswith("/")  # so this URL has four slashes
        assert list(absolute.introspect().tables) == ["t"]


def test_missing_file_is_an_error_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nope.duckdb"
    with pytest.raises(SourceError, match=r"does not exist") as e:
        DuckDBSource(f"duckdb:///{path}").open()
    assert str(path) in str(e.value)
    assert "duckdb:///" in str(e.value)  # tells what to type
    assert not path.exists()


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some text, not a database\n" * 100)
    with pytest.raises(SourceError, match=r"is not a DuckDB database file"):
        DuckDBSource(f"duckdb:///{path}").open()


def test_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"is not a file"):
        DuckDBSource(f"duckdb:///{tmp_path}").open()


@pytest.mark.parametrize("url", ["duckdb://", "duckdb:///", "duckdb:///:memory:"])
def test_url_without_a_file(url: str) -> None:
    with pytest.raises(SourceError, match=r"must name a database file"):
        DuckDBSource(url).open()


def test_file_locked_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    build_duckdb(path, "create table t (id integer)")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, duckdb
            con = duckdb.connect({str(path)!r})
            print("ready", flush=True)
            sys.stdin.read()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        with pytest.raises(SourceError, match=r"locked by another process") as e:
            DuckDBSource(f"duckdb:///{path}").open()
        assert str(path) in str(e.value)
        assert "stop the writing process" in str(e.value)
    finally:
        writer.communicate("", timeout=30)


def test_opened_read_only(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    with pytest.raises(duckdb.Error, match=r"read-only"):
        source.con.execute("create table x (i integer)")


# -- introspection ---------------------------------------------------------------------------
def test_introspect_tables_columns_keys(make_source: Callable[..., DuckDBSource]) -> None:
    schema = make_source().introspect()
    assert sorted(schema.tables) == [
        "customers",
        "employees",
        "order_lines",
        "orders",
        "shipments",
        "ünï schema.a.b",
        "ünï schema.select",
    ]  # the view is not a table
    customers = schema.table("customers")
    assert customers.name == TableName("customers")
    assert customers.column_names == ["id", "email", "name"]
    assert customers.primary_key == ("id",)
    assert customers.unique_keys == [("email",)]
    assert customers.column("email").nullable is False
    assert customers.column("name").nullable is True

    orders = schema.table("orders")
    fks = {fk.columns: fk for fk in orders.foreign_keys}
    assert set(fks) == {("customer_id",), ("ship_to",), ("billing_email",), ("sold_by",)}
    assert fks[("ship_to",)].ref_table == TableName("customers")  # two FKs to one table
    assert fks[("billing_email",)].ref_columns == ("email",)  # FK to a UNIQUE, non-PK key
    assert fks[("sold_by",)].ref_columns == ("id",)

    employees = schema.table("employees")
    assert [str(fk) for fk in employees.foreign_keys] == ["employees(reports_to) -> employees(id)"]

    shipments = schema.table("shipments")
    [composite] = shipments.foreign_keys
    assert composite.columns == ("order_id", "line_no")
    assert composite.ref_table == TableName("order_lines")
    assert composite.ref_columns == ("order_id", "line_no")
    assert schema.table("order_lines").primary_key == ("order_id", "line_no")

    weird = schema.table("ünï schema.select")
    assert weird.name == TableName("select", schema="ünï schema")
    assert weird.column_names == ["my table", 'o"q', "ünïcødé", "a.b"]
    assert weird.primary_key == ("my table",)
    [fk] = schema.table("ünï schema.a.b").foreign_keys
    assert fk == ForeignKey(
        table=TableName("a.b", "ünï schema"),
        columns=("sel",),
        ref_table=TableName("select", "ünï schema"),
        ref_columns=("my table",),
        name=fk.name,
    )
    assert [f.table.key for f in schema.children_of("ünï schema.select")] == ["ünï schema.a.b"]


def test_count_rows(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    schema = source.introspect()
    assert source.count_rows(schema.table("order_lines")) == 60000
    assert source.count_rows(schema.table("ünï schema.select")) == 100


# -- select ----------------------------------------------------------------------------------
def test_select_where_order_limit(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    orders = source.introspect().table("orders")
    where = parse_where("customer_id < 3 and sold_by = 1", orders, "duckdb")
    rows = source.select(orders, ["id", "customer_id"], where=where, order_by=["id"], limit=4)
    assert rows.column_names == ["id", "customer_id"]
    expected = [i for i in range(20000) if i % 10000 < 3 and i % 50 == 1][:4]
    assert rows.column("id").to_pylist() == expected


def test_select_weird_names(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    table = source.introspect().table("ünï schema.select")
    where = parse_where('"a.b" >= 190 and "o""q" <> \'x\'', table, "duckdb")
    rows = source.select(table, ['o"q', "ünïcødé", "my table"], where=where, order_by=["a.b"])
    assert rows.column_names == ['o"q', "ünïcødé", "my table"]
    assert rows.column("my table").to_pylist() == [95, 96, 97, 98, 99]
    assert rows.column('o"q').to_pylist() == ["q95", "q96", "q97", "q98", "q99"]


def test_select_empty_result_keeps_schema(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    customers = source.introspect().table("customers")
    rows = source.select(customers, customers.column_names, limit=0)
    assert rows.num_rows == 0
    assert rows.schema.names == ["id", "email", "name"]
    assert rows.schema.field("id").type == pa.int32()


def test_sample_is_deterministic_and_about_right(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    customers = source.introspect().table("customers")

    def ids(percent: float, seed: int) -> list[int]:
        rows = source.select(customers, ["id"], sample=Sample(percent, seed), order_by=["id"])
        return rows.column("id").to_pylist()

    first = ids(10, 42)
    assert first == ids(10, 42)
    assert 800 <= len(first) <= 1200  # 10 % of 10000, binomial sd 30
    assert ids(10, 43) != first
    assert set(ids(5, 42)) <= set(first)  # lower percent, same seed: a subset
    assert ids(100, 1) == list(range(10000))
    assert ids(0, 1) == []


def test_sample_with_limit_applies_limit_after_sampling(
    make_source: Callable[..., DuckDBSource],
) -> None:
    source = make_source()
    customers = source.introspect().table("customers")
    full = source.select(customers, ["id"], sample=Sample(10, 7), order_by=["id"])
    limited = source.select(customers, ["id"], sample=Sample(10, 7), order_by=["id"], limit=5)
    assert limited.column("id").to_pylist() == full.column("id").to_pylist()[:5]


def test_sample_on_composite_key(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    lines = source.introspect().table("order_lines")
    a = source.select(lines, ["qty"], sample=Sample(1, 3), order_by=["order_id", "line_no"])
    b = source.select(lines, ["qty"], sample=Sample(1, 3), order_by=["order_id", "line_no"])
    assert a.equals(b)
    assert 400 <= a.num_rows <= 800  # 1 % of 60000


# -- fetch_matching --------------------------------------------------------------------------
def test_fetch_matching_single_key(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    customers = source.introspect().table("customers")
    keys = pa.table({"id": pa.array([5, 3, 9999, 123456], pa.int64())})
    rows = fetch_all(
        source.fetch_matching(customers, ["name", "id"], ["id"], keys, order_by=["id"])
    )
    assert rows.column_names == ["name", "id"]
    assert rows.column("id").to_pylist() == [3, 5, 9999]
    assert rows.column("name").to_pylist() == ["name 3", "name 5", "name 9999"]


def test_fetch_matching_composite_key(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    lines = source.introspect().table("order_lines")
    keys = pa.table({"order_id": [7, 7, 8, 99999], "line_no": [2, 0, 5, 0]})
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


def test_fetch_matching_key_names_may_collide(make_source: Callable[..., DuckDBSource]) -> None:
    """The keys table's own column names must not capture the table's columns."""
    source = make_source()
    table = source.introspect().table("ünï schema.select")
    keys = pa.table({"my table": [3, 4]}).rename_columns(["k0"])  # same name as our alias
    rows = fetch_all(
        source.fetch_matching(table, ["my table", "a.b"], ["my table"], keys, order_by=["my table"])
    )
    assert rows.to_pylist() == [{"my table": 3, "a.b": 6}, {"my table": 4, "a.b": 8}]


def test_fetch_matching_ignores_null_keys(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    employees = source.introspect().table("employees")
    keys = pa.table({"reports_to": pa.array([None, 0], pa.int64())})
    rows = fetch_all(
        source.fetch_matching(employees, ["id"], ["reports_to"], keys, order_by=["id"])
    )
    assert rows.column("id").to_pylist() == [1]  # employee 0 has a NULL reports_to


def test_fetch_matching_many_keys_streams(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    source.batch_rows = 4096
    lines = source.introspect().table("order_lines")
    keys = pa.table(
        {  # 30 000 composite keys: every line of the even orders
            "order_id": [o for o in range(0, 20000, 2) for _ in range(3)],
            "line_no": [0, 1, 2] * 10000,
        }
    )
    batches = list(
        source.fetch_matching(
            lines,
            ["order_id", "line_no", "qty"],
            ["order_id", "line_no"],
            keys,
            order_by=["order_id", "line_no"],
        )
    )
    assert len(batches) > 1
    assert max(b.num_rows for b in batches) <= 4096 * 2
    rows = pa.Table.from_batches(batches)
    assert rows.num_rows == 30000
    ids = rows.column("order_id").to_pylist()
    assert ids == sorted(ids)

    customers = source.introspect().table("customers")
    many = pa.table({"id": pa.array(range(-50000, 50000), pa.int64())})  # 100 000 keys
    got = fetch_all(source.fetch_matching(customers, ["id"], ["id"], many))
    assert sorted(got.column("id").to_pylist()) == list(range(10000))


def test_fetch_matching_interleaved_with_other_reads(
    make_source: Callable[..., DuckDBSource],
) -> None:
    """A stream in progress must not block other reads on the same source."""
    source = make_source()
    source.batch_rows = 1000
    schema = source.introspect()
    customers = schema.table("customers")
    stream = source.fetch_matching(
        customers, ["id"], ["id"], pa.table({"id": list(range(5000))}), order_by=["id"]
    )
    first = next(stream)
    assert source.count_rows(schema.table("orders")) == 20000
    rest = list(stream)
    assert first.num_rows + sum(b.num_rows for b in rest) == 5000


def test_fetch_matching_with_string_view_keys(make_source: Callable[..., DuckDBSource]) -> None:
    """Keys from polars arrive as (large) string views."""
    import polars as pl

    source = make_source()
    orders = source.introspect().table("orders")
    keys = pl.DataFrame({"billing_email": ["c1@example.com", "c2@example.com"]}).to_arrow()
    rows = fetch_all(
        source.fetch_matching(orders, ["id"], ["billing_email"], keys, order_by=["id"])
    )
    assert rows.column("id").to_pylist() == [1, 2, 10001, 10002]


def test_read_error_does_not_leak_values(make_source: Callable[..., DuckDBSource]) -> None:
    source = make_source()
    customers = source.introspect().table("customers")
    where = parse_where("cast(email as integer) = 1", customers, "duckdb")
    with pytest.raises(SourceError, match=r"Reading `customers`") as e:
        source.select(customers, ["id"], where=where)
    assert "@example.com" not in str(e.value)
