"""Compare one output (Parquet) with its baseline: a keyed row diff, or statistics without a key.

Everything here is vectorised polars over lazy scans, run on the streaming engine:

- Keyed: a key-only duplicate check (64-bit hash of the key, sorted, adjacent equal; an exact
  ``group_by`` only when that finds something), then one full outer join on the key with every
  compared column renamed positionally (``b0``/``c0``...), boolean difference flags per column
  and one ``select`` of sums that yields every counter at once. Samples, when asked for, are a
  second query over the same join (filter, top-k by key), collected with the first so the
  scans and the join are shared.
- Without a key: one ``select`` per side computes count, nulls, distinct, mean, std and
  quantiles of every column; the deltas are checked against ``StatsLimits``.

Cell values leave this module only as samples (opt-in) and as numeric statistics.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sandboxer.compare.result import (
    ColumnDiff,
    ColumnStats,
    ColumnType,
    Duplicates,
    ExpectedMatch,
    Sample,
    TableDiff,
    TypeChange,
)
from sandboxer.config.compare import OutputCompare, Tolerance
from sandboxer.errors import did_you_mean

if TYPE_CHECKING:
    import polars as pl

QUANTILES: dict[str, float] = {"p01": 0.01, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p99": 0.99}
STAT_LIMIT: dict[str, str] = {"nulls": "nulls", "distinct": "distinct", "mean": "mean",
                              "std": "std", **{q: "quantiles" for q in QUANTILES}}  # fmt: skip
# Float rounding slack on tolerance bounds, so that |1.1 - 1.0| <= 0.1 holds.
SLACK = 1e-9
ENGINE: Final = "streaming"


def compare_table(
    name: str,
    baseline: Path,
    current: Path,
    *,
    key: list[str] | None,
    spec: OutputCompare,
    samples: int = 0,
) -> TableDiff:
    """Compare the output ``current`` with ``baseline`` (Parquet files or directories of them).

    With a ``key``: schema diff, row counts and a keyed row diff with per-column counters,
    tolerances, ignored columns and expected changes. Without: a statistical comparison against
    ``spec.stats``. ``samples > 0`` adds up to that many differing rows, values included.
    Problems with the data (unreadable file, missing key column, duplicate keys) give status
    ``error``; differences beyond what ``spec`` allows give ``fail``.
    """
    import polars as pl

    started = time.perf_counter()
    diff = TableDiff(name=name, key=list(key) if key else None, mode="keyed" if key else "stats")
    try:
        base_lf, cur_lf = _scan(baseline, "baseline"), _scan(current, "current")
        base_schema = dict(base_lf.collect_schema())
        cur_schema = dict(cur_lf.collect_schema())
        plan = _Plan(diff, spec, base_schema, cur_schema)
        if diff.status != "error":
            if key:
                _keyed(diff, plan, base_lf, cur_lf, key, samples)
            else:
                _statistical(diff, plan, base_lf, cur_lf)
    except (OSError, pl.exceptions.PolarsError) as e:
        diff.error(f"cannot compare: {type(e).__name__}: {_first_line(e)}")
    diff.seconds = time.perf_counter() - started
    return diff


# -- what to compare -----------------------------------------------------------------------
class _Plan:
    """The columns to compare and how, from both schemas and the spec; fills the schema diff."""

    def __init__(
        self,
        diff: TableDiff,
        spec: OutputCompare,
        base: dict[str, pl.DataType],
        cur: dict[str, pl.DataType],
    ) -> None:
        self.spec = spec
        self.base = base
        self.cur = cur
        known = set(base) | set(cur)
        key = set(diff.key or [])
        self.expected = [ExpectedMatch(kind=e.kind, column=e.column, reason=e.reason,
                                       max_rows=e.max_rows) for e in spec.expected]  # fmt: skip
        diff.expected = self.expected

        for column in spec.ignore:
            if column in key:
                diff.warnings.append(f"key column `{column}` cannot be ignored: compared")
            elif column not in known:
                diff.warnings.append(_unknown("ignored", column, known))
        ignored = set(spec.ignore) - key
        diff.ignored = [c for c in spec.ignore if c in known and c in ignored]
        for column in spec.tolerances:
            if column != "*" and column not in known:
                diff.warnings.append(_unknown("tolerance for", column, known))
        for change in spec.expected:
            if change.column is not None and change.column not in known:
                diff.warnings.append(_unknown(f"expected change ({change.kind}) of", change.column,
                                              known))  # fmt: skip

        for column in diff.key or []:
            missing = [side for side, s in (("baseline", base), ("current", cur))
                       if column not in s]  # fmt: skip
            if missing:
                hint = did_you_mean(column, base if "baseline" in missing else cur)
                diff.error(f"key column `{column}` missing in {' and '.join(missing)}"
                           + (f". {hint}" if hint else ""))  # fmt: skip

        schema = diff.schema
        for column, dtype in cur.items():
            if column not in base and column not in ignored:
                schema.added.append(ColumnType(column, str(dtype)))
                self._schema_change(diff, "added_column", column, f"column `{column}` added")
        for column, dtype in base.items():
            if column not in cur and column not in ignored:
                schema.removed.append(ColumnType(column, str(dtype)))
                self._schema_change(diff, "removed_column", column, f"column `{column}` removed")
        for column, dtype in base.items():
            if column in cur and column not in ignored and cur[column] != dtype:
                schema.type_changed.append(TypeChange(column, str(dtype), str(cur[column])))
                self._schema_change(diff, "type", column, f"column `{column}` changed type "
                                    f"from {dtype} to {cur[column]}")  # fmt: skip

        self.columns = [c for c in base if c in cur and c not in ignored and c not in key]
        self.expected_values = {e.column for e in spec.expected if e.kind == "values" and e.column}
        for change in spec.expected:
            if change.kind == "values" and change.column is None:
                diff.warnings.append("an expected change of kind `values` names no column: "
                                     "it covers nothing")  # fmt: skip

    def _schema_change(self, diff: TableDiff, kind: str, column: str, reason: str) -> None:
        matches = [e for e in self.expected if e.kind == kind and e.column in (column, None)]
        for match in matches:
            match.seen = True
            match.rows += 1
        if not matches:
            diff.fail(reason)

    def tolerance(self, column: str) -> Tolerance | None:
        """The tolerance of a numeric column (its own, else ``"*"``); None for exact."""
        if not (_numeric(self.base[column]) and _numeric(self.cur[column])):
            return None
        tol = self.spec.tolerances.get(column) or self.spec.tolerances.get("*")
        if tol is None or (tol.abs is None and tol.rel is None and tol.decimals is None):
            return None
        return tol

    def non_numeric_tolerances(self) -> list[str]:
        return [c for c in self.spec.tolerances if c in self.columns
                and not (_numeric(self.base[c]) and _numeric(self.cur[c]))]  # fmt: skip


def _unknown(what: str, column: str, known: Iterable[str]) -> str:
    hint = did_you_mean(column, known)
    return f"{what} column `{column}`: no such column on either side" + (
        f". {hint}" if hint else ""
    )


# -- keyed ---------------------------------------------------------------------------------
def _keyed(
    diff: TableDiff,
    plan: _Plan,
    base_lf: pl.LazyFrame,
    cur_lf: pl.LazyFrame,
    key: list[str],
    samples: int,
) -> None:
    import polars as pl

    key_types = [_common_type(plan.base[k], plan.cur[k]) for k in key]
    if _check_duplicates(diff, base_lf, cur_lf, key):
        return
    for column in plan.non_numeric_tolerances():
        diff.warnings.append(f"tolerance for `{column}` ignored: the column is not numeric")

    def side(lf: pl.LazyFrame, prefix: str, present: str) -> pl.LazyFrame:
        keys = [
            pl.col(k) if t is None else pl.col(k).cast(t)
            for k, t in zip(key, key_types, strict=True)
        ]
        return lf.select(
            *(e.alias(f"k{i}") for i, e in enumerate(keys)),
            *(pl.col(c).alias(f"{prefix}{j}") for j, c in enumerate(plan.columns)),
            pl.lit(True).alias(present),
        )

    on = [f"k{i}" for i in range(len(key))]
    joined = side(base_lf, "b", "pb").join(
        side(cur_lf, "c", "pc"), on=on, how="full", nulls_equal=True, coalesce=True
    )
    matched = pl.col("pb").is_not_null() & pl.col("pc").is_not_null()
    flags: list[pl.Expr] = []
    diffs: list[pl.Expr] = []
    unexpected: list[pl.Expr] = []
    columns: list[ColumnDiff] = []
    for j, column in enumerate(plan.columns):
        b, c = pl.col(f"b{j}"), pl.col(f"c{j}")
        compared_as = "exact"
        if plan.base[column] != plan.cur[column]:
            common = _common_type(plan.base[column], plan.cur[column])
            if common is not None:
                b, c = b.cast(common), c.cast(common)
                compared_as = f"cast:{common}"
        both = b.is_not_null() & c.is_not_null()
        tol = plan.tolerance(column)
        flags += [
            (pl.col("m") & b.is_null() & c.is_not_null()).alias(f"nb{j}"),
            (pl.col("m") & b.is_not_null() & c.is_null()).alias(f"nc{j}"),
        ]
        if tol is None:
            flags.append((pl.col("m") & both & (b != c)).alias(f"cf{j}"))
        else:
            compared_as = "tolerance"
            beyond = ~_within(b, c, tol)
            flags += [
                (pl.col("m") & both & beyond).alias(f"cf{j}"),
                (pl.col("m") & both & ~beyond & (b != c)).alias(f"wt{j}"),
            ]
        d = pl.col(f"nb{j}") | pl.col(f"nc{j}") | pl.col(f"cf{j}")
        diffs.append(d.alias(f"d{j}"))
        if column not in plan.expected_values:
            unexpected.append(pl.col(f"d{j}"))
        columns.append(ColumnDiff(
            name=column, compared_as=compared_as, expected=column in plan.expected_values,
            tolerance=None if tol is None else tol.model_dump(exclude_none=True),
        ))  # fmt: skip

    flagged = (
        joined.with_columns(matched.alias("m"))
        .with_columns(flags)
        .with_columns(diffs)
        .with_columns(
            _any([pl.col(f"d{j}") for j in range(len(plan.columns))]).alias("any"),
            _any(unexpected).alias("unexpected"),
        )
    )
    sums = [
        pl.col("pb").is_not_null().sum().alias("baseline"),
        pl.col("pc").is_not_null().sum().alias("current"),
        pl.col("m").sum().alias("matched"),
        pl.col("any").sum().alias("modified"),
        pl.col("unexpected").sum().alias("unexpected"),
        pl.col("pb").is_null().sum().alias("added"),
        pl.col("pc").is_null().sum().alias("removed"),
    ]
    for j, col in enumerate(columns):
        sums += [pl.col(f"{f}{j}").sum() for f in ("nb", "nc", "cf", "d")]
        if col.compared_as == "tolerance":
            sums.append(pl.col(f"wt{j}").sum())
    queries = [flagged.select(sums)]
    if samples > 0:
        # Collected together, the two queries share one scan and join of both sides.
        queries.append(_sample_query(flagged, len(key), samples))
    frames = pl.collect_all(queries, engine=ENGINE)
    counts = frames[0].row(0, named=True)

    rows = diff.rows
    rows.baseline, rows.current = counts["baseline"], counts["current"]
    rows.matched, rows.added, rows.removed = counts["matched"], counts["added"], counts["removed"]
    rows.modified, rows.modified_unexpected = counts["modified"], counts["unexpected"]
    rows.identical = counts["matched"] - counts["modified"]
    for j, col in enumerate(columns):
        col.null_in_baseline_only = counts[f"nb{j}"]
        col.null_in_current_only = counts[f"nc{j}"]
        col.conflicting = counts[f"cf{j}"]
        col.differing = counts[f"d{j}"]
        col.within_tolerance = counts.get(f"wt{j}", 0)
        if rows.matched:
            col.match_rate = 1.0 - col.differing / rows.matched
    diff.columns = columns
    _judge_keyed(diff, plan)

    if samples > 0:
        diff.samples = _samples(frames[1], key, plan.columns)


def _judge_keyed(diff: TableDiff, plan: _Plan) -> None:
    rows = diff.rows
    for kind, count in (("rows_added", rows.added or 0), ("rows_removed", rows.removed or 0)):
        if count:
            _rows_change(diff, plan, kind, count)
    by_name = {c.name: c for c in diff.columns}
    for match in plan.expected:
        if match.kind == "values" and match.column in by_name:
            col = by_name[match.column]
            match.rows = col.differing
            match.seen = col.differing > 0
            if match.max_rows is not None and col.differing > match.max_rows:
                match.within_limit = False
                diff.fail(f"expected change of `{col.name}` shows {col.differing} rows, "
                          f"declared at most {match.max_rows}")  # fmt: skip
    allowed = plan.spec.max_modified_rows
    if (rows.modified_unexpected or 0) > allowed:
        culprits = ", ".join(f"{c.name} ({c.differing})" for c in diff.columns
                             if c.differing and not c.expected)  # fmt: skip
        limit = f" (at most {allowed} allowed)" if allowed else ""
        diff.fail(f"{rows.modified_unexpected} rows modified beyond tolerance{limit}: {culprits}")


def _rows_change(diff: TableDiff, plan: _Plan, kind: str, count: int) -> None:
    what = "added" if kind == "rows_added" else "removed"
    matches = [e for e in plan.expected if e.kind == kind]
    if not matches:
        diff.fail(f"{count} rows {what}")
    for match in matches:
        match.seen, match.rows = True, count
        if match.max_rows is not None and count > match.max_rows:
            match.within_limit = False
            diff.fail(f"{count} rows {what}, expected at most {match.max_rows}")


def _check_duplicates(
    diff: TableDiff, base_lf: pl.LazyFrame, cur_lf: pl.LazyFrame, key: list[str]
) -> bool:
    """Report duplicate keys (counts only) as an error; True when there are any."""
    import polars as pl

    # A sorted 64-bit hash with adjacent equal values is cheap and never misses a duplicate;
    # only a hit (a real duplicate or a hash collision) pays for the exact group_by.
    h = pl.struct(key).hash().sort()
    suspects = pl.collect_all(
        [lf.select((h == h.shift(1)).sum().alias("n")) for lf in (base_lf, cur_lf)],
        engine=ENGINE,
    )
    if not any(s.item() for s in suspects):
        return False
    exact = pl.collect_all(
        [
            lf.group_by(key)
            .agg(pl.len().alias("n"))
            .filter(pl.col("n") > 1)
            .select(pl.len().alias("keys"), pl.col("n").sum().alias("rows"))
            for lf in (base_lf, cur_lf)
        ],
        engine=ENGINE,
    )
    (bk, br), (ck, cr) = (e.row(0) for e in exact)
    if not (bk or ck):
        return False
    diff.duplicates = Duplicates(bk, br or 0, ck, cr or 0)
    sides = [f"{side}: {k} key values on {r} rows" for side, k, r in
             (("baseline", bk, br), ("current", ck, cr)) if k]  # fmt: skip
    diff.error(f"duplicate keys ({', '.join(key)}) in " + "; ".join(sides))
    return True


def _sample_query(flagged: pl.LazyFrame, keys: int, n: int) -> pl.LazyFrame:
    """The first ``n`` differing rows (modified, added or removed) by key."""
    import polars as pl

    changed = pl.col("any") | pl.col("pb").is_null() | pl.col("pc").is_null()
    return flagged.filter(changed).sort([f"k{i}" for i in range(keys)], nulls_last=True).head(n)


def _samples(picked: pl.DataFrame, key: list[str], columns: list[str]) -> list[Sample]:
    out = []
    for row in picked.iter_rows(named=True):
        keys = {k: row[f"k{i}"] for i, k in enumerate(key)}
        if row["pb"] is None:
            out.append(Sample("added", keys))
        elif row["pc"] is None:
            out.append(Sample("removed", keys))
        else:
            values = {
                c: {"baseline": row[f"b{j}"], "current": row[f"c{j}"]}
                for j, c in enumerate(columns)
                if row[f"d{j}"]
            }
            out.append(Sample("modified", keys, values))
    return out


def _within(b: pl.Expr, c: pl.Expr, tol: Tolerance) -> pl.Expr:
    """Both sides non-null and within ``tol`` (any given bound)."""
    import polars as pl

    b, c = b.cast(pl.Float64), c.cast(pl.Float64)
    if tol.decimals is not None:
        b = b.round(tol.decimals, mode="half_away_from_zero")
        c = c.round(tol.decimals, mode="half_away_from_zero")
    gap = (b - c).abs()
    ok = b == c
    if tol.abs is not None:
        ok = ok | (gap <= tol.abs * (1 + SLACK))
    if tol.rel is not None:
        ok = ok | (gap <= tol.rel * b.abs() * (1 + SLACK))
    return ok


def _any(flags: list[pl.Expr]) -> pl.Expr:
    import polars as pl

    return pl.any_horizontal(flags) if flags else pl.lit(False)


# -- statistical ---------------------------------------------------------------------------
def _statistical(diff: TableDiff, plan: _Plan, base_lf: pl.LazyFrame, cur_lf: pl.LazyFrame) -> None:
    import polars as pl

    kinds = {}
    for column in plan.columns:
        b, c = _kind(plan.base[column]), _kind(plan.cur[column])
        kinds[column] = b if b == c else "other"

    def stats(lf: pl.LazyFrame) -> pl.LazyFrame:
        exprs = [pl.len().alias("count")]
        for j, column in enumerate(plan.columns):
            col = pl.col(column)
            exprs += [col.null_count().alias(f"{j}:nulls"), col.n_unique().alias(f"{j}:distinct")]
            if kinds[column] == "other":
                continue
            x = col.str.len_chars() if kinds[column] == "string" else col
            x = x.cast(pl.Float64)
            exprs += [x.mean().alias(f"{j}:mean"), x.std().alias(f"{j}:std")]
            exprs += [x.quantile(q, "linear").alias(f"{j}:{name}")
                      for name, q in QUANTILES.items()]  # fmt: skip
        return lf.select(exprs)

    base_row, cur_row = (
        f.row(0, named=True) for f in pl.collect_all([stats(base_lf), stats(cur_lf)], engine=ENGINE)
    )
    rows = diff.rows
    rows.baseline, rows.current = base_row["count"], cur_row["count"]
    limits = plan.spec.stats
    count_delta = _rel_delta(rows.baseline, rows.current)
    if count_delta > limits.count:
        kind = "rows_added" if rows.current > rows.baseline else "rows_removed"
        change = abs(rows.current - rows.baseline)
        matches = [e for e in plan.expected if e.kind == kind]
        for match in matches:
            match.seen, match.rows = True, change
            if match.max_rows is not None and change > match.max_rows:
                match.within_limit = False
                diff.fail(f"row count changed by {change}, expected at most {match.max_rows}")
        if not matches:
            diff.fail(f"row count {rows.baseline} -> {rows.current} "
                      f"(delta {_pct(count_delta)}, limit {_pct(limits.count)})")  # fmt: skip

    for j, column in enumerate(plan.columns):
        cs = ColumnStats(name=column, kind=kinds[column],
                         expected=column in plan.expected_values)  # fmt: skip
        for stat, limit_name in STAT_LIMIT.items():
            field = f"{j}:{stat}"
            if field not in base_row:
                continue
            bv, cv = base_row[field], cur_row[field]
            cs.baseline[stat], cs.current[stat] = bv, cv
            delta = _rel_delta(bv, cv)
            cs.deltas[stat] = delta
            if delta > getattr(limits, limit_name):
                cs.violations.append(stat)
        diff.stats.append(cs)
        if cs.violations:
            if cs.expected:
                for match in plan.expected:
                    if match.kind == "values" and match.column == column:
                        match.seen, match.rows = True, 0
            else:
                detail = ", ".join(f"{s} {_pct(cs.deltas[s])}" for s in cs.violations)
                diff.fail(f"`{column}` statistics beyond limits: {detail}")


def _rel_delta(b: float | None, c: float | None) -> float:
    """|c - b| / |b|; 0 when equal (None and NaN equal themselves), inf when b is 0."""
    if b is None or c is None:
        return 0.0 if b is None and c is None else float("inf")
    if b != b or c != c:  # NaN
        return 0.0 if b != b and c != c else float("inf")
    if b == c:
        return 0.0
    if b == 0:
        return float("inf")
    return abs(c - b) / abs(b)


def _pct(x: float | None) -> str:
    if x is None:
        return "-"
    return "inf" if x == float("inf") else f"{x:.4%}"


# -- types and files -----------------------------------------------------------------------
def _numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric()


def _kind(dtype: pl.DataType) -> str:
    import polars as pl

    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.String:
        return "string"
    return "other"


def _common_type(a: pl.DataType, b: pl.DataType) -> Any:
    """The type both sides are compared in when their types differ; None when equal."""
    import polars as pl

    if a == b:
        return None
    if a.is_integer() and b.is_integer():
        return pl.Int64
    if a.is_decimal() and b.is_decimal():
        return pl.Decimal(38, max(a.scale, b.scale))  # type: ignore[attr-defined]
    if a.is_numeric() and b.is_numeric():
        return pl.Float64
    # Anything else (string vs number, nested types) is compared as text.
    return pl.String


def _scan(path: Path, side: str) -> pl.LazyFrame:
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{side} not found: {path}")
    if path.is_dir() and not any(path.rglob("*.parquet")):
        raise FileNotFoundError(f"{side} directory holds no Parquet file: {path}")
    return pl.scan_parquet(path)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else ""
