"""The example "production" shop database: deterministic, FK-closed, constrained, realistic PII."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from examples.shop.generate import generate_shop, load_postgres, write_duckdb

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS = 500

# Written out by hand rather than read from the generator, so a change to its schema shows here.
PRIMARY_KEYS = {
    "countries": ["code"],
    "customers": ["id"],
    "addresses": ["id"],
    "products": ["id"],
    "orders": ["id"],
    "order_items": ["order_id", "line_no"],
    "payments": ["id"],
}
UNIQUE_KEYS = {("countries", ("name",)), ("customers", ("email",)), ("products", ("sku",))}
FOREIGN_KEYS = {
    # (table, column) -> (referenced table, referenced column)
    ("customers", "country_code"): ("countries", "code"),
    ("customers", "referred_by"): ("customers", "id"),
    ("addresses", "customer_id"): ("customers", "id"),
    ("addresses", "country_code"): ("countries", "code"),
    ("orders", "customer_id"): ("customers", "id"),
    ("orders", "shipping_address_id"): ("addresses", "id"),
    ("order_items", "order_id"): ("orders", "id"),
    ("order_items", "product_id"): ("products", "id"),
    ("order_items", "product_sku"): ("products", "sku"),
    ("payments", "order_id"): ("orders", "id"),
}


@pytest.fixture(scope="module")
def shop() -> dict[str, pa.Table]:
    return generate_shop(customers=CUSTOMERS, seed=7)


@pytest.fixture(scope="module")
def shop_db(shop: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_duckdb(shop, tmp_path_factory.mktemp("shop") / "prod.duckdb")


@pytest.fixture
def con(shop_db: Path):
    connection = duckdb.connect(str(shop_db), read_only=True)
    yield connection
    connection.close()


def column(shop: dict[str, pa.Table], table: str, name: str) -> list:
    return shop[table].column(name).to_pylist()


def digest(tables: dict[str, pa.Table]) -> str:
    """A fingerprint of the data that ignores how Arrow happens to chunk it."""
    h = hashlib.sha256()
    for name, table in tables.items():
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        h.update(name.encode() + b"\0" + str(table.schema).encode() + b"\0" + buf.getvalue())
    return h.hexdigest()


# -- determinism and size ------------------------------------------------------------------


def test_same_seed_gives_identical_tables(shop: dict[str, pa.Table]) -> None:
    again = generate_shop(customers=CUSTOMERS, seed=7)
    assert list(again) == list(shop)
    for name, table in shop.items():
        assert again[name].schema == table.schema, name
        assert again[name].equals(table), name


def test_other_seed_gives_other_data(shop: dict[str, pa.Table]) -> None:
    other = generate_shop(customers=CUSTOMERS, seed=8)
    assert other["countries"].equals(shop["countries"])  # reference data, not random
    for name in ("customers", "addresses", "orders", "order_items", "payments"):
        assert not other[name].equals(shop[name]), name
    assert column(other, "customers", "email") != column(shop, "customers", "email")


def test_deterministic_across_processes(shop: dict[str, pa.Table]) -> None:
    # A fresh interpreter with another hash seed: no dependence on set order or process state.
    code = (
        "from examples.shop.generate import generate_shop\n"
        "from tests.examples.test_shop import digest\n"
        f"print(digest(generate_shop(customers={CUSTOMERS}, seed=7)))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "POLARS_MAX_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == digest(shop)


def test_row_counts_scale_with_customers(shop: dict[str, pa.Table]) -> None:
    big = generate_shop(customers=CUSTOMERS * 8, seed=7)
    small_rows = {name: t.num_rows for name, t in shop.items()}
    big_rows = {name: t.num_rows for name, t in big.items()}
    assert small_rows["countries"] == big_rows["countries"] == 20
    assert small_rows["customers"] == CUSTOMERS and big_rows["customers"] == 8 * CUSTOMERS
    for name in ("addresses", "orders", "order_items", "payments"):
        assert 6 < big_rows[name] / small_rows[name] < 10, name
    # 1-3 addresses and 0-8 orders per customer, 1-5 lines per order.
    assert CUSTOMERS <= small_rows["addresses"] <= 3 * CUSTOMERS
    assert 1.5 * CUSTOMERS < small_rows["orders"] < 3.5 * CUSTOMERS
    assert small_rows["orders"] < small_rows["order_items"] <= 5 * small_rows["orders"]


def test_products_default_to_a_tenth_of_customers_within_bounds() -> None:
    assert generate_shop(customers=10, seed=1)["products"].num_rows == 50
    assert generate_shop(customers=10, seed=1, products=7)["products"].num_rows == 7
    with pytest.raises(ValueError):
        generate_shop(customers=0)


# -- the DuckDB file: constraints declared, enforced and holding ------------------------------


def test_duckdb_has_every_table_with_the_generated_rows(con, shop: dict[str, pa.Table]) -> None:
    for name, table in shop.items():
        assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone() == (table.num_rows,)


def test_duckdb_declares_the_keys_and_foreign_keys(con) -> None:
    rows = con.execute(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
        "referenced_column_names FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')"
    ).fetchall()
    pks = {t: cols for t, kind, cols, _, _ in rows if kind == "PRIMARY KEY"}
    uniques = {(t, tuple(cols)) for t, kind, cols, _, _ in rows if kind == "UNIQUE"}
    fks = {
        (t, cols[0]): (ref, ref_cols[0])
        for t, kind, cols, ref, ref_cols in rows
        if kind == "FOREIGN KEY"
    }
    assert pks == PRIMARY_KEYS
    assert uniques == UNIQUE_KEYS
    assert fks == FOREIGN_KEYS


@pytest.mark.parametrize(("child", "parent"), sorted(FOREIGN_KEYS.items()))
def test_no_orphans_in_duckdb(con, child: tuple[str, str], parent: tuple[str, str]) -> None:
    (table, col), (ref_table, ref_col) = child, parent
    orphans = con.execute(
        f'SELECT count(*) FROM "{table}" c WHERE c."{col}" IS NOT NULL '
        f'AND NOT EXISTS (SELECT 1 FROM "{ref_table}" p WHERE p."{ref_col}" = c."{col}")'
    ).fetchone()
    assert orphans == (0,)
    used = con.execute(f'SELECT count("{col}") FROM "{table}"').fetchone()
    assert used is not None and used[0] > 0  # the relationship is exercised, not vacuous


def test_duckdb_enforces_the_constraints(shop_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(shop_db.read_bytes())
    connection = duckdb.connect(str(copy))
    try:
        with pytest.raises(duckdb.ConstraintException):
            connection.execute(
                "INSERT INTO orders VALUES (999999, 999999, NULL, 'paid', now()::timestamp, 1)"
            )
        with pytest.raises(duckdb.ConstraintException):
            connection.execute(
                "INSERT INTO customers (id, first_name, last_name, email, created_at, "
                "country_code) SELECT 999999, 'A', 'B', email, created_at, country_code "
                "FROM customers LIMIT 1"
            )
    finally:
        connection.close()


def test_interrupted_write_leaves_no_file(shop: dict[str, pa.Table], tmp_path: Path) -> None:
    broken = dict(shop)
    orders = shop["orders"]
    # An order pointing at a customer that does not exist: the FK check fails mid-load.
    ids = pa.array([10**9] * orders.num_rows, pa.int64())
    broken["orders"] = orders.set_column(orders.schema.get_field_index("customer_id"),
                                         orders.schema.field("customer_id"), ids)  # fmt: skip
    target = tmp_path / "prod.duckdb"
    with pytest.raises(duckdb.ConstraintException):
        write_duckdb(broken, target)
    assert list(tmp_path.iterdir()) == []


def test_write_replaces_an_existing_file(shop: dict[str, pa.Table], tmp_path: Path) -> None:
    target = tmp_path / "prod.duckdb"
    target.write_text("not a database")
    write_duckdb(shop, target)
    with duckdb.connect(str(target), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (CUSTOMERS,)
    assert [p.name for p in tmp_path.iterdir()] == ["prod.duckdb"]


# -- realistic content -----------------------------------------------------------------------


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


IBAN_LENGTHS = {"GB": 22, "DE": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "BE": 16, "IE": 22,
                "SE": 24, "PL": 28, "PT": 25, "AT": 20, "CH": 21, "DK": 18, "NO": 15}  # fmt: skip


def iban_ok(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def test_luhn_helpers_know_real_examples() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")


def test_card_numbers_are_luhn_valid(shop: dict[str, pa.Table]) -> None:
    payments = shop["payments"].to_pylist()
    cards = [p["card_number"] for p in payments if p["card_number"] is not None]
    assert len(cards) > 100
    for number in cards:
        assert re.fullmatch(r"4\d{15}|5[1-5]\d{14}", number), number
        assert luhn_ok(number), number
    # Only card payments carry a card number, only SEPA debits an IBAN; some cards are tokenised.
    assert all(p["method"] == "card" for p in payments if p["card_number"] is not None)
    assert all(p["method"] == "sepa_debit" for p in payments if p["iban"] is not None)
    assert any(p["method"] == "card" and p["card_number"] is None for p in payments)


def test_ibans_have_valid_checksums(shop: dict[str, pa.Table]) -> None:
    ibans = [i for i in column(shop, "payments", "iban") if i is not None]
    assert len(ibans) > 20
    for iban in ibans:
        assert re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", iban), iban
        assert len(iban) == IBAN_LENGTHS[iban[:2]], iban
        assert iban_ok(iban), iban


def test_preferences_are_json_with_nested_pii(shop: dict[str, pa.Table]) -> None:
    customers = shop["customers"].to_pylist()
    docs = [(c, json.loads(c["preferences"])) for c in customers if c["preferences"] is not None]
    assert 0 < len(docs) < len(customers)  # some customers have none
    assert all(isinstance(doc["newsletter"], bool) for _, doc in docs)
    nested_email = [c for c, doc in docs if doc.get("contact", {}).get("email") == c["email"]]
    nested_phone = [c for c, doc in docs if doc.get("contact", {}).get("phone") == c["phone"]]
    in_list = [c for c, doc in docs if doc.get("gift_recipients", [{}])[0].get("email")]
    assert nested_email and nested_phone and in_list


def test_notes_sometimes_repeat_the_customers_own_contact_details(
    shop: dict[str, pa.Table],
) -> None:
    customers = shop["customers"].to_pylist()
    notes = [c for c in customers if c["notes"] is not None]
    assert 0 < len(notes) < len(customers)
    assert any(c["email"] in c["notes"] for c in notes)
    assert any(c["phone"] is not None and c["phone"] in c["notes"] for c in notes)
    assert any(c["email"] not in c["notes"] for c in notes)  # and sometimes not
    # A note never mentions someone else's missing phone as "None".
    assert not any("None" in c["notes"] for c in notes)


def test_customer_columns_look_like_pii(shop: dict[str, pa.Table]) -> None:
    customers = shop["customers"].to_pylist()
    emails = [c["email"] for c in customers]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"[a-z0-9._]+@[a-z0-9.-]+\.[a-z]+", e) for e in emails)
    ids = [c["national_id"] for c in customers if c["national_id"] is not None]
    assert all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", i) and not i.startswith("666") for i in ids)
    phones = [c["phone"] for c in customers if c["phone"] is not None]
    assert all(re.fullmatch(r"(\+|00|\(\+)?[\d ()+-]{8,}", p) for p in phones)
    assert all(p.startswith(("+", "00")) for p in phones)
    assert len({p[:4] for p in phones}) > 5  # several countries and formats
    for c in customers:
        if c["birth_date"] is not None:
            age_at_signup = (c["created_at"].date() - c["birth_date"]).days / 365.25
            assert 18 <= age_at_signup <= 80
    # Realistic gaps.
    for name in ("phone", "birth_date", "national_id", "referred_by", "notes", "preferences"):
        assert any(c[name] is None for c in customers), name


def test_referrals_point_back_in_time(shop: dict[str, pa.Table]) -> None:
    customers = shop["customers"].to_pylist()
    referred = [c for c in customers if c["referred_by"] is not None]
    assert all(c["referred_by"] < c["id"] for c in referred)
    assert 0.2 < len(referred) / len(customers) < 0.4
    created = {c["id"]: c["created_at"] for c in customers}
    assert all(created[c["referred_by"]] <= c["created_at"] for c in referred)


def test_money_and_addresses_add_up(con) -> None:
    mismatched_totals = con.execute(
        "SELECT count(*) FROM orders o LEFT JOIN (SELECT order_id, sum(quantity * unit_price) s "
        "FROM order_items GROUP BY order_id) i ON i.order_id = o.id "
        "WHERE o.total <> coalesce(i.s, 0)"
    ).fetchone()
    assert mismatched_totals == (0,)
    mismatched_payments = con.execute(
        "SELECT count(*) FROM orders o JOIN (SELECT order_id, sum(amount) s FROM payments "
        "GROUP BY order_id) p ON p.order_id = o.id WHERE p.s <> o.total"
    ).fetchone()
    assert mismatched_payments == (0,)
    unpaid_with_payments = con.execute(
        "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id "
        "WHERE o.status IN ('pending', 'cancelled')"
    ).fetchone()
    assert unpaid_with_payments == (0,)
    foreign_address = con.execute(
        "SELECT count(*) FROM orders o JOIN addresses a ON a.id = o.shipping_address_id "
        "WHERE a.customer_id <> o.customer_id"
    ).fetchone()
    assert foreign_address == (0,)
    sku_mismatch = con.execute(
        "SELECT count(*) FROM order_items i JOIN products p ON p.id = i.product_id "
        "WHERE p.sku <> i.product_sku"
    ).fetchone()
    assert sku_mismatch == (0,)
    paid_before_ordered = con.execute(
        "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id "
        "WHERE p.paid_at < o.ordered_at"
    ).fetchone()
    assert paid_before_ordered == (0,)


# -- the script ------------------------------------------------------------------------------


def test_script_writes_the_database_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "prod.duckdb"
    result = subprocess.run(
        [sys.executable, "examples/shop/generate.py", "--out", str(out), "--customers", "50",
         "--seed", "3"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in PRIMARY_KEYS:
        assert re.search(rf"^{name}\s+[\d,]+ rows$", result.stdout, re.MULTILINE), name
    with duckdb.connect(str(out), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM customers").fetchone() == (50,)


def test_script_rejects_a_bad_customer_count(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "examples/shop/generate.py", "--out", str(tmp_path / "x.duckdb"),
         "--customers", "0"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--customers" in result.stderr
    assert not (tmp_path / "x.duckdb").exists()


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_load_postgres_with_constraints(shop: dict[str, pa.Table], pg_url: str) -> None:
    import psycopg

    load_postgres(shop, pg_url)
    load_postgres(shop, pg_url)  # loading again replaces the tables
    with psycopg.connect(pg_url) as conn:
        for name, table in shop.items():
            count = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            assert count == (table.num_rows,), name
        rows = conn.execute(
            """
            SELECT c.contype, rel.relname,
                   array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   ref.relname,
                   array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n
                         ORDER BY k.i)
            FROM pg_constraint c
            JOIN pg_class rel ON rel.oid = c.conrelid
            LEFT JOIN pg_class ref ON ref.oid = c.confrelid
            WHERE rel.relnamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f')
            """
        ).fetchall()
        pks = {t: cols for kind, t, cols, _, _ in rows if kind == "p"}
        uniques = {(t, tuple(cols)) for kind, t, cols, _, _ in rows if kind == "u"}
        fks = {(t, cols[0]): (ref, rcols[0]) for kind, t, cols, ref, rcols in rows if kind == "f"}
        assert pks == PRIMARY_KEYS
        assert uniques == UNIQUE_KEYS
        assert fks == FOREIGN_KEYS
        # NULLs and empty strings survive the CSV round trip; values match the Arrow data.
        nulls = conn.execute("SELECT count(*) FROM customers WHERE phone IS NULL").fetchone()
        assert nulls == (shop["customers"].column("phone").null_count,)
        first = conn.execute(
            "SELECT email, preferences, birth_date, created_at FROM customers WHERE id = 1"
        ).fetchone()
        expected = shop["customers"].slice(0, 1).to_pylist()[0]
        assert first == (
            expected["email"],
            expected["preferences"],
            expected["birth_date"],
            expected["created_at"],
        )
        total = conn.execute("SELECT sum(total) FROM orders").fetchone()
        assert total == (sum(shop["orders"].column("total").to_pylist()),)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(
                "INSERT INTO payments VALUES (999999, 999999, 'card', NULL, NULL, 1, now())"
            )
