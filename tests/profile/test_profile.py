"""Profiles: what they hold, and that no value of a PII column ever gets in."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from sandboxer.build.builder import build_snapshot
from sandboxer.console import NoopConsole
from sandboxer.profile import FORMAT, fanout, profile_frames, profile_snapshot, profile_source
from sandboxer.snapshot.store import LocalStore
from sandboxer.sources import create_source
from tests.factories import dataset, make_duckdb
from tests.redact.canaries import canary_values, make_canary_duckdb, person


def dumps(profile: dict) -> str:
    # Strict JSON: NaN or infinities would make the profile unreadable elsewhere.
    return json.dumps(profile, allow_nan=False, sort_keys=True)


def canary_frame() -> pl.LazyFrame:
    people = [person(i) for i in range(300)]
    return pl.LazyFrame(
        {
            "id": [p["id"] for p in people],
            "email": [p["email"] for p in people],
            "full_name": [p["full_name"] for p in people],
            "phone": [p["phone"] for p in people],
            "ssn": [p["ssn"] for p in people],
            "card": [p["card"] for p in people],
            "birth_date": [dt.date.fromisoformat(p["birth_date"]) for p in people],
            # PII by the caller's word only: few distinct values (would be listed as
            # categories) and numbers (would get min/max/quantiles).
            "team": [["Quokka-Red", "Quokka-Blue"][i % 2] for i in range(300)],
            "salary": [987_654_000 + i for i in range(300)],
            "status": [p["status"] for p in people],
            "tier": pl.Series(
                [["Quokka-Gold", "Quokka-Tin"][i % 2] for i in range(300)],
                dtype=pl.Enum(["Quokka-Gold", "Quokka-Tin"]),
            ),
        }
    )


def test_no_value_of_a_pii_column_gets_into_the_profile() -> None:
    profile = profile_frames(
        {"people": canary_frame()},
        None,
        pii_columns={("people", "team"), ("people", "salary"), ("people", "tier")},
    )
    text = dumps(profile)
    columns = profile["tables"]["people"]["columns"]
    detected = {c for c, s in columns.items() if s["pii"]}
    assert {"email", "full_name", "phone", "ssn", "card", "team", "salary"} <= detected
    for value in canary_values():
        assert value not in text
    for value in ["Quokka", "Quokka-Red", "987654", "canary", "quokka", "leakcheck", "4539"]:
        assert value not in text, value
    for first_or_last in ["Maria", "Schneider", "Zimmermann"]:
        assert first_or_last not in text
    salary = columns["salary"]
    assert salary["distinct"] == 300 and salary["null_rate"] == 0
    assert not {"min", "max", "quantiles", "histogram", "categories"} & set(salary)
    assert "categories" not in columns["team"]
    assert columns["tier"]["dtype"] == "Enum"
    # Patterns are class sequences: the shape of an email survives, its letters do not.
    assert {"pattern": "a9.a@a.a", "rows": 300, "share": 1.0} in [
        {k: s[k] for k in ("pattern", "rows", "share")} for s in columns["email"]["shapes"]
    ]
    # A column that is not PII keeps its categories.
    assert columns["status"]["categories"]["values"] == ["active", "closed", "paused"]


def test_profile_source_keeps_canaries_out(tmp_path: Path) -> None:
    source = create_source(make_canary_duckdb(tmp_path / "canary.duckdb"))
    with source:
        profile = profile_source(source, sample_rows=100)
    text = dumps(profile)
    for value in canary_values():
        assert value not in text
    people = profile["tables"]["people"]
    assert people["rows"] == 300 and people["sampled"] and people["profiled_rows"] < 300
    # Both tables sampled: every order of the sampled people counts (each has exactly 3).
    fk = profile["tables"]["orders"]["foreign_keys"][0]
    assert fk["ref_table"] == "people"
    fan = fk["children_per_parent"]
    assert fan["parents"] == people["profiled_rows"]
    assert fan["counts"] == {"children": [3], "parents": [people["profiled_rows"]]}
    assert fan["children"] == 3 * people["profiled_rows"] and fan["orphans"] is None


def test_low_cardinality_categories_with_frequencies_high_cardinality_without() -> None:
    n = 1000
    frame = pl.LazyFrame(
        {
            # 'a' 600, 'b' 390, 'c' 6 (>= 5 rows but < 1 %), 'd' 4 (< 5 rows)
            "kind": ["a"] * 600 + ["b"] * 390 + ["c"] * 6 + ["d"] * 4,
            "code": [f"K{i:05d}" for i in range(n)],
            "level": [i % 7 for i in range(n)],
            "flag": [i % 4 == 0 for i in range(n)],
        }
    )
    columns = profile_frames({"t": frame}, None, detect=False)["tables"]["t"]["columns"]
    kind = columns["kind"]["categories"]
    assert kind["values"] == ["a", "b"]
    assert kind["frequencies"] == [0.6, 0.39]
    assert kind["rows"] == [600, 390]
    assert kind["other"] == pytest.approx(0.01) and kind["other_values"] == 2
    assert "categories" not in columns["code"]
    assert columns["code"]["unique"] and columns["code"]["distinct"] == n
    assert "K00001" not in dumps({"c": columns["code"]})
    assert columns["code"]["patterns"][0] == {"pattern": "A99999", "rows": n, "share": 1.0}
    assert columns["level"]["categories"]["values"] == [0, 1, 2, 3, 4, 5, 6]
    assert columns["level"]["min"] == 0 and columns["level"]["max"] == 6
    assert columns["flag"]["true_rate"] == 0.25
    assert columns["flag"]["categories"]["values"] == [False, True]


def test_numbers_and_dates_get_ranges_quantiles_and_histograms() -> None:
    start = dt.date(2024, 1, 1)
    frame = pl.LazyFrame(
        {
            "x": [float(i) for i in range(101)] + [None, float("nan")],
            "day": [start + dt.timedelta(days=i) for i in range(101)] + [None, None],
            "at": [
                dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i) for i in range(103)
            ],
        }
    )
    columns = profile_frames({"t": frame}, None, detect=False)["tables"]["t"]["columns"]
    x = columns["x"]
    assert (x["min"], x["max"], x["null_rate"]) == (0.0, 100.0, round(1 / 103, 6))
    assert x["quantiles"] == [float(i) for i in range(101)]
    assert x["histogram"]["counts"] == [5] * 19 + [6]
    assert x["histogram"]["edges"][:3] == [0.0, 5.0, 10.0]
    day = columns["day"]
    assert (day["min"], day["max"]) == ("2024-01-01", "2024-04-10")
    assert day["quantiles"][50] == "2024-02-20"
    assert columns["at"]["max"] == "2024-01-05T06:00:00+00:00"
    dumps({"c": columns})


def test_fanout_counts_children_per_parent() -> None:
    parent = pl.LazyFrame({"id": [1, 2, 3, 4, 5]})
    # 1 -> 3 children, 2 -> 1, 3 -> 0, 4 -> 2, 5 -> 0; one orphan (9), one null.
    child = pl.LazyFrame({"pid": [1, 1, 1, 2, 4, 4, 9, None]})
    out = fanout(child, parent, ["pid"], ["id"])
    assert out["parents"] == 5
    assert out["childless"] == 2
    assert out["children"] == 6
    assert out["orphans"] == 1 and out["null_children"] == 1
    assert out["counts"] == {"children": [0, 1, 2, 3], "parents": [2, 1, 1, 1]}
    assert out["max"] == 3 and out["mean"] == 1.2
    assert out["quantiles"][0] == 0 and out["quantiles"][-1] == 3 and out["quantiles"][50] == 1


def test_composite_foreign_key_fanout_in_a_profile() -> None:
    parent = pl.LazyFrame({"a": [1, 1, 2], "b": ["x", "y", "x"]})
    child = pl.LazyFrame({"pa": [1, 1, 1, 2], "pb": ["x", "x", "y", "x"]})
    meta = {
        "child": {
            "foreign_keys": [
                {"columns": ["pa", "pb"], "ref_table": "parent", "ref_columns": ["a", "b"]}
            ]
        },
        "parent": {"primary_key": ["a", "b"]},
    }
    profile = profile_frames({"parent": parent, "child": child}, meta, detect=False)
    fk = profile["tables"]["child"]["foreign_keys"][0]["children_per_parent"]
    assert fk["counts"] == {"children": [1, 2], "parents": [2, 1]}
    assert profile["tables"]["parent"]["primary_key"] == ["a", "b"]


def test_profile_snapshot_treats_redacted_columns_as_pii(tmp_path: Path) -> None:
    url = make_duckdb(tmp_path / "g.duckdb")
    store = LocalStore(tmp_path / "store")
    info = build_snapshot(
        "g", dataset(url, roots=[{"table": "customer", "percent": 20}]), store, NoopConsole()
    )
    # The name the redaction stage records its report under (it was read as "redact" once,
    # so rewritten columns were profiled as ordinary ones).
    info.manifest.stages["redaction"] = {"columns": {"address": {"city": {}}}}
    profile = profile_snapshot(info)
    assert profile["format"] == FORMAT
    assert profile["source"] == {"snapshot": info.id, "dataset": "g"}
    tables = profile["tables"]
    assert tables["customer"]["rows"] == info.manifest.tables["customer"].rows
    assert tables["address"]["columns"]["city"]["pii"]
    assert "categories" not in tables["address"]["columns"]["city"]
    orders = {tuple(fk["columns"]): fk for fk in tables["orders"]["foreign_keys"]}
    assert orders[("customer_id",)]["children_per_parent"]["orphans"] == 0
    assert "city 1" not in dumps(profile)


def test_empty_and_all_null_columns() -> None:
    frame = pl.LazyFrame({"n": [None, None]}, schema={"n": pl.Int64})
    columns = profile_frames({"t": frame, "e": frame.head(0)}, None)["tables"]
    assert columns["t"]["columns"]["n"] == {
        "type": "integer",
        "dtype": "Int64",
        "nullable": None,
        "pii": False,
        "pii_entity": None,
        "nulls": 2,
        "null_rate": 1.0,
        "distinct": 0,
        "distinct_ratio": 0.0,
        "unique": False,
    }
    assert columns["e"]["rows"] == 0
