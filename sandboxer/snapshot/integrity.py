"""Integrity of written snapshot files: unique primary keys and zero FK orphans, checked in
DuckDB over the Parquet files themselves (the same check runs in build and in verify)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlglot import exp

from sandboxer.snapshot.manifest import Integrity, IntegrityCheck, TableSchema
from sandboxer.sources.sql import col, ident


def _view(name: str) -> exp.Table:
    return exp.Table(this=ident(name))


def check(files: dict[str, Path], tables: Mapping[str, TableSchema]) -> Integrity:
    """Run the checks. ``tables`` are the manifest's tables (their keys are checked).

    Each check names the table and key and counts rows, never values.
    """
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        views: dict[str, str] = {}
        for i, (key, path) in enumerate(sorted(files.items())):
            name = f"t{i}"
            views[key] = name
            query = exp.select("*").from_(exp.func("read_parquet", exp.Literal.string(str(path))))
            con.execute(exp.Create(this=_view(name), kind="VIEW", expression=query).sql("duckdb"))
        checks: list[IntegrityCheck] = []
        pk_dups = orphans = 0
        for key, meta in sorted(tables.items()):
            pk = meta.primary_key
            if pk and key in views:
                total = exp.select(exp.func("count", exp.Star())).from_(_view(views[key]))
                distinct = exp.select(exp.func("count", exp.Star())).from_(
                    exp.select(*(col(c) for c in pk))
                    .from_(_view(views[key]))
                    .distinct()
                    .subquery("d")
                )
                query = exp.select(exp.Sub(this=total.subquery(), expression=distinct.subquery()))
                dups = con.execute(query.sql("duckdb")).fetchone()[0]  # type: ignore[index]
                pk_dups += dups
                checks.append(
                    IntegrityCheck(check="primary_key_unique", table=key, columns=pk, failures=dups)
                )
            for fk in meta.foreign_keys:
                cols = fk.columns
                not_null = exp.and_(
                    *(exp.Not(this=exp.Is(this=col(c, "c"), expression=exp.Null())) for c in cols)
                )
                query = (
                    exp.select(exp.func("count", exp.Star()))
                    .from_(exp.Table(this=ident(views[key]), alias=exp.TableAlias(this=ident("c"))))
                    .where(not_null)
                )
                parent = fk.ref_table
                if parent in views:
                    match = exp.and_(
                        *(
                            exp.EQ(this=col(rc, "p"), expression=col(c, "c"))
                            for c, rc in zip(cols, fk.ref_columns, strict=True)
                        )
                    )
                    exists = exp.Exists(
                        this=exp.select(exp.Literal.number(1))
                        .from_(
                            exp.Table(
                                this=ident(views[parent]), alias=exp.TableAlias(this=ident("p"))
                            )
                        )
                        .where(match)
                    )
                    query = query.where(exp.Not(this=exists))
                count = con.execute(query.sql("duckdb")).fetchone()[0]  # type: ignore[index]
                orphans += count
                checks.append(
                    IntegrityCheck(
                        check="foreign_key",
                        table=key,
                        columns=cols,
                        references=parent,
                        failures=count,
                    )
                )
        return Integrity(
            ok=pk_dups == 0 and orphans == 0,
            pk_duplicates=pk_dups,
            fk_orphans=orphans,
            checks=checks,
        )
    finally:
        con.close()
