"""SQL built with sqlglot: every identifier quoted by construction, nothing string-formatted.

Sources call these to generate the text they send, in their own dialect.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from sandboxer.errors import SchemaError, SubsetError, did_you_mean
from sandboxer.sources.base import Sample
from sandboxer.sources.schema import Table, TableName


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(ident(name), table=ident(table) if table else None)


def table_ref(name: TableName, alias: str | None = None) -> exp.Table:
    t = exp.Table(this=ident(name.name), db=ident(name.schema) if name.schema else None)
    if alias:
        t.set("alias", exp.TableAlias(this=ident(alias)))
    return t


def count_query(table: Table) -> exp.Select:
    """``SELECT count(*) AS n FROM table``."""
    return exp.select(exp.Alias(this=exp.func("count", exp.Star()), alias=ident("n"))).from_(
        table_ref(table.name)
    )


def sample_predicate(columns: Sequence[str], sample: Sample, dialect: str) -> exp.Expression:
    """``substr(md5(seed|k1|k2), 1, 8) < threshold``: see ``Sample``."""
    text: exp.Expression = exp.Literal.string(str(sample.seed))
    for name in columns:
        value = exp.func("coalesce", exp.cast(col(name), "text"), exp.Literal.string(""))
        text = exp.DPipe(
            this=exp.DPipe(this=text, expression=exp.Literal.string("|")), expression=value
        )
    prefix: exp.Expression = exp.Substring(
        this=exp.MD5(this=text), start=exp.Literal.number(1), length=exp.Literal.number(8)
    )
    if dialect == "postgres":
        # Hex digits must compare bytewise whatever the database's default collation.
        prefix = exp.Collate(this=prefix, expression=exp.Column(this=ident("C")))
    return exp.LT(this=prefix, expression=exp.Literal.string(sample.threshold))


NATIVE_SAMPLES = frozenset({"duckdb", "postgres"})
"""Dialects whose seeded ``TABLESAMPLE BERNOULLI`` serves ``Sample(method="native")``."""


def select_query(
    table: Table,
    columns: Sequence[str],
    *,
    where: exp.Expression | None = None,
    sample: Sample | None = None,
    limit: int | None = None,
    order_by: Sequence[str] | None = None,
    dialect: str,
) -> exp.Select:
    source = table_ref(table.name)
    native = sample is not None and sample.method == "native" and dialect in NATIVE_SAMPLES
    if sample is not None and sample.percent < 100 and native:
        source.set(
            "sample",
            exp.TableSample(
                method=exp.var("BERNOULLI"),
                percent=exp.Literal.number(sample.percent),
                seed=exp.Literal.number(sample.seed),
            ),
        )
    query = exp.select(*(col(c) for c in columns)).from_(source)
    if where is not None:
        query = query.where(where.copy())
    if sample is not None and sample.percent < 100 and not native:
        query = query.where(sample_predicate(table.row_identity, sample, dialect))
    if order_by:
        query = query.order_by(*(col(c) for c in order_by))
    if limit is not None:
        query = query.limit(limit)
    return query


# Node types a user's ``where`` may not contain: it is a row filter, not a place for commands.
_FORBIDDEN = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Create,
    exp.Drop,
    exp.Command,
    exp.Alter,
    exp.Merge,
    exp.Set,
    exp.Transaction,
    exp.Into,
)


def parse_where(where: str, table: Table, dialect: str, *, origin: str = "where") -> exp.Expression:
    """Parse and validate a user-written filter for ``table`` in the source's dialect.

    Rejects statements, multiple expressions and unknown columns (with a suggestion).
    ``origin`` names the config field for messages.
    """
    text = where.strip().rstrip(";").strip()
    if not text:
        raise SubsetError(f"Invalid {origin} for `{table.key}`: the condition is empty")
    try:
        tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(text)
        if any(t.token_type == TokenType.SEMICOLON for t in tokens):
            raise SubsetError(
                f"Invalid {origin} for `{table.key}`: only one condition is allowed",
                hint="Remove the `;` and anything after it.",
            )
        condition = sqlglot.condition(text, dialect=dialect)
    except (ParseError, sqlglot.errors.TokenError) as e:
        # sqlglot messages quote the offending SQL, which is the user's own text, not data.
        first = str(e).splitlines()[0] if str(e) else "syntax error"
        raise SubsetError(
            f"Invalid {origin} for `{table.key}`: {first}",
            hint="Write a SQL boolean condition, e.g. `country = 'DE'`.",
        ) from None
    for node in condition.walk():
        if isinstance(node, _FORBIDDEN):
            raise SubsetError(
                f"Invalid {origin} for `{table.key}`: {node.key.upper()} is not allowed in a filter"
            )
    if isinstance(condition, exp.Select | exp.Subquery) and condition.parent is None:
        raise SubsetError(f"Invalid {origin} for `{table.key}`: expected a condition, got a query")
    known = set(table.column_names)
    for column in condition.find_all(exp.Column):
        if column.find_ancestor(exp.Subquery, exp.Select) is not None:
            continue  # columns of subqueries belong to their own tables
        if column.table and column.table not in (table.name.name, table.key):
            continue
        if column.name not in known:
            raise SchemaError(
                f"Unknown column `{column.name}` in {origin} for `{table.key}`",
                hint=did_you_mean(column.name, known)
                or f"Columns of `{table.key}`: {', '.join(table.column_names)}",
            )
        # Quote identifiers so reserved words and mixed case mean what the user wrote.
        column.set("this", ident(column.name))
        if column.table:
            column.set("table", None)
    return condition  # type: ignore[return-value]  # sqlglot types it as Expr
