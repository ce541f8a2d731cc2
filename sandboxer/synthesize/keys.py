"""Keys of generated tables: every key value is a function of a row number.

Before any row is written, each table gets its row count, and every key column a function
``row number -> value``. A foreign key then only has to pick a parent *row number* and ask the
parent's function for its key: no parent has to be generated (or kept in memory) first, so
self-references and cycles need no special order, and a child can be generated batch by batch.

- A single-column primary or unique key is a sequence: ``min + step * i`` (spread over the
  profiled range when it has room, so keys look like the source's), permuted by an affine
  bijection ``i -> (a * i + b) mod n`` for unique keys that are not the primary key. Text keys
  fill the digits of the column's pattern with that number. Distinct numbers, distinct keys.
- One foreign key per table *drives* it: each parent gets a number of children drawn from the
  profiled children-per-parent distribution (rescaled to the table's row count), and the
  children of one parent are consecutive rows. ``parent(i)`` is a binary search in the
  cumulative counts and ``rank(i)`` the row's place among its siblings. A composite primary key
  made of that foreign key plus other columns stays unique through the rank: an integer column
  becomes ``base + rank`` (``l_linenumber``), another foreign key points to the parents
  ``(offset(parent) + rank) mod n`` of its table (distinct for one parent, as ``partsupp``).
- Other foreign keys pick parents with probabilities from their own fan-out distribution;
  a self-reference points to an earlier row (a tree, not a cycle), the first row to null.

Memory: O(rows of a driving or referenced parent) for cumulative counts, never O(rows of the
child).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError
from sandboxer.synthesize.spec import (
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    STRING,
    TIMESTAMP,
    ForeignKeySpec,
    TableSpec,
    finite,
)  # fmt: skip

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

LOOKUP_ROWS = 1000
"""Tables profiled with fewer rows are lookups (countries, statuses): generated at their
profiled size whatever the scale, since ten times the regions of the world is no test."""


def rng_for(seed: int, *parts: str | int) -> np.random.Generator:
    """A generator for one purpose: the same seed and parts give the same stream everywhere."""
    import numpy as np

    words = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF]
    words += [p if isinstance(p, int) else zlib.crc32(p.encode()) for p in parts]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def affine(n: int, seed: int, name: str) -> tuple[int, int]:
    """``(a, b)`` with ``gcd(a, n) == 1``: ``i -> (a * i + b) mod n`` permutes ``range(n)``."""
    if n <= 2:
        return 1, 0
    rng = rng_for(seed, "affine", name)
    b = int(rng.integers(0, n))
    a = int(rng.integers(n // 3, max(n // 3 + 1, 2 * n // 3)))
    while math.gcd(a, n) != 1:  # a few steps at most (coprimes are dense)
        a += 1
    return a, b


@dataclass
class Driver:
    """The foreign key whose parents own consecutive runs of a table's rows."""

    fk: ForeignKeySpec
    offsets: np.ndarray
    """``offsets[p]`` is the first row of parent ``p``'s children; ``offsets[-1]`` = rows."""

    _memo: tuple[np.ndarray, np.ndarray] | None = None

    def parent(self, rows: np.ndarray) -> np.ndarray:
        import numpy as np

        # Composite keys ask for the same rows once per column: remember the last answer.
        memo = self._memo
        if memo is not None and memo[0] is rows:
            return memo[1]
        parents = np.searchsorted(self.offsets, rows, side="right") - 1
        self._memo = (rows, parents)
        return parents

    def rank(self, rows: np.ndarray, parents: np.ndarray) -> np.ndarray:
        return rows - self.offsets[parents]


@dataclass
class TablePlan:
    spec: TableSpec
    rows: int
    driver: Driver | None = None
    rank_columns: dict[str, int] = field(default_factory=dict)
    """Primary-key columns numbered by rank among siblings, with their base."""
    spread: dict[str, ForeignKeySpec] = field(default_factory=dict)
    """Primary-key columns of another foreign key, spread over its parents by rank."""
    own: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    """Single-column keys of the table itself: affine permutation, or None (sequential)."""
    fk_weights: dict[tuple[str, ...], np.ndarray | None] = field(default_factory=dict)
    """Cumulative parent weights per non-driving foreign key (None: uniform)."""

    def fk_columns(self) -> set[str]:
        return {c for fk in self.spec.foreign_keys for c in fk.columns}


class KeyPlan:
    """Row counts and key functions of every table (see the module docstring)."""

    def __init__(
        self, specs: dict[str, TableSpec], *, scale: float, seed: int,
        rows: dict[str, int] | None = None, locale: str = "en_US",
    ) -> None:  # fmt: skip
        self.specs = specs
        self.seed = seed
        self.locale = locale
        self.tables: dict[str, TablePlan] = {}
        for name, spec in specs.items():
            n = (rows or {}).get(name)
            if n is None:
                n = target_rows(spec.rows, scale)
            self.tables[name] = TablePlan(spec, n)
        for name in specs:
            self._plan_keys(self.tables[name])

    # -- planning --------------------------------------------------------------------------
    def _plan_keys(self, tp: TablePlan) -> None:
        spec = tp.spec
        pk = spec.primary_key
        driver_fk = choose_driver(spec)
        if driver_fk is not None:
            parent_rows = self.tables[driver_fk.ref_table].rows
            pk_rest = (
                [c for c in pk if c not in driver_fk.columns] if _covers(pk, driver_fk) else []
            )
            cap = None
            for c in pk_rest:
                other = next(
                    (f for f in spec.foreign_keys if f.columns == (c,) and f is not driver_fk),
                    None,
                )
                if other is not None:
                    tp.spread[c] = other
                    n_other = self.tables[other.ref_table].rows
                    cap = n_other if cap is None else min(cap, n_other)
                else:
                    col = spec.column(c)
                    if col.kind != INTEGER:
                        raise SandboxerError(
                            f"Cannot keep the primary key of `{spec.name}` unique: `{c}` is part "
                            f"of it beside `{', '.join(driver_fk.columns)}` but is not an integer",
                            hint="Generate that table from a profile with a single-column key.",
                        )
                    tp.rank_columns[c] = int(col.min) if finite(col.min) else 1
            counts = fanout_counts(
                driver_fk, parent_rows, tp.rows, rng_for(self.seed, spec.name, "driver"), cap
            )
            offsets = _offsets(counts)
            tp.rows = int(offsets[-1])
            tp.driver = Driver(driver_fk, offsets)
        keys = [k for k in (pk, *spec.unique_keys) if len(k) == 1]
        for (c,) in keys:
            if tp.driver is not None and c in tp.driver.fk.columns:
                continue
            if any(c in f.columns for f in spec.foreign_keys):
                continue  # a one-to-one child: its key is its parent's (see fk_values)
            tp.own[c] = None if (c,) == pk else affine(max(tp.rows, 1), self.seed, spec.name + c)
        if len(pk) > 1 and tp.driver is None:
            # A composite key without a driving foreign key: the first column alone is unique.
            tp.own.setdefault(pk[0], None)
        for fk in spec.foreign_keys:
            if tp.driver is not None and fk is tp.driver.fk:
                continue
            if fk.ref_table == spec.name:
                continue
            n_parent = self.tables[fk.ref_table].rows
            if fk.fanout is None or n_parent == 0:
                tp.fk_weights[fk.columns] = None
                continue
            w = fk.fanout.sample(
                rng_for(self.seed, spec.name, "weights", *fk.columns).random(n_parent)
            )
            w = w.clip(0)
            tp.fk_weights[fk.columns] = w.cumsum() if w.sum() > 0 else None

    # -- values ----------------------------------------------------------------------------
    def key_values(self, table: str, column: str, rows: np.ndarray, depth: int = 0) -> pa.Array:
        """The values of key column ``column`` of ``table`` at row numbers ``rows``."""
        if depth > 32:
            raise SandboxerError(
                f"The keys of `{table}` depend on themselves through composite foreign keys",
                hint="Declare a single-column primary key on one table of the cycle.",
            )
        tp = self.tables[table]
        spec = tp.spec
        col = spec.column(column)
        if tp.driver is not None and column in tp.driver.fk.columns:
            fk = tp.driver.fk
            parents = tp.driver.parent(rows)
            ref = fk.ref_columns[fk.columns.index(column)]
            return _cast(self.key_values(fk.ref_table, ref, parents, depth + 1), col.arrow_type)
        if column in tp.rank_columns:
            assert tp.driver is not None
            parents = tp.driver.parent(rows)
            ranks = tp.driver.rank(rows, parents)
            return _ints(ranks + tp.rank_columns[column], col.arrow_type)
        if column in tp.spread:
            from sandboxer.synthesize import values as V

            assert tp.driver is not None
            fk = tp.spread[column]
            parents = tp.driver.parent(rows)
            ranks = tp.driver.rank(rows, parents)
            n_other = self.tables[fk.ref_table].rows
            offset = V.mix(parents, self.seed) % max(n_other, 1)
            targets = (offset + ranks) % max(n_other, 1)
            return _cast(self.key_values(fk.ref_table, fk.ref_columns[0], targets, depth + 1),
                         col.arrow_type)  # fmt: skip
        if column in tp.own:
            perm = tp.own[column]
            numbers = rows if perm is None else (perm[0] * rows + perm[1]) % max(tp.rows, 1)
            if col.pii is not None and col.kind == STRING:
                from sandboxer.synthesize import values as V

                ctx = V.ValueContext(table, self.seed, self.locale)
                rng = rng_for(self.seed, table, column, "key")
                faked = V.fakes(col, numbers, rng, ctx, unique=True)
                if faked is not None:
                    return faked
            return sequence_values(col, numbers, tp.rows, spec.rows)
        for fk in spec.foreign_keys:
            if column in fk.columns and fk.ref_table != spec.name:
                # A one-to-one child keyed by its parent's key: row i is parent i's child.
                ref = fk.ref_columns[fk.columns.index(column)]
                n_parent = self.tables[fk.ref_table].rows
                if tp.rows > n_parent:
                    raise SandboxerError(
                        f"`{spec.name}.{column}` is unique and references `{fk.ref_table}`, "
                        f"which has fewer rows ({n_parent}) than `{spec.name}` ({tp.rows})"
                    )
                return _cast(self.key_values(fk.ref_table, ref, rows, depth + 1), col.arrow_type)
        raise SandboxerError(
            f"`{table}.{column}` is referenced by a foreign key but is not a key of `{table}`",
            hint="Declare it as the primary key or a unique key.",
        )

    def parents_for(
        self, table: str, fk: ForeignKeySpec, rows: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Parent row numbers for the child rows ``rows`` (-1: no parent, i.e. null), in
        increasing order except for self-references: the caller shuffles them with
        ``rng.permutation`` after looking up their keys (sorted lookups are cache-friendly)."""
        import numpy as np

        tp = self.tables[table]
        n = len(rows)
        if fk.ref_table == table:
            # Self-reference: an earlier row, so the hierarchy is a forest without cycles.
            parents = np.floor(rng.random(n) * rows).astype(np.int64)
            parents[rows == 0] = -1
            return parents
        n_parent = self.tables[fk.ref_table].rows
        if n_parent == 0:
            return np.full(n, -1, dtype=np.int64)
        cum = tp.fk_weights.get(fk.columns)
        # Sorted uniforms (normalised exponential spacings) make the binary searches walk the
        # parent arrays in order, several times faster than random probes; the caller gets
        # the sorted parents with the permutation that shuffles them (see ``shuffle``).
        spacings = np.cumsum(rng.exponential(size=n + 1))
        u = spacings[:-1] / spacings[-1]
        if cum is None:
            idx = (u * n_parent).astype(np.int64)
        else:
            idx = np.searchsorted(cum, u * cum[-1], side="right")
        return np.minimum(idx, n_parent - 1).astype(np.int64)


def target_rows(profiled: int, scale: float) -> int:
    if profiled <= 0:
        return 0
    if profiled < LOOKUP_ROWS:
        return profiled
    return max(1, round(profiled * scale))


def choose_driver(spec: TableSpec) -> ForeignKeySpec | None:
    """The foreign key that groups a table's rows: one inside the primary key (the one with its
    first column first), else the first one with a profiled fan-out."""
    fks = [f for f in spec.foreign_keys if f.ref_table != spec.name]
    pk = spec.primary_key
    inside = [f for f in fks if _covers(pk, f) and len(f.columns) < len(pk)]
    if inside:
        inside.sort(key=lambda f: (pk.index(f.columns[0]), -len(f.columns)))
        return inside[0]
    if len(pk) == 1 and any(pk[0] in f.columns for f in fks):
        return None  # one-to-one: the child's key is its parent's key
    profiled = [f for f in fks if f.fanout is not None]
    return profiled[0] if profiled else None


def _covers(pk: tuple[str, ...], fk: ForeignKeySpec) -> bool:
    return bool(pk) and set(fk.columns) <= set(pk)


def fanout_counts(
    fk: ForeignKeySpec, parents: int, rows: int, rng: np.random.Generator, cap: int | None
) -> np.ndarray:
    """Children per parent, drawn from the profile and rescaled to sum to ``rows``."""
    import numpy as np

    if parents == 0:
        return np.zeros(0, dtype=np.int64)
    if fk.fanout is not None:
        draws = np.rint(fk.fanout.sample(rng.random(parents))).clip(0)
    else:
        draws = np.ones(parents)
    total = draws.sum()
    if total <= 0:
        draws, total = np.ones(parents), float(parents)
    # Cumulative rounding keeps the shape and hits the total exactly.
    bounds = np.rint(np.cumsum(draws) * (rows / total)).astype(np.int64)
    counts = np.diff(bounds, prepend=0)
    if cap is not None:
        counts = np.minimum(counts, cap)
    return counts


def _offsets(counts: np.ndarray) -> np.ndarray:
    import numpy as np

    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def sequence_values(
    col: Any, numbers: np.ndarray, rows: int, profiled: int | None = None
) -> pa.Array:
    """Distinct key values from distinct numbers ``0 <= numbers < rows``, in the column's type,
    spread over its profiled range when there is room; scaled up (more ``rows`` than the
    ``profiled``), integer and date keys keep the profiled spacing and extend past the max."""
    import numpy as np
    import pyarrow as pa

    from sandboxer.synthesize import values as V

    kind = col.kind
    lo = col.min if finite(col.min) else None
    hi = col.max if finite(col.max) else None
    if kind in (INTEGER, DATE, TIMESTAMP, DECIMAL, FLOAT):
        unit = 1 if kind != TIMESTAMP else 1_000_000
        if kind == DECIMAL:
            unit = 10**-col.scale if col.scale else 1
        base = lo if lo is not None else (1 if kind in (INTEGER, DECIMAL, FLOAT) else 0)
        if kind == DATE and lo is None:
            base = V.EPOCH_DAYS_2000
        step = unit
        if lo is not None and hi is not None and rows > 0:
            room = (hi - lo) / unit + 1
            step = unit * max(1, math.floor(room / rows))
            parts = max(min(rows, profiled or rows) - 1, 1)
            if kind in (INTEGER, DATE) and rows > 1 and hi - lo >= parts and hi - lo < 2**31:
                # Spread like the source's keys (1..6M for 1.5M orders): steps of at least 1,
                # so distinct numbers stay distinct.
                spread = (numbers.astype(np.int64) * int(hi - lo)) // parts + int(lo)
                if kind == INTEGER:
                    return _ints(spread, col.arrow_type)
                return V.numbers_to_arrow(spread.astype(np.float64), col)
        if kind == INTEGER:
            return _ints(int(base) + int(step) * numbers, col.arrow_type)
        return V.numbers_to_arrow(base + step * numbers.astype(np.float64), col)
    if kind == STRING:
        pattern = None
        if col.patterns is not None and col.patterns.values:
            pattern = str(col.patterns.values[0])
            if 10 ** min(V.digit_capacity(pattern), 18) < rows:
                pattern = None
        if pattern is None:
            width = max(len(str(max(rows - 1, 0))), 1)
            pattern = "K" + "9" * width
        rng = rng_for(0, "key", col.name)
        return V.strings_from_matrix(V.pattern_matrix(pattern, len(numbers), rng, numbers))
    if kind == BOOLEAN and rows <= 2:
        return pa.array(numbers.astype(bool))
    raise SandboxerError(f"Cannot generate unique values for `{col.name}` of type {col.arrow_type}")


def _ints(values: np.ndarray, t: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if pa.types.is_integer(t):
        return pa.array(values.astype(t.to_pandas_dtype()), type=t)
    return pa.array(values).cast(t)


def _cast(array: pa.Array, t: pa.DataType) -> pa.Array:
    return array if array.type == t else array.cast(t)
