"""Column values from a column spec, a batch at a time: numpy draws turned into Arrow arrays.

Every generator takes ``n`` and a ``numpy.random.Generator`` and returns an Arrow array of the
column's type; none calls Python per value. Numbers and dates come from the profile's inverse
CDF, categories from their frequencies, strings from character-class patterns or from a pool of
filler words cut to the profiled lengths, PII from the redaction fakes (``sandboxer.redact``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sandboxer.synthesize.spec import (
    BINARY,
    BOOLEAN,
    DATE,
    DECIMAL,
    DURATION,
    FLOAT,
    INTEGER,
    JSON,
    NESTED,
    NULL,
    STRING,
    TIME,
    TIMESTAMP,
    UUID,
    ColumnSpec,
    Dist,
    finite,
    int_bounds,
    kind_of,
)  # fmt: skip

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

EPOCH_DAYS_2000 = 10957

WORDS = (
    "the of and to in is for on with as by at from about after against along among around "
    "account accounts deposit deposits package packages request requests order orders note notes "
    "idea ideas pattern patterns instruction instructions theodolite platelets dependency "
    "foxes pinto beans dolphins tithes sheaves courts warhorses asymptotes frets dugouts "
    "final regular special express ironic pending bold silent careful quick slow even unusual "
    "fluffy furious blithe close daring dogged busy ruthless sly permanent quiet thin "
    "sleep wake nag haggle boost cajole detect integrate use affix engage doze are was were "
    "carefully quickly slyly blithely furiously fluffily boldly express thinly quietly evenly"
).split()

UNICODE_SAMPLES = (
    "Zoë Ñandú — naïve café",
    "日本語のテキスト",
    "Ελληνικά κείμενο",
    "مرحبا بالعالم",
    "emoji 😀👍🏽🇫🇷",
    "a\u0301 combining e\u0308",
    "\u202eRTL override",
    'O\'Brien "quoted"; DROP TABLE t;--',
    " leading and trailing ",
    "tab\tnew\nline",
)

DEFAULT_PATTERNS = {
    "phone": "+1 999-999-9999",
    "credit_card": "9999 9999 9999 9999",
    "iban": "AA99 9999 9999 9999 9999 99",
    "national_id": "999-99-9999",
    "postcode": "99999",
    "account_number": "9999999999",
    "ip_address": "999.999.999.999",
    "secret": "aaaaaaaaaaaaaaaaaaaaaaaa",
}


@dataclass
class ValueContext:
    """What a column generator needs besides the column: where it is, for fakes and keys."""

    table: str
    seed: int
    locale: str = "en_US"

    @property
    def fake_key(self) -> bytes:
        """The key of the redaction fakes: derived from the seed (synthetic rows are not
        pseudonyms of anything, so no secret is needed; the seed makes them reproducible)."""
        return hashlib.sha256(f"sandboxer-synthesize\0{self.seed}".encode()).digest()


# -- Arrow construction ----------------------------------------------------------------------


def with_nulls(array: pa.Array, nulls: np.ndarray | None) -> pa.Array:
    """``array`` with the rows of the boolean mask ``nulls`` set to null."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if nulls is None or not nulls.any():
        return array
    flat = not (
        pa.types.is_boolean(array.type)
        or pa.types.is_nested(array.type)
        or pa.types.is_dictionary(array.type)
        or pa.types.is_null(array.type)
    )  # buffers without children or a dictionary: the bitmap can be swapped in place
    if array.offset == 0 and array.null_count == 0 and flat:
        bitmap = np.packbits(~nulls, bitorder="little")
        return pa.Array.from_buffers(
            array.type, len(array), [pa.py_buffer(bitmap), *array.buffers()[1:]],
            null_count=int(nulls.sum()),
        )  # fmt: skip
    return pc.if_else(pa.array(nulls), pa.scalar(None, array.type), array)


def numbers_to_arrow(values: np.ndarray, spec: ColumnSpec) -> pa.Array:
    """Float or integer draws as the column's type: rounded, clipped to the type's range,
    decimals built from their unscaled integers."""
    import numpy as np
    import pyarrow as pa

    t = spec.arrow_type
    n = len(values)
    if spec.kind == INTEGER:
        lo, hi = int_bounds(t)
        ints = np.clip(np.rint(values), max(lo, -(2**63)), min(hi, 2**63 - 1024))
        return pa.array(ints.astype(t.to_pandas_dtype()), type=t)
    if spec.kind == FLOAT:
        out = pa.array(values.astype(np.float64), type=pa.float64())
        return out if out.type == t else out.cast(t)
    if spec.kind == DECIMAL:
        bound = 10.0 ** min(t.precision, 18) - 1
        unscaled = np.clip(np.rint(values * 10.0**spec.scale), -bound, bound).astype(np.int64)
        words = np.empty((n, 2), dtype=np.int64)
        words[:, 0] = unscaled
        words[:, 1] = unscaled >> 63
        if t.bit_width == 256:
            return pa.Array.from_buffers(
                pa.decimal128(min(t.precision, 38), t.scale), n, [None, pa.py_buffer(words)]
            ).cast(t)
        return pa.Array.from_buffers(t, n, [None, pa.py_buffer(words)])
    if spec.kind == DATE:
        days = np.clip(np.rint(values), -719162, 2932896).astype(np.int32)
        out = pa.Array.from_buffers(pa.date32(), n, [None, pa.py_buffer(days)])
        return out if out.type == t else out.cast(t)
    if spec.kind == TIMESTAMP:
        micros = np.rint(values).astype(np.int64)
        return pa.Array.from_buffers(pa.timestamp("us", tz=t.tz), n, [None, pa.py_buffer(micros)])
    if spec.kind == BOOLEAN:
        return pa.array(values.astype(bool))
    raise TypeError(spec.kind)


def strings_from_matrix(matrix: np.ndarray) -> pa.Array:
    """Rows of a ``(n, width)`` uint8 matrix as strings of ``width`` bytes."""
    import numpy as np
    import pyarrow as pa

    n, width = matrix.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    data = np.ascontiguousarray(matrix).reshape(-1)
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def strings_from_pool(
    pool: np.ndarray, starts: np.ndarray, lengths: np.ndarray, binary: bool = False
) -> pa.Array:
    """Substrings ``pool[start:start+length]`` (bytes) per row.

    Rows are copied as fixed-width windows of the pool (one memcpy-like gather per row) and
    trimmed to their lengths with a boolean mask: far faster than gathering byte indices.
    Chunks keep the window matrix under about 64 MB.
    """
    import numpy as np
    import pyarrow as pa

    n = len(starts)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    width = max(int(lengths.max()) if n else 0, 1)
    windows = np.lib.stride_tricks.sliding_window_view(pool, width)
    step = max(1, (64 << 20) // width)
    parts = []
    columns = np.arange(width)
    for lo in range(0, n, step):  # chunks of rows, not rows
        block = windows[starts[lo : lo + step]]
        parts.append(block[columns < lengths[lo : lo + step, None]])
    data = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    t = pa.large_binary() if binary else pa.large_string()
    return pa.Array.from_buffers(t, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


# -- character-class patterns ----------------------------------------------------------------


def expand_pattern(pattern: str) -> str:
    """``A{3}9{2}`` -> ``AAA99``; plain patterns are returned as they are."""
    import re

    return re.sub(r"(.)\{(\d+)\}", lambda m: m.group(1) * int(m.group(2)), pattern)


def pattern_matrix(
    pattern: str, n: int, rng: np.random.Generator, numbers: np.ndarray | None = None
) -> np.ndarray:
    """``n`` strings of ``pattern`` as a byte matrix: ``A`` upper, ``a`` lower, ``9`` digit,
    anything else literal. With ``numbers``, the digit positions spell those numbers
    (right-aligned, in decimal), which makes the strings unique when the numbers are."""
    import numpy as np

    raw = expand_pattern(pattern).encode("utf-8")
    template = np.frombuffer(raw, dtype=np.uint8)
    width = len(template)
    out = np.broadcast_to(template, (n, width)).copy()
    if width == 0 or n == 0:
        return out
    upper, lower, digit = template == ord("A"), template == ord("a"), template == ord("9")
    symbol = template == ord("*")
    if numbers is None:
        letters = rng.integers(0, 26, size=(n, width), dtype=np.uint8)
    else:
        # Letters from a hash of the number: the same number gives the same string in every
        # batch, so a key generated for a foreign key equals its parent's.
        shifts = (np.arange(width, dtype=np.uint64) * np.uint64(5)) % np.uint64(59)
        letters = ((mix(numbers)[:, None].astype(np.uint64) >> shifts) % np.uint64(26)).astype(
            np.uint8
        )
    out[:, symbol] = np.frombuffer(b"!$%&*?=~", dtype=np.uint8)[letters[:, symbol] % 8]
    out[:, upper] = (letters[:, upper] + ord("A")).astype(np.uint8)
    out[:, lower] = (letters[:, lower] + ord("a")).astype(np.uint8)
    digit_cols = np.flatnonzero(digit)
    if numbers is None:
        out[:, digit] = (letters[:, digit] % 10 + ord("0")).astype(np.uint8)
    else:
        rest = numbers.astype(np.int64).copy()
        for col in digit_cols[::-1]:  # a loop over the pattern's digit positions, not rows
            out[:, col] = (rest % 10 + ord("0")).astype(np.uint8)
            rest //= 10
    return out


def mix(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """A splitmix64 hash of integers (wrapping uint64 arithmetic), as non-negative int64."""
    import numpy as np

    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64((0x9E3779B97F4A7C15 + seed) & 0xFFFFFFFFFFFFFFFF)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(1)).astype(np.int64)


def scramble(numbers: np.ndarray, digits: int) -> np.ndarray:
    """A bijection of ``range(10 ** digits)`` that does not look sequential (affine, with a
    multiplier prime to 10), so numbered strings stay unique without counting up."""
    import numpy as np

    space = 10 ** min(digits, 18)
    a = 7_368_787 % space or 1
    return (numbers.astype(np.int64) * a + 4_256_249) % space


def digit_capacity(pattern: str) -> int:
    return expand_pattern(pattern).count("9")


def from_patterns(
    patterns: list[str], probs: np.ndarray, n: int, rng: np.random.Generator
) -> pa.Array:
    """Strings drawn from several patterns by their shares (one matrix per pattern)."""
    import numpy as np
    import pyarrow as pa

    choice = np.searchsorted(np.cumsum(probs), rng.random(n) * probs.sum(), side="right")
    choice = np.minimum(choice, len(patterns) - 1)
    order = np.argsort(choice, kind="stable")
    counts = np.bincount(choice, minlength=len(patterns))
    parts = [
        strings_from_matrix(pattern_matrix(patterns[k], int(c), rng))
        for k, c in enumerate(counts)
        if c
    ]
    grouped = pa.concat_arrays(parts) if parts else pa.array([], pa.large_string())
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    return grouped.take(pa.array(inverse))


# -- filler text -----------------------------------------------------------------------------


@lru_cache(maxsize=8)
def word_pool(seed: int, chars: int = 1 << 19) -> tuple[np.ndarray, np.ndarray]:
    """A long run of filler words (bytes) and the offsets where words start; one per seed
    (columns cut it at different places)."""
    import numpy as np

    rng = np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, 0x7E47]))
    words = np.array(WORDS)
    picks = words[rng.integers(0, len(words), size=chars // 6)]
    text = " ".join(picks.tolist()).encode("ascii")
    pool = np.frombuffer(text, dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(pool == ord(" ")) + 1])
    return pool, starts


def text(
    lengths: np.ndarray, rng: np.random.Generator, pool: tuple[np.ndarray, np.ndarray],
    binary: bool = False,
) -> pa.Array:  # fmt: skip
    """Strings of the given lengths cut from the word pool at random word starts."""
    import numpy as np

    data, starts = pool
    lengths = np.clip(lengths, 0, len(data) // 2).astype(np.int64)
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    # Every start leaves a whole window of the longest length inside the pool.
    limit = np.full(len(lengths), np.searchsorted(starts, len(data) - width, side="right"))
    pick = (rng.random(len(lengths)) * np.maximum(limit, 1)).astype(np.int64)
    return strings_from_pool(data, starts[pick], lengths, binary=binary)


# -- PII -------------------------------------------------------------------------------------


def fakes(
    spec: ColumnSpec, numbers: np.ndarray, rng: np.random.Generator, ctx: ValueContext,
    unique: bool,
) -> pa.Array | None:  # fmt: skip
    """Realistic fakes for a PII column, from the redaction strategies (vocabularies for names,
    addresses, emails...; format-preserving fakes with valid check digits for phones, cards,
    IBANs): their input is a synthetic row id (or a random string of the entity's pattern),
    never a profiled value. None for entities the fakes do not cover."""
    import numpy as np
    import polars as pl

    from sandboxer.redact.entities import Entity
    from sandboxer.redact.strategies import _FORMAT_ENTITIES, _VOCAB_ENTITIES, RedactionContext
    from sandboxer.redact.strategies import apply as redact

    try:
        entity = Entity(spec.pii or "")
    except ValueError:
        return None
    if spec.kind != STRING or entity not in _VOCAB_ENTITIES | _FORMAT_ENTITIES | {
        Entity.phone, Entity.iban, Entity.credit_card,
    }:  # fmt: skip
        return None
    rctx = RedactionContext(
        key=ctx.fake_key, entity=entity, unique=unique, locale=ctx.locale,
        table=ctx.table, column=spec.name,
    )  # fmt: skip
    n = len(numbers)
    if entity in _VOCAB_ENTITIES:
        source = pl.Series(spec.name, numbers.astype(np.int64)).cast(pl.String)
    else:
        if spec.patterns is not None:
            pats = [str(v) for v in spec.patterns.values]
            probs = spec.patterns.probs
        else:
            pats, probs = [DEFAULT_PATTERNS[entity.value]], np.ones(1)
        if unique:
            digits = digit_capacity(pats[0])
            arr = strings_from_matrix(pattern_matrix(pats[0], n, rng, scramble(numbers, digits)))
        else:
            arr = from_patterns(pats, probs, n, rng)
        source = pl.Series(spec.name, arr, dtype=pl.String)
    out = redact("fake", source, rctx)
    return out.to_arrow().cast(spec.arrow_type)


# -- one column ------------------------------------------------------------------------------


class ColumnGenerator:
    """Values of one non-key column, a batch at a time."""

    def __init__(self, spec: ColumnSpec, ctx: ValueContext, rows: int, profiled_rows: int):
        import numpy as np
        import pyarrow as pa

        self.spec = spec
        self.ctx = ctx
        self.rows = rows
        self._pool: tuple[np.ndarray, np.ndarray] | None = None
        cats = spec.categories
        self.cat_values: pa.Array | np.ndarray | None = None
        if cats is not None and cats.values:
            if spec.kind in (STRING, BINARY):
                texts = pa.array([str(v) for v in cats.values], pa.large_string())
                self.cat_values = texts.cast(pa.large_binary()) if spec.kind == BINARY else texts
            elif spec.kind == BOOLEAN:
                self.cat_values = np.array([_truthy(v) for v in cats.values], dtype=np.float64)
            else:
                self.cat_values = np.array(
                    [float(v) if finite(v) else np.nan for v in cats.values], dtype=np.float64
                )
            self.cat_cum = np.cumsum(cats.probs)
            self.cat_dist = Dist(self.cat_cum, np.arange(len(cats.values)), discrete=True)
        # A column with as many distinct values as rows, all listed (a lookup's names):
        # draw without replacement while the values last.
        self.permute = (
            cats is not None
            and cats.coverage >= 0.999
            and spec.distinct is not None
            and spec.distinct >= profiled_rows > 0
            and rows <= len(cats.values)
        )

    def batch(self, first_row: int, n: int, rng: np.random.Generator) -> pa.Array:
        import pyarrow as pa

        spec = self.spec
        cats = spec.categories
        if cats is not None and self.cat_values is not None and cats.coverage >= 0.999:
            out = self._categorical(first_row, n, rng)
        elif spec.kind in (TIME, DURATION, NESTED, NULL) or (
            pa.types.is_fixed_size_binary(spec.arrow_type)
            or pa.types.is_dictionary(spec.arrow_type)
        ):
            out = typed_values(spec.arrow_type, n, rng, self.ctx)
        elif spec.kind == JSON:
            out = json_documents(self._text(n, rng))
        elif spec.kind == UUID:
            out = uuids(n, rng)
        else:
            out = self._continuous(first_row, n, rng)
            if cats is not None and self.cat_values is not None and cats.coverage > 0:
                mask = rng.random(n) < cats.coverage
                if mask.any():
                    import pyarrow as pa
                    import pyarrow.compute as pc

                    picked = self._categorical(first_row, n, rng)
                    out = pc.if_else(pa.array(mask), picked, out)
        if spec.empty_rate > 0 and spec.kind == STRING:
            import pyarrow as pa
            import pyarrow.compute as pc

            empty = rng.random(n) < spec.empty_rate
            out = pc.if_else(pa.array(empty), pa.scalar("", out.type), out)
        nulls = rng.random(n) < spec.null_rate if spec.null_rate > 0 else None
        return with_nulls(out, nulls)

    def _categorical(self, first_row: int, n: int, rng: np.random.Generator) -> pa.Array:
        import pyarrow as pa

        assert self.cat_values is not None
        k = len(self.cat_values)
        if self.permute:
            idx = rng.permutation(k)[first_row : first_row + n]
        else:
            idx = self.cat_dist.sample(rng.random(n))
        if isinstance(self.cat_values, pa.Array):
            return self.cat_values.take(pa.array(idx))
        return numbers_to_arrow(self.cat_values[idx], self.spec)

    def _continuous(self, first_row: int, n: int, rng: np.random.Generator) -> pa.Array:
        import numpy as np

        spec = self.spec
        if spec.kind in (STRING, BINARY):
            numbers = np.arange(first_row, first_row + n, dtype=np.int64)
            if spec.pii is not None:
                faked = fakes(spec, numbers, rng, self.ctx, unique=spec.unique)
                if faked is not None:
                    return faked
            if spec.patterns is not None and spec.kind == STRING and spec.patterns.coverage > 0.5:
                pats = [str(v) for v in spec.patterns.values]
                if spec.unique and 10 ** min(digit_capacity(pats[0]), 18) >= self.rows:
                    # Unique in the profile: number the rows into the pattern's digits.
                    mixed = scramble(numbers, digit_capacity(pats[0]))
                    return strings_from_matrix(pattern_matrix(pats[0], n, rng, mixed))
                return from_patterns(pats, spec.patterns.probs, n, rng)
            return self._text(n, rng)
        if spec.kind == BOOLEAN:
            p = spec.dist.mean if spec.dist is not None else 0.5
            return numbers_to_arrow(rng.random(n) < p, spec)
        u = rng.random(n)
        if spec.dist is not None:
            values = spec.dist.sample(u)
        else:
            lo = spec.min if finite(spec.min) else _default_low(spec)
            hi = spec.max if finite(spec.max) else lo + 1000
            values = lo + u * (hi - lo)
        if spec.kind == INTEGER and finite(spec.min) and finite(spec.max):
            values = np.clip(values, spec.min, spec.max)
        return numbers_to_arrow(values, spec)

    def _text(self, n: int, rng: np.random.Generator) -> pa.Array:
        import numpy as np

        if self._pool is None:
            self._pool = word_pool(self.ctx.seed)
        if self.spec.length is not None:
            lengths = np.rint(self.spec.length.sample(rng.random(n))).astype(np.int64)
        else:
            lengths = rng.integers(5, 40, size=n)
        return text(lengths, rng, self._pool, binary=self.spec.kind == BINARY)


# -- types without a profiled distribution ---------------------------------------------------

MAX_ITEMS = 3
"""Lists get 0..MAX_ITEMS items; maps 0 or 1 entry (their keys must stay unique)."""


def typed_values(t: pa.DataType, n: int, rng: np.random.Generator, ctx: ValueContext) -> pa.Array:
    """``n`` values of any Arrow type without a profile: lists of a few items, every field of a
    struct, map entries, times of day, durations, and scalars drawn as an unprofiled column of
    their type (numbers in [0, 1000], filler text...). Items are generated by their own type,
    at any depth; a type nothing can be generated for gets nulls."""
    import numpy as np
    import pyarrow as pa

    if pa.types.is_null(t):
        return pa.nulls(n)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        lengths = rng.integers(0, MAX_ITEMS + 1, size=n)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        items = typed_values(t.value_type, int(offsets[-1]), rng, ctx)
        cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        width = pa.int64() if pa.types.is_large_list(t) else pa.int32()
        return cls.from_arrays(pa.array(offsets, width), items, type=t)
    if pa.types.is_fixed_size_list(t):
        items = typed_values(t.value_type, n * t.list_size, rng, ctx)
        return pa.FixedSizeListArray.from_arrays(items, type=t)
    if pa.types.is_map(t):
        lengths = rng.integers(0, 2, size=n)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        total = int(offsets[-1])
        keys = typed_values(t.key_type, total, rng, ctx)
        items = typed_values(t.item_type, total, rng, ctx)
        return pa.MapArray.from_arrays(pa.array(offsets, pa.int32()), keys, items, type=t)
    if pa.types.is_struct(t):
        fields = [t.field(i) for i in range(t.num_fields)]
        arrays = [typed_values(f.type, n, rng, ctx) for f in fields]
        return pa.StructArray.from_arrays(arrays, fields=fields)
    if pa.types.is_time(t):
        micros = rng.integers(0, 86_400_000_000, size=n)
        return pa.array(micros, pa.time64("us")).cast(t, safe=False)
    if pa.types.is_duration(t):
        micros = rng.integers(0, 30 * 86_400_000_000, size=n)
        return pa.array(micros, pa.duration("us")).cast(t, safe=False)
    if pa.types.is_dictionary(t):
        # A few distinct values, however narrow the indices (an enum's int8).
        values = typed_values(t.value_type, min(n, 16), rng, ctx)
        picks = rng.integers(0, max(len(values), 1), size=n)
        indices = pa.array(picks, pa.int64()).cast(t.index_type)
        return pa.DictionaryArray.from_arrays(indices, values).cast(t)
    if pa.types.is_fixed_size_binary(t):
        data = rng.integers(0, 256, size=n * t.byte_width, dtype=np.uint8)
        return pa.Array.from_buffers(t, n, [None, pa.py_buffer(data.tobytes())])
    kind = kind_of(t)
    if kind in (TIME, DURATION, NESTED, NULL):  # pragma: no cover - a type of no family
        return pa.nulls(n, t)
    out = ColumnGenerator(ColumnSpec(name="", kind=kind, arrow_type=t), ctx, n, 0).batch(0, n, rng)
    return out if out.type == t else out.cast(t)


def uuids(n: int, rng: np.random.Generator) -> pa.Array:
    """Random version-4 UUIDs in their canonical text form."""
    import numpy as np

    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = np.frombuffer(b"0123456789abcdef", np.uint8)
    digits = np.stack([hexes[raw >> 4], hexes[raw & 0x0F]], axis=2).reshape(n, 32)
    dash = np.full((n, 1), ord("-"), np.uint8)
    parts = [digits[:, :8], dash, digits[:, 8:12], dash, digits[:, 12:16], dash]
    parts += [digits[:, 16:20], dash, digits[:, 20:]]
    return strings_from_matrix(np.concatenate(parts, axis=1))


def json_documents(texts: pa.Array) -> pa.Array:
    """One JSON object per filler text: ``{"text": "..."}`` (the filler words are letters and
    spaces, so no character needs escaping)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = texts.cast(pa.large_string())
    open_, close = pa.scalar('{"text": "', pa.large_string()), pa.scalar('"}', pa.large_string())
    return pc.binary_join_element_wise(open_, texts, close, pa.scalar("", pa.large_string()))


def _default_low(spec: ColumnSpec) -> float:
    return float(EPOCH_DAYS_2000) if spec.kind == DATE else 0.0


def _truthy(v: Any) -> float:
    return 1.0 if str(v).strip().lower() in ("true", "1", "t", "yes", "y") else 0.0


# -- edge cases ------------------------------------------------------------------------------


def edge_values(spec: ColumnSpec, *, nullable: bool) -> list[Any]:
    """Values a test dataset should hold at least once: null, empty and odd strings, the
    profile's and the type's extremes, boundary dates. Python values of the column's type."""
    import datetime as dt
    import decimal

    out: list[Any] = [None] if nullable else []
    kind, t = spec.kind, spec.arrow_type
    if kind == STRING:
        longest = int(spec.length.v[-1]) if spec.length is not None else 255
        out += ["", " ", *UNICODE_SAMPLES, "x" * max(longest, 1)]
    elif kind == BINARY:
        out += [b"", b"\x00", b"\xff" * 16]
    elif kind == INTEGER:
        lo, hi = int_bounds(t)
        out += [lo, hi, 0, -1 if lo < 0 else 1]
        out += [int(x) for x in (spec.min, spec.max) if finite(x)]
    elif kind == FLOAT:
        out += [
            0.0,
            -0.0,
            float("nan"),
            float("inf"),
            float("-inf"),
            5e-324,
            1.7976931348623157e308,
        ]
        out += [float(x) for x in (spec.min, spec.max) if finite(x)]
    elif kind == DECIMAL:
        top = decimal.Decimal(10) ** (t.precision - t.scale) - decimal.Decimal(10) ** -t.scale
        q = decimal.Decimal(10) ** -t.scale
        out += [top, -top, decimal.Decimal(0).quantize(q)]
        out += [decimal.Decimal(str(x)).quantize(q) for x in (spec.min, spec.max) if finite(x)]
    elif kind == DATE:
        out += [dt.date(1970, 1, 1), dt.date(2000, 2, 29), dt.date(1, 1, 1), dt.date(9999, 12, 31)]
        out += [
            dt.date(1970, 1, 1) + dt.timedelta(days=int(x))
            for x in (spec.min, spec.max)
            if finite(x)
        ]
    elif kind == TIMESTAMP:
        out += [dt.datetime(1970, 1, 1), dt.datetime(2000, 2, 29, 23, 59, 59, 999999),
                dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)]  # fmt: skip
    elif kind == BOOLEAN:
        out += [True, False]
    return out
