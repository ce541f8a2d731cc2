"""Extraction: stream the whole rows of a planned subset out of the source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlglot import exp

from sandboxer.sources.base import Source
from sandboxer.sources.schema import ForeignKey
from sandboxer.sources.sql import col
from sandboxer.subset.planner import SubsetPlan, TablePlan

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


def extract(source: Source, plan: SubsetPlan, key: str) -> Iterator[pa.RecordBatch]:
    """The table's selected rows, ordered by row identity, in batches.

    Rows come from the planner's spilled chunks (the source is not read again), sorted by
    DuckDB, which spills to disk rather than holding a large table in memory. Always yields at
    least one batch (zero rows for an empty selection) so later stages and the writer see the
    schema. Nullable FKs configured to be nulled are nulled here, vectorised.
    """
    import duckdb
    import pyarrow.parquet as pq

    tp = plan.tables[key]
    table = tp.table
    nulls = [fk for fk in plan.null_fks if fk.table.key == key]
    parent_keys = {fk: _parent_keys(plan, fk) for fk in nulls}
    if tp.rows == 0:
        empty = source.select(table, table.column_names, limit=0)
        yield _empty_batch(empty.schema)
        return
    schema = pq.read_schema(tp.spill[0])
    files = exp.Array(expressions=[exp.Literal.string(str(p)) for p in tp.spill])
    query = (
        exp.select(exp.Star())
        .from_(
            exp.func(
                "read_parquet",
                files,
                exp.EQ(this=exp.column("union_by_name"), expression=exp.true()),
            )
        )
        .order_by(*(col(c) for c in table.row_identity))
    )
    con = duckdb.connect(":memory:")
    try:
        reader = con.sql(query.sql("duckdb")).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            if batch.schema != schema:
                batch = batch.cast(schema)
            yield _null_orphans(batch, nulls, parent_keys) if nulls else batch
    finally:
        con.close()


BATCH_ROWS = 65_536


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pylist([], schema=schema)


def _parent_keys(plan: SubsetPlan, fk: ForeignKey) -> pl.DataFrame | None:
    parent: TablePlan | None = plan.tables.get(fk.ref_table.key)
    if parent is None or parent.rows == 0:
        return None
    keys = parent.frame().select(list(fk.ref_columns)).drop_nulls().unique()
    return keys.rename(dict(zip(fk.ref_columns, fk.columns, strict=True)))


def _null_orphans(
    batch: pa.RecordBatch,
    nulls: list[ForeignKey],
    parent_keys: dict[ForeignKey, pl.DataFrame | None],
) -> pa.RecordBatch:
    import polars as pl

    frame: pl.DataFrame = pl.from_arrow(batch)  # type: ignore[assignment]
    for fk in nulls:
        cols = list(fk.columns)
        keys = parent_keys[fk]
        if keys is None:
            frame = frame.with_columns(pl.lit(None).cast(frame.schema[c]).alias(c) for c in cols)
            continue
        marker = "__sandboxer_present"
        keys = keys.cast(dict(frame.select(cols).schema), strict=False).with_columns(  # type: ignore[arg-type]
            pl.lit(True).alias(marker)
        )
        frame = frame.join(keys, on=cols, how="left", nulls_equal=False, maintain_order="left")
        present = pl.col(marker).fill_null(False)
        frame = frame.with_columns(
            pl.when(present).then(pl.col(c)).otherwise(None).alias(c) for c in cols
        ).drop(marker)
    out = frame.to_arrow()
    out = out.cast(batch.schema) if out.schema != batch.schema else out
    return out.combine_chunks().to_batches()[0] if out.num_rows else _empty_batch(batch.schema)
