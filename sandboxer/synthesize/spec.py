"""What the generator needs to know, read from a profile and a schema.

The profile (``sandboxer.profile/1``) says how values are distributed; the schema says what the
tables are (column types, nullability, keys). Both arrive as plain dicts (the JSON of a profile,
the ``tables`` section of a snapshot manifest) or, for the schema, as a ``sources.schema.Schema``.
Everything the generator reads from them goes through this module, so a change of the profile
format is a change here only. The fields read are listed in ``README.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

PROFILE_FORMAT = "sandboxer.profile/1"
LUT_SIZE = 1 << 16
LUT_MIN_ROWS = 1 << 14
"""Below this many draws, binary searches are cheaper than building a lookup table."""

# Logical kinds the generator distinguishes.
INTEGER, FLOAT, DECIMAL, DATE, TIMESTAMP, BOOLEAN, STRING, BINARY = (
    "integer", "float", "decimal", "date", "timestamp", "boolean", "string", "binary",
)  # fmt: skip


@dataclass(frozen=True)
class Dist:
    """A distribution as a piecewise-linear inverse CDF: probabilities ``p`` (0..1, increasing)
    and the values at them. Dates are in days, timestamps in microseconds since the epoch."""

    p: np.ndarray
    v: np.ndarray
    discrete: bool = False
    """A step CDF: ``p`` are cumulative probabilities of the values ``v`` (exact counts)."""

    def sample(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF at ``u`` (uniforms in [0, 1))."""
        import numpy as np

        if len(u) < LUT_MIN_ROWS:
            if self.discrete:
                idx = np.searchsorted(self.p, u * self.p[-1], side="right")
                return self.v[np.minimum(idx, len(self.v) - 1)]
            return np.interp(u, self.p, self.v)
        # A lookup table on a 2**16 grid of u: two gathers from a table that fits in cache
        # instead of a binary search per value (several times faster; the inverse CDF is
        # linear between grid points except within the grid cells that hold a breakpoint).
        base, slope = self._table
        x = u * LUT_SIZE
        i = x.astype(np.int32)
        if slope is None:
            return base[i]
        return base[i] + (x - i) * slope[i]

    @cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray | None]:
        import numpy as np

        if self.discrete:
            mid = (np.arange(LUT_SIZE) + 0.5) / LUT_SIZE * self.p[-1]
            idx = np.minimum(np.searchsorted(self.p, mid, side="right"), len(self.v) - 1)
            return self.v[idx], None
        grid = np.interp(np.arange(LUT_SIZE + 1) / LUT_SIZE, self.p, self.v)
        return grid[:-1], np.diff(grid)

    @property
    def mean(self) -> float:
        import numpy as np

        if self.discrete:
            return float(np.sum(np.diff(self.p, prepend=0.0) * self.v) / self.p[-1])
        # Mean of a piecewise-linear inverse CDF: trapezoids of v over p.
        return float(np.sum(np.diff(self.p) * (self.v[1:] + self.v[:-1]) / 2))

    @property
    def high(self) -> float:
        return float(self.v[-1])


@dataclass(frozen=True)
class Categories:
    """Values with their probabilities among non-null rows; ``coverage`` is their total share
    (< 1 when the profile lists only the top values)."""

    values: list[Any]
    probs: np.ndarray
    coverage: float


@dataclass
class ColumnSpec:
    name: str
    kind: str
    arrow_type: pa.DataType
    nullable: bool = True
    null_rate: float = 0.0
    distinct: int | None = None
    min: Any = None
    max: Any = None
    dist: Dist | None = None
    categories: Categories | None = None
    length: Dist | None = None
    patterns: Categories | None = None
    """Character-class patterns (``A`` upper, ``a`` lower, ``9`` digit, other characters
    literal) with their shares."""
    pii: str | None = None
    """The entity (``email``, ``person_name``...; ``unknown`` for PII of no known entity):
    values come from fakes or patterns, never from listed values."""
    unique: bool = False
    """Every non-null value differed in the profiled data."""
    true_rate: float | None = None
    empty_rate: float = 0.0
    """Share of empty strings among non-null values."""
    scale: int = 0
    """Digits after the point (decimals)."""


@dataclass
class ForeignKeySpec:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    fanout: Dist | None = None
    """Children per parent (over every parent, zeros included)."""


@dataclass
class TableSpec:
    name: str
    rows: int
    columns: list[ColumnSpec]
    primary_key: tuple[str, ...] = ()
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise SandboxerError(f"Table `{self.name}` has no column `{name}` in the schema")

    @property
    def unique_columns(self) -> set[str]:
        """Columns unique on their own (single-column primary or unique keys)."""
        keys = [self.primary_key, *self.unique_keys]
        return {k[0] for k in keys if len(k) == 1}


# -- reading ---------------------------------------------------------------------------------


def _get(d: dict[str, Any], *names: str, default: Any = None) -> Any:
    for n in names:
        if n in d and d[n] is not None:
            return d[n]
    return default


def read_specs(profile: dict[str, Any], schema: Any) -> dict[str, TableSpec]:
    """Table specs keyed by table name, from a profile and a schema (dict or ``Schema``)."""
    fmt = profile.get("format")
    if fmt is not None and fmt != PROFILE_FORMAT:
        raise SandboxerError(
            f"Unsupported profile format `{fmt}`", hint=f"Expected `{PROFILE_FORMAT}`."
        )
    ptables: dict[str, Any] = profile.get("tables") or {}
    stables = _schema_tables(schema)
    specs: dict[str, TableSpec] = {}
    for name in stables or ptables:
        meta = stables.get(name) or _table_from_profile(ptables.get(name) or {})
        prof = ptables.get(name)
        if prof is None:
            raise SandboxerError(
                f"The profile has no table `{name}`",
                hint="Profile the same source (or snapshot) the schema comes from.",
            )
        specs[name] = _table_spec(name, meta, prof)
    for spec in specs.values():
        for fk in spec.foreign_keys:
            if fk.ref_table not in specs:
                raise SandboxerError(
                    f"`{spec.name}({', '.join(fk.columns)})` references `{fk.ref_table}`, "
                    "which is neither in the schema nor in the profile"
                )
    return specs


def _schema_tables(schema: Any) -> dict[str, dict[str, Any]]:
    from sandboxer.sources.schema import Schema

    if schema is None:
        return {}
    if isinstance(schema, Schema):
        return {
            key: {
                "columns": [
                    {"name": c.name, "source_type": c.type, "nullable": c.nullable}
                    for c in t.columns
                ],
                "primary_key": list(t.primary_key),
                "unique_keys": [list(u) for u in t.unique_keys],
                "foreign_keys": [
                    {
                        "columns": list(f.columns),
                        "ref_table": f.ref_table.key,
                        "ref_columns": list(f.ref_columns),
                    }
                    for f in t.foreign_keys
                ],
            }
            for key, t in schema.tables.items()
        }
    tables = schema.get("tables", schema) if isinstance(schema, dict) else None
    if not isinstance(tables, dict):
        raise SandboxerError("The schema must be a dict of tables (a manifest's `tables`)")
    return tables


def _table_from_profile(prof: dict[str, Any]) -> dict[str, Any]:
    cols = prof.get("columns") or {}
    items = cols.items() if isinstance(cols, dict) else ((c["name"], c) for c in cols)
    return {
        "columns": [{"name": n, "nullable": True} for n, _ in items],
        "primary_key": prof.get("primary_key") or [],
        "unique_keys": prof.get("unique_keys") or [],
        "foreign_keys": prof.get("foreign_keys") or [],
    }


def _profile_columns(prof: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cols = prof.get("columns") or {}
    if isinstance(cols, list):
        return {c["name"]: c for c in cols}
    return dict(cols)


def _table_spec(name: str, meta: dict[str, Any], prof: dict[str, Any]) -> TableSpec:
    pcols = _profile_columns(prof)
    columns = []
    for c in meta.get("columns") or []:
        pc = pcols.get(c["name"]) or {}
        columns.append(_column_spec(c, pc, int(_get(prof, "rows", "row_count", default=0))))
    fanouts = {
        tuple(f.get("columns") or ()): f for f in prof.get("foreign_keys") or [] if "columns" in f
    }
    fks = []
    for f in meta.get("foreign_keys") or []:
        cols = tuple(f["columns"])
        pf = fanouts.get(cols) or {}
        fan = _get(pf, "children_per_parent", "fanout", "fan_out")
        fks.append(
            ForeignKeySpec(
                columns=cols,
                ref_table=f["ref_table"],
                ref_columns=tuple(f["ref_columns"]),
                fanout=_dist(fan, kind=INTEGER) if isinstance(fan, dict) else None,
            )
        )
    return TableSpec(
        name=name,
        rows=int(_get(prof, "rows", "row_count", default=0)),
        columns=columns,
        primary_key=tuple(meta.get("primary_key") or ()),
        unique_keys=[tuple(u) for u in meta.get("unique_keys") or ()],
        foreign_keys=fks,
    )


def _column_spec(meta: dict[str, Any], pc: dict[str, Any], rows: int) -> ColumnSpec:
    arrow_type = parse_type(meta.get("type"), meta.get("source_type"), pc)
    kind = kind_of(arrow_type)
    null_rate = float(_get(pc, "null_rate", "null_fraction", default=0.0))
    nullable = meta.get("nullable")
    if nullable is None:
        nullable = pc.get("nullable")
    pii = _get(pc, "pii_entity", "entity") or (
        "unknown" if pc.get("pii") is True else _get(pc, "pii") or None
    )
    if isinstance(pii, dict):
        pii = pii.get("entity") or "unknown"
    spec = ColumnSpec(
        name=meta["name"],
        kind=kind,
        arrow_type=arrow_type,
        nullable=True if nullable is None else bool(nullable),
        null_rate=null_rate,
        distinct=_get(pc, "distinct", "distinct_count", "n_distinct"),
        min=_scalar(_get(pc, "min"), kind),
        max=_scalar(_get(pc, "max"), kind),
        pii=pii if isinstance(pii, str) else None,
        unique=bool(pc.get("unique")),
        true_rate=_get(pc, "true_rate"),
        scale=int(getattr(arrow_type, "scale", 0) or 0),
    )
    spec.dist = _dist(pc, kind=kind)
    top = _get(pc, "categories", "top", "top_values", "top_categories")
    if top and spec.pii is None:
        spec.categories = _categories(top, kind, null_rate)
    length = _get(pc, "length", "lengths")
    if isinstance(length, dict):
        spec.length = _dist(length, kind=INTEGER)
    non_null = rows - int(_get(pc, "nulls", default=0) or 0)
    if pc.get("empty") and non_null > 0:
        spec.empty_rate = float(pc["empty"]) / non_null
    patterns = [
        p
        for p in _get(pc, "patterns", "char_patterns", default=[])
        if not str(_get(p, "pattern", default="")).endswith("…")
    ]
    if patterns:
        spec.patterns = _categories(patterns, STRING, 0.0, value_key="pattern")
    return spec


def _scalar(value: Any, kind: str) -> Any:
    """A profile scalar as a number: dates as days, timestamps as microseconds."""
    import numpy as np

    if value is None:
        return None
    if kind == DATE and isinstance(value, str):
        return int(np.datetime64(value[:10], "D").astype(np.int64))
    if kind == TIMESTAMP and isinstance(value, str):
        return int(np.datetime64(value.rstrip("Z").split("+")[0], "us").astype(np.int64))
    if kind in (INTEGER, FLOAT, DECIMAL, DATE, TIMESTAMP) and isinstance(value, str):
        return float(value)
    return value


def _pairs(raw: Any) -> list[tuple[float, Any]]:
    """Quantiles as (p, value) pairs, from ``{"p": [...], "values": [...]}``, ``[[p, v]...]``,
    ``[{"p": p, "value": v}...]`` or ``{"0.5": v}``."""
    if isinstance(raw, dict):
        ps = _get(raw, "p", "probs", "probabilities", "q")
        vs = _get(raw, "values", "v")
        if ps is not None and vs is not None:
            return list(zip(ps, vs, strict=True))
        return [(float(k.rstrip("%")) / (100 if k.endswith("%") else 1), v) for k, v in raw.items()]
    if raw and not isinstance(raw[0], dict | list | tuple):
        # Evenly spaced quantiles (p = i / (n - 1)), as sandboxer.profile writes them.
        n = len(raw)
        return [(i / (n - 1) if n > 1 else 1.0, v) for i, v in enumerate(raw)]
    out = []
    for item in raw:
        if isinstance(item, dict):
            out.append((float(_get(item, "p", "q", "quantile")), _get(item, "value", "v")))
        else:
            out.append((float(item[0]), item[1]))
    return out


def _dist(pc: dict[str, Any] | None, *, kind: str) -> Dist | None:
    """The value distribution: quantiles, else a histogram, else exact value counts, else
    uniform between min and max."""
    import numpy as np

    if not pc:
        return None
    quantiles = _get(pc, "quantiles", "percentiles")
    hist = _get(pc, "histogram")
    counts = _get(pc, "counts", "value_counts", "distribution")
    if counts:
        quantiles = None  # exact counts describe discrete data (children per parent) exactly
    if quantiles:
        pairs = sorted((p, _scalar(v, kind)) for p, v in _pairs(quantiles) if v is not None)
        p = np.array([x[0] for x in pairs], dtype=np.float64)
        v = np.array([x[1] for x in pairs], dtype=np.float64)
        lo, hi = _scalar(_get(pc, "min"), kind), _scalar(_get(pc, "max"), kind)
        if len(p) and p[0] > 0 and lo is not None:
            p, v = np.concatenate([[0.0], p]), np.concatenate([[float(lo)], v])
        if len(p) and p[-1] < 1 and hi is not None:
            p, v = np.concatenate([p, [1.0]]), np.concatenate([v, [float(hi)]])
        if len(p) >= 2:
            return Dist(p, np.maximum.accumulate(v))
    if isinstance(hist, dict):
        edges = _get(hist, "edges", "bins", "bin_edges")
        hcounts = _get(hist, "counts", "frequencies")
        if edges is not None and hcounts is not None and len(edges) == len(hcounts) + 1:
            e = np.array([_scalar(x, kind) for x in edges], dtype=np.float64)
            c = np.asarray(hcounts, dtype=np.float64)
            if c.sum() > 0:
                cdf = np.concatenate([[0.0], np.cumsum(c) / c.sum()])
                return Dist(cdf, e)
    if counts:
        # Exact counts win over quantiles for discrete data (children per parent).
        if isinstance(counts, dict) and "children" in counts:
            pairs = sorted(zip(counts["children"], counts["parents"], strict=True))
        elif isinstance(counts, dict):
            pairs = sorted((float(k), float(v)) for k, v in counts.items())
        else:
            pairs = sorted((float(a), float(b)) for a, b in counts)
        vals = np.array([x[0] for x in pairs], dtype=np.float64)
        w = np.array([x[1] for x in pairs], dtype=np.float64)
        if w.sum() > 0:
            return Dist(np.cumsum(w) / w.sum(), vals, discrete=True)
    lo, hi = _scalar(_get(pc, "min"), kind), _scalar(_get(pc, "max"), kind)
    mean = _get(pc, "mean")
    if isinstance(lo, int | float) and isinstance(hi, int | float) and not isinstance(lo, bool):
        return Dist(np.array([0.0, 1.0]), np.array([float(lo), float(hi)]))
    if isinstance(mean, int | float):
        return Dist(np.array([0.0, 1.0]), np.array([0.0, 2.0 * float(mean)]))
    return None


def _categories(raw: Any, kind: str, null_rate: float, value_key: str = "value") -> Categories:
    import numpy as np

    if isinstance(raw, dict) and "values" in raw:
        freqs = _get(raw, "frequencies", "shares", "rows")
        values = [_scalar(v, kind) if kind != STRING else v for v in raw["values"]]
        w = np.asarray(freqs, dtype=np.float64)
        other = raw.get("other")
        coverage = 1.0 - float(other) if other is not None else 1.0
        if w.sum() <= 0:
            return Categories(values, w, 0.0)
        return Categories(values, w / w.sum(), coverage)
    if isinstance(raw, dict):
        items = list(raw.items())
    else:
        items = [
            (_get(i, value_key, "value", "pattern"), _get(i, "share", "frequency", "count"))
            if isinstance(i, dict)
            else (i[0], i[1])
            for i in raw
        ]
    values = [_scalar(v, kind) if kind != STRING else v for v, _ in items]
    weights = np.array([float(w) for _, w in items], dtype=np.float64)
    total = weights.sum()
    if total > 1.0 + 1e-6:  # counts, not shares
        probs = weights / total
        coverage = 1.0
    else:
        nonnull = max(1.0 - null_rate, 1e-12)
        # Shares are usually of all rows; normalise to the non-null rows.
        shares = weights / nonnull if total <= nonnull + 1e-6 else weights / total
        coverage = float(min(1.0, shares.sum()))
        probs = shares / shares.sum() if shares.sum() > 0 else shares
    return Categories(values, probs, coverage)


# -- types -----------------------------------------------------------------------------------

_DECIMAL = re.compile(
    r"^(?:decimal(?:128|256)?|numeric)\s*\(\s*(?:precision=)?(\d+)\s*,\s*(?:scale=)?(\d+)\s*\)$",
    re.I,
)


def parse_type(arrow: str | None, source: str | None, pc: dict[str, Any]) -> pa.DataType:
    """The Arrow type of a column: from the schema's Arrow type text, else the source's type
    name, else the profile's logical type."""
    import pyarrow as pa

    for text in (arrow, source, _get(pc, "dtype"), _get(pc, "type", "logical_type", "kind")):
        if not text:
            continue
        t = str(text).strip().lower()
        m = _DECIMAL.match(t)
        if m:
            return pa.decimal128(int(m.group(1)), int(m.group(2)))
        simple = {
            "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
            "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(),
            "uint64": pa.uint64(), "smallint": pa.int16(), "integer": pa.int64(),
            "int": pa.int64(), "bigint": pa.int64(), "tinyint": pa.int8(),
            "float": pa.float64(), "double": pa.float64(), "float64": pa.float64(),
            "float32": pa.float32(), "halffloat": pa.float32(), "real": pa.float32(),
            "double precision": pa.float64(), "decimal": pa.decimal128(38, 9),
            "numeric": pa.decimal128(38, 9), "date": pa.date32(), "date32[day]": pa.date32(),
            "date32": pa.date32(), "bool": pa.bool_(), "boolean": pa.bool_(),
            "string": pa.large_string(), "large_string": pa.large_string(),
            "string_view": pa.large_string(), "utf8": pa.large_string(),
            "large_utf8": pa.large_string(), "text": pa.large_string(), "str": pa.large_string(),
            "varchar": pa.large_string(), "categorical": pa.large_string(),
            "binary": pa.large_binary(), "large_binary": pa.large_binary(),
            "bytea": pa.large_binary(), "blob": pa.large_binary(),
            "datetime": pa.timestamp("us"), "timestamp": pa.timestamp("us"),
        }  # fmt: skip
        if t in simple:
            return simple[t]
        if t.startswith(("timestamp", "datetime")):
            tz = re.search(r"(?:tz|time_zone)='?([^\]\s,')]+)", str(text))
            if tz and tz.group(1) == "None":
                tz = None
            return pa.timestamp("us", tz=tz.group(1) if tz else None)
        if t.startswith(("varchar", "character", "char", "text")):
            return pa.large_string()
    return pa.large_string()


def kind_of(t: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(t):
        return BOOLEAN
    if pa.types.is_integer(t):
        return INTEGER
    if pa.types.is_floating(t):
        return FLOAT
    if pa.types.is_decimal(t):
        return DECIMAL
    if pa.types.is_date(t):
        return DATE
    if pa.types.is_timestamp(t):
        return TIMESTAMP
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return BINARY
    return STRING


def int_bounds(t: pa.DataType) -> tuple[int, int]:
    import pyarrow as pa

    bits = t.bit_width
    if pa.types.is_unsigned_integer(t):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
