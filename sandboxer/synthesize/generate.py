"""Whole tables from a profile (``generate``), and synthetic rows added to a subset
(``fill_in``). Neither reads the source: a profile and a schema are all they need.

Keys come from ``keys.py`` (unique by construction, foreign keys resolved to parent row
numbers), values from ``values.py`` (the profile's distributions, vectorised). Every table is
a lazy stream of record batches of at most ``batch_rows`` rows; what stays in memory between
batches is per parent row (cumulative child counts), never per child row.

Deterministic: every random stream is seeded from ``(seed, table, column, batch)``, so the
same profile, schema, scale and seed give the same bytes in any process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError, SchemaError, did_you_mean
from sandboxer.synthesize.keys import KeyPlan, rng_for
from sandboxer.synthesize.spec import (
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    TIMESTAMP,
    ColumnSpec,
    TableSpec,
    read_specs,
)  # fmt: skip

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    import pyarrow as pa

BATCH_ROWS = 1 << 19
MIN_SCALE, MAX_SCALE = 0.01, 100.0
EDGE_DUPLICATES = 2
"""Edge-case rows end with this many rows equal on every non-key column."""


def generate(
    profile: dict[str, Any],
    schema: Any,
    *,
    scale: float = 1.0,
    seed: int,
    tables: list[str] | None = None,
    edge_cases: bool = False,
    locale: str = "en_US",
    batch_rows: int = BATCH_ROWS,
) -> dict[str, Iterator[pa.RecordBatch]]:
    """Synthetic tables shaped like ``profile``: ``{table: batches}``, parents first.

    ``schema`` is a manifest's ``tables`` section (or a ``sources.schema.Schema``); ``None``
    takes the keys the profile records. ``scale`` multiplies row counts (0.01 to 100; tables
    under ``keys.LOOKUP_ROWS`` rows keep their size). ``tables`` limits the output to those
    tables and every table they reference, so the result is FK-closed. ``edge_cases`` starts
    each table with rows of nulls, empty and unicode strings, extreme and boundary values and
    duplicates (keys stay unique and foreign keys valid).
    """
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise SandboxerError(f"The synthesis scale must be between {MIN_SCALE} and {MAX_SCALE}")
    specs = read_specs(profile, schema)
    plan = KeyPlan(specs, scale=scale, seed=seed, locale=locale)
    order = topological_order(specs)
    wanted = closure(specs, tables) if tables else set(specs)
    return {
        name: _batches(plan, name, seed=seed, edge_cases=edge_cases, locale=locale,
                       batch_rows=batch_rows)
        for name in order
        if name in wanted
    }  # fmt: skip


def topological_order(specs: Mapping[str, TableSpec]) -> list[str]:
    """Parents before children; tables of a cycle in name order (their keys never wait for
    each other, see ``keys.py``)."""
    deps = {
        n: {f.ref_table for f in s.foreign_keys if f.ref_table != n and f.ref_table in specs}
        for n, s in specs.items()
    }
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(specs):
        ready = sorted(n for n in specs if n not in done and deps[n] <= done)
        if not ready:  # a cycle: break it at the first remaining table
            ready = [min(n for n in specs if n not in done)]
        for n in ready:
            order.append(n)
            done.add(n)
    return order


def closure(specs: Mapping[str, TableSpec], tables: list[str]) -> set[str]:
    """``tables`` and every table they reference, transitively."""
    out: set[str] = set()
    todo = []
    for t in tables:
        if t not in specs:
            raise SchemaError(
                f"Unknown table `{t}` in synthesize.tables",
                hint=did_you_mean(t, specs) or f"Tables: {', '.join(sorted(specs))}",
            )
        todo.append(t)
    while todo:
        t = todo.pop()
        if t not in out:
            out.add(t)
            todo.extend(f.ref_table for f in specs[t].foreign_keys)
    return out


def arrow_schema(spec: TableSpec) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in spec.columns])


def _batches(
    plan: KeyPlan, name: str, *, seed: int, edge_cases: bool, locale: str, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    import numpy as np
    import pyarrow as pa

    from sandboxer.synthesize.values import ColumnGenerator, ValueContext

    tp = plan.tables[name]
    spec = tp.spec
    schema = arrow_schema(spec)
    ctx = ValueContext(name, seed, locale)
    keyed = key_columns(plan, name)
    generators = {
        c.name: ColumnGenerator(c, ctx, tp.rows, spec.rows)
        for c in spec.columns
        if c.name not in keyed and c.name not in tp.fk_columns()
    }
    if tp.rows == 0:
        yield pa.RecordBatch.from_pylist([], schema=schema)
        return

    def make(b: int, start: int) -> pa.RecordBatch:
        rows = np.arange(start, min(start + batch_rows, tp.rows), dtype=np.int64)
        arrays = _fk_arrays(plan, name, rows, b)
        for c in keyed:
            arrays[c] = plan.key_values(name, c, rows)
        for c, gen in generators.items():
            arrays[c] = gen.batch(start, len(rows), rng_for(seed, name, c, b))
        if edge_cases and b == 0:
            arrays = with_edge_rows(spec, arrays, keyed | tp.fk_columns())
        return pa.RecordBatch.from_arrays(
            [_fit(arrays[c.name], c) for c in spec.columns], schema=schema
        )

    for b, start in enumerate(range(0, tp.rows, batch_rows)):
        yield make(b, start)


def key_columns(plan: KeyPlan, name: str) -> set[str]:
    """Columns whose values are key functions of the row number."""
    tp = plan.tables[name]
    out = set(tp.own) | set(tp.rank_columns) | set(tp.spread)
    if tp.driver is not None:
        out |= set(tp.driver.fk.columns)
    spec = tp.spec
    for k in (spec.primary_key, *spec.unique_keys):
        if len(k) == 1 and any(k[0] in f.columns for f in spec.foreign_keys):
            out.add(k[0])  # one-to-one child
    return out


def _fk_arrays(plan: KeyPlan, name: str, rows: np.ndarray, batch: int) -> dict[str, pa.Array]:
    """Values of the non-driving foreign keys of ``rows``: the longest key first, a key whose
    columns another key already set is left to it (``lineitem(partkey, suppkey)`` sets
    ``l_partkey`` for the single-column key to ``part`` too)."""
    import numpy as np

    from sandboxer.synthesize.values import with_nulls

    tp = plan.tables[name]
    spec = tp.spec
    skip = key_columns(plan, name)
    out: dict[str, pa.Array] = {}
    for fk in sorted(spec.foreign_keys, key=lambda f: -len(f.columns)):
        if all(c in skip or c in out for c in fk.columns):
            continue
        rng = rng_for(plan.seed, name, "fk", *fk.columns, batch)
        parents = plan.parents_for(name, fk, rows, rng)
        cols = [spec.column(c) for c in fk.columns]
        nullable = all(c.nullable for c in cols)
        nulls = parents < 0
        if nullable and cols[0].null_rate > 0:
            nulls |= rng.random(len(rows)) < cols[0].null_rate
        if not nullable and nulls.any():
            if fk.ref_table == name:
                parents = np.where(parents < 0, rows, parents)  # the root points to itself
                nulls[:] = False
            else:
                raise SandboxerError(
                    f"`{name}({', '.join(fk.columns)})` is NOT NULL but `{fk.ref_table}` has no "
                    "rows to reference",
                    hint=f"Generate `{fk.ref_table}` too, or give it rows in the profile.",
                )
        safe = np.where(parents < 0, 0, parents)
        shuffle = None if fk.ref_table == name else rng.permutation(len(rows))
        for c, ref in zip(fk.columns, fk.ref_columns, strict=True):
            if c in skip or c in out:
                continue
            values = plan.key_values(fk.ref_table, ref, safe).cast(spec.column(c).arrow_type)
            if shuffle is not None:
                values = values.take(shuffle)
            out[c] = with_nulls(values, nulls)
    return out


def _fit(array: pa.Array, col: ColumnSpec) -> pa.Array:
    return array if array.type == col.arrow_type else array.cast(col.arrow_type)


def with_edge_rows(
    spec: TableSpec, arrays: dict[str, pa.Array], fixed: set[str]
) -> dict[str, pa.Array]:
    """The first rows of a batch rewritten to edge cases: row ``i`` holds the ``i``-th edge
    value of every column (null, empty, unicode, extremes...), then ``EDGE_DUPLICATES`` rows
    repeat one row's values. Key and foreign-key columns are left as they are, except that a
    nullable foreign key gets a null in the first row."""
    import pyarrow as pa

    from sandboxer.synthesize.values import edge_values

    n = len(next(iter(arrays.values()))) if arrays else 0
    unique = spec.unique_columns
    lists = {
        c.name: edge_values(c, nullable=c.nullable)
        for c in spec.columns
        if c.name not in fixed and c.name not in unique
    }
    depth = max((len(v) for v in lists.values()), default=0)
    rows = min(n, depth + EDGE_DUPLICATES)
    if rows == 0:
        return arrays
    out = dict(arrays)
    for c in spec.columns:
        array = arrays[c.name]
        if c.name in lists:
            head = array.slice(0, rows).to_pylist()
            values = lists[c.name]
            head[: min(len(values), rows)] = values[:rows]
            dup = head[rows - EDGE_DUPLICATES] if rows >= EDGE_DUPLICATES else None
            for i in range(max(0, rows - EDGE_DUPLICATES), rows):  # two rows, not per row
                head[i] = dup
        elif c.name in fixed and c.nullable and c.name not in unique and not _in_key(spec, c):
            head = array.slice(0, rows).to_pylist()
            head[0] = None
            if rows >= EDGE_DUPLICATES:
                for i in range(rows - EDGE_DUPLICATES + 1, rows):
                    head[i] = head[rows - EDGE_DUPLICATES]
        else:
            continue
        out[c.name] = pa.concat_arrays([pa.array(head, type=array.type), array.slice(rows)])
    return out


def _in_key(spec: TableSpec, col: ColumnSpec) -> bool:
    return col.name in spec.primary_key or any(col.name in u for u in spec.unique_keys)


# -- fill-in ---------------------------------------------------------------------------------


def fill_in(
    existing: Mapping[str, pl.LazyFrame],
    profile: dict[str, Any],
    schema: Any,
    *,
    table: str,
    rows: int,
    seed: int,
    where: str | None = None,
    locale: str = "en_US",
) -> dict[str, pl.DataFrame]:
    """``rows`` synthetic rows to add to ``table`` of an existing dataset (a subset).

    Returns new rows per table, parents first: ``table``'s, and those of any parent table that
    ``existing`` lacks or holds empty (then new parents are generated for the new rows, about as
    many as the profiled fan-out asks). Keys never collide with ``existing`` ones (numbers
    continue after the largest, text keys are checked with an anti-join), foreign keys point to
    existing parents (drawn uniformly) or new ones. ``where`` is a SQL condition the new rows
    must satisfy (``o_orderstatus = 'F'``): rows are drawn in rounds and filtered.
    """
    import polars as pl

    specs = read_specs(profile, schema)
    if table not in specs:
        raise SchemaError(
            f"Unknown table `{table}` to fill",
            hint=did_you_mean(table, specs) or f"Tables: {', '.join(sorted(specs))}",
        )
    if rows < 0:
        raise SandboxerError("The number of rows to fill must be >= 0")
    out: dict[str, pl.DataFrame] = {}
    condition = pl.sql_expr(where) if where else None
    _fill(existing, specs, table, rows, seed, condition, locale, out, depth=0)
    return out


def _fill(
    existing: Mapping[str, pl.LazyFrame],
    specs: dict[str, TableSpec],
    table: str,
    rows: int,
    seed: int,
    condition: pl.Expr | None,
    locale: str,
    out: dict[str, pl.DataFrame],
    depth: int,
) -> None:
    import polars as pl

    if depth > len(specs):
        raise SandboxerError(f"Cannot fill `{table}`: its parents reference it in a cycle")
    spec = specs[table]
    old = existing.get(table)
    old_frame = old.collect() if old is not None else None
    parents: dict[tuple[str, ...], pl.DataFrame] = {}
    for fk in sorted(spec.foreign_keys, key=lambda f: -len(f.columns)):
        if fk.ref_table == table:
            continue
        keys = _parent_keys(existing, out, fk)
        if keys.height == 0:
            mean = fk.fanout.mean if fk.fanout is not None else 1.0
            _fill(existing, specs, fk.ref_table, max(1, round(rows / max(mean, 1.0))), seed,
                  None, locale, out, depth + 1)  # fmt: skip
            keys = _parent_keys(existing, out, fk)
        parents[fk.columns] = keys
    frames: list[pl.DataFrame] = []
    have = 0
    for attempt in range(12):  # rounds of whole batches, not rows
        want = rows - have
        if want <= 0:
            break
        draw = want if condition is None else max(64, want * (4 if attempt == 0 else 16))
        batch = _fill_batch(spec, draw, seed, attempt, parents, old_frame, frames, locale)
        if condition is not None:
            batch = batch.filter(condition)
        batch = batch.head(want)
        frames.append(batch)
        have += batch.height
    result = pl.concat(frames) if frames else _empty(spec)
    if result.height < rows:
        raise SandboxerError(
            f"Could only generate {result.height} of {rows} rows for `{table}`"
            + (" that satisfy the `where` condition" if condition is not None else ""),
            hint="Loosen the condition, or check it against the profiled value ranges.",
        )
    if old_frame is not None and old_frame.width:
        result = result.select(
            pl.col(c).cast(old_frame.schema[c]) if c in old_frame.schema else pl.col(c)
            for c in result.columns
        )
    out[table] = pl.concat([out[table], result]) if table in out else result


def _parent_keys(
    existing: Mapping[str, pl.LazyFrame], new: Mapping[str, pl.DataFrame], fk: Any
) -> pl.DataFrame:
    import polars as pl

    cols = [pl.col(r).alias(c) for c, r in zip(fk.columns, fk.ref_columns, strict=True)]
    parts = []
    if fk.ref_table in existing:
        parts.append(existing[fk.ref_table].select(cols).collect())
    if fk.ref_table in new:
        parts.append(new[fk.ref_table].select(cols))
    if not parts:
        return pl.DataFrame()
    frame = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    return frame.drop_nulls().unique(maintain_order=True)


def _empty(spec: TableSpec) -> pl.DataFrame:
    import polars as pl

    return pl.from_arrow(arrow_schema(spec).empty_table())  # type: ignore[return-value]


def _fill_batch(
    spec: TableSpec,
    n: int,
    seed: int,
    attempt: int,
    parents: dict[tuple[str, ...], pl.DataFrame],
    old: pl.DataFrame | None,
    new: list[pl.DataFrame],
    locale: str,
) -> pl.DataFrame:
    """``n`` candidate rows with keys that collide with neither ``old`` nor ``new`` rows."""
    import numpy as np
    import polars as pl

    from sandboxer.synthesize.keys import sequence_values
    from sandboxer.synthesize.values import ColumnGenerator, ValueContext

    ctx = ValueContext(spec.name, seed, locale)
    rng = rng_for(seed, spec.name, "fill", attempt)
    previous = pl.concat([f for f in new if f.height]) if any(f.height for f in new) else None
    frame: dict[str, Any] = {}
    # Foreign keys: a uniformly drawn parent row per child row (its whole key, so composite
    # keys stay consistent).
    for cols, keys in parents.items():
        if any(c in frame for c in cols):
            continue
        pick = rng.integers(0, keys.height, size=n)
        for c in cols:
            frame[c] = keys[c].gather(pick)
    # Own single-column keys: numbers after the largest existing value.
    taken = [f for f in (old, previous) if f is not None and f.height]
    for key in (spec.primary_key, *spec.unique_keys):
        if len(key) != 1 or key[0] in frame:
            continue
        col = spec.column(key[0])
        start = sum(f.height for f in taken)
        moved = col
        if col.kind in (INTEGER, DATE, TIMESTAMP, DECIMAL, FLOAT) and taken:
            top = max(_as_number(f[key[0]], col) for f in taken)
            moved = replace(col, min=top + _unit(col), max=None)
            start = 0
        numbers = np.arange(start, start + n, dtype=np.int64)
        frame[key[0]] = pl.Series(key[0], sequence_values(moved, numbers, start + n))
    # Composite primary keys: an integer column numbers the rows after the largest existing
    # value of rows with the same other key columns (``l_linenumber`` per order).
    pk = spec.primary_key
    rest = [c for c in pk if c not in frame]
    base = pl.DataFrame(frame) if frame else pl.DataFrame({"__row": np.arange(n)})
    if len(pk) > 1 and len(rest) == 1 and spec.column(rest[0]).kind == INTEGER:
        c = rest[0]
        group = [g for g in pk if g != c]
        col = spec.column(c)
        start_at = int(col.min) if col.min is not None else 1
        base = base.with_columns(pl.int_range(pl.len()).over(group).alias(c))
        prior = [f.select([*group, c]) for f in taken]
        if prior:
            tops = pl.concat(prior, how="vertical_relaxed").group_by(group).agg(pl.col(c).max())
            base = (
                base.join(tops.rename({c: "__top"}), on=group, how="left")
                .with_columns((pl.col(c) + pl.col("__top").fill_null(start_at - 1) + 1).alias(c))
                .drop("__top")
            )
        else:
            base = base.with_columns(pl.col(c) + start_at)
        frame = {**frame, c: base[c].cast(_pl_dtype(col))}
    for col in spec.columns:
        if col.name in frame:
            continue
        gen = ColumnGenerator(col, ctx, n, spec.rows)
        first = 10**12 + attempt * 10**9  # fake inputs that differ from generate()'s rows
        frame[col.name] = pl.Series(col.name, gen.batch(first, n, rng))
    result = pl.DataFrame({c.name: frame[c.name] for c in spec.columns})
    if pk:
        result = result.unique(subset=list(pk), keep="first", maintain_order=True)
        for f in taken:
            result = result.join(f.select(list(pk)), on=list(pk), how="anti", nulls_equal=True)
    return result


def _pl_dtype(col: ColumnSpec) -> pl.DataType:
    import polars as pl
    import pyarrow as pa

    return pl.from_arrow(pa.array([], col.arrow_type)).dtype  # type: ignore[union-attr]


def _as_number(series: pl.Series, col: ColumnSpec) -> float:
    import polars as pl

    s = series.drop_nulls()
    if s.len() == 0:
        return float(col.min) if col.min is not None else 0.0
    if col.kind in (DATE, TIMESTAMP):
        s = s.cast(pl.Datetime("us") if col.kind == TIMESTAMP else pl.Date).to_physical()
    return float(s.cast(pl.Float64).max())  # type: ignore[arg-type]


def _unit(col: ColumnSpec) -> float:
    if col.kind == TIMESTAMP:
        return 1_000_000
    if col.kind == DECIMAL:
        return 10.0**-col.scale
    return 1
