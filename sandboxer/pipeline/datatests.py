"""Tests of a run: data tests on the exported outputs (host, DuckDB) and the project's own code
tests (in the sandbox).

Data tests read ``<outputs_dir>/<name>.parquet``, each visible as a table named after its
output. Results name the test, output, column and the number of failing rows, never a value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.config.pipeline import (
    AcceptedValues,
    DataTest,
    NotNull,
    Pipeline,
    Relationships,
    RowCount,
    SqlAssertion,
    Unique,
    data_test_name,
)

if TYPE_CHECKING:
    from sandboxer.sandbox.manager import Sandboxes


@dataclass
class TestResult:
    __test__ = False  # not a pytest class

    name: str
    type: str
    status: str
    """``passed`` | ``failed`` | ``error`` (the test itself could not run: missing column,
    bad SQL)."""
    output: str | None = None
    column: str | None = None
    failing_rows: int | None = None
    """Rows breaking the test (for ``row_count``: the row count when out of range)."""
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_data_tests(pipeline: Pipeline, outputs_dir: Path) -> list[TestResult]:
    """Evaluate ``pipeline.tests`` on the Parquet outputs in ``outputs_dir``."""
    import duckdb
    from sqlglot import exp

    con = duckdb.connect()
    try:
        for name in pipeline.outputs:
            path = outputs_dir / f"{name}.parquet"
            if path.exists():
                # Views cannot take parameters: the path goes in as an escaped literal.
                literal = exp.Literal.string(str(path)).sql("duckdb")
                con.execute(f"CREATE VIEW {_id(name)} AS SELECT * FROM read_parquet({literal})")
        results: list[TestResult] = []
        for test in pipeline.tests:
            results.extend(_run(con, test, pipeline))
        return results
    finally:
        con.close()


def run_code_tests(sandboxes: Sandboxes, sandbox_name: str, command: str) -> TestResult:
    """Run the project's own test command in the sandbox (``sh -c``); passed on exit 0."""
    started = time.perf_counter()
    code = int(sandboxes.exec(sandbox_name, ["sh", "-c", command]))
    return TestResult(
        name="code_tests",
        type="code",
        status="passed" if code == 0 else "failed",
        message=f"`{command}` exited with {code}",
        seconds=round(time.perf_counter() - started, 3),
    )


def _run(con: Any, test: DataTest, pipeline: Pipeline) -> list[TestResult]:
    import duckdb

    columns = test.columns if isinstance(test, NotNull) else [None]
    results = []
    for column in columns:
        started = time.perf_counter()
        result = TestResult(
            name=data_test_name(test, column),
            type=test.type,
            status="passed",
            output=getattr(test, "output", None),
            column=column or _column_of(test),
        )
        try:
            missing = _missing(con, test, column)
            if missing:
                result.status, result.message = "error", missing
            else:
                _evaluate(con, test, column, pipeline, result)
        except duckdb.Error as e:
            result.status = "error"
            result.message = f"{type(e).__name__}: {str(e).splitlines()[0]}"
        result.seconds = round(time.perf_counter() - started, 3)
        results.append(result)
    return results


def _column_of(test: DataTest) -> str | None:
    if isinstance(test, Unique):
        return ", ".join(test.columns)
    return getattr(test, "column", None)


def _missing(con: Any, test: DataTest, column: str | None) -> str | None:
    """What the test names that the outputs lack (an output that was not exported, a column)."""
    if isinstance(test, SqlAssertion):
        return None
    wanted: list[tuple[str, list[str]]] = [(test.output, [])]
    if isinstance(test, NotNull):
        wanted[0][1].append(column or "")
    elif isinstance(test, Unique):
        wanted[0][1].extend(test.columns)
    elif isinstance(test, AcceptedValues):
        wanted[0][1].append(test.column)
    elif isinstance(test, Relationships):
        wanted[0][1].append(test.column)
        wanted.append((test.to, [test.field]))
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    for output, cols in wanted:
        if output not in views:
            return f"output `{output}` was not exported"
        have = [r[0] for r in con.execute(f"DESCRIBE {_id(output)}").fetchall()]
        for col in cols:
            if col not in have:
                from sandboxer.errors import did_you_mean

                hint = did_you_mean(col, have)
                return f"output `{output}` has no column `{col}`" + (f". {hint}" if hint else "")
    return None


def _evaluate(
    con: Any, test: DataTest, column: str | None, pipeline: Pipeline, result: TestResult
) -> None:
    def count(sql: str, params: dict[str, Any] | None = None) -> int:
        row = con.execute(sql, params or {}).fetchone()
        return int(row[0] or 0) if row else 0

    if isinstance(test, NotNull):
        failing = count(
            f"SELECT count(*) FROM {_id(test.output)} WHERE {_id(column or '')} IS NULL"
        )
        what = f"null {column}"
    elif isinstance(test, Unique):
        cols = ", ".join(_id(c) for c in test.columns)
        failing = count(
            f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {_id(test.output)} "
            f"GROUP BY {cols} HAVING count(*) > 1)"
        )
        what = f"rows sharing their ({', '.join(test.columns)}) with another row"
    elif isinstance(test, AcceptedValues):
        values = [_text(v) for v in test.values]
        failing = count(
            f"SELECT count(*) FROM {_id(test.output)} WHERE {_id(test.column)} IS NOT NULL "
            f"AND NOT list_contains($values, CAST({_id(test.column)} AS VARCHAR))",
            {"values": values},
        )
        what = f"rows with a {test.column} outside the {len(values)} accepted values"
    elif isinstance(test, Relationships):
        failing = count(
            f"SELECT count(*) FROM {_id(test.output)} AS c WHERE c.{_id(test.column)} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {_id(test.to)} AS p "
            f"WHERE p.{_id(test.field)} = c.{_id(test.column)})"
        )
        what = f"rows whose {test.column} is not in {test.to}.{test.field}"
    elif isinstance(test, RowCount):
        rows = count(f"SELECT count(*) FROM {_id(test.output)}")
        low = test.min if test.min is not None else 0
        high = test.max
        inside = rows >= low and (high is None or rows <= high)
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        result.message = f"{rows} rows, expected {bounds}"
        if not inside:
            result.status, result.failing_rows = "failed", rows
        else:
            result.failing_rows = 0
        return
    elif isinstance(test, SqlAssertion):
        sql = _assertion_sql(test, pipeline)
        failing = count(f"SELECT count(*) FROM ({sql}) AS assertion")
        what = "rows returned"
    else:  # pragma: no cover - the config's union is exhaustive
        raise AssertionError(test)
    result.failing_rows = failing
    result.message = f"{failing} {what}"
    if failing:
        result.status = "failed"


def _assertion_sql(test: SqlAssertion, pipeline: Pipeline) -> str:
    """The assertion in DuckDB's dialect (one SELECT, transpiled from its dialect)."""
    import duckdb
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    dialect = test.dialect or pipeline.dialect
    try:
        expressions = sqlglot.parse(test.sql, read=dialect, error_level=ErrorLevel.RAISE)
    except SqlglotError as e:
        raise duckdb.ParserException(f"does not parse as {dialect}: {e}") from None
    statements = [e for e in expressions if e is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise duckdb.ParserException("must be exactly one SELECT query")
    try:
        return statements[0].sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as e:
        raise duckdb.ParserException(f"cannot run on duckdb: {e}") from None


def _id(name: str) -> str:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _text(value: str | int | float | bool) -> str:
    """A value as DuckDB casts it to text (``true``, ``1``, ``1.5``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
