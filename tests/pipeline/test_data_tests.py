"""Data tests on exported outputs: each result names the test, output, column and the count
of failing rows, never a value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from sandboxer.config.pipeline import Pipeline
from sandboxer.pipeline.datatests import run_data_tests


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT * FROM (VALUES
            (1, 'DE', 'paid', 10.0), (2, 'DE', 'paid', 5.0), (2, NULL, 'lost', -1.0),
            (3, 'XX', NULL, 7.5), (4, NULL, 'shipped', 0.0)
        ) t(customer_id, country_code, status, revenue))
        TO '{tmp_path}/revenue.parquet' (FORMAT parquet);
        COPY (SELECT * FROM (VALUES ('DE'), ('FR')) t(code))
        TO '{tmp_path}/countries.parquet' (FORMAT parquet);
    """)
    con.close()
    return tmp_path


def results(outputs: Path, tests: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    pipeline = Pipeline.model_validate(
        {
            "outputs": {
                "revenue": {"table": "revenue"},
                "countries": {"file": "countries.parquet"},
                "missing": {"table": "never_exported"},
            },
            "tests": tests,
        }
    )
    return [
        (r.name, r.status, r.output, r.column, r.failing_rows)
        for r in run_data_tests(pipeline, outputs)
    ]


def test_each_kind_counts_failing_rows(outputs: Path) -> None:
    got = results(
        outputs,
        [
            {"type": "not_null", "output": "revenue", "columns": ["customer_id", "country_code"]},
            {"type": "unique", "output": "revenue", "columns": ["customer_id"]},
            {"type": "unique", "output": "revenue", "columns": ["customer_id", "status"]},
            {
                "type": "accepted_values",
                "output": "revenue",
                "column": "status",
                "values": ["paid", "shipped"],
            },
            {
                "type": "relationships",
                "output": "revenue",
                "column": "country_code",
                "to": "countries",
                "field": "code",
            },
            {"type": "row_count", "output": "revenue", "min": 1, "max": 3},
            {"type": "row_count", "output": "countries", "min": 2},
            {
                "type": "sql",
                "name": "no_negative_revenue",
                "sql": "select * from revenue where revenue < 0",
            },
            {
                "type": "sql",
                "name": "pg_dialect",
                "dialect": "postgres",
                "sql": "select * from revenue where country_code ilike 'x%' and revenue::int > 7",
            },
        ],
    )
    assert got == [
        ("not_null_revenue_customer_id", "passed", "revenue", "customer_id", 0),
        ("not_null_revenue_country_code", "failed", "revenue", "country_code", 2),
        ("unique_revenue_customer_id", "failed", "revenue", "customer_id", 2),
        ("unique_revenue_customer_id_status", "passed", "revenue", "customer_id, status", 0),
        ("accepted_values_revenue_status", "failed", "revenue", "status", 1),
        ("relationships_revenue_country_code", "failed", "revenue", "country_code", 1),
        ("row_count_revenue", "failed", "revenue", None, 5),
        ("row_count_countries", "passed", "countries", None, 0),
        ("no_negative_revenue", "failed", None, None, 1),
        ("pg_dialect", "failed", None, None, 1),  # 7.5::int rounds to 8, as in postgres
    ]


def test_messages_hold_counts_not_values(outputs: Path) -> None:
    pipeline = Pipeline.model_validate(
        {
            "outputs": {"revenue": {"table": "revenue"}},
            "tests": [
                {
                    "type": "accepted_values",
                    "output": "revenue",
                    "column": "status",
                    "values": ["paid"],
                },
                {"type": "row_count", "output": "revenue", "max": 2},
            ],
        }
    )
    first, second = run_data_tests(pipeline, outputs)
    assert first.message == "2 rows with a status outside the 1 accepted values"
    assert "lost" not in first.message and "shipped" not in first.message
    assert second.message == "5 rows, expected between 0 and 2"


def test_errors_name_what_is_missing(outputs: Path) -> None:
    got = run_data_tests(
        Pipeline.model_validate(
            {
                "outputs": {"revenue": {"table": "revenue"}, "missing": {"table": "t"}},
                "tests": [
                    {"type": "not_null", "output": "revenue", "columns": ["custmer_id"]},
                    {"type": "row_count", "output": "missing", "min": 1},
                    {"type": "sql", "name": "bad", "sql": "select * from nowhere"},
                    {"type": "sql", "name": "two", "sql": "select 1; select 2"},
                ],
            }
        ),
        outputs,
    )
    assert [r.status for r in got] == ["error"] * 4
    assert "no column `custmer_id`. Did you mean `customer_id`?" in got[0].message
    assert got[1].message == "output `missing` was not exported"
    assert "nowhere" in got[2].message
    assert "exactly one SELECT" in got[3].message
