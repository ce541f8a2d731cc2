"""Planning: files, lineage ordering, transpiling to the sandbox's engine, errors."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from sandboxer.config.pipeline import Pipeline
from sandboxer.pipeline.errors import PipelineError, TranspileError
from sandboxer.pipeline.plan import plan_steps
from tests.pipeline.conftest import SHOP, shop_pipeline


def write(project: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def plan(project: Path, engine: str = "duckdb", **pipeline: Any) -> list[Any]:
    return plan_steps(Pipeline.model_validate(pipeline), project, engine=engine)


def test_example_plan() -> None:
    steps = plan_steps(Pipeline.model_validate(shop_pipeline()), SHOP, engine="duckdb")
    assert [(s.name, s.depends_on, s.inferred) for s in steps] == [
        ("staging", (), True),
        ("marts", ("staging",), True),
        ("features", ("marts",), False),
    ]
    # Within staging, stg_order_items reads stg_orders: lineage beats alphabetical order.
    assert [f.path for f in steps[0].sql_files] == [
        "pipeline/sql/staging/stg_orders.sql",
        "pipeline/sql/staging/stg_order_items.sql",
    ]
    assert steps[1].reads == {"customers", "products", "stg_orders", "stg_order_items"}
    assert steps[1].creates == {"customer_revenue", "product_sales"}
    sql = "\n".join(s.sql for f in steps[1].sql_files for s in f.statements)
    # Postgres constructs written for DuckDB.
    assert "STRFTIME(" in sql and "'%Y-%m'" in sql and "::" not in sql
    assert "LISTAGG(DISTINCT" in sql or "STRING_AGG(DISTINCT" in sql


def test_lineage_orders_steps_declared_in_any_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "c.sql": "create table c as select * from b join a using (id);",
            "b.sql": "insert into b select id from a;",
            "a.sql": "create table a as select 1 as id;\ncreate table b (id int);",
            "x.sql": "with a as (select 1) select * from a;",  # a CTE, not table a
        },
    )
    steps = plan(
        tmp_path,
        steps=[
            {"name": "x", "kind": "sql", "files": ["x.sql"]},
            {"name": "c", "kind": "sql", "files": ["c.sql"]},
            {"name": "b", "kind": "sql", "files": ["b.sql"]},
            {"name": "a", "kind": "sql", "files": ["a.sql"]},
            {"name": "report", "kind": "shell", "run": "true", "depends_on": ["c"]},
        ],
    )
    order = [s.name for s in steps]
    assert order.index("a") < order.index("b") < order.index("c") < order.index("report")
    deps = {s.name: set(s.depends_on) for s in steps}
    assert deps == {"x": set(), "a": set(), "b": {"a"}, "c": {"a", "b"}, "report": {"c"}}


def test_declared_dependencies_win_over_lineage(tmp_path: Path) -> None:
    write(tmp_path, {"a.sql": "create table a as select 1 as id;", "b.sql": "select * from a;"})
    steps = plan(
        tmp_path,
        steps=[
            {"name": "b", "kind": "sql", "files": ["b.sql"], "depends_on": ["z"]},
            {"name": "a", "kind": "sql", "files": ["a.sql"]},
            {"name": "z", "kind": "shell", "run": "true"},
        ],
    )
    assert [(s.name, s.depends_on) for s in steps] == [("a", ()), ("z", ()), ("b", ("z",))]


def test_lineage_cycle(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.sql": "create table a as select * from b;",
            "b.sql": "create table b as select * from a;",
        },
    )
    with pytest.raises(PipelineError, match="cycle") as info:
        plan(
            tmp_path,
            steps=[
                {"name": "a", "kind": "sql", "files": ["a.sql"]},
                {"name": "b", "kind": "sql", "files": ["b.sql"]},
            ],
        )
    assert "depends_on" in str(info.value)


def test_parse_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, {"sql/x.sql": "select 1;\n\n-- a comment\nselect (1\n  from t;\n"})
    with pytest.raises(TranspileError) as info:
        plan(tmp_path, dialect="postgres", steps=[{"name": "s", "kind": "sql", "files": ["sql/*"]}])
    e = info.value
    assert (e.path, e.line, e.engine) == ("sql/x.sql", 5, "duckdb")
    assert str(e).startswith("SQL in sql/x.sql:5 cannot run on duckdb: does not parse as postgres")


def test_unsupported_construct_names_file_line_and_construct(tmp_path: Path) -> None:
    write(tmp_path, {"sql/x.sql": "select 1;\n\nselect id\nfrom orders\nfor update;\n"})
    with pytest.raises(TranspileError) as info:
        plan(tmp_path, dialect="postgres", steps=[{"name": "s", "kind": "sql", "files": ["sql/*"]}])
    assert info.value.line == 3
    assert "FOR UPDATE" in str(info.value) and "sql/x.sql:3 cannot run on duckdb" in str(info.value)
    # The same SQL is fine where it runs as written.
    steps = plan(
        tmp_path,
        "postgres",
        dialect="postgres",
        steps=[{"name": "s", "kind": "sql", "files": ["sql/*"]}],
    )
    assert steps[0].sql_files[0].statements[1].sql == "select id\nfrom orders\nfor update"


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="matches no file"):
        plan(tmp_path, steps=[{"name": "s", "kind": "sql", "files": ["sql/*.sql"]}])
    with pytest.raises(PipelineError, match=r"script nope\.py not found"):
        plan(tmp_path, steps=[{"name": "p", "kind": "python", "script": "nope.py"}])
    with pytest.raises(PipelineError, match=r"no dbt_project\.yml"):
        plan(tmp_path, steps=[{"name": "d", "kind": "dbt"}])
    with pytest.raises(PipelineError, match="Unknown sandbox engine"):
        plan(tmp_path, "sqlite")
