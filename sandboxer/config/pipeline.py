"""The ``pipeline:`` block of sandboxer.yaml: steps, declared outputs and data tests.

    pipeline:
      dialect: postgres                 # the production dialect SQL steps are written in
      steps:
        - {name: staging, kind: sql, files: ["pipeline/sql/*.sql"]}
        - {name: features, kind: python, script: pipeline/features.py, depends_on: [staging]}
        - {name: marts, kind: dbt, project: dbt, command: build}
        - {name: sanity, kind: shell, run: "python -c 'print(1)'"}
      outputs:
        customer_revenue: {table: customer_revenue, key: [customer_id], compare: {...}}
        report: {file: pipeline/out/report.parquet}
      tests:
        - {type: not_null, output: customer_revenue, columns: [customer_id]}
      code_tests: "python -m pytest -q tests"

Paths are relative to the config file's directory (the project directory, which is what the
sandbox sees). Step order comes from ``depends_on`` and, for SQL steps without it, from
table-level lineage (``sandboxer.pipeline.plan``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from sandboxer.config.compare import OutputCompare
from sandboxer.config.strict import Strict

STEP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
"""Step names become log file names: a conservative allowlist."""
OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
"""Output names become Parquet file names and table names in data tests."""
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")
"""``table``, ``schema.table`` or ``catalog.schema.table`` (quoted when used)."""
DBT_COMMANDS = (
    "build", "run", "test", "seed", "snapshot", "compile", "deps", "parse", "run-operation",
    "source", "ls", "list", "show", "debug", "docs", "clean",
)  # fmt: skip


def _relative_path(value: str) -> str:
    """A path (or glob) inside the project: the sandbox sees nothing else."""
    path = PurePosixPath(value.replace("\\", "/"))
    if not value.strip() or path.is_absolute() or ".." in path.parts:
        raise ValueError("must be a relative path inside the project directory (no '..')")
    return value


RelativePath = Annotated[str, AfterValidator(_relative_path)]


def _check_step_name(value: str) -> str:
    if not STEP_NAME.fullmatch(value):
        raise ValueError(
            "must start with a letter or digit and use letters, digits, '_' and '-' "
            "(at most 63 characters)"
        )
    return value


StepName = Annotated[str, AfterValidator(_check_step_name)]


class _Step(Strict):
    name: StepName
    depends_on: list[StepName] = Field(default_factory=list)
    """Steps that must finish first. SQL steps without it get theirs from table lineage."""
    timeout: Annotated[int, Field(ge=1)] | None = None
    """Seconds after which the step counts as failed (default: no limit)."""


class SqlStep(_Step):
    """SQL files run in the sandbox's engine, after transpiling from ``pipeline.dialect``."""

    kind: Literal["sql"]
    files: Annotated[list[RelativePath], Field(min_length=1)]
    """Files or globs; within a step, files run in lineage order, then by path."""


class PythonStep(_Step):
    """``python3 SCRIPT ARGS...`` in the sandbox (cwd: the project directory)."""

    kind: Literal["python"]
    script: RelativePath
    args: list[str] = Field(default_factory=list)


class ShellStep(_Step):
    """``sh -c RUN`` in the sandbox (cwd: the project directory)."""

    kind: Literal["shell"]
    run: Annotated[str, Field(min_length=1)]


class DbtStep(_Step):
    """``dbt COMMAND`` against the sandbox's engine, with a generated profile."""

    kind: Literal["dbt"]
    project: RelativePath = "dbt"
    """The dbt project directory (holding dbt_project.yml)."""
    command: str = "build"
    """A dbt command with its arguments, e.g. ``build`` or ``run --select marts``."""

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        try:
            words = shlex.split(value)
        except ValueError as e:
            raise ValueError(f"cannot be split into arguments: {e}") from None
        if not words or words[0] not in DBT_COMMANDS:
            raise ValueError(f"must start with a dbt command: {', '.join(DBT_COMMANDS)}")
        return value


Step = Annotated[SqlStep | PythonStep | ShellStep | DbtStep, Field(discriminator="kind")]


class Output(Strict):
    """A table of the sandbox's engine or a file the steps write; exported to Parquet."""

    table: str | None = None
    """A table (or view) in the sandbox's engine, optionally schema-qualified."""
    file: RelativePath | None = None
    """A file the steps write, relative to the project (.parquet, .csv or .json)."""
    key: list[str] = Field(default_factory=list)
    """Columns identifying a row, for the keyed row diff (empty: statistical comparison)."""
    compare: OutputCompare = Field(default_factory=OutputCompare)

    @field_validator("table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value is not None and not TABLE_NAME.fullmatch(value):
            raise ValueError("must be a table name such as `orders` or `marts.orders`")
        return value

    @field_validator("file")
    @classmethod
    def _file(cls, value: str | None) -> str | None:
        if value is not None and PurePosixPath(value).suffix.lower() not in FILE_FORMATS:
            raise ValueError(f"must end in one of {', '.join(FILE_FORMATS)}")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Output:
        if (self.table is None) == (self.file is None):
            raise ValueError("give exactly one of `table` and `file`")
        return self


FILE_FORMATS = (".parquet", ".csv", ".json", ".jsonl", ".ndjson")


class _Test(Strict):
    name: str | None = None
    """Shown in reports; default ``<type>_<output>[_<column>]``."""


class NotNull(_Test):
    """Each column has no nulls (one result per column)."""

    type: Literal["not_null"]
    output: str
    columns: Annotated[list[str], Field(min_length=1)]


class Unique(_Test):
    """The columns together identify a row (rows sharing a combination fail)."""

    type: Literal["unique"]
    output: str
    columns: Annotated[list[str], Field(min_length=1)]


class AcceptedValues(_Test):
    """Non-null values of ``column`` are among ``values`` (compared as text)."""

    type: Literal["accepted_values"]
    output: str
    column: str
    values: Annotated[list[str | int | float | bool], Field(min_length=1)]


class Relationships(_Test):
    """Every non-null ``column`` value exists in ``field`` of output ``to``."""

    type: Literal["relationships"]
    output: str
    column: str
    to: str
    field: str


class RowCount(_Test):
    """The output has between ``min`` and ``max`` rows."""

    type: Literal["row_count"]
    output: str
    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> RowCount:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("`min` must not be greater than `max`")
        return self


class SqlAssertion(_Test):
    """A query over the outputs (each a table named after its output); fails when it returns
    rows. Written in ``dialect`` (default: ``pipeline.dialect``), run with DuckDB."""

    type: Literal["sql"]
    name: Annotated[str, Field(min_length=1)]
    sql: Annotated[str, Field(min_length=1)]
    dialect: str | None = None


DataTest = Annotated[
    NotNull | Unique | AcceptedValues | Relationships | RowCount | SqlAssertion,
    Field(discriminator="type"),
]


class Pipeline(Strict):
    dialect: str = "duckdb"
    """The dialect SQL steps are written in (postgres, snowflake, bigquery, duckdb...);
    transpiled with sqlglot to the sandbox's engine before anything runs."""
    steps: list[Step] = Field(default_factory=list)
    outputs: dict[str, Output] = Field(default_factory=dict)
    """Name -> table or file; exported to ``<run>/outputs/<name>.parquet``."""
    tests: list[DataTest] = Field(default_factory=list)
    """Data tests on the exported outputs."""
    code_tests: str | None = None
    """A shell command running the project's own tests in the sandbox (``pytest -q tests``)."""

    @field_validator("dialect")
    @classmethod
    def _dialect(cls, value: str) -> str:
        return check_dialect(value)

    @field_validator("outputs")
    @classmethod
    def _output_names(cls, value: dict[str, Output]) -> dict[str, Output]:
        for name in value:
            if not OUTPUT_NAME.fullmatch(name):
                raise ValueError(
                    f"output name {name!r} must start with a letter or '_' and use letters, "
                    "digits and '_' (at most 63 characters)"
                )
        return value

    @model_validator(mode="after")
    def _references(self) -> Pipeline:
        from sandboxer.errors import did_you_mean

        names = [s.name for s in self.steps]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"step name `{name}` is used twice")
            seen.add(name)
        for step in self.steps:
            for dep in step.depends_on:
                if dep not in seen:
                    hint = did_you_mean(dep, names)
                    raise ValueError(
                        f"step `{step.name}` depends on unknown step `{dep}`"
                        + (f". {hint}" if hint else "")
                    )
                if dep == step.name:
                    raise ValueError(f"step `{step.name}` depends on itself")
        cycle = find_cycle({s.name: list(s.depends_on) for s in self.steps})
        if cycle:
            raise ValueError(f"steps depend on each other in a cycle: {' -> '.join(cycle)}")
        for test in self.tests:
            refs = [getattr(test, "output", None), getattr(test, "to", None)]
            for ref in refs:
                if ref is not None and ref not in self.outputs:
                    hint = did_you_mean(ref, list(self.outputs))
                    raise ValueError(
                        f"test `{data_test_name(test)}` names unknown output `{ref}`"
                        + (f". {hint}" if hint else "")
                    )
            if isinstance(test, SqlAssertion) and test.dialect is not None:
                check_dialect(test.dialect)
        return self


def check_dialect(value: str) -> str:
    """``value`` if sqlglot knows the dialect, else a ValueError with a suggestion."""
    from sqlglot.dialects.dialect import Dialect, Dialects

    from sandboxer.errors import did_you_mean

    try:
        Dialect.get_or_raise(value)
    except ValueError:
        known = [d.value for d in Dialects if d.value]
        hint = did_you_mean(value, known)
        raise ValueError(f"unknown SQL dialect {value!r}" + (f". {hint}" if hint else "")) from None
    return value


def data_test_name(test: DataTest, column: str | None = None) -> str:
    """The reported name of a data test (and of one column's result)."""
    if test.name:
        return f"{test.name}_{column}" if column and isinstance(test, NotNull) else test.name
    parts = [test.type, getattr(test, "output", "")]
    col = column or getattr(test, "column", None)
    if col:
        parts.append(col)
    elif isinstance(test, Unique):
        parts.append("_".join(test.columns))
    return "_".join(p for p in parts if p)


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle of ``graph`` (node -> nodes it depends on) as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None
