"""compare_table on small real Parquet files: keyed diffs, tolerances, expectations, stats."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sandboxer.compare import TableDiff, compare_outputs, compare_table
from sandboxer.config.compare import OutputCompare

Diff = Callable[..., TableDiff]

BASE = {
    "id": [1, 2, 3, 4, 5, 6],
    "amount": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
    "label": ["a", "b", "c", "d", "e", "f"],
    "day": [date(2024, 1, d) for d in range(1, 7)],
}


def with_(data: dict, **changes: dict[int, object]) -> dict:
    """A copy of ``data`` with ``column={row: value}`` changes."""
    out = {k: list(v) for k, v in data.items()}
    for column, rows in changes.items():
        for row, value in rows.items():
            out[column][row] = value
    return out


def column(d: TableDiff, name: str):
    return next(c for c in d.columns if c.name == name)


def test_identical_outputs_pass(diff_of: Diff) -> None:
    d = diff_of(BASE, BASE)
    assert d.status == "pass", d.reasons
    assert (d.rows.identical, d.rows.modified, d.rows.added, d.rows.removed) == (6, 0, 0, 0)
    assert d.schema.empty
    assert all(c.match_rate == 1.0 for c in d.columns)
    assert d.samples is None


def test_modified_added_removed_counted_exactly(diff_of: Diff) -> None:
    current = with_(BASE, amount={0: 11.0, 1: 21.0}, label={1: "B", 2: "C"})
    current = {k: v[1:] for k, v in current.items()}  # id 1 removed
    current = {k: [*v, new] for (k, v), new in
               zip(current.items(), [7, 70.0, "g", date(2024, 1, 7)], strict=True)}  # fmt: skip
    d = diff_of(BASE, current)
    assert d.status == "fail"
    r = d.rows
    assert (r.baseline, r.current, r.matched) == (6, 6, 5)
    assert (r.identical, r.modified, r.added, r.removed) == (3, 2, 1, 1)
    assert column(d, "amount").conflicting == 1  # id 2 (id 1 is gone)
    assert column(d, "label").conflicting == 2
    assert column(d, "label").match_rate == pytest.approx(3 / 5)
    assert any("1 rows added" in x for x in d.reasons)
    assert any("1 rows removed" in x for x in d.reasons)
    assert any("2 rows modified" in x and "label (2)" in x for x in d.reasons)


def test_composite_key(diff_of: Diff) -> None:
    base = {"a": [1, 1, 2], "b": ["x", "y", "x"], "v": [1, 2, 3]}
    cur = {"a": [1, 1, 2], "b": ["x", "y", "x"], "v": [1, 5, 3]}
    d = diff_of(base, cur, key=["a", "b"])
    assert (d.rows.identical, d.rows.modified) == (2, 1)


@pytest.mark.parametrize(
    ("tolerance", "near", "far"),
    [
        ({"abs": 0.1}, 30.1, 30.2),
        ({"rel": 0.01}, 30.3, 30.4),
        ({"decimals": 1}, 30.04, 30.06),
    ],
)
def test_tolerances(diff_of: Diff, tolerance: dict, near: float, far: float) -> None:
    near_diff = diff_of(BASE, with_(BASE, amount={2: near}), tolerances={"amount": tolerance})
    assert near_diff.status == "pass", near_diff.reasons
    assert column(near_diff, "amount").within_tolerance == 1
    assert column(near_diff, "amount").compared_as == "tolerance"
    far_diff = diff_of(BASE, with_(BASE, amount={2: far}), tolerances={"amount": tolerance})
    assert far_diff.status == "fail"
    assert column(far_diff, "amount").conflicting == 1


def test_star_tolerance_applies_to_numeric_columns_only(diff_of: Diff) -> None:
    d = diff_of(BASE, with_(BASE, amount={0: 10.05}), tolerances={"*": {"abs": 0.1}})
    assert d.status == "pass", d.reasons
    assert column(d, "label").compared_as == "exact"
    own = diff_of(BASE, with_(BASE, amount={0: 10.05}),
                  tolerances={"*": {"abs": 0.1}, "amount": {"abs": 0.01}})  # fmt: skip
    assert own.status == "fail"


def test_decimal_columns_compare_with_tolerance(diff_of: Diff) -> None:
    dec = pl.Decimal(15, 2)
    base = pl.DataFrame({"id": [1, 2], "price": pl.Series(["1.00", "2.00"]).cast(dec)})
    cur = pl.DataFrame({"id": [1, 2], "price": pl.Series(["1.00", "2.01"]).cast(dec)})
    assert diff_of(base, cur).status == "fail"
    assert diff_of(base, cur, tolerances={"price": {"abs": 0.01}}).status == "pass"


def test_ignored_columns_are_not_compared(diff_of: Diff) -> None:
    current = with_(BASE, label={0: "changed"})
    current["run_at"] = [1] * 6
    d = diff_of(BASE, current, ignore=["label", "run_at"])
    assert d.status == "pass", d.reasons
    assert d.ignored == ["label", "run_at"]
    assert [c.name for c in d.columns] == ["amount", "day"]


def test_expected_change_passes_and_other_change_still_fails(diff_of: Diff) -> None:
    current = with_(BASE, amount={0: 99.0, 1: 98.0})
    expected = [{"column": "amount", "reason": "new pricing"}]
    d = diff_of(BASE, current, expected=expected)
    assert d.status == "pass", d.reasons
    assert (d.rows.modified, d.rows.modified_unexpected) == (2, 0)
    assert [(e.column, e.seen, e.rows) for e in d.expected] == [("amount", True, 2)]

    also_label = with_(current, label={3: "x"})
    d = diff_of(BASE, also_label, expected=expected)
    assert d.status == "fail"
    assert d.rows.modified_unexpected == 1
    assert any("label (1)" in r for r in d.reasons)

    limited = diff_of(BASE, current, expected=[{"column": "amount", "max_rows": 1}])
    assert limited.status == "fail"
    assert any("declared at most 1" in r for r in limited.reasons)


def test_expected_rows_added_and_max_modified_rows(diff_of: Diff) -> None:
    current = {k: [*v, v[-1]] for k, v in BASE.items()}
    current["id"][-1] = 99
    assert diff_of(BASE, current).status == "fail"
    assert diff_of(BASE, current, expected=[{"kind": "rows_added"}]).status == "pass"
    modified = with_(BASE, label={0: "z"})
    assert diff_of(BASE, modified, max_modified_rows=1).status == "pass"
    assert diff_of(BASE, with_(modified, label={1: "y"}), max_modified_rows=1).status == "fail"


def test_schema_diff(diff_of: Diff) -> None:
    current = dict(BASE)
    del current["label"]
    current["extra"] = [0] * 6
    current["amount"] = [int(x) for x in BASE["amount"]]
    d = diff_of(BASE, current)
    assert [(c.name, c.type) for c in d.schema.added] == [("extra", "Int64")]
    assert [c.name for c in d.schema.removed] == ["label"]
    assert [(c.name, c.baseline, c.current) for c in d.schema.type_changed] == [
        ("amount", "Float64", "Int64")
    ]
    assert column(d, "amount").compared_as == "cast:Float64"
    assert column(d, "amount").differing == 0  # same values, other type
    assert d.status == "fail"
    assert len(d.reasons) == 3

    expected = [{"kind": "added_column", "column": "extra"},
                {"kind": "removed_column", "column": "label"},
                {"kind": "type", "column": "amount"}]  # fmt: skip
    d = diff_of(BASE, current, expected=expected)
    assert d.status == "pass", d.reasons
    assert all(e.seen for e in d.expected)


def test_null_on_one_side_counters(diff_of: Diff) -> None:
    base = with_(BASE, label={0: None})
    current = with_(BASE, label={1: None, 2: None}, amount={3: None})
    d = diff_of(base, current)
    label = column(d, "label")
    assert (label.null_in_baseline_only, label.null_in_current_only, label.conflicting) == (
        1, 2, 0)  # fmt: skip
    assert column(d, "amount").null_in_current_only == 1
    assert d.rows.modified == 4
    both_null = diff_of(base, base)
    assert both_null.status == "pass"


def test_duplicate_keys_are_an_error_without_values(diff_of: Diff) -> None:
    current = with_(BASE, id={1: 1, 2: 1, 4: 4})
    d = diff_of(BASE, current, samples=5)
    assert d.status == "error"
    assert d.duplicates is not None
    assert (d.duplicates.current_keys, d.duplicates.current_rows) == (2, 5)
    assert (d.duplicates.baseline_keys, d.duplicates.baseline_rows) == (0, 0)
    assert "current: 2 key values on 5 rows" in d.reasons[0]
    assert d.samples is None
    assert d.rows.matched is None


def test_missing_key_column_is_an_error(diff_of: Diff) -> None:
    d = diff_of(BASE, BASE, key=["idd"])
    assert d.status == "error"
    assert "Did you mean `id`?" in d.reasons[0]


def test_samples_only_when_asked(diff_of: Diff) -> None:
    current = with_(BASE, amount={1: 21.0}, label={1: "B"})
    current = {k: v[:-1] for k, v in current.items()}
    assert diff_of(BASE, current).samples is None
    d = diff_of(BASE, current, samples=10)
    assert d.samples is not None
    assert [(s.change, s.key) for s in d.samples] == [("modified", {"id": 2}),
                                                      ("removed", {"id": 6})]  # fmt: skip
    assert d.samples[0].columns == {"amount": {"baseline": 20.0, "current": 21.0},
                                    "label": {"baseline": "b", "current": "B"}}  # fmt: skip
    assert len(diff_of(BASE, current, samples=1).samples or []) == 1
    assert diff_of(BASE, BASE, samples=3).samples == []


def test_directories_of_parquet_files(tmp_path: Path) -> None:
    frame = pl.DataFrame(BASE)
    for side in ("b", "c"):
        (tmp_path / side).mkdir()
        frame[:3].write_parquet(tmp_path / side / "part-0.parquet")
        frame[3:].write_parquet(tmp_path / side / "part-1.parquet")
    d = compare_table("t", tmp_path / "b", tmp_path / "c", key=["id"], spec=OutputCompare())
    assert d.status == "pass", d.reasons
    assert d.rows.identical == 6


def test_unknown_columns_in_spec_warn(diff_of: Diff) -> None:
    d = diff_of(BASE, BASE, tolerances={"amont": {"abs": 1}}, ignore=["nope"])
    assert d.status == "pass"
    assert any("amont" in w and "Did you mean `amount`?" in w for w in d.warnings)
    assert any("nope" in w for w in d.warnings)


# -- no key: statistics --------------------------------------------------------------------
def stats_base(n: int = 1000) -> dict:
    return {
        "x": [float(i % 97) for i in range(n)],
        "name": [f"name-{i % 13}" for i in range(n)],
        "flag": [i % 2 == 0 for i in range(n)],
    }


def test_stats_identical_pass(diff_of: Diff) -> None:
    d = diff_of(stats_base(), stats_base(), key=None)
    assert d.mode == "stats"
    assert d.status == "pass", d.reasons
    x = next(s for s in d.stats if s.name == "x")
    assert set(x.baseline) == {"nulls", "distinct", "mean", "std", "p01", "p25", "p50", "p75",
                               "p99"}  # fmt: skip
    assert next(s for s in d.stats if s.name == "name").kind == "string"
    assert next(s for s in d.stats if s.name == "flag").kind == "other"


def test_stats_against_limits(diff_of: Diff) -> None:
    current = stats_base()
    current["x"] = [v * 1.001 for v in current["x"]]  # mean, std, quantiles +0.1 %
    d = diff_of(stats_base(), current, key=None)
    assert d.status == "fail"
    x = next(s for s in d.stats if s.name == "x")
    assert {"mean", "std", "p50"} <= set(x.violations)
    loose = {"mean": 0.01, "std": 0.01, "quantiles": 0.01}
    assert diff_of(stats_base(), current, key=None, stats=loose).status == "pass"


def test_stats_row_count_and_nulls(diff_of: Diff) -> None:
    base = stats_base()
    fewer = {k: v[:-10] for k, v in base.items()}
    d = diff_of(base, fewer, key=None, stats={"count": 0.05, "mean": 1, "std": 1,
                                              "quantiles": 1, "distinct": 1})  # fmt: skip
    assert d.status == "pass", d.reasons
    d = diff_of(base, fewer, key=None)
    assert any("row count 1000 -> 990" in r for r in d.reasons)
    nulls = dict(base, name=[None, *base["name"][1:]])
    d = diff_of(base, nulls, key=None, stats={"distinct": 1, "mean": 1, "std": 1,
                                              "quantiles": 1})  # fmt: skip
    assert d.status == "fail"
    assert next(s for s in d.stats if s.name == "name").violations == ["nulls"]


# -- several outputs -----------------------------------------------------------------------
def test_compare_outputs_missing_side_fails(tmp_path: Path) -> None:
    for side in ("base", "run"):
        (tmp_path / side).mkdir()
        pl.DataFrame(BASE).write_parquet(tmp_path / side / "orders.parquet")
    pl.DataFrame(BASE).write_parquet(tmp_path / "base" / "gone.parquet")
    spec = OutputCompare()
    result = compare_outputs(tmp_path / "base", tmp_path / "run",
                             {"orders": (["id"], spec), "gone": (["id"], spec),
                              "stats_only": (None, spec)})  # fmt: skip
    by_name = {t.name: t for t in result.tables}
    assert by_name["orders"].status == "pass"
    assert by_name["gone"].status == "fail"
    assert by_name["gone"].reasons == ["output missing in the current run (gone.parquet)"]
    assert by_name["stats_only"].status == "error"
    assert not result.passed
    assert result.summary == {"tables": 3, "passed": 1, "failed": 1, "errors": 1}


def test_compare_outputs_rejects_path_like_names(tmp_path: Path) -> None:
    from sandboxer.errors import ConfigError

    with pytest.raises(ConfigError, match="Invalid output name"):
        compare_outputs(tmp_path, tmp_path, {"../etc": (None, OutputCompare())})


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "b.parquet").write_bytes(b"not parquet")
    pl.DataFrame(BASE).write_parquet(tmp_path / "c.parquet")
    d = compare_table("t", tmp_path / "b.parquet", tmp_path / "c.parquet", key=["id"],
                      spec=OutputCompare())  # fmt: skip
    assert d.status == "error"
    assert d.reasons[0].startswith("cannot compare:")


def test_empty_outputs(diff_of: Diff) -> None:
    empty = pl.DataFrame(BASE).clear()
    d = diff_of(empty, empty)
    assert d.status == "pass", d.reasons
    assert d.rows.matched == 0
    assert all(c.match_rate is None for c in d.columns)
    assert diff_of(empty, empty, key=None).status == "pass"
    assert diff_of(empty, BASE).rows.added == 6


def test_null_key_values_match_each_other(diff_of: Diff) -> None:
    base = {"id": [1, None], "v": [1, 2]}
    assert diff_of(base, base).rows.identical == 2
    d = diff_of({"id": [None, None], "v": [1, 2]}, base)
    assert d.status == "error"
    assert d.duplicates is not None and d.duplicates.baseline_rows == 2
