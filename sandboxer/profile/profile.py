"""A privacy-safe profile of tables: the shape of production without its values.

``profile_frames`` is the core: every statistic of a table is one polars lazy ``select`` (one
scan), plus a second small ``select`` for the value counts of low-cardinality columns. What
may be stored is decided per column, here and nowhere else:

- every column: logical type, null rate, distinct count (counts only);
- numbers and dates that are not PII: min, max, quantiles and an equal-width histogram;
- low-cardinality columns that are not PII (<= 50 distinct values): each value that covers at
  least 1 % of the non-null rows and at least 5 rows, with its frequency;
- strings (PII too): length statistics and character-class patterns (``A9999``), computed as
  class sequences in polars, so a pattern never holds a letter or digit of a value; patterns
  seen in fewer than 5 rows are dropped;
- per foreign key: how many children each parent has (quantiles and exact counts).

PII columns are the given set plus whatever ``detect_frame`` finds on a sample: a profile is a
disclosure, so a missed column would leak its values. The format is documented in
docs/profile.md (``sandboxer.profile/1``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from sandboxer.snapshot.store import SnapshotInfo
    from sandboxer.sources.base import Source
    from sandboxer.sources.schema import Schema

FORMAT = "sandboxer.profile/1"


@dataclass(frozen=True)
class ProfileSettings:
    """Thresholds that decide what a profile stores; recorded in the profile itself."""

    quantiles: int = 101
    """Number of evenly spaced quantiles (p = i / (quantiles - 1)) for numbers and dates."""
    histogram_bins: int = 20
    """Equal-width bins between min and max for numbers and dates."""
    max_categories: int = 50
    """Columns with more distinct values get no category list."""
    min_category_share: float = 0.01
    """A category is listed only when it covers this share of the non-null rows ..."""
    min_category_rows: int = 5
    """... and at least this many rows."""
    max_patterns: int = 20
    """At most this many character-class patterns (and as many collapsed shapes) per column."""
    min_pattern_rows: int = 5
    """Patterns seen in fewer rows are dropped."""
    pattern_sample_rows: int = 100_000
    """Patterns are counted on at most this many evenly spaced rows of a table."""
    pattern_length: int = 64
    """Patterns cover the first characters of a value; longer values end in ``…``."""
    detect_sample_rows: int = 2000
    """Rows per table that PII detection looks at."""
    fanout_values: int = 200
    """Children-per-parent counts are listed exactly when they take at most this many values."""
    patterns: bool = True
    """Character-class patterns of strings; fidelity does not use them, so its profiles skip
    them."""


DEFAULTS = ProfileSettings()

# Punctuation kept as itself in patterns; letters, digits and everything else become classes.
_KEPT_PUNCTUATION = r"\-_.,:;@/+#()&'\[\]"


def profile_frames(
    tables: Mapping[str, pl.LazyFrame],
    schema_meta: Mapping[str, Mapping[str, Any]] | None,
    *,
    pii_columns: Iterable[tuple[str, str]] | None = None,
    detect: bool = True,
    settings: ProfileSettings = DEFAULTS,
    samples: Collection[str] = (),
) -> dict[str, Any]:
    """The profile of ``tables`` (JSON-serialisable, ``format: sandboxer.profile/1``).

    ``schema_meta`` maps a table to its keys in the manifest's shape (``primary_key``,
    ``unique_keys``, ``foreign_keys: [{columns, ref_table, ref_columns}]``, ``columns:
    [{name, nullable}]``); foreign keys are profiled when both tables are in ``tables``.
    ``pii_columns`` are ``(table, column)`` pairs treated as personal data; with ``detect``
    (the default) ``detect_frame`` adds what it finds on a sample of each table. Foreign keys
    touching one of ``samples`` (tables given as samples) get no fan-out here: a sample's
    is not the table's.
    """
    import polars as pl

    meta = {k: dict(v) for k, v in (schema_meta or {}).items()}
    pii = _pii(tables, set(pii_columns or ()), detect=detect, settings=settings)
    profile: dict[str, Any] = {
        "format": FORMAT,
        "settings": asdict(settings),
        "tables": {},
    }
    for key in sorted(tables):
        frame = tables[key]
        table_meta = meta.get(key, {})
        rows, columns = _profile_table(frame, key, table_meta, pii, settings)
        profile["tables"][key] = {
            "rows": rows,
            "profiled_rows": rows,
            "sampled": False,
            "primary_key": list(table_meta.get("primary_key") or []),
            "unique_keys": [list(u) for u in table_meta.get("unique_keys") or []],
            "columns": columns,
            "foreign_keys": [],
        }
    for key in sorted(tables):
        for fk in meta.get(key, {}).get("foreign_keys") or []:
            entry: dict[str, Any] = {
                "columns": list(fk["columns"]),
                "ref_table": fk["ref_table"],
                "ref_columns": list(fk.get("ref_columns") or fk["columns"]),
                "children_per_parent": None,
            }
            parent = tables.get(fk["ref_table"])
            # A sample's fan-out is not the table's: the caller counts it (profile_source).
            if parent is not None and not {key, fk["ref_table"]} & set(samples):
                entry["children_per_parent"] = fanout(
                    tables[key].select(pl.col(c) for c in entry["columns"]),
                    parent.select(pl.col(c) for c in entry["ref_columns"]),
                    entry["columns"],
                    entry["ref_columns"],
                    settings=settings,
                )
            profile["tables"][key]["foreign_keys"].append(entry)
    return profile


def profile_source(
    source: Source,
    schema: Schema | None = None,
    *,
    sample_rows: int = 1_000_000,
    seed: int = 0,
    pii_columns: Iterable[tuple[str, str]] | None = None,
    detect: bool = True,
    settings: ProfileSettings = DEFAULTS,
) -> dict[str, Any]:
    """The profile of an open source (call inside ``with source:``).

    Tables with more than ``sample_rows`` rows are profiled on a seeded sample of about
    ``sample_rows`` rows (``Sample(method="native")``: the engine's Bernoulli sample, the same
    rows while the table is unchanged); row counts are exact. Foreign-key fan-out of a
    sampled child table is counted over all its rows (one narrow read of its key columns):
    the children of every parent, or of the sampled parents when the parent table is sampled
    too (an unbiased estimate of the distribution; orphans are then not counted).
    ``schema`` defaults to ``source.introspect()``; pass ``load_schema(source, dataset)`` to
    include virtual keys.
    """
    import polars as pl

    from sandboxer.snapshot.manifest import TableSchema
    from sandboxer.sources.base import Sample

    schema = schema or source.introspect()
    frames: dict[str, pl.LazyFrame] = {}
    counts: dict[str, int] = {}
    sampled: set[str] = set()
    for key, table in sorted(schema.tables.items()):
        counts[key] = total = source.count_rows(table)
        sample = None
        if total > sample_rows:
            sample = Sample(max(0.001, sample_rows / total * 100), seed, method="native")
            sampled.add(key)
        arrow = source.select(table, table.column_names, sample=sample)
        frames[key] = _lazy(pl.from_arrow(arrow))
    meta = {k: TableSchema.from_table(t).to_dict() for k, t in schema.tables.items()}
    profile = profile_frames(
        frames, meta, pii_columns=pii_columns, detect=detect, settings=settings, samples=sampled
    )
    profile["source"] = source.identity()
    for key, entry in profile["tables"].items():
        entry["rows"] = counts[key]
        entry["sampled"] = key in sampled
    for key, entry in profile["tables"].items():
        fks = [
            fk
            for fk in entry["foreign_keys"]
            if fk["ref_table"] in frames and (key in sampled or fk["ref_table"] in sampled)
        ]
        if not fks:
            continue
        child = frames[key]
        if key in sampled:
            # One narrow read of every foreign-key column of the table, all rows.
            columns = sorted({c for fk in fks for c in fk["columns"]})
            child = _lazy(pl.from_arrow(source.select(schema.tables[key], columns)))
        for fk in fks:
            fk["children_per_parent"] = fanout(
                child,
                frames[fk["ref_table"]],
                fk["columns"],
                fk["ref_columns"],
                settings=settings,
                sampled_parents=fk["ref_table"] in sampled,
            )
    return profile


def profile_snapshot(
    info: SnapshotInfo,
    *,
    pii_columns: Iterable[tuple[str, str]] | None = None,
    detect: bool = True,
    settings: ProfileSettings = DEFAULTS,
) -> dict[str, Any]:
    """The profile of a published snapshot, read lazily from its Parquet files.

    Columns the redaction stage rewrote (``stages.redaction.columns`` in the manifest) count as
    PII even though they now hold pseudonyms, so the snapshot's profile stores the same kind of
    statistics as the source's.
    """
    import polars as pl

    from sandboxer.redact.stage import RedactStage

    manifest = info.manifest
    tables = {
        key: pl.scan_parquet(info.path / meta.file) for key, meta in sorted(manifest.tables.items())
    }
    report = manifest.stages.get(RedactStage.name) or {}
    redacted = {
        (table, column)
        for table, columns in report.get("columns", {}).items()
        for column in columns
    }
    profile = profile_frames(
        tables,
        {key: meta.to_dict() for key, meta in manifest.tables.items()},
        pii_columns=redacted | set(pii_columns or ()),
        detect=detect,
        settings=settings,
    )
    profile["source"] = {"snapshot": info.id, "dataset": info.dataset}
    return profile


# -- PII -------------------------------------------------------------------------------------
def _pii(
    tables: Mapping[str, pl.LazyFrame],
    given: set[tuple[str, str]],
    *,
    detect: bool,
    settings: ProfileSettings,
) -> dict[tuple[str, str], str | None]:
    """``(table, column) -> entity`` for every PII column (``None`` when only given)."""
    pii: dict[tuple[str, str], str | None] = {pair: None for pair in given}
    if not detect:
        return pii
    from sandboxer.redact.detect import detect_frame

    for key, frame in sorted(tables.items()):
        sample = _sample(frame, settings.detect_sample_rows)
        if sample.height == 0:
            continue
        for column, findings in detect_frame(sample, table=key).items():
            if findings:
                pii[(key, column)] = findings[0].entity.value
    return pii


def _sample(frame: pl.LazyFrame, rows: int) -> pl.DataFrame:
    """About ``rows`` rows spread evenly over the frame (deterministic)."""
    import polars as pl

    total = frame.select(pl.len()).collect().item()
    step = max(1, total // max(1, rows))
    return frame.gather_every(step).head(rows).collect()


def _lazy(frame: pl.DataFrame | pl.Series) -> pl.LazyFrame:
    import polars as pl

    if isinstance(frame, pl.Series):
        frame = frame.to_frame()
    return frame.lazy()


# -- one table -------------------------------------------------------------------------------
def logical_type(dtype: pl.DataType) -> str:
    """``integer``, ``float``, ``decimal``, ``boolean``, ``string``, ``date``, ``datetime``,
    ``binary``, ``list``, ``struct`` or ``other``."""
    import polars as pl

    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_integer():
        return "integer"
    if dtype.is_float():
        return "float"
    if isinstance(dtype, pl.Decimal):
        return "decimal"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Binary:
        return "binary"
    if isinstance(dtype, pl.List | pl.Array):
        return "list"
    if isinstance(dtype, pl.Struct):
        return "struct"
    return "other"


def _dtype_text(dtype: pl.DataType) -> str:
    """The polars type as text; an Enum's text would list its values, so it is just Enum."""
    import polars as pl

    return "Enum" if isinstance(dtype, pl.Enum) else str(dtype)


NUMERIC = frozenset({"integer", "float", "decimal"})
TEMPORAL = frozenset({"date", "datetime"})
RANKED = NUMERIC | TEMPORAL
HASHABLE = RANKED | {"boolean", "string", "binary"}


def _profile_table(
    frame: pl.LazyFrame,
    table: str,
    meta: Mapping[str, Any],
    pii: Mapping[tuple[str, str], str | None],
    settings: ProfileSettings,
) -> tuple[int, dict[str, Any]]:
    """The row count and ``{column: stats}`` of one table."""
    import polars as pl

    schema = frame.collect_schema()
    nullable = {c["name"]: c.get("nullable") for c in meta.get("columns") or []}
    types = {name: logical_type(dtype) for name, dtype in schema.items()}
    exprs: list[pl.Expr] = [pl.len().alias("rows")]
    for i, (name, kind) in enumerate(types.items()):
        exprs.extend(
            _column_exprs(pl.col(name), schema[name], f"{i}:", kind, (table, name) in pii, settings)
        )
    row = frame.select(exprs).collect().row(0, named=True)
    rows = int(row["rows"])
    out: dict[str, Any] = {}
    low_cardinality: list[str] = []
    for i, (name, kind) in enumerate(types.items()):
        is_pii = (table, name) in pii
        zoned = getattr(schema[name], "time_zone", None) is not None
        stats = _column_stats(row, f"{i}:", kind, zoned, rows, is_pii, settings)
        stats = {
            "type": kind,
            "dtype": _dtype_text(schema[name]),
            "nullable": nullable.get(name),
            "pii": is_pii,
            "pii_entity": pii.get((table, name)),
            **stats,
        }
        out[name] = stats
        distinct = stats.get("distinct")
        if (
            not is_pii
            and kind in HASHABLE - {"binary"}
            and distinct is not None
            and 0 < distinct <= settings.max_categories
        ):
            low_cardinality.append(name)
    strings = [n for n, k in types.items() if k == "string" and out[n].get("length")]
    if not settings.patterns:
        strings = []
    for name, found in _patterns(frame, strings, settings).items():
        out[name]["patterns"] = found["patterns"]
        out[name]["shapes"] = found["shapes"]
        out[name]["patterns_sampled_rows"] = found["sampled_rows"]
    if low_cardinality:
        counts = frame.select(
            _finite(pl.col(name), types[name])
            .drop_nulls()
            .value_counts(sort=True)
            .implode()
            .alias(name)
            for name in low_cardinality
        ).collect()
        for name in low_cardinality:
            out[name]["categories"] = _categories(
                counts.get_column(name)[0], name, out[name], settings
            )
    return rows, out


def _finite(col: pl.Expr, kind: str) -> pl.Expr:
    """Floats without NaN and infinities (as nulls): they are not JSON numbers."""
    import polars as pl

    return pl.when(col.is_finite()).then(col) if kind == "float" else col


def _numeric(col: pl.Expr, dtype: pl.DataType, kind: str) -> pl.Expr:
    """The column as numbers that sort and subtract: floats without NaN/inf, decimals as
    floats, dates as days and datetimes as microseconds since 1970-01-01 (UTC when zoned)."""
    import polars as pl

    if kind == "float":
        return _finite(col, kind)
    if kind == "decimal":
        return col.cast(pl.Float64)
    if kind == "datetime":
        zone = getattr(dtype, "time_zone", None)
        return col.cast(pl.Datetime("us", time_zone=zone)).to_physical()
    if kind == "date":
        return col.to_physical()
    return col


def _column_exprs(
    col: pl.Expr,
    dtype: pl.DataType,
    p: str,
    kind: str,
    is_pii: bool,
    settings: ProfileSettings,
) -> list[pl.Expr]:
    import polars as pl

    exprs = [col.null_count().alias(p + "nulls")]
    if kind in HASHABLE:
        exprs.append(col.drop_nulls().n_unique().alias(p + "distinct"))
    if kind == "boolean":
        exprs.append(col.cast(pl.Float64).mean().alias(p + "true_rate"))
    if kind in RANKED and not is_pii:
        values = _numeric(col, dtype, kind).drop_nulls()
        ordered = values.sort()
        n = values.len()
        probs = pl.Series([i / (settings.quantiles - 1) for i in range(settings.quantiles)])
        index = (pl.lit(probs) * (n - 1)).round().cast(pl.Int64)
        lo, hi = values.min(), values.max()
        bins = settings.histogram_bins
        width = (hi - lo).cast(pl.Float64)
        bucket = (
            pl.when(width > 0)
            .then(((values - lo).cast(pl.Float64) / width * bins).floor().clip(0, bins - 1))
            .otherwise(0)
            .cast(pl.Int64)
        )
        exprs += [
            lo.alias(p + "min"),
            hi.alias(p + "max"),
            values.cast(pl.Float64).mean().alias(p + "mean"),
            values.cast(pl.Float64).std().alias(p + "std"),
            ordered.gather(index, null_on_oob=True).implode().alias(p + "quantiles"),
            bucket.value_counts().implode().alias(p + "histogram"),
        ]
    if kind == "string":
        text = col.cast(pl.String)
        length = text.str.len_chars().drop_nulls()
        probs = pl.Series([i / 20 for i in range(21)])
        index = (pl.lit(probs) * (length.len() - 1)).round().cast(pl.Int64)
        exprs += [
            length.min().alias(p + "len_min"),
            length.max().alias(p + "len_max"),
            length.cast(pl.Float64).mean().alias(p + "len_mean"),
            length.sort().gather(index, null_on_oob=True).implode().alias(p + "len_quantiles"),
            (text == "").sum().alias(p + "empty"),
        ]
    return exprs


def _patterns(
    frame: pl.LazyFrame, columns: list[str], settings: ProfileSettings
) -> dict[str, dict[str, Any]]:
    """Top character-class patterns and shapes of string ``columns``, on up to
    ``pattern_sample_rows`` evenly spaced rows: each distinct value is classified once and its
    rows counted, and patterns seen in fewer than ``min_pattern_rows`` rows are dropped."""
    import polars as pl

    if not columns:
        return {}
    rows = frame.select(pl.len()).collect().item()
    step = max(1, -(-rows // settings.pattern_sample_rows))
    sample = frame.select(columns).gather_every(step).collect()
    out: dict[str, dict[str, Any]] = {}
    for name in columns:
        values = (
            sample.lazy()
            .select(pl.col(name).cast(pl.String).alias("v"))
            .drop_nulls()
            .group_by("v")
            .agg(pl.len().alias("n"))
            .with_columns(_pattern(pl.col("v"), settings.pattern_length).alias("p"))
            .with_columns(_shape(pl.col("p")).alias("s"))
        )
        total = sample.get_column(name).drop_nulls().len()
        out[name] = {}
        for label, key in (("patterns", "p"), ("shapes", "s")):
            top = (
                values.group_by(key)
                .agg(pl.col("n").sum())
                .filter(pl.col("n") >= settings.min_pattern_rows)
                .sort(["n", key], descending=[True, False])
                .head(settings.max_patterns)
                .collect()
            )
            out[name][label] = [
                {"pattern": pattern, "rows": int(n), "share": _ratio(int(n), total)}
                for pattern, n in top.iter_rows()
            ]
        out[name]["sampled_rows"] = total
    return out


def _pattern(text: pl.Expr, limit: int) -> pl.Expr:
    """Each value as a sequence of character classes: ``A`` upper-case letter, ``a`` other
    letter, ``9`` digit, `` `` whitespace, ``*`` any other symbol; common punctuation stays
    itself. Nothing of the value survives but its classes."""
    import polars as pl

    head = text.str.slice(0, limit)
    classes = (
        head.str.replace_all(r"[\p{Lu}\p{Lt}]", "A")
        .str.replace_all(r"[\p{Ll}\p{Lm}\p{Lo}]", "a")
        .str.replace_all(r"\p{Nd}", "9")
        .str.replace_all(r"\s", " ")
        .str.replace_all(rf"[^Aa9 {_KEPT_PUNCTUATION}]", "*")
    )
    return pl.when(text.str.len_chars() > limit).then(classes + "…").otherwise(classes)


def _shape(pattern: pl.Expr) -> pl.Expr:
    """A pattern with runs of one class collapsed (``aaaa@aaaa.aaa`` -> ``a@a.a``)."""
    return (
        pattern.str.replace_all("A+", "A")
        .str.replace_all("a+", "a")
        .str.replace_all("9+", "9")
        .str.replace_all(" +", " ")
    )


def _column_stats(
    row: Mapping[str, Any],
    p: str,
    kind: str,
    zoned: bool,
    rows: int,
    is_pii: bool,
    settings: ProfileSettings,
) -> dict[str, Any]:
    nulls = int(row[p + "nulls"])
    non_null = rows - nulls
    stats: dict[str, Any] = {
        "nulls": nulls,
        "null_rate": _ratio(nulls, rows),
    }
    if p + "distinct" in row:
        distinct = int(row[p + "distinct"])
        stats["distinct"] = distinct
        stats["distinct_ratio"] = _ratio(distinct, non_null)
        stats["unique"] = non_null > 0 and distinct == non_null
    if kind == "boolean":
        stats["true_rate"] = _float(row[p + "true_rate"])
    if kind in RANKED and not is_pii and row[p + "min"] is not None:
        convert = _converter(kind, zoned)
        lo, hi = row[p + "min"], row[p + "max"]
        stats["min"] = convert(lo)
        stats["max"] = convert(hi)
        stats["mean"] = _mean(kind, row[p + "mean"], convert)
        stats["std"] = _float(row[p + "std"]) if kind in NUMERIC else None
        stats["quantiles"] = [convert(v) for v in row[p + "quantiles"] or []]
        bins = settings.histogram_bins
        counts = [0] * bins
        for entry in row[p + "histogram"] or []:
            values = list(entry.values())
            if values[0] is not None:
                counts[int(values[0])] += int(values[1])
        edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
        # Edges fall between values: floats for every number, datetimes for dates.
        edge = _converter("datetime" if kind == "date" else "float", zoned)
        scale = 86_400_000_000 if kind == "date" else 1
        stats["histogram"] = {"edges": [edge(e * scale) for e in edges], "counts": counts}
    if kind == "string" and row[p + "len_min"] is not None:
        stats["length"] = {
            "min": int(row[p + "len_min"]),
            "max": int(row[p + "len_max"]),
            "mean": _float(row[p + "len_mean"]),
            "quantiles": [int(v) for v in row[p + "len_quantiles"] or []],
        }
        stats["empty"] = int(row[p + "empty"])
    return stats


def _categories(
    counts: Any, name: str, stats: Mapping[str, Any], settings: ProfileSettings
) -> dict[str, Any]:
    """Values of a low-cardinality column with their share of non-null rows: only those that
    cover ``min_category_share`` and ``min_category_rows``; the rest is ``other``."""
    entries = [(e[name], int(e["count"])) for e in counts]
    non_null = sum(n for _, n in entries)
    floor = max(settings.min_category_rows, math.ceil(settings.min_category_share * non_null))
    kind = stats["type"]
    kept = [(v, n) for v, n in entries if n >= floor]
    kept.sort(key=lambda vn: (-vn[1], str(vn[0])))
    listed = sum(n for _, n in kept)
    return {
        "values": [_json_value(kind, v) for v, _ in kept],
        "rows": [n for _, n in kept],
        "frequencies": [_ratio(n, non_null) for _, n in kept],
        "other": _ratio(non_null - listed, non_null),
        "other_values": len(entries) - len(kept),
    }


# -- foreign keys ----------------------------------------------------------------------------
def fanout(
    child: pl.LazyFrame,
    parent: pl.LazyFrame,
    columns: list[str],
    ref_columns: list[str],
    *,
    settings: ProfileSettings = DEFAULTS,
    sampled_parents: bool = False,
) -> dict[str, Any]:
    """How many children each parent has (parents with none count as 0), as counts only.

    ``child`` holds the foreign-key ``columns``, ``parent`` the referenced ``ref_columns``.
    Child rows with a null in the key are ``null_children``; those matching no parent are
    ``orphans`` (possible in a subset's source or in loose data). With ``sampled_parents``
    (``parent`` is a sample of the parent table), only the sampled parents' children count
    and ``orphans`` is None: a child of an unsampled parent is no orphan.
    """
    import polars as pl

    keys = [f"k{i}" for i in range(len(columns))]
    parents = (
        parent.select(pl.col(c).alias(k) for c, k in zip(ref_columns, keys, strict=True))
        .drop_nulls()
        .unique()
    )
    # A virtual key may join columns of different types: the child's are cast to the
    # parent's, as the subsetter matches them (values that do not convert count as null).
    children = child.select(pl.col(c).alias(k) for c, k in zip(columns, keys, strict=True))
    children = children.cast(dict(parents.collect_schema().items()), strict=False)
    not_null = pl.all_horizontal(pl.col(k).is_not_null() for k in keys)
    nulls = children.select((~not_null).sum()).collect().item()
    grouped = children.filter(not_null).group_by(keys).agg(pl.len().alias("n"))
    per_parent = parents.join(grouped, on=keys, how="left").select(
        pl.col("n").fill_null(0).cast(pl.Int64)
    )
    orphans = grouped.join(parents, on=keys, how="anti").select(pl.col("n").sum())
    counts = per_parent.group_by("n").agg(pl.len().alias("parents")).sort("n").collect()
    orphan_rows = None if sampled_parents else int(orphans.collect().item() or 0)
    ks = counts.get_column("n").to_list()
    ps = counts.get_column("parents").to_list()
    total = sum(ps)
    children_total = sum(k * p for k, p in zip(ks, ps, strict=True))
    return {
        "parents": total,
        "childless": ps[0] if ks and ks[0] == 0 else 0,
        "children": children_total,
        "null_children": int(nulls),
        "orphans": orphan_rows,
        "mean": round(children_total / total, 6) if total else None,
        "max": ks[-1] if ks else None,
        "quantiles": _weighted_quantiles(ks, ps, settings.quantiles),
        "counts": ({"children": ks, "parents": ps} if len(ks) <= settings.fanout_values else None),
    }


def _weighted_quantiles(values: list[int], weights: list[int], n: int) -> list[int]:
    """Quantiles (nearest rank, like the column quantiles) of ``values`` repeated
    ``weights`` times, without expanding them."""
    total = sum(weights)
    if not total:
        return []
    out, acc, i = [], 0, 0
    cumulative = []
    for w in weights:
        acc += w
        cumulative.append(acc)
    for q in range(n):
        rank = round(q / (n - 1) * (total - 1))
        while cumulative[i] <= rank:
            i += 1
        out.append(values[i])
    return out


# -- JSON values -----------------------------------------------------------------------------
def _ratio(a: int, b: int) -> float:
    return round(a / b, 6) if b else 0.0


def _float(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return round(f, 6) if math.isfinite(f) else None


def _converter(kind: str, zoned: bool) -> Callable[[Any], Any]:
    """From the physical numbers the stats are computed on back to JSON values: ints stay
    ints, floats keep 12 significant digits, dates and datetimes become ISO-8601 text
    (zoned datetimes in UTC, with ``+00:00``)."""
    if kind == "date":
        epoch = dt.date(1970, 1, 1)
        return lambda v: (epoch + dt.timedelta(days=round(v))).isoformat()
    if kind == "datetime":
        start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC if zoned else None)
        return lambda v: (start + dt.timedelta(microseconds=round(v))).isoformat()
    if kind == "integer":
        return lambda v: round(v) if isinstance(v, float) else int(v)
    return lambda v: float(f"{float(v):.12g}")


def _mean(kind: str, v: Any, convert: Callable[[Any], Any]) -> Any:
    if v is None:
        return None
    return convert(v) if kind in TEMPORAL else _float(v)


def _json_value(kind: str, v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return float(f"{v:.12g}")
    if kind == "decimal":
        return float(v)
    return v
