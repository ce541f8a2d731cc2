"""One config, three sources holding the same data: DuckDB, PostgreSQL and Parquet files.

The md5 sample on primary keys is the same SQL in every dialect, so every source must select
exactly the same rows; and every build must resolve every foreign key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from examples.shop.generate import generate_shop, load_postgres, write_duckdb
from sandboxer.build.builder import build_snapshot
from sandboxer.console import NoopConsole
from sandboxer.snapshot.store import LocalStore
from sandboxer.snapshot.verify import verify
from tests.factories import dataset, read_snapshot

SHOP_KEYS: dict[str, Any] = {
    "primary": {
        "countries": ["code"],
        "customers": ["id"],
        "addresses": ["id"],
        "products": ["id"],
        "orders": ["id"],
        "order_items": ["order_id", "line_no"],
        "payments": ["id"],
    },
    "unique": {"products": [["sku"]]},
    "foreign": [
        {"table": "customers", "columns": ["country_code"], "references": "countries"},
        {"table": "customers", "columns": ["referred_by"], "references": "customers"},
        {"table": "addresses", "columns": ["customer_id"], "references": "customers"},
        {"table": "addresses", "columns": ["country_code"], "references": "countries"},
        {"table": "orders", "columns": ["customer_id"], "references": "customers"},
        {"table": "orders", "columns": ["shipping_address_id"], "references": "addresses"},
        {"table": "order_items", "columns": ["order_id"], "references": "orders"},
        {"table": "order_items", "columns": ["product_id"], "references": "products"},
        {
            "table": "order_items",
            "columns": ["product_sku"],
            "references": "products",
            "ref_columns": ["sku"],
        },
        {"table": "payments", "columns": ["order_id"], "references": "orders"},
    ],
}
SUBSET: dict[str, Any] = {
    "roots": [{"table": "customers", "percent": 15}],
    "tables": {"countries": "all"},
    "relations": [{"table": "customers", "columns": ["referred_by"], "follow_children": False}],
}


@pytest.fixture(scope="module")
def shop_tables() -> dict[str, Any]:
    return generate_shop(customers=600, seed=11)


def ids(info: Any) -> dict[str, list[Any]]:
    frames = read_snapshot(info)
    out = {}
    for key, frame in frames.items():
        pk = info.manifest.tables[key].primary_key
        out[key.split(".")[-1]] = sorted(map(tuple, frame.select(pk).rows()))
    return out


def test_duckdb_postgres_and_files_select_the_same_rows(
    tmp_path: Path, shop_tables: dict[str, Any], pg_url: str
) -> None:
    duck = write_duckdb(shop_tables, tmp_path / "shop.duckdb")
    load_postgres(shop_tables, pg_url)
    files = tmp_path / "files"
    files.mkdir()
    for name, table in shop_tables.items():
        pq.write_table(table, files / f"{name}.parquet")

    store = LocalStore(tmp_path / "store")
    results = {}
    for label, url, keys in [
        ("duckdb", f"duckdb:///{duck}", {}),
        ("postgres", pg_url, {}),
        ("files", str(files), SHOP_KEYS),
    ]:
        info = build_snapshot(
            label, dataset(url, keys=keys, seed=5, **SUBSET), store, NoopConsole()
        )
        assert info.manifest.integrity.ok, label
        assert verify(info)["ok"], label
        results[label] = ids(info)
    assert results["duckdb"] == results["postgres"] == results["files"]
    assert len(results["duckdb"]["customers"]) > 60
    assert len(results["duckdb"]["order_items"]) > 100
