"""Column types in redaction: how strategies reach the values of every type a source yields.

- Lists and fixed-size arrays are redacted element by element, at any depth (a list of emails
  is a column of emails), keeping offsets and nulls: :func:`map_elements`.
- Structs are reached field by field (:func:`map_fields`, :func:`map_path`); maps are lists of
  key/value structs (:func:`map_as_list`).
- :func:`as_text` is the text form the leak gate and the statistics compare, total over every
  type: binary that is not UTF-8 becomes hex, structs and maps JSON, lists their items joined.
- :class:`TextDates` reads dates stored as text (SQLite, CSV) so that date strategies work on
  them and write them back in their own format.

Everything is vectorised: Arrow offsets and buffers, polars expressions or one DuckDB query per
column; nothing calls Python per value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandboxer.errors import SandboxerError

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

ITEM_SEPARATOR = "\u241f"
"""Joins list items in their text form (a character no identifying value contains)."""

ElementFn = Callable[["pl.Series", "np.ndarray"], "pl.Series"]
"""``fn(values, rows)``: new values for the flat ``values``; ``rows`` is each value's row."""


def type_name(dtype: Any) -> str:
    """The dtype as people read it in messages (``List(String)``, ``Decimal(12, 2)``)."""
    import polars as pl

    if isinstance(dtype, pl.Decimal):
        return f"Decimal({dtype.precision}, {dtype.scale})"
    return str(dtype)


def is_text(dtype: Any) -> bool:
    """String, or a categorical/enum of strings (redacted as strings)."""
    import polars as pl

    return dtype == pl.String or dtype == pl.Categorical or isinstance(dtype, pl.Enum)


def is_list(dtype: Any) -> bool:
    import polars as pl

    return isinstance(dtype, pl.List | pl.Array)


# --- nested values ---------------------------------------------------------------------------


def map_elements(series: pl.Series, fn: ElementFn) -> pl.Series:
    """``series`` (a List or Array) with its elements replaced by ``fn(elements, rows)``.

    One call of ``fn`` over all elements of the column; the list offsets and null lists are
    kept, so every row keeps its length. Arrays stay arrays when ``fn`` keeps the length.
    """
    import numpy as np
    import polars as pl
    import pyarrow as pa

    dtype = series.dtype
    if isinstance(dtype, pl.Array):
        out = map_elements(series.cast(pl.List(dtype.inner)), fn)
        inner = out.dtype.inner  # type: ignore[attr-defined]
        return out.cast(pl.Array(inner, dtype.size))
    array = series.to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not isinstance(array, pa.LargeListArray):
        array = array.cast(pa.large_list(array.type.value_type))
    n = len(array)
    offsets = array.offsets.to_numpy() if n else np.zeros(1, np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    values = pl.Series("", array.values.slice(start, end - start))
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))
    new = fn(values, rows)
    if len(new) != len(values):
        raise SandboxerError("a list strategy changed the number of elements")  # pragma: no cover
    new_values = new.to_arrow()
    if isinstance(new_values, pa.ChunkedArray):
        new_values = new_values.combine_chunks()
    mask = pa.array(series.is_null().to_numpy()) if series.null_count() else None
    rebuilt = pa.LargeListArray.from_arrays(
        pa.array(offsets - start, pa.int64()), new_values, mask=mask
    )
    return pl.Series(series.name, rebuilt)


def map_fields(series: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``series`` (a Struct) with every field replaced by ``fn(field)``; null rows stay null."""
    fields = series.struct.unnest()
    new = [fn(fields.get_column(name)).alias(name) for name in fields.columns]
    return _restruct(series, new)


def _restruct(series: pl.Series, fields: list[pl.Series]) -> pl.Series:
    import polars as pl

    null = "\0null"  # no field of a source's struct is called that
    frame = pl.DataFrame(fields, height=len(series)).with_columns(series.is_null().alias(null))
    names = [f.name for f in fields]
    return frame.select(
        pl.when(pl.col(null)).then(None).otherwise(pl.struct(names)).alias(series.name)
    ).to_series()


def map_as_list(series: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``series`` (a Map) redacted as the list of key/value structs it is, and back."""
    import polars as pl

    dtype = series.dtype
    entries = pl.Struct({"key": dtype.key, "value": dtype.value})  # type: ignore[attr-defined]
    out = fn(series.cast(pl.List(entries)))
    inner = out.dtype.inner  # type: ignore[attr-defined]
    if isinstance(inner, pl.Struct) and [f.name for f in inner.fields] == ["key", "value"]:
        fields = {f.name: f.dtype for f in inner.fields}
        return out.cast(pl.Map(fields["key"], fields["value"]))
    return out  # pragma: no cover - strategies keep the entries' shape


PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*|\*)|\[\*\]")


def parse_path(path: str) -> list[str] | None:
    """``$.a[*].b`` -> ``["a", "[*]", "b"]`` (``*`` for every field); None if unsupported."""
    if not path.startswith("$"):
        return None
    steps: list[str] = []
    at = 1
    while at < len(path):
        m = PATH_STEP.match(path, at)
        if m is None:
            return None
        steps.append(m.group(1) if m.group(1) is not None else "[*]")
        at = m.end()
    return steps


def map_path(
    series: pl.Series, steps: list[str], fn: Callable[[pl.Series], pl.Series]
) -> tuple[pl.Series, int]:
    """Apply ``fn`` to the values a JSON-style path reaches inside a struct/list column.

    Returns the new series and how many leaf columns the path reached (0: it names nothing
    this column holds, which is not an error, as for a JSON document without the key).
    """
    import polars as pl

    if not steps:
        return fn(series), 1
    step, rest = steps[0], steps[1:]
    dtype = series.dtype
    if step == "[*]":
        if not is_list(dtype):
            return series, 0
        reached = 0

        def each(values: pl.Series, _rows: np.ndarray) -> pl.Series:
            nonlocal reached
            out, reached = map_path(values, rest, fn)
            return out

        out = map_elements(series, each)
        return (out, reached) if reached else (series, 0)
    if isinstance(dtype, pl.Map):
        # A map is a JSON object whose keys are data: `.*` reaches every value, `.k` those
        # under key k. The step's values are redacted together, the others kept.
        reached = 0

        def entries(pairs: pl.Series, _rows: np.ndarray) -> pl.Series:
            nonlocal reached
            fields = pairs.struct.unnest()
            keys, values = fields.get_column("key"), fields.get_column("value")
            new, reached = map_path(values, rest, fn)
            if reached and step != "*":
                new = pl.select(
                    pl.when(keys.cast(pl.String) == step).then(new).otherwise(values)
                ).to_series()
            return _restruct(pairs, [keys, new.alias("value")])

        out = map_as_list(series, lambda pairs: map_elements(pairs, entries))
        return (out, reached) if reached else (series, 0)
    if not isinstance(dtype, pl.Struct):
        return series, 0
    fields = series.struct.unnest()
    new, reached = [], 0
    for name in fields.columns:
        field = fields.get_column(name)
        if step in ("*", name):
            field, found = map_path(field, rest, fn)
            reached += found
        new.append(field.alias(name))
    return (_restruct(series, new), reached) if reached else (series, 0)


# --- text forms ------------------------------------------------------------------------------


def as_text(series: pl.Series) -> pl.Series:
    """Every value as text, nulls as nulls, for comparisons and searches (never for output)."""
    import polars as pl

    dtype = series.dtype
    if dtype == pl.String:
        return series
    if dtype == pl.Binary:
        return binary_text(series)
    if is_list(dtype):
        texts = map_elements(series, lambda values, _rows: as_text(values))
        return texts.cast(pl.List(pl.String)).list.join(ITEM_SEPARATOR)
    if isinstance(dtype, pl.Struct | pl.Map):
        return json_text(series)
    if dtype == pl.Duration:
        return series.dt.to_string("iso")
    try:
        return series.cast(pl.String)
    except Exception:  # an exotic dtype: its JSON form is still text
        return json_text(series)


def _duckdb_text(series: pl.Series, sql: str) -> pl.Series:
    """``sql`` over the column ``v`` in DuckDB (one query), as a String series."""
    import polars as pl

    from sandboxer.redact.prf import _connect

    con = _connect()
    try:
        con.register("src", pl.DataFrame({"v": series}).to_arrow())
        table = con.sql(f"SELECT ({sql})::VARCHAR AS v FROM src").to_arrow_table()
    finally:
        con.close()
    return pl.Series(series.name, table.column(0), dtype=pl.String)


def binary_text(series: pl.Series) -> pl.Series:
    """Bytes as text: UTF-8 values decoded, other values as lowercase hex."""
    return _duckdb_text(series, "coalesce(try(decode(v)), lower(hex(v)))")


def utf8_text(series: pl.Series) -> pl.Series:
    """Bytes that are valid UTF-8, decoded; other values (and nulls) as nulls."""
    return _duckdb_text(series, "try(decode(v))")


def json_text(series: pl.Series) -> pl.Series:
    """Structs, maps (and anything DuckDB can serialise) as JSON text."""
    return _duckdb_text(series, "to_json(v)")


# --- dates stored as text --------------------------------------------------------------------

_DATE_FORMATS = {
    "iso": (r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"),
    "slash": (r"\d{4}/\d{2}/\d{2}", "%Y/%m/%d"),
    "dot": (r"\d{2}\.\d{2}\.\d{4}", "%d.%m.%Y"),
}
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
_ZONE = r"(?:\s?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?"
_TEXT_DATE = re.compile(
    "^(?:"
    + "|".join(f"(?P<{k}>{rx})" for k, (rx, _) in _DATE_FORMATS.items())
    + f")(?P<time>{_TIME})(?P<zone>{_ZONE})$"
)


@dataclass
class TextDates:
    """Dates read from text: ``2021-03-04``, ``2021-03-04 10:00:00[.123][+02:00]``,
    ``2021/03/04``, ``04.03.2021``. The date part is parsed; the time and zone are kept as
    written, so a value is written back exactly as it came when the date does not change.
    Day-first and month-first slashed dates are not read (``03/04/2021`` is ambiguous)."""

    text: pl.Series
    date: pl.Series
    """The parsed dates (Date), null for nulls, empty strings and unparsed values."""
    frame: pl.DataFrame
    """Per value: which format matched (one column per format), the time and the zone text."""

    @classmethod
    def parse(cls, text: pl.Series) -> TextDates:
        import polars as pl

        groups = text.str.extract_groups(_TEXT_DATE.pattern)
        frame = groups.struct.unnest()
        parsed = [
            frame.get_column(k).str.to_date(fmt, strict=False)
            for k, (_, fmt) in _DATE_FORMATS.items()
        ]
        date = pl.select(pl.coalesce(parsed)).to_series().alias(text.name)
        return cls(text, date, frame)

    @property
    def unparsed(self) -> int:
        """Non-empty values that are not dates in a known format (invalid days included)."""
        return int((self.text.is_not_null() & (self.text != "") & self.date.is_null()).sum())

    def write(self, dates: pl.Series, *, zero_time: bool = False) -> pl.Series:
        """``dates`` (one per value) written in each value's own format; empty strings and
        unparsed values as they were (callers refuse unparsed values first)."""
        import polars as pl

        frame = self.frame.with_columns(d=dates, t=self.text)
        written: Any = None
        for k, (_, fmt) in _DATE_FORMATS.items():
            step = pl.col("d").dt.strftime(fmt)
            written = (
                pl.when(pl.col(k).is_not_null()).then(step)
                if written is None
                else written.when(pl.col(k).is_not_null()).then(step)
            )
        time = pl.col("time").str.replace_all(r"\d", "0") if zero_time else pl.col("time")
        expr = pl.concat_str([written.otherwise(None), time, pl.col("zone")])
        return frame.select(
            pl.when(pl.col("d").is_null()).then(pl.col("t")).otherwise(expr).alias(self.text.name)
        ).to_series()
