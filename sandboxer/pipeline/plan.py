"""Plan a pipeline run: resolve files, transpile SQL, order the steps.

Everything that can be checked without running is checked here, before the first step starts:
globs match files, scripts and dbt projects exist, every SQL statement parses in the
production dialect and can be written for the sandbox's engine. Then the steps are ordered:

* declared ``depends_on`` edges;
* for SQL steps without ``depends_on``, table-level lineage read with sqlglot: step B depends on
  step A when B reads a table that A creates or writes (CREATE, INSERT, UPDATE, DELETE, MERGE);
* ties keep the order of declaration.

Inside a SQL step, files are ordered the same way (lineage, then path).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandboxer.config.pipeline import (
    DbtStep,
    Pipeline,
    PythonStep,
    SqlStep,
    Step,
    find_cycle,
)
from sandboxer.errors import did_you_mean
from sandboxer.pipeline.errors import PipelineError, TranspileError
from sandboxer.sandbox.engines import ENGINE_NAMES

if TYPE_CHECKING:
    from sqlglot import exp


@dataclass(frozen=True)
class Statement:
    """One SQL statement, ready for the sandbox's engine."""

    line: int
    """1-based line of the statement's first token in its file."""
    sql: str
    """The statement in the engine's dialect (as written when the dialects are the same)."""


@dataclass(frozen=True)
class SqlFile:
    path: str
    """Relative to the project directory, with '/' separators."""
    statements: tuple[Statement, ...]
    creates: frozenset[str]
    """Tables the file creates or writes (lowercased, schema-qualified when written so)."""
    reads: frozenset[str]
    """Tables the file reads that it did not create itself first."""


@dataclass(frozen=True)
class PlannedStep:
    step: Step
    depends_on: tuple[str, ...]
    """Declared dependencies, or for SQL steps without any, those read from lineage."""
    inferred: bool = False
    """Whether ``depends_on`` came from lineage."""
    sql_files: tuple[SqlFile, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def kind(self) -> str:
        return self.step.kind

    @property
    def creates(self) -> frozenset[str]:
        return frozenset().union(*(f.creates for f in self.sql_files))

    @property
    def reads(self) -> frozenset[str]:
        creates = self.creates
        reads: set[str] = set()
        for f in self.sql_files:
            reads |= {t for t in f.reads if not _among(t, creates)}
        return frozenset(reads)


def plan_steps(
    pipeline: Pipeline, project_dir: Path, *, engine: str = "duckdb"
) -> list[PlannedStep]:
    """The steps in the order they run, with SQL transpiled for ``engine``.

    Raises ``TranspileError`` for SQL that cannot run on ``engine`` (file, line, construct) and
    ``PipelineError`` for missing files, unknown steps or dependency cycles.
    """
    if engine not in ENGINE_NAMES:
        raise PipelineError(
            f"Unknown sandbox engine `{engine}`", hint=f"Use {' or '.join(ENGINE_NAMES)}."
        )
    project_dir = project_dir.resolve()
    names = [s.name for s in pipeline.steps]
    planned: dict[str, PlannedStep] = {}
    for step in pipeline.steps:
        for dep in step.depends_on:
            if dep not in names:
                raise PipelineError(
                    f"Step `{step.name}` depends on unknown step `{dep}`",
                    hint=did_you_mean(dep, names),
                )
        files: tuple[SqlFile, ...] = ()
        if isinstance(step, SqlStep):
            paths = _expand(step, project_dir)
            files = _order_files(
                step.name,
                [read_sql_file(project_dir, p, pipeline.dialect, engine) for p in paths],
            )
        else:
            _check_exists(step, project_dir)
        planned[step.name] = PlannedStep(
            step=step, depends_on=tuple(step.depends_on), sql_files=files
        )
    for step in pipeline.steps:
        if not isinstance(step, SqlStep) or step.depends_on:
            continue
        me = planned[step.name]
        deps = [
            other.name
            for other in planned.values()
            if other.name != step.name
            and other.sql_files
            and any(_among(t, other.creates) for t in me.reads)
        ]
        planned[step.name] = PlannedStep(
            step=step, depends_on=tuple(deps), inferred=True, sql_files=me.sql_files
        )
    graph = {name: list(p.depends_on) for name, p in planned.items()}
    cycle = find_cycle(graph)
    if cycle:
        raise PipelineError(
            f"Steps depend on each other in a cycle: {' -> '.join(cycle)}",
            hint=_cycle_hint(cycle, planned),
        )
    order = _toposort(names, graph)
    return [planned[n] for n in order]


# -- files ------------------------------------------------------------------------------------


def _expand(step: SqlStep, project_dir: Path) -> list[str]:
    found: list[str] = []
    for pattern in step.files:
        matches = sorted(p for p in project_dir.glob(pattern) if p.is_file())
        if not matches:
            raise PipelineError(
                f"Step `{step.name}`: `{pattern}` matches no file",
                hint=f"Paths and globs are relative to {project_dir}.",
            )
        for path in matches:
            rel = _inside(project_dir, path, step.name)
            if rel not in found:
                found.append(rel)
    return found


def _inside(project_dir: Path, path: Path, step: str) -> str:
    resolved = path.resolve()
    if not resolved.is_relative_to(project_dir):
        raise PipelineError(
            f"Step `{step}`: {path} is outside the project directory",
            hint="The sandbox sees only the project directory.",
        )
    return resolved.relative_to(project_dir).as_posix()


def _check_exists(step: Step, project_dir: Path) -> None:
    if isinstance(step, PythonStep):
        path = project_dir / step.script
        if not path.is_file():
            raise PipelineError(f"Step `{step.name}`: script {step.script} not found")
        _inside(project_dir, path, step.name)
    elif isinstance(step, DbtStep):
        path = project_dir / step.project / "dbt_project.yml"
        if not path.is_file():
            raise PipelineError(
                f"Step `{step.name}`: no dbt_project.yml in {step.project}/",
                hint="`project` is the dbt project's directory, relative to sandboxer.yaml.",
            )
        _inside(project_dir, path, step.name)


# -- SQL --------------------------------------------------------------------------------------


def read_sql_file(project_dir: Path, rel: str, dialect: str, engine: str) -> SqlFile:
    """Parse a SQL file statement by statement, transpile it and read its lineage."""
    text = (project_dir / rel).read_text(encoding="utf-8")
    statements: list[Statement] = []
    creates: set[str] = set()
    reads: set[str] = set()
    for line, chunk in split_statements(text, dialect, rel, engine):
        expression = _parse(chunk, line, dialect, rel, engine)
        if expression is None:
            continue
        writes, reads_here = lineage(expression)
        reads |= {t for t in reads_here if not _among(t, creates)}
        creates |= writes
        sql = chunk if dialect == engine else _generate(expression, line, rel, engine)
        statements.append(Statement(line=line, sql=sql))
    return SqlFile(
        path=rel, statements=tuple(statements), creates=frozenset(creates), reads=frozenset(reads)
    )


def split_statements(text: str, dialect: str, rel: str, engine: str) -> list[tuple[int, str]]:
    """``(first line, text)`` of each statement: split on the dialect's semicolon tokens, so
    semicolons in strings and comments are left alone."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(text)
    except TokenError as e:
        raise TranspileError(rel, None, engine, f"cannot be tokenized as {dialect}: {e}") from None
    chunks: list[tuple[int, str]] = []
    current: list[Any] = []
    for token in [*tokens, None]:
        if token is None or token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append((current[0].line, text[current[0].start : current[-1].end + 1]))
            current = []
        else:
            current.append(token)
    return chunks


def _parse(chunk: str, line: int, dialect: str, rel: str, engine: str) -> Any:
    import sqlglot
    from sqlglot.errors import ErrorLevel, ParseError

    try:
        return sqlglot.parse_one(chunk, read=dialect, error_level=ErrorLevel.RAISE)
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        at = line + int(first.get("line") or 1) - 1
        reason = str(first.get("description") or e).splitlines()[0]
        near = str(first.get("highlight") or "").strip()
        if near:
            reason += f" near `{near[:40]}`"
        raise TranspileError(rel, at, engine, f"does not parse as {dialect}: {reason}") from None


def _generate(expression: Any, line: int, rel: str, engine: str) -> str:
    from sqlglot.errors import ErrorLevel, UnsupportedError

    try:
        return expression.sql(dialect=engine, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as e:
        reason = " ".join(str(e).split())
        raise TranspileError(
            rel,
            _locate_unsupported(expression, engine) or line,
            engine,
            reason,
            hint="Rewrite the construct so that it has an equivalent on the sandbox's engine.",
        ) from None


def _locate_unsupported(expression: exp.Expression, engine: str) -> int | None:
    """The line of the innermost node that cannot be generated, when the nodes carry one."""
    from sqlglot.errors import ErrorLevel, UnsupportedError

    nodes = list(expression.walk())[1:200]
    for node in reversed(nodes):
        try:
            node.sql(dialect=engine, unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError:
            lines = [n.meta["line"] for n in node.walk() if n.meta.get("line")]
            if lines:
                return min(lines)
        except Exception:  # a bare fragment may not generate on its own; skip it
            continue
    return None


def lineage(expression: exp.Expression) -> tuple[set[str], set[str]]:
    """``(tables written, tables read)`` by one statement; CTE names are not tables."""
    from sqlglot import exp

    writes: set[str] = set()
    targets: list[exp.Table] = []
    if isinstance(expression, exp.Create | exp.Insert | exp.Update | exp.Delete | exp.Merge):
        target = expression.this
        if isinstance(target, exp.Schema):
            target = target.this
        if isinstance(target, exp.Table) and target.name:
            targets.append(target)
            writes.add(table_key(target))
    if isinstance(expression, exp.Drop | exp.Create) and not writes:
        return set(), set()
    ctes = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    reads: set[str] = set()
    for table in expression.find_all(exp.Table):
        if any(table is t for t in targets) or not isinstance(table.this, exp.Identifier):
            continue
        key = table_key(table)
        if not table.db and key in ctes:
            continue
        reads.add(key)
    return writes, reads - writes


def table_key(table: exp.Table) -> str:
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    return ".".join(parts).lower()


def _among(table: str, tables: Iterable[str]) -> bool:
    """Whether ``table`` is one of ``tables``; an unqualified name matches any schema."""
    last = table.rsplit(".", 1)[-1]
    for other in tables:
        if other == table:
            return True
        if ("." not in table or "." not in other) and other.rsplit(".", 1)[-1] == last:
            return True
    return False


def _order_files(step: str, files: list[SqlFile]) -> tuple[SqlFile, ...]:
    by_path = {f.path: f for f in files}
    graph = {
        f.path: [
            o.path for o in files if o.path != f.path and any(_among(t, o.creates) for t in f.reads)
        ]
        for f in files
    }
    cycle = find_cycle(graph)
    if cycle:
        raise PipelineError(
            f"Step `{step}`: SQL files read each other's tables in a cycle: {' -> '.join(cycle)}",
            hint="Split the step, or move the statements so that each table is built once.",
        )
    return tuple(by_path[p] for p in _toposort([f.path for f in files], graph))


def _toposort(order: Sequence[str], graph: dict[str, list[str]]) -> list[str]:
    """Kahn's algorithm; among ready nodes, the earliest in ``order`` goes first."""
    index = {n: i for i, n in enumerate(order)}
    waiting = {n: set(graph.get(n, [])) for n in order}
    dependents: dict[str, list[str]] = {n: [] for n in order}
    for n, deps in waiting.items():
        for d in deps:
            dependents[d].append(n)
    ready = [(index[n], n) for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, n = heapq.heappop(ready)
        out.append(n)
        for m in dependents[n]:
            waiting[m].discard(n)
            if not waiting[m]:
                heapq.heappush(ready, (index[m], m))
    return out


def _cycle_hint(cycle: list[str], planned: dict[str, PlannedStep]) -> str | None:
    pairs = []
    for a, b in itertools.pairwise(cycle):
        shared = sorted(t for t in planned[a].reads if _among(t, planned[b].creates))
        if shared and planned[a].inferred:
            pairs.append(f"`{a}` reads {', '.join(shared)} from `{b}`")
    if not pairs:
        return None
    return "From table lineage: " + "; ".join(pairs) + ". Declare `depends_on` to break it."
