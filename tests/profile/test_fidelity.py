"""Fidelity between profiles, KS from quantile sketches, and privacy of synthetic rows."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from sandboxer.errors import SandboxerError
from sandboxer.profile import fidelity, ks_from_quantiles, profile_frames, synthetic_privacy
from sandboxer.profile.fidelity import ks_from_counts, total_variation

N = 20_000


def quantiles(values: np.ndarray, n: int = 101) -> list[float]:
    """Nearest-rank quantiles, as profiles store them."""
    ordered = np.sort(values)
    return [float(ordered[round(i / (n - 1) * (len(ordered) - 1))]) for i in range(n)]


def normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_ks_of_identical_sketches_is_zero() -> None:
    q = quantiles(np.random.default_rng(1).normal(size=N))
    assert ks_from_quantiles(q, q) == 0.0
    assert ks_from_quantiles([3.0] * 101, [3.0] * 101) == 0.0


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # Uniform(0, 1) vs Uniform(0.2, 1.2): sup |F - G| = 0.2
        ("uniform", 0.2, 0.2),
        # N(0, 1) vs N(0.5, 1): 2 * Phi(0.25) - 1
        ("normal", 0.5, 2 * normal_cdf(0.25) - 1),
        # N(0, 1) vs N(2, 1): 2 * Phi(1) - 1
        ("normal", 2.0, 2 * normal_cdf(1.0) - 1),
    ],
)
def test_ks_matches_known_distributions(a: str, b: float, expected: float) -> None:
    rng = np.random.default_rng(7)
    draw = rng.uniform if a == "uniform" else rng.normal
    x, y = draw(size=N), draw(size=N) + b
    assert ks_from_quantiles(quantiles(x), quantiles(y)) == pytest.approx(expected, abs=0.02)


def test_ks_of_disjoint_and_discrete_distributions() -> None:
    assert ks_from_quantiles(quantiles(np.zeros(10) + 1), quantiles(np.zeros(10) + 5)) == 1.0
    # {1: 50 %, 2: 50 %} vs {1: 80 %, 2: 20 %}: 0.3, up to the sketch's 1 % resolution.
    a = np.array([1] * 50 + [2] * 50, dtype=float)
    b = np.array([1] * 80 + [2] * 20, dtype=float)
    assert ks_from_quantiles(quantiles(a), quantiles(b)) == pytest.approx(0.3, abs=0.011)
    assert ks_from_counts(([1, 2], [50, 50]), ([1, 2], [80, 20])) == pytest.approx(0.3)


def test_total_variation() -> None:
    a = {"values": ["x", "y"], "frequencies": [0.5, 0.5], "other": 0.0}
    b = {"values": ["x", "z"], "frequencies": [0.7, 0.2], "other": 0.1}
    # |0.5-0.7| + |0.5-0| + |0-0.2| + |0-0.1| = 1.0, halved
    assert total_variation(a, b) == pytest.approx(0.5)
    assert total_variation(a, a) == 0.0
    # True is not 1: a flag compared with a count is a different category.
    c = {"values": [True], "frequencies": [1.0], "other": 0.0}
    d = {"values": [1], "frequencies": [1.0], "other": 0.0}
    assert total_variation(c, d) == 1.0


def orders(n: int, seed: int, shift: float = 0.0) -> dict[str, pl.LazyFrame]:
    rng = np.random.default_rng(seed)
    customers = pl.DataFrame({"id": np.arange(n // 10)})
    start = dt.date(2020, 1, 1)
    frame = pl.DataFrame(
        {
            "id": np.arange(n),
            "customer_id": rng.integers(0, n // 10, n),
            "amount": rng.lognormal(3 + shift, 1, n),
            "status": rng.choice(["open", "shipped", "closed"], n, p=[0.2, 0.5, 0.3]),
            "note": [None if i % 10 == 0 else f"Note {i}" for i in range(n)],
        }
    ).with_columns(
        (pl.lit(start) + pl.duration(days=pl.Series(rng.integers(0, 700, n)))).alias("day")
    )
    return {"customers": customers.lazy(), "orders": frame.lazy()}


META = {
    "orders": {
        "primary_key": ["id"],
        "foreign_keys": [
            {"columns": ["customer_id"], "ref_table": "customers", "ref_columns": ["id"]}
        ],
    },
    "customers": {"primary_key": ["id"]},
}


def profile(tables: dict[str, pl.LazyFrame]) -> dict:
    return profile_frames(tables, META, detect=False)


def test_fidelity_of_a_profile_with_itself_is_one() -> None:
    reference = profile(orders(N, 1))
    result = fidelity(reference, reference)
    assert result["score"] == 1.0
    assert result["worst"] == []
    assert result["compared"] == {"tables": 2, "columns": 7, "foreign_keys": 1}
    amount = result["tables"]["orders"]["columns"]["amount"]
    assert amount == {
        "metric": "ks",
        "distance": 0.0,
        "null_rate_delta": 0.0,
        "distinct_ratio_delta": 0.0,
        "unique_lost": False,
        "score": 1.0,
    }
    assert result["tables"]["orders"]["columns"]["status"]["metric"] == "tv"
    assert result["tables"]["orders"]["columns"]["note"]["metric"] == "ks_length"
    assert result["tables"]["orders"]["foreign_keys"][0]["metric"] == "ks_counts"


def test_a_resample_scores_high_and_a_shifted_copy_lower() -> None:
    reference = profile(orders(N, 1))
    resampled = fidelity(reference, profile(orders(N, 2)))
    shifted = fidelity(reference, profile(orders(N, 2, shift=1.0)))
    assert 0.9 < resampled["score"] < 1.0
    assert shifted["score"] < resampled["score"]
    worst = shifted["worst"][0]
    assert (worst["table"], worst["column"], worst["metric"]) == ("orders", "amount", "ks")
    # log-normal shifted by 1 in log space: KS = 2 * Phi(0.5) - 1
    assert worst["distance"] == pytest.approx(2 * normal_cdf(0.5) - 1, abs=0.03)


def test_a_subset_with_changed_nulls_fanout_and_missing_parts() -> None:
    tables = orders(N, 1)
    reference = profile(tables)
    # Keep a tenth of the customers with all their orders (fan-out kept), blank every note
    # and drop the `day` column (redaction may drop columns).
    subset = {
        "customers": tables["customers"].filter(pl.col("id") % 10 == 0),
        "orders": tables["orders"]
        .filter(pl.col("customer_id") % 10 == 0)
        .with_columns(pl.lit(None, pl.String).alias("note"))
        .drop("day"),
    }
    result = fidelity(reference, profile(subset))
    note = result["tables"]["orders"]["columns"]["note"]
    assert note["null_rate_delta"] == pytest.approx(0.9)
    assert note["score"] == pytest.approx(0.1)
    assert result["missing_columns"] == ["orders.day"]
    fk = result["tables"]["orders"]["foreign_keys"][0]
    assert fk["distance"] < 0.1
    assert result["tables"]["orders"]["rows_ratio"] == pytest.approx(0.1, abs=0.02)
    assert result["worst"][0]["column"] == "note"
    # Orders spread over every customer of a 10 % customer sample: fan-out triples.
    skewed = {
        "customers": tables["customers"].filter(pl.col("id") % 10 == 0),
        "orders": tables["orders"].with_columns(pl.col("customer_id") // 10 * 10),
    }
    fk = fidelity(reference, profile(skewed))["tables"]["orders"]["foreign_keys"][0]
    assert fk["distance"] > 0.8
    assert fk["mean"]["candidate"] == pytest.approx(fk["mean"]["reference"] * 10, rel=0.01)


def test_a_unique_column_with_duplicates_scores_zero() -> None:
    tables = orders(2000, 1)
    reference = profile(tables)
    doubled = {**tables, "orders": pl.concat([tables["orders"], tables["orders"].head(10)])}
    column = fidelity(reference, profile(doubled))["tables"]["orders"]["columns"]["id"]
    assert column["unique_lost"] and column["score"] == 0.0


def test_missing_tables_are_listed_not_scored() -> None:
    tables = orders(2000, 1)
    reference = profile(tables)
    result = fidelity(reference, profile_frames({"orders": tables["orders"]}, None, detect=False))
    assert result["missing_tables"] == ["customers"]
    assert result["compared"]["tables"] == 1


def test_fidelity_refuses_other_formats() -> None:
    with pytest.raises(SandboxerError, match="format"):
        fidelity({"format": "x", "tables": {}}, {"format": "x", "tables": {}})


def real_and_fake(copied: int) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    rng = np.random.default_rng(3)
    real = pl.DataFrame(
        {
            "age": rng.integers(18, 90, 5000),
            "city": rng.choice(["Berlin", "Paris", "Rome", "Oslo"], 5000),
            "score": rng.normal(size=5000),
            "since": [
                dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 900, 5000)
            ],
        }
    )
    fake = pl.DataFrame(
        {
            "age": rng.integers(18, 90, 1000),
            "city": rng.choice(["Berlin", "Paris", "Rome", "Oslo"], 1000),
            "score": rng.normal(size=1000) + 10,  # never equal to a real score
            "since": [
                dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 900, 1000)
            ],
        }
    )
    if copied:
        fake = pl.concat([fake.head(1000 - copied), real.sample(copied, seed=1)])
    return real.lazy(), fake.lazy()


def test_identical_rows_are_detected() -> None:
    real, fake = real_and_fake(copied=7)
    result = synthetic_privacy(real, fake, ["age", "city", "score", "since"])
    assert result["exact_matches"] == 7
    assert result["exact_match_share"] == 0.007
    assert not result["ok"]
    assert result["dcr"]["min"] == 0.0


def test_no_identical_rows_and_dcr_against_baseline() -> None:
    real, fake = real_and_fake(copied=0)
    result = synthetic_privacy(real, fake, ["age", "city", "score", "since"], reference_rows=3000)
    assert result["exact_matches"] == 0 and result["ok"]
    assert result["dcr"]["sampled"] == 1000 and result["dcr"]["reference_rows"] == 3000
    assert result["dcr"]["min"] > 0
    # Scores shifted by 10 standard deviations sit far from every real row.
    assert result["dcr"]["median"] > result["baseline"]["median"]
    assert 0 <= result["baseline"]["min"] <= result["baseline"]["median"] <= 1


def test_nulls_match_only_nulls() -> None:
    real = pl.LazyFrame({"a": [1, None, 3], "b": ["x", None, "z"]})
    fake = pl.LazyFrame({"a": [None, 1], "b": [None, "y"]})
    result = synthetic_privacy(real, fake, ["a", "b"])
    assert result["exact_matches"] == 1
