"""Redaction strategies: one class per strategy, one registry, one ``apply`` entry point.

Every strategy works on a whole column at once (polars, DuckDB or numpy over Arrow buffers); none
calls Python per value. Pseudonyms are keyed and consistent: same key + entity + value -> same
output in every table, run and process (see ``keyed.py`` for the construction, ``fpe.py`` for the
bijections used where outputs must stay unique).

Contract with the build stage:

- ``drop`` is carried out by the stage (it removes the column); ``apply("drop", ...)`` raises.
- ``unique`` must be the same on both sides of a join. It never changes `hash` or `format`
  (bijective or 64-bit), and it adds a 48-bit keyed suffix to vocabulary fakes (names, cities,
  companies, streets). Emails and usernames always carry that suffix, so they join whatever the
  flag says. With ``unique`` every strategy checks that distinct outputs == distinct inputs.
- ``date_shift`` takes ``by`` as the values of the grouping column (a Series of the same length).
- Nulls stay null; empty strings stay empty.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sandboxer.errors import ConfigError, SandboxerError, did_you_mean
from sandboxer.redact import dtypes
from sandboxer.redact.entities import Entity

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class RedactionContext:
    """Everything a strategy needs besides the column and its parameters."""

    key: bytes
    """The secret (>= 16 bytes). Never logged, never written anywhere."""
    entity: Entity | None
    unique: bool = False
    """The column is (part of) a primary/unique key, or joins one: the mapping must be 1:1."""
    locale: str = "en_US"
    table: str = ""
    column: str = ""
    extra_literals: tuple[str, ...] = ()
    """Originals of the table's other redacted columns, scrubbed out of free text too."""
    dataset_names: tuple[str, ...] = ()
    """Identifying originals of the whole dataset (names, usernames, emails of every table):
    ``scrub_text`` replaces their rare words wherever they occur, whatever the table."""
    json_path: str = ""
    """Set for the leaves of a ``json`` rule: the path, so messages name the rule to change."""

    def __post_init__(self) -> None:
        from sandboxer.redact.prf import check_key

        check_key(self.key)

    @property
    def where(self) -> str:
        return f"`{self.table}.{self.column}`" if self.table else f"`{self.column}`"

    def domain(self, purpose: str) -> str:
        """The keyed-hash domain: purpose and entity, so an email and a username differ."""
        return f"{purpose}/{self.entity.value if self.entity else 'value'}"


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class Strategy:
    """Base class: subclasses set the class constants and implement ``apply``.

    ``apply`` (the module function) dispatches by type before a strategy sees a column: an
    all-null (Null-typed) column comes back as it is, lists and arrays are redacted element by
    element when ``elementwise``, categoricals arrive as text, and a type the strategy does not
    ``accept`` is refused with a :class:`ColumnTypeError`.
    """

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = _Params
    drops_column: ClassVar[bool] = False
    """The stage removes the column instead of calling ``apply``."""
    elementwise: ClassVar[bool] = True
    """Lists and arrays are redacted element by element (a list of emails is a column of
    emails), at any depth; otherwise the strategy gets the whole list."""
    takes: ClassVar[str] = "every type"
    """The types it works on, for messages."""

    def accepts(self, dtype: pl.DataType) -> bool:
        """Whether it works on values of ``dtype`` (lists are unwrapped when elementwise)."""
        return True

    def check(self, ctx: RedactionContext, params: Any) -> None:
        """Refuse a rule that cannot work whatever the values (before any type dispatch)."""

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        raise NotImplementedError


# --- helpers ---------------------------------------------------------------------------------


class RedactionError(SandboxerError):
    """A column cannot be redacted as its rule says. Names the table and column (never a
    value), and in ``hint`` a rule to write instead."""

    def __init__(
        self, message: str, *, table: str = "", column: str = "", hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.table = table
        self.column = column


class ColumnTypeError(RedactionError):
    """The strategy does not work on the column's type: names the column, its type, the
    strategies that do, and the YAML of a rule that does."""

    def __init__(self, ctx: RedactionContext, strategy: str, dtype: pl.DataType) -> None:
        takes = STRATEGIES[strategy].takes if strategy in STRATEGIES else "other types"
        fitting = strategies_for(dtype)
        super().__init__(
            f"Cannot redact {ctx.where} with `{strategy}`: the column is "
            f"{dtypes.type_name(dtype)}, and `{strategy}` takes {takes}",
            table=ctx.table,
            column=ctx.column,
            hint=f"{rule_hint(ctx, 'hash' if 'hash' in fitting else fitting[0])} "
            f"Strategies for {dtypes.type_name(dtype)}: {', '.join(fitting)}.",
        )
        self.dtype = dtype
        self.strategy = strategy


def rule_yaml(ctx: RedactionContext, strategy: str) -> str:
    """The YAML of a rule giving the column (or the leaf of its ``json`` rule) ``strategy``:
    ``redact: {columns: {"t": {"c": {strategy: hash}}}}``, as it sits under a dataset."""
    column = ctx.column
    if ctx.json_path:
        column = column[: len(column) - len(ctx.json_path) + 1]
    return column_rule_yaml(ctx.table, column, strategy, json_path=ctx.json_path)


def column_rule_yaml(table: str, column: str, strategy: str, *, json_path: str = "") -> str:
    """``rule_yaml`` for a table and column named directly."""
    import json

    rule = f"{{strategy: {strategy}}}"
    if json_path:
        rule = f"{{strategy: json, paths: {{{json.dumps(json_path)}: {rule}}}}}"
    if not table:
        return f"`{json.dumps(column)}: {rule}`"
    return f"`redact: {{columns: {{{json.dumps(table)}: {{{json.dumps(column)}: {rule}}}}}}}`"


def rule_hint(ctx: RedactionContext, strategy: str) -> str:
    """``Write its rule in sandboxer.yaml, under the dataset: `redact: {...}`.``"""
    return f"Write its rule in sandboxer.yaml, under the dataset: {rule_yaml(ctx, strategy)}."


def strategies_for(dtype: pl.DataType) -> list[str]:
    """The strategies that work on ``dtype`` (``hash``, ``keep``, ``null`` and ``drop`` take
    every type)."""
    return [name for name, s in STRATEGIES.items() if _accepts(s, dtype)]


def _accepts(strategy: Strategy, dtype: pl.DataType) -> bool:
    import polars as pl

    if dtype == pl.Null or strategy.drops_column:
        return True
    if strategy.elementwise and dtypes.is_list(dtype):
        return _accepts(strategy, dtype.inner)  # type: ignore[attr-defined]
    if strategy.elementwise and dtypes.is_text(dtype):
        return strategy.accepts(pl.String())  # categoricals are redacted as their text
    return strategy.accepts(dtype)


def _fail(ctx: RedactionContext, message: str, hint: str | None = None) -> RedactionError:
    return RedactionError(
        f"Cannot redact {ctx.where}: {message}", table=ctx.table, column=ctx.column, hint=hint
    )


def _check_unique(original: pl.Series, out: pl.Series, ctx: RedactionContext) -> pl.Series:
    if ctx.unique:
        before = original.drop_nulls().n_unique()
        after = out.drop_nulls().n_unique()
        if before != after:
            raise _fail(
                ctx,
                f"{before} distinct values became {after} distinct values, "
                "but the column is a key and needs a one-to-one mapping",
                hint="Use `hash` or `format`, which are bijective, for key columns.",
            )
    return out


def _keep_empty(original: pl.Series, out: pl.Series) -> pl.Series:
    """Empty strings stay empty (their pseudonym would only invent data)."""
    import polars as pl

    if original.dtype != pl.String or out.dtype != pl.String:
        return out
    return (
        pl.DataFrame({"o": original, "n": out})
        .select(pl.when(pl.col("o") == "").then(pl.lit("")).otherwise(pl.col("n")))
        .to_series()
    )


def _strings(ctx: RedactionContext, series: pl.Series, strategy: str) -> None:
    import polars as pl

    if series.dtype != pl.String:
        raise ColumnTypeError(ctx, strategy, series.dtype)


def _map_nonnull_ints(series: pl.Series, fn: Any) -> pl.Series:
    """Apply a numpy function to the non-null integers of ``series``, keeping dtype and nulls."""
    import polars as pl

    mask = series.is_not_null()
    values = series.fill_null(0).to_numpy()
    out = pl.Series(series.name, fn(values), dtype=series.dtype)
    return out.zip_with(mask, series) if series.null_count() else out


# --- keep / null / drop ----------------------------------------------------------------------


class Keep(Strategy):
    name = "keep"
    elementwise = False

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        return series


class Null(Strategy):
    name = "null"
    elementwise = False

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        return pl.repeat(None, len(series), dtype=series.dtype, eager=True).alias(series.name)


class Drop(Strategy):
    name = "drop"
    drops_column = True
    elementwise = False

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        raise _fail(ctx, "`drop` removes the column in the build stage; it has no values")


# --- mask ------------------------------------------------------------------------------------


class MaskParams(_Params):
    keep_last: int = Field(4, ge=0)
    keep_first: int = Field(0, ge=0)
    char: str = "*"

    @field_validator("char")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if len(v) != 1 or not v.isascii() or not v.isprintable():
            raise ValueError("must be one printable ASCII character")
        return v


class Mask(Strategy):
    """Digits and letters become ``char``, except the first/last few; separators are kept.

    Non-ASCII characters count as letters (a masked ``ü`` becomes one ``*``).
    """

    name = "mask"
    Params = MaskParams
    takes = "text"

    def accepts(self, dtype: pl.DataType) -> bool:
        return dtypes.is_text(dtype)

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import numpy as np
        import polars as pl
        import pyarrow as pa

        _strings(ctx, series, self.name)
        array = series.to_arrow().cast(pa.large_string())
        n = len(array)
        offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset : array.offset + n + 1]
        raw = array.buffers()[2]
        data = np.frombuffer(raw, np.uint8) if raw else np.zeros(0, np.uint8)
        body = data[offsets[0] : offsets[-1]]
        rel = offsets - offsets[0]
        row = np.repeat(np.arange(n), np.diff(rel))
        cont = (body & 0xC0) == 0x80
        lower = body | 0x20
        char = ((body >= 48) & (body <= 57)) | ((lower >= 97) & (lower <= 122)) | (body >= 0xC0)
        cs = np.concatenate([[0], np.cumsum(char)])
        rank = cs[:-1] - cs[rel[row]]
        total = cs[rel[1:]] - cs[rel[:-1]]
        hide = char & (rank >= params.keep_first) & (total[row] - 1 - rank >= params.keep_last)
        lead = np.maximum.accumulate(np.where(cont, 0, np.arange(len(body))))
        keep = ~(cont & hide[lead]) if len(body) else np.zeros(0, bool)
        new = np.where(hide, np.uint8(ord(params.char)), body)[keep]
        lengths = np.bincount(row[keep], minlength=n)
        new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        out = pa.Array.from_buffers(
            pa.large_string(),
            n,
            [array.buffers()[0], pa.py_buffer(new_offsets.tobytes()), pa.py_buffer(new.tobytes())],
            offset=0 if array.buffers()[0] is None else array.offset,
        )
        if array.buffers()[0] is not None and array.offset:
            # Validity bitmaps with an offset cannot share the new zero-based offsets.
            out = pa.array(out.to_pylist(), pa.large_string())  # pragma: no cover
        return pl.Series(series.name, out, dtype=pl.String)


# --- hash ------------------------------------------------------------------------------------


class HashParams(_Params):
    output: Literal["hex", "int"] | None = None
    """hex text, or int; default int for integer columns (a keyed bijection), hex otherwise."""
    length: int = Field(16, ge=8, le=64)
    """hex characters (64 bits at the default 16)."""


class Hash(Strategy):
    """Keyed hash of every type: integers get a keyed permutation of the same type, binary
    values keyed bytes (``length / 2`` of them), everything else hex text (or ``int``).
    Lists are hashed element by element, structs field by field, maps entry by entry."""

    name = "hash"
    Params = HashParams

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        from sandboxer.redact import fpe
        from sandboxer.redact.prf import keyed_hex, keyed_u64

        dtype = series.dtype
        if isinstance(dtype, pl.Struct):
            return dtypes.map_fields(series, lambda f: _dispatch(self, f, ctx, params))
        if isinstance(dtype, pl.Map):
            return dtypes.map_as_list(series, lambda e: _dispatch(self, e, ctx, params))
        domain = ctx.domain("hash")
        if dtype.is_integer() and params.output in (None, "int"):
            # Always the bijection, unique or not: a foreign key must map like its primary key.
            return _map_nonnull_ints(series, lambda v: fpe.permute_int(v, ctx.key, domain))
        if params.output == "int":
            out = (keyed_u64(series, ctx.key, domain) // 2).cast(pl.Int64)
        elif dtype == pl.Binary:
            # Bytes stay bytes (a bytea column stays bytea), keyed like their hex text.
            length = params.length + params.length % 2
            out = keyed_hex(series, ctx.key, domain, length).str.decode("hex")
        else:
            out = _keep_empty(series, keyed_hex(series, ctx.key, domain, params.length))
        return _check_unique(series, out.alias(series.name), ctx)


# --- format ----------------------------------------------------------------------------------


class Format(Strategy):
    """Format-preserving: digits -> digits, letters -> letters (case kept), the rest kept.

    A keyed bijection per pattern (strings) or per sign and magnitude interval (integers).
    Only ASCII digits and letters change; other characters (including non-ASCII) are kept.
    """

    name = "format"
    takes = "text and integers"

    def accepts(self, dtype: pl.DataType) -> bool:
        return dtypes.is_text(dtype) or dtype.is_integer()

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:

        from sandboxer.redact import fpe

        domain = ctx.domain("format")
        if series.dtype.is_integer():
            return _map_nonnull_ints(series, lambda v: fpe.permute_int(v, ctx.key, domain))
        _strings(ctx, series, self.name)
        return _check_unique(series, fpe.format_strings(series, ctx.key, domain), ctx)


# --- fake ------------------------------------------------------------------------------------

_VOCAB_ENTITIES = {
    Entity.person_name, Entity.first_name, Entity.last_name, Entity.city, Entity.company,
    Entity.street, Entity.address, Entity.email, Entity.username,
}  # fmt: skip
_FORMAT_ENTITIES = {Entity.national_id, Entity.postcode, Entity.account_number}
FAKE_ENTITIES = sorted(
    e.value
    for e in _VOCAB_ENTITIES | _FORMAT_ENTITIES | {Entity.phone, Entity.iban, Entity.credit_card}
)


class Fake(Strategy):
    """A realistic replacement by entity type, picked by keyed hash from locale vocabularies.

    Emails use RFC 2606 domains and, like usernames, carry 48 keyed bits (12 hex chars), so they
    stay unique and joinable. Phones keep their ``+CC``/``00CC`` country code (or trunk ``0``) and
    digit layout; cards keep their first digit and get a valid Luhn digit; IBANs keep the country
    and get valid check digits; national ids, postcodes and account numbers are format-preserved.
    Those four are keyed bijections. Names, cities, companies and streets come from vocabularies of
    a few hundred to a few thousand entries, so distinct inputs share fakes unless ``unique``.
    """

    name = "fake"
    takes = "text (and integers, for ids, postcodes and account numbers)"

    def accepts(self, dtype: pl.DataType) -> bool:
        return dtypes.is_text(dtype) or dtype.is_integer()

    def check(self, ctx: RedactionContext, params: Any) -> None:
        entity = ctx.entity
        if entity is None or entity.value not in FAKE_ENTITIES:
            hints = {
                Entity.birth_date: "Use `date_shift` for dates.",
                Entity.ip_address: "Use `hash` for IP addresses.",
            }
            hint = hints.get(entity) if entity else None
            raise _fail(
                ctx,
                f"`fake` has no generator for entity `{entity.value if entity else None}`",
                hint=hint or f"Set `entity:` to one of {', '.join(FAKE_ENTITIES)}.",
            )

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        from sandboxer.redact import fpe

        self.check(ctx, params)
        entity = ctx.entity
        assert entity is not None
        domain = ctx.domain("fake")
        if series.dtype.is_integer() and entity not in _VOCAB_ENTITIES:
            return _map_nonnull_ints(series, lambda v: fpe.permute_int(v, ctx.key, domain))
        if series.dtype.is_integer():
            raise _fail(
                ctx,
                f"`fake` makes {entity.value} values as text, and the column is "
                f"{dtypes.type_name(series.dtype)}",
                hint=rule_hint(ctx, "hash"),
            )
        _strings(ctx, series, self.name)
        if entity in _VOCAB_ENTITIES:
            out = self._vocab(series, ctx, entity, domain)
        elif entity in _FORMAT_ENTITIES:
            out = fpe.format_strings(series, ctx.key, domain)
        else:
            out = self._numbers(series, ctx, entity, domain)
        return _check_unique(series, _keep_empty(series, out).alias(series.name), ctx)

    @staticmethod
    def _numbers(series: pl.Series, ctx: RedactionContext, entity: Entity, domain: str) -> Any:
        import numpy as np

        from sandboxer.redact import fpe

        num = fpe.Numerals.of(series)
        rows = np.arange(len(num.count))
        if entity is Entity.phone:
            num.encrypt(fpe.phone_prefix(num), num.count, ctx.key, domain)
        elif entity is Entity.credit_card:
            num.encrypt(np.minimum(num.count, 1), np.maximum(num.count - 1, 0), ctx.key, domain)
            fpe.luhn_fix(num, rows)
        else:  # iban
            num.encrypt(np.minimum(num.count, 4), num.count, ctx.key, domain)
            fpe.iban_fix(num, rows)
        return num.to_series(series.name)

    @staticmethod
    def _vocab(series: pl.Series, ctx: RedactionContext, entity: Entity, domain: str) -> Any:
        import polars as pl

        from sandboxer.redact.fake_vocab import EMAIL_DOMAINS, vocab
        from sandboxer.redact.prf import keyed_frame

        words = keyed_frame(series, ctx.key, domain, words=3, hex_chars=12)
        v = vocab(ctx.locale)

        def pick(items: tuple[str, ...], word: str) -> pl.Expr:
            return pl.lit(pl.Series(list(items), dtype=pl.String)).gather(pl.col(word) % len(items))

        suffix = pl.col("hex")
        house = (pl.col("w2") % 200 + 1).cast(pl.String)
        exprs: dict[Entity, pl.Expr] = {
            Entity.first_name: pick(v.first_names, "w0"),
            Entity.last_name: pick(v.last_names, "w1"),
            Entity.person_name: pl.concat_str(
                [pick(v.first_names, "w0"), pick(v.last_names, "w1")], separator=" "
            ),
            Entity.city: pick(v.cities, "w0"),
            Entity.company: pick(v.companies, "w0"),
            Entity.street: pick(v.streets, "w0"),
            Entity.address: pl.concat_str([house, pick(v.streets, "w0")], separator=" ")
            if v.number_first
            else pl.concat_str([pick(v.streets, "w0"), house], separator=" "),
            Entity.email: pl.concat_str(
                [
                    pick(v.first_ascii, "w0"),
                    pl.lit("."),
                    pick(v.last_ascii, "w1"),
                    pl.lit("."),
                    suffix,
                    pl.lit("@"),
                    pick(EMAIL_DOMAINS, "w2"),
                ]
            ),
            Entity.username: pl.concat_str(
                [pick(v.first_ascii, "w0").str.slice(0, 1), pick(v.last_ascii, "w1"), suffix],
                separator="",
            ),
        }
        expr = exprs[entity]
        if ctx.unique and entity not in (Entity.email, Entity.username):
            expr = pl.concat_str([expr, suffix], separator=" ")
        return words.select(expr.alias(series.name)).to_series()


# --- dates and numbers -----------------------------------------------------------------------


class DateShiftParams(_Params):
    days: int = Field(30, ge=1, le=36500)
    by: Any = None
    """Values of the column identifying the person (a Series, supplied by the stage)."""


class DateShift(Strategy):
    """Shift dates by a keyed offset in [-days, -1] or [1, days], never 0.

    With ``by``, the offset depends only on the group value (e.g. the customer id), so all dates
    of one person move together and intervals between them survive. Without it, per value.
    Dates stored as text (``dtypes.TextDates``) are shifted on their date part and written
    back in their own format; the offset is keyed by the date, as for a date column.
    """

    name = "date_shift"
    Params = DateShiftParams
    takes = "dates, timestamps and dates stored as text"

    def accepts(self, dtype: pl.DataType) -> bool:
        import polars as pl

        return dtype in (pl.Date, pl.String) or isinstance(dtype, pl.Datetime)

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        from sandboxer.redact.prf import keyed_u64

        if series.dtype == pl.String:
            dates = _text_dates(series, ctx, self.name)
            shifted = self.apply(dates.date, ctx, params)
            return dates.write(shifted)
        if not self.accepts(series.dtype):
            raise ColumnTypeError(ctx, self.name, series.dtype)
        days = params.days
        own = keyed_u64(series, ctx.key, ctx.domain("date_shift"))
        frame = pl.DataFrame({"v": series, "own": own})
        if params.by is not None:
            by = params.by
            if not isinstance(by, pl.Series) or len(by) != len(series):
                raise _fail(ctx, "`date_shift` parameter `by` must be the values of a column")
            if by.dtype.is_nested() or by.dtype == pl.Binary:
                by = dtypes.as_text(by)
            # Domain without the entity: every date column of one person shares the offset.
            frame = frame.with_columns(group=keyed_u64(by, ctx.key, "date_shift/group"))
            word = pl.coalesce("group", "own")
        else:
            word = pl.col("own")
        raw = (word % (2 * days)).cast(pl.Int64)
        offset = pl.when(raw < days).then(raw - days).otherwise(raw - days + 1)
        return frame.select(
            (pl.col("v") + pl.duration(days=offset)).cast(series.dtype).alias(series.name)
        ).to_series()


def _text_dates(series: pl.Series, ctx: RedactionContext, strategy: str) -> dtypes.TextDates:
    """The dates of a text column, or a refusal naming how many values are not dates."""
    dates = dtypes.TextDates.parse(series)
    if dates.unparsed:
        raise _fail(
            ctx,
            f"`{strategy}` reads this text column as dates, and {dates.unparsed} of its values "
            "are not dates in a known format (2021-03-04, 2021-03-04 10:00:00, 2021/03/04, "
            "04.03.2021)",
            hint=rule_hint(ctx, "hash"),
        )
    return dates


class GeneralizeParams(_Params):
    to: Literal["year", "month"] = "year"
    """Dates and timestamps: truncate to the first day of the year or month."""
    prefix: int = Field(3, ge=0)
    """Text (postcodes): keep this many leading characters."""
    width: float = Field(10, gt=0)
    """Numbers: round down to a multiple of this bucket width."""


class Generalize(Strategy):
    """Coarsen values: dates to year/month, text to a prefix, numbers to buckets (types kept).

    Text is read as dates (and truncated in its own format, the time set to zero) when the
    column is a birth date or every value of the batch is a date (``dtypes.TextDates``);
    otherwise it keeps its first ``prefix`` characters.
    """

    name = "generalize"
    Params = GeneralizeParams
    takes = "dates, timestamps, text and numbers"

    def accepts(self, dtype: pl.DataType) -> bool:
        import polars as pl

        return (
            dtype in (pl.Date, pl.String)
            or isinstance(dtype, pl.Datetime)
            or (dtype.is_numeric() and dtype != pl.Boolean)
        )

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        dtype = series.dtype
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            return series.dt.truncate("1y" if params.to == "year" else "1mo")
        if dtype == pl.String:
            dates = dtypes.TextDates.parse(series)
            if ctx.entity is Entity.birth_date or (
                not dates.unparsed and dates.date.null_count() < len(series)
            ):
                dates = _text_dates(series, ctx, self.name)
                truncated = dates.date.dt.truncate("1y" if params.to == "year" else "1mo")
                return dates.write(truncated, zero_time=True)
            return series.str.slice(0, params.prefix)
        if self.accepts(dtype):
            bucket = (series.cast(pl.Float64) / params.width).floor() * params.width
            if isinstance(dtype, pl.Decimal):
                # The lowest bucket can need one digit more than the type has: use the
                # lowest (highest) bucket that fits instead.
                lo, hi = _decimal_range(dtype)
                w = params.width
                bucket = bucket.clip(math.ceil(lo / w) * w, math.floor(hi / w) * w)
            return bucket.cast(dtype)
        raise ColumnTypeError(ctx, self.name, dtype)


class NoiseParams(_Params):
    relative: float = Field(0.05, gt=0, le=1)


class Noise(Strategy):
    """Multiply by ``1 + relative * u``, u in [-1, 1) keyed by the value: same value, same noise.

    Integer columns are rounded back to their type. Small integers may come out unchanged.
    """

    name = "noise"
    Params = NoiseParams
    takes = "numbers"

    def accepts(self, dtype: pl.DataType) -> bool:
        import polars as pl

        return dtype.is_numeric() and dtype != pl.Boolean

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        from sandboxer.redact.prf import keyed_u64

        if not self.accepts(series.dtype):
            raise ColumnTypeError(ctx, self.name, series.dtype)
        word = keyed_u64(series, ctx.key, ctx.domain("noise"))
        unit = (word // 2048).cast(pl.Float64) * (2.0 / 2**53) - 1.0
        noisy = series.cast(pl.Float64) * (1.0 + params.relative * unit)
        if series.dtype.is_integer() or isinstance(series.dtype, pl.Decimal):
            noisy = noisy.round(series.dtype.scale if isinstance(series.dtype, pl.Decimal) else 0)
        if series.dtype.is_integer():
            # Noise must not leave the type: clamp to its range.
            noisy = noisy.clip(*_int_range(series.dtype))
        elif isinstance(series.dtype, pl.Decimal):
            noisy = noisy.clip(*_decimal_range(series.dtype))
        return noisy.cast(series.dtype).alias(series.name)


def _decimal_range(dtype: Any) -> tuple[float, float]:
    top = 10.0 ** (dtype.precision - dtype.scale) - 10.0**-dtype.scale
    return -top, top


def _int_range(dtype: pl.DataType) -> tuple[float, float]:
    """The range of an integer dtype, short of the ends float64 cannot hold exactly."""
    import numpy as np

    try:
        info = np.iinfo(str(dtype).lower())
    except TypeError:  # Int128: no numpy type, and no noise near its ends anyway
        return -(2.0**63), 2.0**63 - 2048
    return float(info.min), float(info.max) - (2048 if info.bits == 64 else 0)


# --- text, JSON, custom expressions ----------------------------------------------------------


class ScrubText(Strategy):
    """Replace PII spans inside free text, with the detectors of ``sandboxer.redact.detect``."""

    name = "scrub_text"
    takes = "text"

    def accepts(self, dtype: pl.DataType) -> bool:
        return dtypes.is_text(dtype)

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        _strings(ctx, series, self.name)
        frame = pl.DataFrame({"v": series})
        expr = _scrub_expr()(
            "v",
            extra_literals=list(ctx.extra_literals),
            names=ctx.dataset_names,
            key=ctx.key,
            locale=ctx.locale,
        )
        return frame.select(expr.alias(series.name)).to_series()


def _scrub_expr() -> Any:
    import importlib

    # The detectors export scrub_expr from the package, or (while it grows) from detect.text.
    detect = importlib.import_module("sandboxer.redact.detect")
    if hasattr(detect, "scrub_expr"):
        return detect.scrub_expr
    return importlib.import_module("sandboxer.redact.detect.text").scrub_expr


def json_leaves(docs: pl.Series, path: str) -> pl.DataFrame:
    """The leaves at ``path`` of the valid JSON documents of ``docs``: ``rid`` (row), ``leaf``
    (the text of string leaves) and ``t`` (the JSON type of each leaf)."""
    import polars as pl

    from sandboxer.redact.prf import _connect

    valid = _json_valid(docs).fill_null(False)
    con: Any = _connect()
    try:
        frame = pl.DataFrame(
            {
                "rid": range(len(docs)),
                "doc": docs.zip_with(valid, pl.Series([None], dtype=pl.String)),
            }
        )
        con.register("src", frame.to_arrow())
        return Json._leaves(con, path)
    finally:
        con.close()


_JSON_NUMBERS = ("BIGINT", "UBIGINT", "DOUBLE")
"""DuckDB's json_type of number leaves."""


def _json_strings(values: pl.Series) -> pl.Series:
    """Each value as a JSON string literal (quotes and escapes), vectorised by polars."""
    import polars as pl

    return (
        pl.DataFrame({"s": values})
        .select(pl.struct("s").struct.json_encode())
        .to_series()
        .str.slice(5)
        .str.head(-1)
    )


def _redact_leaf(values: pl.Series, *, leaf: JsonLeaf, ctx: RedactionContext) -> pl.Series:
    return apply(leaf.strategy, values, ctx, leaf.params)


def _json_valid(series: pl.Series) -> pl.Series:
    """Per value: is it a JSON document (null for nulls)."""
    import polars as pl

    from sandboxer.redact.prf import _connect

    con = _connect()
    try:
        con.register("src", pl.DataFrame({"doc": series}).to_arrow())
        table = con.sql("SELECT json_valid(doc) AS ok FROM src").to_arrow_table()
    finally:
        con.close()
    return pl.Series("ok", table.column(0), dtype=pl.Boolean)


class JsonLeaf(_Params):
    strategy: str
    entity: Entity | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class JsonParams(_Params):
    paths: dict[str, str | JsonLeaf]
    """JSON path -> strategy name, or {strategy, entity, params}; ``[*]`` selects array items."""
    not_json: Literal["error", "scrub_text"] = "error"
    """Values of a text column that are not JSON documents: refuse (the default for a written
    rule), or scrub them as free text (what auto mode chooses). Empty strings stay empty."""

    @field_validator("paths")
    @classmethod
    def _known(cls, paths: dict[str, str | JsonLeaf]) -> dict[str, str | JsonLeaf]:
        for path, leaf in paths.items():
            name = leaf if isinstance(leaf, str) else leaf.strategy
            if not path.startswith("$"):
                raise ValueError(f"path `{path}` must start with `$`")
            if name not in STRATEGIES or name in ("json", "drop"):
                hint = did_you_mean(name, STRATEGIES) or ""
                raise ValueError(f"unknown leaf strategy `{name}` at `{path}`. {hint}".strip())
        return paths


class Json(Strategy):
    """Redact the leaves at JSON paths and keep the rest of each document (byte for byte, but
    for documents whose numbers were patched).

    How: DuckDB extracts the leaves (``json_extract_string``; a ``[*]`` path yields every array
    item), the leaf strategy redacts them as one column (so a leaf email fakes exactly like an
    email column), and each document gets ``replace(doc, to_json(old), to_json(new))`` in DuckDB,
    once per leaf index. Numbers at paths of keys (no ``*``) are redacted as their text and
    written back by JSON merge patch (``_patch_numbers``). Limits: other leaves at a configured
    path (objects, booleans, numbers under ``*``) raise; a redacted string is replaced wherever
    it occurs as a whole JSON string in the same document (also at other paths); values that are
    not JSON raise, or are scrubbed as free text with ``not_json: scrub_text``; a leaf written
    with escapes that DuckDB would write differently (``\\u00e9`` for ``é``) is caught by a
    re-check and raises. Struct and map columns are followed path by path in polars instead
    (``_nested``): their leaves are typed, and redacted by the leaf strategy as such.
    """

    name = "json"
    Params = JsonParams
    takes = "JSON text, structs and maps"

    def accepts(self, dtype: pl.DataType) -> bool:
        import polars as pl

        return dtypes.is_text(dtype) or isinstance(dtype, pl.Struct | pl.Map)

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        if isinstance(series.dtype, pl.Struct | pl.Map):
            return self._nested(series, ctx, params)
        _strings(ctx, series, self.name)
        valid = _json_valid(series)
        invalid = (~valid).fill_null(False) & (series != "").fill_null(False)
        count = int(invalid.sum())
        if count and params.not_json == "error":
            raise _fail(
                ctx,
                f"{count} values are not valid JSON",
                hint="Add `not_json: scrub_text` to its rule to scrub them as free text, or "
                f"write {rule_yaml(ctx, 'scrub_text')} in sandboxer.yaml (under the dataset).",
            )
        docs = series.zip_with(valid.fill_null(False), pl.Series([None], dtype=pl.String))
        out = self._documents(docs, ctx, params) if int(valid.sum()) else docs
        if count:
            text = series.zip_with(invalid, pl.Series([None], dtype=pl.String))
            scrubbed = STRATEGIES["scrub_text"].apply(text, ctx, None)
            out = out.zip_with(~invalid, scrubbed)
        return out.zip_with((series != "").fill_null(True), series).alias(series.name)

    def _nested(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        """Struct and map columns: each path is followed through fields, list items and map
        entries, and its leaves are redacted as a column of their own type."""
        for path, leaf in params.paths.items():
            leaf = leaf if isinstance(leaf, JsonLeaf) else JsonLeaf(strategy=leaf)
            steps = dtypes.parse_path(path)
            if steps is None:
                raise _fail(
                    ctx,
                    f"the path `{path}` cannot be followed in a {dtypes.type_name(series.dtype)} "
                    "column (paths are `$.field`, `$.list[*].field`, `$.*`)",
                    hint=rule_hint(ctx, "hash"),
                )
            leaf_ctx = RedactionContext(
                key=ctx.key, entity=leaf.entity or ctx.entity, locale=ctx.locale,
                table=ctx.table, column=f"{ctx.column}{path[1:]}", json_path=path,
                extra_literals=ctx.extra_literals, dataset_names=ctx.dataset_names,
            )  # fmt: skip
            series, _ = dtypes.map_path(
                series, steps, functools.partial(_redact_leaf, leaf=leaf, ctx=leaf_ctx)
            )
        return series

    def _documents(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        """Valid JSON documents (and nulls), redacted path by path in DuckDB."""
        import polars as pl

        from sandboxer.redact.prf import _connect

        con: Any = _connect()
        try:
            con.register("src", pl.DataFrame({"rid": range(len(series)), "doc": series}).to_arrow())
            pairs = []
            numbers: list[tuple[list[str], pl.DataFrame]] = []
            for path, leaf in params.paths.items():
                leaf = leaf if isinstance(leaf, JsonLeaf) else JsonLeaf(strategy=leaf)
                found = self._leaves(con, path)
                steps = dtypes.parse_path(path)
                patchable = steps is not None and not any(s in ("*", "[*]") for s in steps)
                scalar = ["VARCHAR", "NULL", *(_JSON_NUMBERS if patchable else [])]
                bad = found.filter(~pl.col("t").is_in(scalar) & pl.col("t").is_not_null())
                leaf_ctx = RedactionContext(
                    key=ctx.key, entity=leaf.entity or ctx.entity, locale=ctx.locale,
                    table=ctx.table, column=f"{ctx.column}{path[1:]}",
                    extra_literals=ctx.extra_literals, json_path=path,
                    dataset_names=ctx.dataset_names,
                )  # fmt: skip
                if bad.height:
                    raise _fail(
                        ctx,
                        f"{bad.height} leaves at JSON path `{path}` are not strings"
                        + ("" if patchable else " or numbers under a key path"),
                        hint="Only strings (anywhere) and numbers (at paths of keys, without "
                        "`*`) of JSON text can be redacted: point the path at them, or redact "
                        f"the whole column, e.g. {rule_yaml(ctx, 'null')} in sandboxer.yaml "
                        "(under the dataset).",
                    )
                # Numbers are redacted as their text, and written back by JSON merge patch.
                found = found.filter(pl.col("t").is_in(["VARCHAR", *_JSON_NUMBERS]))
                new = apply(leaf.strategy, found["leaf"], leaf_ctx, leaf.params)
                found = found.with_columns(new=new.cast(pl.String))
                text = found.filter(pl.col("t") == "VARCHAR")
                pairs.append(text.select("rid", "leaf", "new"))
                number = found.filter(pl.col("t") != "VARCHAR")
                if number.height and steps is not None:
                    numbers.append((steps, number))
            if not pairs:
                return series
            out = self._replace(
                con, pl.concat(pairs).filter(pl.col("leaf") != pl.col("new").fill_null("\0"))
            )
            if numbers:
                out = self._patch_numbers(con, out, numbers)
            for path in params.paths:
                con.register("src", pl.DataFrame({"rid": range(len(out)), "doc": out}).to_arrow())
                left = (
                    self._leaves(con, path)
                    .join(pl.concat(pairs), on=["rid", "leaf"], how="semi")
                    .filter(pl.col("leaf") != "")
                )
                if left.height:
                    raise _fail(
                        ctx,
                        f"{left.height} leaves at `{path}` could not be replaced",
                        hint="They use JSON escapes; normalise the documents first.",
                    )
        finally:
            con.close()
        return out.alias(series.name)

    @staticmethod
    def _leaves(con: Any, path: str) -> pl.DataFrame:
        import polars as pl

        many = "*" in path
        leaf = "unnest(json_extract_string(doc, $p))" if many else "json_extract_string(doc, $p)"
        kind = "unnest(json_type(doc, $p))" if many else "json_type(doc, $p)"
        table = con.sql(
            f"SELECT rid, {leaf} AS leaf, {kind} AS t FROM src WHERE doc IS NOT NULL",
            params={"p": path},
        ).to_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame.filter(pl.col("leaf").is_not_null() | pl.col("t").is_not_null())

    @staticmethod
    def _patch_numbers(
        con: Any, docs: pl.Series, numbers: list[tuple[list[str], pl.DataFrame]]
    ) -> pl.Series:
        """Numbers at key paths replaced by JSON merge patch (RFC 7396), one path at a time.

        A new value that is still a JSON number is written as a number, anything else (a hash,
        a fake with a leading zero) as a string, and a null removes the key (merge patch
        semantics). Patched documents are written back by DuckDB: valid JSON with the same
        content, keys possibly reordered, whitespace dropped.
        """
        import json

        import polars as pl

        out = docs
        for steps, found in numbers:
            value = (
                pl.when(pl.col("new").is_null())
                .then(pl.lit("null"))
                .when(
                    pl.col("new").str.contains(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
                )
                .then(pl.col("new"))
                .otherwise(pl.col("new").map_batches(_json_strings, return_dtype=pl.String))
            )
            opening = "".join("{" + json.dumps(step) + ":" for step in steps)
            patch = found.select(
                "rid",
                pl.concat_str([pl.lit(opening), value, pl.lit("}" * len(steps))]).alias("patch"),
            ).unique("rid", keep="first")
            con.register("src", pl.DataFrame({"rid": range(len(out)), "doc": out}).to_arrow())
            con.register("patches", patch.to_arrow())
            table = con.sql(
                "SELECT CASE WHEN p.patch IS NULL THEN s.doc "
                "ELSE json_merge_patch(s.doc, p.patch)::VARCHAR END AS doc "
                "FROM src s LEFT JOIN patches p ON p.rid = s.rid ORDER BY s.rid"
            ).to_arrow_table()
            out = pl.Series(docs.name, table.column(0), dtype=pl.String)
        return out

    @staticmethod
    def _replace(con: Any, pairs: pl.DataFrame) -> pl.Series:
        import polars as pl

        pairs = pairs.unique(["rid", "leaf"], keep="first").with_columns(
            k=pl.int_range(pl.len()).over("rid")
        )
        con.register("pairs", pairs.to_arrow())
        con.sql(
            "CREATE TEMP TABLE p AS SELECT rid, k, to_json(leaf)::VARCHAR AS old, "
            "coalesce(to_json(new)::VARCHAR, 'null') AS new FROM pairs"
        )
        con.sql("CREATE TEMP TABLE d AS SELECT rid, doc FROM src")
        top = pairs.height and int(pairs["k"].max())  # type: ignore[arg-type]
        top = top if pairs.height else -1
        for k in range(top + 1):
            con.sql(
                "CREATE OR REPLACE TEMP TABLE d AS SELECT d.rid, "
                "CASE WHEN p.old IS NULL THEN d.doc ELSE replace(d.doc, p.old, p.new) END AS doc "
                "FROM d LEFT JOIN p ON p.rid = d.rid AND p.k = $k",
                params={"k": k},
            )
        table = con.sql("SELECT doc FROM d ORDER BY rid").to_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame["doc"]


class ExprParams(_Params):
    sql: str
    """A DuckDB SQL expression over the column, which it names ``value``."""


_FORBIDDEN_NODES = (
    "Query", "Subquery", "Block", "Command", "DDL", "DML", "Table", "Star", "Placeholder",
    "Parameter", "Pragma", "Set", "Use", "Copy", "Transaction", "Commit", "Rollback",
)  # fmt: skip


def _checked_sql(ctx: RedactionContext, sql: str) -> str:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError as e:
        raise ConfigError(f"Invalid `expr` for {ctx.where}: not a SQL expression ({e})") from e
    forbidden = tuple(getattr(exp, n) for n in _FORBIDDEN_NODES if hasattr(exp, n))
    for node in tree.walk():
        if isinstance(node, forbidden):
            raise ConfigError(
                f"Invalid `expr` for {ctx.where}: only a scalar expression over `value` is allowed "
                f"(found {type(node).__name__.lower()})"
            )
        if isinstance(node, exp.Column) and (node.table or node.name.lower() != "value"):
            raise ConfigError(
                f"Invalid `expr` for {ctx.where}: it may only reference `value`, "
                f"not `{node.sql('duckdb')}`"
            )
    return tree.sql("duckdb")


class Expr(Strategy):
    """A custom DuckDB SQL expression over ``value``, e.g. ``upper(left(value, 1)) || '***'``.

    Parsed with sqlglot and rejected unless it is one scalar expression that references only
    ``value`` (no subqueries, tables, statements); run in DuckDB with file access disabled.
    """

    name = "expr"
    Params = ExprParams
    elementwise = False  # the expression sees whole lists (DuckDB's list functions apply)

    def apply(self, series: pl.Series, ctx: RedactionContext, params: Any) -> pl.Series:
        import polars as pl

        from sandboxer.redact.prf import _connect

        sql = _checked_sql(ctx, params.sql)
        con = _connect()
        try:
            con.register("src", pl.DataFrame({"value": series}).to_arrow())
            table = con.sql(f"SELECT ({sql}) AS value FROM src").to_arrow_table()
            if "interval" in str(table.schema.field(0).type):
                # DuckDB intervals (durations included) have no Arrow type snapshots hold.
                table = con.sql(f"SELECT ({sql})::VARCHAR AS value FROM src").to_arrow_table()
            frame = pl.from_arrow(table)
        except Exception as e:  # DuckDB errors can quote cell values: report the kind only
            raise _fail(
                ctx,
                f"the `expr` failed in DuckDB ({type(e).__name__}), or returned a type "
                "snapshots cannot hold (cast intervals and unions to text)",
                hint="Try the expression on a sample in DuckDB first.",
            ) from None
        finally:
            con.close()
        assert isinstance(frame, pl.DataFrame)
        return frame["value"].alias(series.name)


# --- registry and entry point ----------------------------------------------------------------

STRATEGIES: dict[str, Strategy] = {
    cls.name: cls()
    for cls in (Keep, Null, Drop, Mask, Hash, Fake, Format, DateShift, Generalize, Noise,
                ScrubText, Json, Expr)
}  # fmt: skip


def validate_params(strategy: str, params: dict[str, Any] | None, ctx: RedactionContext) -> Any:
    """The validated parameter model of ``strategy``, or a ConfigError naming column and param."""
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"Unknown redaction strategy `{strategy}` for {ctx.where}",
            hint=did_you_mean(strategy, STRATEGIES) or f"Strategies: {', '.join(STRATEGIES)}",
        )
    model = STRATEGIES[strategy].Params
    try:
        return model.model_validate(params or {})
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "params"
        hint = None
        if err["type"] == "extra_forbidden":
            known = list(model.model_fields)
            hint = did_you_mean(str(err["loc"][0]), known) or (
                f"`{strategy}` takes: {', '.join(known)}" if known else f"`{strategy}` takes none"
            )
            message = "unknown parameter"
        else:
            message = err["msg"]
        raise ConfigError(
            f"Invalid parameter '{field}' of strategy `{strategy}` for {ctx.where}: {message}",
            hint=hint,
        ) from None


def apply(
    strategy: str, series: pl.Series, ctx: RedactionContext, params: dict[str, Any] | None = None
) -> pl.Series:
    """Redact ``series`` with ``strategy``: same length and name, nulls kept; the dtype may
    change for ``hash`` (hex text), ``expr``, and to text for categoricals. Lists and arrays
    are redacted element by element (see ``Strategy.elementwise``). Raises ConfigError for bad
    params, ColumnTypeError for a type the strategy does not take and RedactionError for values
    it cannot handle; none quotes a cell value.
    """
    validated = validate_params(strategy, params, ctx)
    impl = STRATEGIES[strategy]
    impl.check(ctx, validated)
    return _dispatch(impl, series, ctx, validated).alias(series.name)


def _dispatch(strategy: Strategy, series: pl.Series, ctx: RedactionContext, params: Any) -> Any:
    """``strategy`` on ``series`` of any type: the type rules of ``Strategy``."""
    import polars as pl

    dtype = series.dtype
    if dtype == pl.Null:
        return series  # nothing to redact, and no type to change it to
    if not _accepts(strategy, dtype):
        raise ColumnTypeError(ctx, strategy.name, dtype)
    if strategy.elementwise and dtypes.is_list(dtype):
        by = getattr(params, "by", None)

        def each(values: pl.Series, rows: Any) -> pl.Series:
            own = params
            if by is not None and isinstance(by, pl.Series):
                # The grouping value of each element is its row's.
                own = params.model_copy(update={"by": by.gather(rows)})
            return _dispatch(strategy, values, ctx, own)

        return dtypes.map_elements(series, each)
    if dtypes.is_text(dtype) and dtype != pl.String and strategy.elementwise:
        series = series.cast(pl.String)
    return strategy.apply(series, ctx, params)
