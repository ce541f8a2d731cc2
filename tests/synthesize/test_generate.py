"""generate(): keys, foreign keys, determinism, scale, distributions, edge cases, privacy."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sandboxer.errors import SandboxerError, SchemaError
from sandboxer.synthesize import generate
from sandboxer.synthesize.values import UNICODE_SAMPLES
from tests.synthesize.conftest import SCHEMA, collect, orphans


def parquet_bytes(streams: dict[str, Any]) -> dict[str, bytes]:
    out = {}
    for name, batches in streams.items():
        sink = io.BytesIO()
        pq.write_table(pa.Table.from_batches(list(batches)), sink)
        out[name] = sink.getvalue()
    return out


def test_keys_unique_and_no_orphans(shop_profile: dict[str, Any]) -> None:
    frames = collect(generate(shop_profile, SCHEMA, seed=1))
    assert list(frames) == ["countries", "customers", "orders", "order_items"]  # parents first
    for name, meta in SCHEMA.items():
        frame = frames[name]
        assert frame.height > 0
        assert frame.select(meta["primary_key"]).is_duplicated().sum() == 0, name
        for uk in meta["unique_keys"]:
            assert frame.select(uk).is_duplicated().sum() == 0, (name, uk)
        for col in meta["columns"]:
            if not col["nullable"]:
                assert frame[col["name"]].null_count() == 0, (name, col["name"])
    assert set(orphans(frames).values()) == {0}
    # The self-reference points to earlier rows only: a forest, never a cycle.
    cust = frames["customers"].with_row_index("i")
    parents = cust.join(cust.select(pl.col("id").alias("referred_by"), pl.col("i").alias("j")),
                        on="referred_by")  # fmt: skip
    assert (parents["j"] < parents["i"]).all()


def test_same_seed_same_bytes(shop_profile: dict[str, Any]) -> None:
    a = parquet_bytes(generate(shop_profile, SCHEMA, seed=7, batch_rows=1000))
    b = parquet_bytes(generate(shop_profile, SCHEMA, seed=7, batch_rows=1000))
    c = parquet_bytes(generate(shop_profile, SCHEMA, seed=8, batch_rows=1000))
    assert a == b
    assert a["orders"] != c["orders"]


@pytest.mark.parametrize("scale", [0.01, 0.5, 3.0])
def test_scale_row_counts(shop_profile: dict[str, Any], scale: float) -> None:
    frames = collect(generate(shop_profile, SCHEMA, seed=1, scale=scale))
    rows = {k: v["rows"] for k, v in shop_profile["tables"].items()}
    assert frames["countries"].height == rows["countries"]  # a lookup keeps its size
    for table in ("customers", "orders"):
        assert frames[table].height == max(1, round(rows[table] * scale))
    # order_items rows follow its orders' fan-out: within a few percent of the scaled count
    assert frames["order_items"].height == pytest.approx(rows["order_items"] * scale, rel=0.05)
    assert set(orphans(frames).values()) == {0}


def test_scale_out_of_range(shop_profile: dict[str, Any]) -> None:
    with pytest.raises(SandboxerError, match=r"between 0\.01 and 100"):
        generate(shop_profile, SCHEMA, seed=1, scale=1000)


def test_tables_subset_is_fk_closed(shop_profile: dict[str, Any]) -> None:
    frames = collect(generate(shop_profile, SCHEMA, seed=1, tables=["orders"]))
    assert set(frames) == {"countries", "customers", "orders"}
    with pytest.raises(SchemaError, match="Did you mean `orders`"):
        generate(shop_profile, SCHEMA, seed=1, tables=["ordres"])


def ks_uniform(x: np.ndarray, lo: float, hi: float) -> float:
    x = np.sort(x)
    n = len(x)
    cdf = (x - lo) / (hi - lo)
    return float(max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n)))


def test_distributions_follow_a_known_profile() -> None:
    profile = {
        "format": "sandboxer.profile/1",
        "tables": {
            "t": {
                "rows": 50_000,
                "primary_key": ["id"],
                "columns": {
                    "id": {"type": "integer", "dtype": "Int64", "null_rate": 0.0},
                    "x": {
                        "type": "float",
                        "dtype": "Float64",
                        "null_rate": 0.1,
                        "min": 0.0,
                        "max": 100.0,
                        "quantiles": list(np.linspace(0, 100, 101)),
                    },
                    "kind": {
                        "type": "string",
                        "dtype": "String",
                        "null_rate": 0.0,
                        "categories": {
                            "values": ["a", "b", "c"],
                            "frequencies": [0.6, 0.3, 0.1],
                            "other": 0.0,
                        },
                    },
                    "day": {
                        "type": "date",
                        "dtype": "Date",
                        "null_rate": 0.0,
                        "min": "2020-01-01",
                        "max": "2020-12-31",
                        "quantiles": ["2020-01-01", "2020-12-31"],
                    },
                },
            }
        },
    }
    frame = collect(generate(profile, None, seed=3))["t"]
    assert frame.height == 50_000
    x = frame["x"].drop_nulls().to_numpy()
    assert frame["x"].null_count() / frame.height == pytest.approx(0.1, abs=0.01)
    assert ks_uniform(x, 0, 100) < 0.05
    shares = frame["kind"].value_counts(normalize=True).sort("kind")["proportion"].to_list()
    assert shares == pytest.approx([0.6, 0.3, 0.1], abs=0.01)
    days = frame["day"].to_physical().to_numpy().astype(float)
    lo, hi = (
        float(np.datetime64("2020-01-01", "D").astype(int)),
        float(np.datetime64("2020-12-31", "D").astype(int)),
    )
    assert ks_uniform(days, lo, hi + 1) < 0.05


def test_distributions_close_to_the_profiled_data(
    shop: dict[str, pl.DataFrame], shop_profile: dict[str, Any]
) -> None:
    from sandboxer.profile import fidelity
    from tests.synthesize.conftest import make_profile

    frames = collect(generate(shop_profile, SCHEMA, seed=1))
    real = np.sort(shop["customers"]["score"].drop_nulls().to_numpy())
    synth = np.sort(frames["customers"]["score"].drop_nulls().to_numpy())
    grid = np.concatenate([real, synth])
    ks = np.max(np.abs(np.searchsorted(real, grid, "right") / len(real)
                       - np.searchsorted(synth, grid, "right") / len(synth)))  # fmt: skip
    assert ks < 0.05
    # Key columns are left out (synthetic keys are new numbers and codes by design), and so
    # are PII columns (fakes have their own lengths).
    report = fidelity(shop_profile, make_profile(frames))
    keys = {(t, c) for t, m in SCHEMA.items() for k in (m["primary_key"], *m["unique_keys"],
            *(f["columns"] for f in m["foreign_keys"])) for c in k}  # fmt: skip
    scores = [
        col["score"]
        for table, entry in report["tables"].items()
        for name, col in entry["columns"].items()
        if (table, name) not in keys and not shop_profile["tables"][table]["columns"][name]["pii"]
    ]
    assert min(scores) > 0.8, report["worst"]
    assert sum(scores) / len(scores) > 0.9
    assert report["foreign_keys_score"] > 0.9


def test_pii_columns_are_fakes(shop: dict[str, pl.DataFrame], shop_profile: dict[str, Any]) -> None:
    cust = collect(generate(shop_profile, SCHEMA, seed=1))["customers"]
    assert cust["email"].str.contains(r"@example\.(com|net|org)$").all()
    assert cust["email"].n_unique() == cust.height
    assert not cust["name"].drop_nulls().str.starts_with("Real Person").any()
    assert cust.join(shop["customers"].select("email"), on="email", how="semi").height == 0


def test_no_generated_row_equals_a_real_row(
    shop: dict[str, pl.DataFrame], shop_profile: dict[str, Any]
) -> None:
    from sandboxer.profile import synthetic_privacy

    frames = collect(generate(shop_profile, SCHEMA, seed=1))
    for table in SCHEMA:
        real, synth = shop[table], frames[table]
        report = synthetic_privacy(real.lazy(), synth.lazy(), real.columns, seed=1)
        assert report["exact_matches"] == 0, table


def test_edge_cases(shop_profile: dict[str, Any]) -> None:
    frames = collect(generate(shop_profile, SCHEMA, seed=1, edge_cases=True))
    cust, orders = frames["customers"], frames["orders"]
    assert cust["name"].null_count() > 0
    assert (cust["name"] == "").any()
    assert cust["name"].is_in(list(UNICODE_SAMPLES)).sum() >= 5
    assert cust["score"].is_nan().any() and cust["score"].is_infinite().any()
    assert cust["signup"].min() == dt.date(1, 1, 1)
    assert orders["amount"].cast(pl.Float64).max() == pytest.approx(99_999_999.99)
    assert (orders["ordered_at"] == dt.date(2000, 2, 29)).any()
    assert (orders["note"] == "").any()
    # Duplicates on every column that is not a key, where nothing forbids them.
    assert orders.drop("order_id", "customer_id").is_duplicated().any()
    # Keys and foreign keys are never touched.
    for name, meta in SCHEMA.items():
        assert frames[name].select(meta["primary_key"]).is_duplicated().sum() == 0
    assert cust["email"].n_unique() == cust.height
    assert set(orphans(frames).values()) == {0}
    assert cust["referred_by"][0] is None
