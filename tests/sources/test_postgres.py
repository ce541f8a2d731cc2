"""PostgresSource against a real PostgreSQL server (the session's throwaway cluster)."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from sandboxer.errors import SchemaError, SourceError
from sandboxer.sources import create_source
from sandboxer.sources.base import Sample
from sandboxer.sources.postgres import PostgresSource, base_type, is_native
from sandboxer.sources.schema import ForeignKey, TableName
from sandboxer.sources.sql import parse_where

pytestmark = pytest.mark.postgres

SHOP_DDL = """
CREATE SCHEMA app;
CREATE SCHEMA "a.b";
CREATE TABLE app.customers (
    id integer PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name varchar(40),
    created date
);
CREATE TABLE public.customers (id bigint);
CREATE TABLE app.orders (
    region text NOT NULL,
    order_no integer NOT NULL,
    customer_id integer NOT NULL REFERENCES app.customers (id),
    billing_email text REFERENCES app.customers (email),
    PRIMARY KEY (region, order_no)
);
-- Table column order (line, order_no, region) differs from the FK's (order_no, region).
CREATE TABLE app.order_lines (
    line integer NOT NULL,
    order_no integer NOT NULL,
    region text NOT NULL,
    PRIMARY KEY (region, order_no, line),
    CONSTRAINT lines_order FOREIGN KEY (order_no, region) REFERENCES app.orders (order_no, region)
);
CREATE TABLE app.employees (id integer PRIMARY KEY, manager_id integer REFERENCES app.employees);
CREATE TABLE app.transfers (
    id integer PRIMARY KEY,
    from_customer integer NOT NULL CONSTRAINT transfer_from REFERENCES app.customers (id),
    to_customer integer NOT NULL CONSTRAINT transfer_to REFERENCES app.customers (id)
);
CREATE TABLE app.coded (id integer, code text NOT NULL, extra text);
CREATE UNIQUE INDEX coded_code ON app.coded (code) INCLUDE (extra);
CREATE UNIQUE INDEX coded_lower ON app.coded (lower(code));
CREATE UNIQUE INDEX coded_partial ON app.coded (id) WHERE id > 0;
CREATE TABLE app.events (id integer, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE VIEW app.customer_emails AS SELECT email FROM app.customers;
CREATE TABLE "a.b"."select" ("my table" integer PRIMARY KEY, "ünïcødé" text, "o""q" text UNIQUE);
CREATE TABLE public."my table" (
    id integer PRIMARY KEY,
    "select" integer REFERENCES "a.b"."select" ("my table")
);
"""


def run_sql(url: str, *statements: str, params: tuple[object, ...] | None = None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement, params)  # type: ignore[arg-type]


@pytest.fixture
def source_at(pg_url: str) -> Iterator[Callable[..., PostgresSource]]:
    """Factory: a PostgresSource on the test database (after running the given DDL)."""
    opened: list[PostgresSource] = []

    def make(*statements: str) -> PostgresSource:
        if statements:
            run_sql(pg_url, *statements)
        src = PostgresSource(pg_url)
        opened.append(src)
        return src

    yield make
    for src in opened:
        src.close()


@pytest.fixture
def shop(source_at: Callable[..., PostgresSource]) -> PostgresSource:
    return source_at(SHOP_DDL)


def batches_to_table(batches: list[pa.RecordBatch]) -> pa.Table:
    return pa.Table.from_batches(batches)


# -- introspection -----------------------------------------------------------------------------
def test_registry_creates_postgres_source(pg_url: str) -> None:
    assert isinstance(create_source(pg_url), PostgresSource)
    assert isinstance(create_source(pg_url.replace("postgresql://", "postgres://")), PostgresSource)


def test_introspect_lists_user_tables_across_schemas(shop: PostgresSource) -> None:
    schema = shop.introspect()
    assert sorted(schema.tables) == sorted(
        [
            "a.b.select",
            "app.coded",
            "app.customers",
            "app.employees",
            "app.events",  # the partitioned parent, not its partition
            "app.order_lines",
            "app.orders",
            "app.transfers",
            "public.customers",
            "public.my table",
        ]
    )
    assert schema.tables["a.b.select"].name == TableName("select", "a.b")
    assert schema.tables["public.customers"].name == TableName("customers", "public")
    assert all(t.name.schema for t in schema.tables.values())


def test_introspect_columns_types_and_nullability(shop: PostgresSource) -> None:
    customers = shop.introspect().tables["app.customers"]
    assert [(c.name, c.type, c.nullable) for c in customers.columns] == [
        ("id", "integer", False),
        ("email", "text", False),
        ("name", "character varying(40)", True),
        ("created", "date", True),
    ]
    assert customers.primary_key == ("id",)
    assert customers.unique_keys == [("email",)]


def test_introspect_composite_keys_keep_constraint_column_order(shop: PostgresSource) -> None:
    schema = shop.introspect()
    lines = schema.tables["app.order_lines"]
    assert lines.primary_key == ("region", "order_no", "line")
    assert lines.foreign_keys == [
        ForeignKey(
            table=TableName("order_lines", "app"),
            columns=("order_no", "region"),
            ref_table=TableName("orders", "app"),
            ref_columns=("order_no", "region"),
            name="lines_order",
        )
    ]
    assert schema.tables["app.orders"].primary_key == ("region", "order_no")
    assert schema.tables["app.events"].primary_key == ("id", "at")


def test_introspect_self_reference_and_two_fks_to_one_table(shop: PostgresSource) -> None:
    schema = shop.introspect()
    (self_ref,) = schema.tables["app.employees"].foreign_keys
    assert (self_ref.columns, self_ref.ref_table, self_ref.ref_columns) == (
        ("manager_id",),
        TableName("employees", "app"),
        ("id",),
    )
    transfers = schema.tables["app.transfers"].foreign_keys
    assert [(fk.name, fk.columns, fk.ref_table.key) for fk in transfers] == [
        ("transfer_from", ("from_customer",), "app.customers"),
        ("transfer_to", ("to_customer",), "app.customers"),
    ]
    children = {str(fk) for fk in schema.children_of("app.customers")}
    assert children == {
        "app.orders(customer_id) -> app.customers(id)",
        "app.orders(billing_email) -> app.customers(email)",
        "app.transfers(from_customer) -> app.customers(id)",
        "app.transfers(to_customer) -> app.customers(id)",
    }


def test_introspect_fk_to_unique_non_pk_key(shop: PostgresSource) -> None:
    fks = {fk.columns: fk for fk in shop.introspect().tables["app.orders"].foreign_keys}
    assert fks[("billing_email",)].ref_columns == ("email",)
    assert fks[("customer_id",)].ref_columns == ("id",)


def test_introspect_unique_indexes_only_plain_ones(shop: PostgresSource) -> None:
    coded = shop.introspect().tables["app.coded"]
    # (code) counts (INCLUDE columns do not); lower(code) and the partial index do not.
    assert coded.unique_keys == [("code",)]
    assert coded.primary_key == ()
    assert coded.row_identity == ("code",)


def test_introspect_odd_names(shop: PostgresSource) -> None:
    schema = shop.introspect()
    odd = schema.tables["a.b.select"]
    assert odd.column_names == ["my table", "ünïcødé", 'o"q']
    assert odd.primary_key == ("my table",)
    assert odd.unique_keys == [('o"q',)]
    (fk,) = schema.tables["public.my table"].foreign_keys
    assert (fk.columns, fk.ref_table, fk.ref_columns) == (
        ("select",),
        TableName("select", "a.b"),
        ("my table",),
    )


def test_introspect_is_a_handful_of_queries(shop: PostgresSource) -> None:
    calls: list[str] = []
    original = shop._run

    def counting(sql_text: str, what: str, params: object = None) -> pa.Table:
        calls.append(what)
        return original(sql_text, what, params)  # type: ignore[arg-type]

    shop._run = counting  # type: ignore[method-assign]
    shop.introspect()
    assert len(calls) <= 5


# -- select ------------------------------------------------------------------------------------
@pytest.fixture
def people(source_at: Callable[..., PostgresSource]) -> PostgresSource:
    return source_at(
        SHOP_DDL,
        "INSERT INTO app.customers SELECT g, 'c' || g || '@example.com', 'name ' || g, "
        "DATE '2020-01-01' + g FROM generate_series(1, 10000) g",
        """INSERT INTO "a.b"."select" VALUES (1, 'é', 'x'), (2, 'ü', 'y'), (3, NULL, NULL)""",
    )


def test_count_rows(people: PostgresSource) -> None:
    schema = people.introspect()
    assert people.count_rows(schema.tables["app.customers"]) == 10000
    assert people.count_rows(schema.tables["app.orders"]) == 0
    assert people.count_rows(schema.tables["a.b.select"]) == 3


def test_select_where_limit_order(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    where = parse_where("id <= 20 AND email LIKE 'c1%'", customers, "postgres")
    result = people.select(customers, ["id", "email"], where=where, order_by=["id"])
    assert result.column_names == ["id", "email"]
    assert result.column("id").to_pylist() == [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]

    limited = people.select(customers, ["id"], limit=3, order_by=["id"])
    assert limited.column("id").to_pylist() == [1, 2, 3]
    none = people.select(customers, ["id"], where=parse_where("id < 0", customers, "postgres"))
    assert none.num_rows == 0 and none.schema.field("id").type == pa.int32()


def test_select_odd_names(people: PostgresSource) -> None:
    odd = people.introspect().tables["a.b.select"]
    where = parse_where('"ünïcødé" IS NOT NULL', odd, "postgres")
    result = people.select(odd, ['o"q', "my table", "ünïcødé"], where=where, order_by=["my table"])
    assert result.to_pylist() == [
        {'o"q': "x", "my table": 1, "ünïcødé": "é"},
        {'o"q': "y", "my table": 2, "ünïcødé": "ü"},
    ]


def test_select_unknown_column_is_a_schema_error(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    with pytest.raises(SchemaError, match="Unknown column `emial`"):
        people.select(customers, ["emial"])


def _expected_sample(ids: range, sample: Sample) -> set[int]:
    return {
        i
        for i in ids
        if hashlib.md5(f"{sample.seed}|{i}".encode()).hexdigest()[:8] < sample.threshold
    }


def test_sample_is_deterministic_and_proportional(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    ten = Sample(percent=10, seed=7)
    first = set(people.select(customers, ["id"], sample=ten).column("id").to_pylist())
    again = set(people.select(customers, ["id"], sample=ten).column("id").to_pylist())
    other = set(
        people.select(customers, ["id"], sample=Sample(10, seed=8)).column("id").to_pylist()
    )
    assert first == again
    assert first == _expected_sample(range(1, 10001), ten)  # the documented hash, exactly
    assert 850 <= len(first) <= 1150
    assert first != other and 850 <= len(other) <= 1150
    everything = people.select(customers, ["id"], sample=Sample(100, seed=7))
    assert everything.num_rows == 10000


def test_sample_with_where_and_limit(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    where = parse_where("id > 5000", customers, "postgres")
    result = people.select(
        customers, ["id"], where=where, sample=Sample(50, 1), limit=10, order_by=["id"]
    )
    ids = result.column("id").to_pylist()
    expected = sorted(i for i in _expected_sample(range(5001, 10001), Sample(50, 1)))[:10]
    assert ids == expected


def test_types_round_trip_to_arrow(source_at: Callable[..., PostgresSource]) -> None:
    src = source_at(
        "CREATE TYPE mood AS ENUM ('sad', 'happy')",
        """CREATE TABLE typed (
            i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
            n numeric(12, 2), big numeric(50, 5), free numeric, b boolean,
            t text, vc varchar(5), c char(3), d date, ts timestamp(3), tz timestamptz,
            tm time, u uuid, j json, jb jsonb, ia integer[], ta text[], na numeric[],
            by bytea, iv interval, m mood, ip inet
        )""",
        """INSERT INTO typed VALUES (
            1, 2, 3, 1.5, 2.5, 1234.56, 123456789012345678901234567890.12345, 3.14159,
            true, 'text', 'vc', 'ab', '2024-02-29', '2024-02-29 12:34:56.789',
            '2024-02-29 12:00:00+02', '10:11:12', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
            '{"a": 1}', '{"b": [2]}', '{1,NULL,3}', '{x,"y z"}', '{1.5}', '\\x00ff',
            '1 day 02:00:00', 'happy', '10.0.0.1'
        )""",
    )
    table = src.introspect().tables["public.typed"]
    result = src.select(table, table.column_names)
    types = {f.name: f.type for f in result.schema}
    assert types == {
        "i2": pa.int16(),
        "i4": pa.int32(),
        "i8": pa.int64(),
        "f4": pa.float32(),
        "f8": pa.float64(),
        "n": pa.decimal128(12, 2),
        "big": pa.string(),  # wider than polars' 38 digits: exact text
        "free": pa.string(),
        "b": pa.bool_(),
        "t": pa.string(),
        "vc": pa.string(),
        "c": pa.string(),
        "d": pa.date32(),
        "ts": pa.timestamp("us"),
        "tz": pa.timestamp("us", tz="UTC"),
        "tm": pa.time64("us"),
        "u": pa.string(),
        "j": pa.string(),
        "jb": pa.string(),
        "ia": pa.list_(pa.int32()),
        "ta": pa.list_(pa.string()),
        "na": pa.string(),
        "by": pa.binary(),
        "iv": pa.string(),
        "m": pa.string(),
        "ip": pa.string(),
    }
    row = result.to_pylist()[0]
    assert row["n"] == decimal.Decimal("1234.56")
    assert row["big"] == "123456789012345678901234567890.12345"
    assert row["free"] == "3.14159"
    assert row["tz"] == dt.datetime(2024, 2, 29, 10, 0, tzinfo=dt.UTC)
    assert row["ts"] == dt.datetime(2024, 2, 29, 12, 34, 56, 789000)
    assert row["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert row["jb"] == '{"b": [2]}'
    assert row["ia"] == [1, None, 3] and row["ta"] == ["x", "y z"]
    assert row["c"] == "ab " and row["by"] == b"\x00\xff"
    assert row["iv"] == "1 day 02:00:00" and row["m"] == "happy" and row["ip"] == "10.0.0.1/32"
    assert result.schema.metadata is None
    assert all(f.metadata is None for f in result.schema)


def test_numeric_nan_is_reported_by_column(source_at: Callable[..., PostgresSource]) -> None:
    src = source_at(
        "CREATE TABLE nums (id int, x numeric(5, 1))", "INSERT INTO nums VALUES (1, 'NaN')"
    )
    table = src.introspect().tables["public.nums"]
    with pytest.raises(SourceError, match=r"`x` of `public\.nums`"):
        src.select(table, ["id", "x"])


def test_cluster_without_binaries_fails_clearly(tmp_path: Path) -> None:
    from tests.pgcluster import PgCluster, PgClusterError

    cluster = PgCluster(tmp_path, bin_dir=tmp_path / "no-bin")
    with pytest.raises(PgClusterError, match="initdb"):
        cluster.start()
    cluster.stop()  # nothing started: still safe


def test_type_helpers() -> None:
    assert base_type("character varying(20)") == "character varying"
    assert base_type("numeric(12,2)[]") == "numeric[]"
    assert base_type("timestamp(3) with time zone") == "timestamp with time zone"
    assert is_native("integer[]") and not is_native("numeric[]") and not is_native("uuid")


# -- fetch_matching ----------------------------------------------------------------------------
def test_fetch_matching_single_key(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    keys = pa.table({"id": pa.array([5, 1, 9999, 5_000_000_000, -3], pa.int64())})
    batches = list(people.fetch_matching(customers, ["id", "email"], ["id"], keys, order_by=["id"]))
    result = batches_to_table(batches)
    assert result.to_pylist() == [
        {"id": 1, "email": "c1@example.com"},
        {"id": 5, "email": "c5@example.com"},
        {"id": 9999, "email": "c9999@example.com"},
    ]


def test_fetch_matching_on_text_and_date_keys(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    by_email = pa.table({"email": ["c7@example.com", "nobody@example.com"]})
    got = batches_to_table(list(people.fetch_matching(customers, ["id"], ["email"], by_email)))
    assert got.column("id").to_pylist() == [7]
    by_date = pa.table({"created": pa.array([dt.date(2020, 1, 4), dt.date(1999, 1, 1)])})
    got = batches_to_table(list(people.fetch_matching(customers, ["id"], ["created"], by_date)))
    assert got.column("id").to_pylist() == [3]


def test_fetch_matching_composite_keys(source_at: Callable[..., PostgresSource]) -> None:
    src = source_at(
        SHOP_DDL,
        "INSERT INTO app.customers VALUES (1, 'a@x', 'a', NULL)",
        "INSERT INTO app.orders SELECT r, n, 1, NULL FROM unnest(ARRAY['eu', 'us']) r, "
        "generate_series(1, 50) n",
        "INSERT INTO app.order_lines SELECT l, n, r FROM unnest(ARRAY['eu', 'us']) r, "
        "generate_series(1, 50) n, generate_series(1, 3) l",
    )
    lines = src.introspect().tables["app.order_lines"]
    # Keys in the FK's column order (order_no, region), not the table's.
    keys = pa.table({"order_no": [7, 7, 8, 99], "region": ["eu", "us", "us", "eu"]})
    got = batches_to_table(
        list(
            src.fetch_matching(
                lines,
                ["region", "order_no", "line"],
                ["order_no", "region"],
                keys,
                order_by=["region", "order_no", "line"],
            )
        )
    )
    assert [tuple(r.values()) for r in got.to_pylist()] == [
        ("eu", 7, 1),
        ("eu", 7, 2),
        ("eu", 7, 3),
        ("us", 7, 1),
        ("us", 7, 2),
        ("us", 7, 3),
        ("us", 8, 1),
        ("us", 8, 2),
        ("us", 8, 3),
    ]


def test_fetch_matching_odd_names_and_uuid_keys(source_at: Callable[..., PostgresSource]) -> None:
    ids = [uuid.UUID(int=i) for i in range(1, 6)]
    run = source_at(
        'CREATE TABLE "Odd ""T"" ünï" ("select" uuid PRIMARY KEY, "a.b" char(3), n int)'
    )
    run_sql(
        run.url,
        """INSERT INTO "Odd ""T"" ünï" SELECT u, 'k' || ord, ord
           FROM unnest(%s::uuid[]) WITH ORDINALITY AS x(u, ord)""",
        params=(ids,),
    )
    table = run.introspect().tables['public.Odd "T" ünï']
    keys = pa.table({"select": [str(ids[1]), str(ids[3])]})
    got = batches_to_table(
        list(run.fetch_matching(table, ["select", "a.b", "n"], ["select"], keys, order_by=["n"]))
    )
    assert got.to_pylist() == [
        {"select": str(ids[1]), "a.b": "k2 ", "n": 2},
        {"select": str(ids[3]), "a.b": "k4 ", "n": 4},
    ]
    # char(n) keys as read (padded) match again.
    by_char = pa.table({"a.b": ["k5 ", "k1"]})
    got = batches_to_table(list(run.fetch_matching(table, ["n"], ["a.b"], by_char, order_by=["n"])))
    assert got.column("n").to_pylist() == [1, 5]


def test_fetch_matching_100k_keys_streams_in_batches(
    source_at: Callable[..., PostgresSource],
) -> None:
    src = source_at(
        "CREATE TABLE big (id bigint PRIMARY KEY, part text NOT NULL, payload text)",
        "INSERT INTO big SELECT g, 'p' || (g % 7), repeat('x', 20) "
        "FROM generate_series(1, 300000) g",
    )
    table = src.introspect().tables["public.big"]
    keys = pa.table({"id": pa.array(range(2, 200_001, 2), pa.int64())})
    assert keys.num_rows == 100_000
    batches = list(src.fetch_matching(table, ["id", "part"], ["id"], keys, order_by=["id"]))
    assert len(batches) > 1, "expected the result to arrive in several batches"
    result = batches_to_table(batches)
    assert result.num_rows == 100_000
    assert result.column("id").to_pylist() == list(range(2, 200_001, 2))

    # Odd ids carry their real part, even ids a part that does not exist.
    parts = [f"p{i % 7}" if i % 2 else "nope" for i in range(1, 100_001)]
    composite = pa.table({"id": pa.array(range(1, 100_001), pa.int64()), "part": parts})
    got = batches_to_table(list(src.fetch_matching(table, ["id"], ["id", "part"], composite)))
    assert got.num_rows == 50_000
    assert sorted(got.column("id").to_pylist()) == list(range(1, 100_001, 2))


def test_fetch_matching_no_keys_yields_schema(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    keys = pa.table({"id": pa.array([], pa.int64())})
    batches = list(people.fetch_matching(customers, ["id", "name"], ["id"], keys))
    assert sum(b.num_rows for b in batches) == 0
    assert batches and batches[0].schema.names == ["id", "name"]


def test_fetch_matching_can_interleave_with_other_reads(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    keys = pa.table({"id": pa.array(range(1, 30_001), pa.int64())})
    stream = people.fetch_matching(customers, ["id"], ["id"], keys, order_by=["id"])
    first = next(stream)
    assert people.count_rows(customers) == 10000  # another query while the cursor is open
    rest = list(stream)
    assert first.num_rows + sum(b.num_rows for b in rest) == 10000


# -- snapshot ----------------------------------------------------------------------------------
def test_reads_see_one_snapshot(people: PostgresSource, pg_url: str) -> None:
    people.open()
    # Changed by another connection after open() but before this source's first read.
    run_sql(
        pg_url,
        "INSERT INTO app.customers VALUES (20001, 'late@example.com', 'late', NULL)",
        "DELETE FROM app.customers WHERE id = 1",
    )
    customers = people.introspect().tables["app.customers"]
    assert people.count_rows(customers) == 10000
    where = parse_where("id IN (1, 20001)", customers, "postgres")
    assert people.select(customers, ["id"], where=where).column("id").to_pylist() == [1]
    keys = pa.table({"id": pa.array([1, 20001], pa.int64())})
    matched = batches_to_table(list(people.fetch_matching(customers, ["id"], ["id"], keys)))
    assert matched.column("id").to_pylist() == [1]
    read_only = people._run("SELECT current_setting('transaction_read_only')", "test")
    assert read_only.column(0).to_pylist() == ["on"]

    people.close()
    people.close()  # idempotent
    people.open()
    assert people.count_rows(customers) == 10000  # one added, one deleted
    assert people.select(customers, ["id"], where=where).column("id").to_pylist() == [20001]


def test_context_manager_closes(people: PostgresSource) -> None:
    with people as src:
        assert src.count_rows(src.introspect().tables["app.customers"]) == 10000
    assert people._conn is None


# -- connection errors -------------------------------------------------------------------------
SECRET = "s3cr3t-Pa55"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_names_the_url_without_password() -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:{_free_port()}/prod"
    with pytest.raises(SourceError) as info:
        PostgresSource(url).open()
    message = str(info.value)
    assert "Cannot connect to PostgreSQL at postgresql://app:***@127.0.0.1:" in message
    assert "refused" in message.lower()
    assert "host and port" in (info.value.hint or "")
    assert SECRET not in message and SECRET not in repr(info.value.args)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_wrong_password(pg_cluster: object, pg_url: str) -> None:
    from tests.pgcluster import PgCluster

    assert isinstance(pg_cluster, PgCluster)
    user = f"u_{uuid.uuid4().hex[:8]}"
    pg_cluster.create_login(user, "right-password")
    good = pg_url.replace("postgres@", f"{user}:right-password@")
    with PostgresSource(good) as src:  # the role and its password work ...
        assert isinstance(src.introspect().tables, dict)
    bad = pg_url.replace("postgres@", f"{user}:{SECRET}@")
    with pytest.raises(SourceError) as info:
        PostgresSource(bad).open()  # ... and a wrong one is reported as such
    message = str(info.value)
    assert "password authentication failed" in message
    assert "password" in (info.value.hint or "")
    assert f"{user}:***@" in message and SECRET not in message


def test_unknown_database(pg_url: str) -> None:
    url = pg_url.replace("postgres@", f"postgres:{SECRET}@").rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(SourceError) as info:
        PostgresSource(url).open()
    message = str(info.value)
    assert '"no_such_db" does not exist' in message
    assert "database name" in (info.value.hint or "")
    assert SECRET not in message


def test_query_errors_become_source_errors(people: PostgresSource) -> None:
    customers = people.introspect().tables["app.customers"]
    where = parse_where("id / 0 = 1", customers, "postgres")
    with pytest.raises(SourceError, match=r"reading `app\.customers`.*division by zero"):
        people.select(customers, ["id"], where=where)
