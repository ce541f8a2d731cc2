"""Factories for synthesis tests: a small shop dataset with every kind of key, and its profile.

countries   5 rows, text primary key (a lookup)
customers   unique email, PII name, FK to countries, nullable self-reference (referred_by)
orders      FK to customers, decimal amount, categorical status, nullable note
order_items composite primary key (order_id, line_no), FK to orders
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

SCHEMA: dict[str, dict[str, Any]] = {
    "countries": {
        "columns": [
            {"name": "code", "type": "string", "nullable": False},
            {"name": "name", "type": "string", "nullable": False},
        ],
        "primary_key": ["code"],
        "unique_keys": [],
        "foreign_keys": [],
    },
    "customers": {
        "columns": [
            {"name": "id", "type": "int64", "nullable": False},
            {"name": "email", "type": "string", "nullable": False},
            {"name": "name", "type": "string", "nullable": True},
            {"name": "country", "type": "string", "nullable": False},
            {"name": "signup", "type": "date32[day]", "nullable": False},
            {"name": "score", "type": "double", "nullable": True},
            {"name": "segment", "type": "string", "nullable": False},
            {"name": "referred_by", "type": "int64", "nullable": True},
        ],
        "primary_key": ["id"],
        "unique_keys": [["email"]],
        "foreign_keys": [
            {"columns": ["country"], "ref_table": "countries", "ref_columns": ["code"]},
            {"columns": ["referred_by"], "ref_table": "customers", "ref_columns": ["id"]},
        ],
    },
    "orders": {
        "columns": [
            {"name": "order_id", "type": "int64", "nullable": False},
            {"name": "customer_id", "type": "int64", "nullable": False},
            {"name": "amount", "type": "decimal128(10, 2)", "nullable": False},
            {"name": "status", "type": "string", "nullable": False},
            {"name": "ordered_at", "type": "date32[day]", "nullable": False},
            {"name": "note", "type": "string", "nullable": True},
        ],
        "primary_key": ["order_id"],
        "unique_keys": [],
        "foreign_keys": [
            {"columns": ["customer_id"], "ref_table": "customers", "ref_columns": ["id"]},
        ],
    },
    "order_items": {
        "columns": [
            {"name": "order_id", "type": "int64", "nullable": False},
            {"name": "line_no", "type": "int32", "nullable": False},
            {"name": "qty", "type": "int32", "nullable": False},
            {"name": "price", "type": "double", "nullable": False},
        ],
        "primary_key": ["order_id", "line_no"],
        "unique_keys": [],
        "foreign_keys": [
            {"columns": ["order_id"], "ref_table": "orders", "ref_columns": ["order_id"]},
        ],
    },
}

PII = [("customers", "email"), ("customers", "name")]


def make_shop(seed: int = 0, customers: int = 2000) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    countries = pl.DataFrame(
        {"code": ["US", "FR", "DE", "JP", "BR"],
         "name": ["United States", "France", "Germany", "Japan", "Brazil"]}
    )  # fmt: skip
    n = customers
    ids = np.arange(1, n + 1) * 3
    cust = pl.DataFrame(
        {
            "id": ids,
            "email": [f"person{i}@mail.test" for i in range(n)],
            "name": [f"Real Person {i}" for i in range(n)],
            "country": rng.choice(["US", "FR", "DE", "JP", "BR"], n, p=[0.5, 0.2, 0.15, 0.1, 0.05]),
            "signup": pl.date_range(pl.date(2020, 1, 1), pl.date(2023, 12, 31), eager=True).sample(
                n, with_replacement=True, seed=seed
            ),
            "score": rng.normal(50, 10, n),
            "segment": rng.choice(["retail", "pro", "vip"], n, p=[0.7, 0.25, 0.05]),
            "referred_by": pl.Series(rng.choice(ids, n)).scatter(
                np.flatnonzero(rng.random(n) < 0.7), None
            ),
        }
    )
    per = rng.integers(0, 9, n)
    m = int(per.sum())
    orders = pl.DataFrame(
        {
            "order_id": np.arange(1, m + 1) * 2,
            "customer_id": np.repeat(ids, per),
            "amount": np.round(rng.gamma(2.0, 40.0, m), 2),
            "status": rng.choice(["shipped", "pending", "cancelled"], m, p=[0.8, 0.15, 0.05]),
            "ordered_at": pl.date_range(
                pl.date(2021, 1, 1), pl.date(2024, 6, 30), eager=True
            ).sample(m, with_replacement=True, seed=seed + 1),
            "note": pl.Series(["leave at the door please"] * m).scatter(
                np.flatnonzero(rng.random(m) < 0.6), None
            ),
        }
    ).with_columns(pl.col("amount").cast(pl.Decimal(10, 2)))
    lines = rng.integers(1, 5, m)
    k = int(lines.sum())
    starts = np.repeat(np.cumsum(lines) - lines, lines)
    items = pl.DataFrame(
        {
            "order_id": np.repeat(orders["order_id"].to_numpy(), lines),
            "line_no": (np.arange(k) - starts + 1).astype(np.int32),
            "qty": rng.integers(1, 10, k).astype(np.int32),
            "price": np.round(rng.uniform(1, 200, k), 2),
        }
    )
    return {"countries": countries, "customers": cust, "orders": orders, "order_items": items}


def make_profile(frames: dict[str, pl.DataFrame]) -> dict[str, Any]:
    from sandboxer.profile import profile_frames

    return profile_frames(
        {k: v.lazy() for k, v in frames.items()}, SCHEMA, pii_columns=PII, detect=True
    )


@pytest.fixture(scope="session")
def shop() -> dict[str, pl.DataFrame]:
    return make_shop()


@pytest.fixture(scope="session")
def shop_profile(shop: dict[str, pl.DataFrame]) -> dict[str, Any]:
    return make_profile(shop)


def collect(streams: dict[str, Any]) -> dict[str, pl.DataFrame]:
    """Every stream of ``generate`` as a polars frame."""
    import pyarrow as pa

    out = {}
    for name, batches in streams.items():
        frame = pl.from_arrow(pa.Table.from_batches(list(batches)))
        assert isinstance(frame, pl.DataFrame)
        out[name] = frame
    return out


def orphans(frames: dict[str, pl.DataFrame], schema: dict[str, Any] = SCHEMA) -> dict[str, int]:
    """Child rows whose non-null foreign key matches no parent (anti-joins)."""
    found = {}
    for table, meta in schema.items():
        for fk in meta["foreign_keys"]:
            cols, ref = fk["columns"], fk["ref_table"]
            parent = frames[ref].select(
                pl.col(r).alias(c) for c, r in zip(cols, fk["ref_columns"], strict=True)
            )
            child = frames[table].select(cols).drop_nulls()
            found[f"{table}({','.join(cols)})"] = child.join(parent, on=cols, how="anti").height
    return found
