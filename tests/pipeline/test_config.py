"""The `pipeline:` block: strict validation with errors naming the path and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sandboxer.config.loader import load_config
from sandboxer.config.models import Project
from sandboxer.config.pipeline import DbtStep, Pipeline, SqlStep
from sandboxer.errors import ConfigError
from tests.pipeline.conftest import SHOP


def load(tmp_path: Path, pipeline: str) -> Project:
    path = tmp_path / "sandboxer.yaml"
    path.write_text("version: 1\npipeline:\n" + textwrap.indent(textwrap.dedent(pipeline), "  "))
    return load_config(path, Project)


def test_example_config_loads() -> None:
    project = load_config(SHOP / "sandboxer.yaml", Project, env={})
    pipeline = project.pipeline
    assert pipeline.dialect == "postgres"
    assert [s.kind for s in pipeline.steps] == ["sql", "sql", "python"]
    assert pipeline.outputs["customer_revenue"].key == ["customer_id"]
    assert pipeline.outputs["customer_revenue"].compare.tolerances["revenue"].abs == 0.01
    assert pipeline.outputs["country_summary"].file == "pipeline/out/country_summary.parquet"


def test_no_pipeline_is_an_empty_one(tmp_path: Path) -> None:
    (tmp_path / "sandboxer.yaml").write_text("version: 1\n")
    assert load_config(tmp_path / "sandboxer.yaml", Project).pipeline == Pipeline()


def test_all_step_kinds(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        """
        dialect: snowflake
        steps:
          - {name: a, kind: sql, files: ["sql/*.sql"]}
          - {name: b, kind: python, script: b.py, args: ["--x"], depends_on: [a]}
          - {name: c, kind: dbt, command: "run --select marts", depends_on: [b]}
          - {name: d, kind: shell, run: "echo hi", timeout: 30}
        code_tests: "pytest -q tests"
    """,
    )
    steps = project.pipeline.steps
    assert isinstance(steps[0], SqlStep) and isinstance(steps[2], DbtStep)
    assert steps[2].project == "dbt" and steps[3].timeout == 30


@pytest.mark.parametrize(
    ("pipeline", "words"),
    [
        (
            "steps: [{name: a, kind: sql, files: [x.sql], after: [b]}]",
            ["Unknown key 'after'", "pipeline.steps[0]", "sandboxer.yaml:3"],
        ),
        (
            "steps: [{name: a, kind: sqll, files: [x.sql]}]",
            ["pipeline.steps[0].kind", "must be one of", "'sql'", "Did you mean `sql`?"],
        ),
        (
            "steps:\n  - {name: a, kind: shell, run: x, depends_on: [b]}\n"
            "  - {name: b, kind: shell, run: y, depends_on: [a]}",
            ["cycle: a -> b -> a"],
        ),
        (
            "steps:\n  - {name: staging, kind: shell, run: x}\n"
            "  - {name: marts, kind: shell, run: y, depends_on: [stagin]}",
            ["unknown step `stagin`", "Did you mean `staging`?"],
        ),
        (
            "steps:\n  - {name: a, kind: shell, run: x}\n  - {name: a, kind: shell, run: y}",
            ["step name `a` is used twice"],
        ),
        ("dialect: postgress", ["unknown SQL dialect", "Did you mean `postgres`?"]),
        ("steps: [{name: a, kind: sql, files: [../outside.sql]}]", ["inside the project"]),
        ("steps: [{name: a, kind: dbt, command: deploy}]", ["must start with a dbt command"]),
        ("outputs: {x: {table: t, file: f.parquet}}", ["exactly one of `table` and `file`"]),
        ("outputs: {x: {file: f.xlsx}}", ["must end in one of"]),
        ("outputs: {x: {table: 'a b'}}", ["must be a table name"]),
        ("outputs: {'bad name': {table: t}}", ["output name"]),
        (
            "outputs: {x: {table: t}}\ntests: [{type: unique, output: y, columns: [id]}]",
            ["unknown output `y`"],
        ),
        (
            "outputs: {x: {table: t}}\ntests: [{type: row_count, output: x}]",
            ["give `min`, `max` or both"],
        ),
        ("tests: [{type: sql, sql: 'select 1'}]", ["pipeline.tests[0].name", "Missing field"]),
        ("tests: [{type: uniq, output: x, columns: [id]}]", ["Did you mean `unique`?"]),
    ],
)
def test_invalid(tmp_path: Path, pipeline: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, pipeline)
    message = str(info.value)
    for word in words:
        assert word in message, message
