"""fill_in(): synthetic rows added to a subset, keys not colliding, foreign keys resolving."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from sandboxer.errors import SandboxerError
from sandboxer.synthesize import fill_in
from tests.synthesize.conftest import SCHEMA, orphans


def subset(shop: dict[str, pl.DataFrame], customers: int = 50) -> dict[str, pl.DataFrame]:
    cust = shop["customers"].head(customers).with_columns(referred_by=pl.lit(None, pl.Int64))
    orders = shop["orders"].join(cust.select(pl.col("id").alias("customer_id")),
                                 on="customer_id", how="semi")  # fmt: skip
    items = shop["order_items"].join(orders.select("order_id"), on="order_id", how="semi")
    return {"countries": shop["countries"], "customers": cust, "orders": orders,
            "order_items": items}  # fmt: skip


def merged(old: dict[str, pl.DataFrame], new: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {
        k: pl.concat([v, new[k].select(v.columns)], how="vertical_relaxed") if k in new else v
        for k, v in old.items()
    }


def test_fill_orders(shop: dict[str, pl.DataFrame], shop_profile: dict[str, Any]) -> None:
    old = subset(shop)
    new = fill_in({k: v.lazy() for k, v in old.items()}, shop_profile, SCHEMA,
                  table="orders", rows=500, seed=1)  # fmt: skip
    assert set(new) == {"orders"}
    assert new["orders"].height == 500
    assert new["orders"]["order_id"].min() > old["orders"]["order_id"].max()  # type: ignore[operator]
    both = merged(old, new)
    assert both["orders"]["order_id"].is_duplicated().sum() == 0
    assert set(orphans(both).values()) == {0}
    # New orders belong to existing customers.
    assert new["orders"]["customer_id"].is_in(old["customers"]["id"].implode()).all()


def test_fill_composite_key(shop: dict[str, pl.DataFrame], shop_profile: dict[str, Any]) -> None:
    old = subset(shop)
    new = fill_in({k: v.lazy() for k, v in old.items()}, shop_profile, SCHEMA,
                  table="order_items", rows=300, seed=2)  # fmt: skip
    both = merged(old, new)
    assert new["order_items"].height == 300
    assert both["order_items"].select("order_id", "line_no").is_duplicated().sum() == 0
    assert set(orphans(both).values()) == {0}


def test_fill_where(shop: dict[str, pl.DataFrame], shop_profile: dict[str, Any]) -> None:
    old = subset(shop)
    new = fill_in({k: v.lazy() for k, v in old.items()}, shop_profile, SCHEMA,
                  table="orders", rows=100, seed=3, where="status = 'cancelled'")  # fmt: skip
    assert new["orders"].height == 100
    assert (new["orders"]["status"] == "cancelled").all()
    with pytest.raises(SandboxerError, match="satisfy the `where` condition"):
        fill_in({k: v.lazy() for k, v in old.items()}, shop_profile, SCHEMA,
                table="orders", rows=10, seed=3, where="status = 'no such status'")  # fmt: skip


def test_fill_generates_missing_parents(
    shop: dict[str, pl.DataFrame], shop_profile: dict[str, Any]
) -> None:
    old = subset(shop)
    existing = {k: v.lazy() for k, v in old.items() if k != "customers"}
    new = fill_in(existing, shop_profile, SCHEMA, table="orders", rows=200, seed=4)
    assert list(new) == ["customers", "orders"]
    assert new["customers"].height > 0
    assert new["orders"]["customer_id"].is_in(new["customers"]["id"].implode()).all()
    assert new["customers"]["country"].is_in(old["countries"]["code"].implode()).all()
