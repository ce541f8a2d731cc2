"""Keyed bijections (format-preserving encryption) on numpy arrays: integers, digit/letter text.

The cipher is an FF1-shaped Feistel network over two halves of sizes ``a`` and ``b`` (any integers,
per element), with modular addition, so a value in ``[0, a*b)`` maps to a value in ``[0, a*b)``
one-to-one; cycle-walking narrows that to any ``[0, n)`` with ``n <= a*b``. The round function is a
SipHash-1-3 style ARX PRF over two 64-bit words (tweak, half) with per-round 128-bit keys derived
from the redaction key with SHA-256, evaluated on whole numpy arrays (no Python call per value).
Ten rounds, as NIST FF1. This is not a certified FF1/FF3-1 implementation (those need AES); its
strength rests on SipHash as a PRF and on the Feistel structure (Luby-Rackoff).

Integers keep their sign and magnitude class: values are permuted inside fixed intervals whose
bounds are the powers of ten and the integer type limits (``[100, 128)``, ``[128, 256)``,
``[256, 1000)``, ... ``[10**9, 2**31)`` ...). The intervals do not depend on the column's type, so
an ``Int32`` key and its ``Int64`` foreign key map alike, and every output fits the input's type.

Strings keep every character that is not an ASCII digit or letter; digits map to digits and letters
to letters of the same case, so each value keeps its pattern (length, separators, classes), and the
mapping is a bijection per pattern. Values with more than 20 digits/letters are encrypted in
overlapping windows of 20, swept forward then backward, which stays a bijection and lets every
output character depend on every input character.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import polars as pl

    U64 = npt.NDArray[np.uint64]

ROUNDS = 10
_CHUNK = 1 << 16  # rows per numpy pass: keeps the working set in cache
_WINDOW = 20  # digits/letters per Feistel block of a string (halves <= 26**10 < 2**48)
_STRIDE = 10
_COUNT_BLOCK = 1 << 22  # bytes per block of a running count

# Two-digit country calling codes; 1 and 7 are the one-digit ones, everything else has three.
_CC2 = frozenset(
    {20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55}
    | {56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98}
)


@lru_cache(maxsize=256)
def _round_keys(key: bytes, domain: str) -> tuple[tuple[int, int], ...]:
    seed = hashlib.sha256(b"sandboxer-fpe\0" + key + b"\0" + domain.encode()).digest()
    keys = []
    for i in range(ROUNDS):
        d = hashlib.sha256(seed + bytes([i])).digest()
        keys.append((int.from_bytes(d[:8], "little"), int.from_bytes(d[8:16], "little")))
    return tuple(keys)


_MASK64 = (1 << 64) - 1
_SIP_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


def _rotl_int(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _MASK64


def _sipround_int(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & _MASK64
    v1 = _rotl_int(v1, 13) ^ v0
    v0 = _rotl_int(v0, 32)
    v2 = (v2 + v3) & _MASK64
    v3 = _rotl_int(v3, 16) ^ v2
    v0 = (v0 + v3) & _MASK64
    v3 = _rotl_int(v3, 21) ^ v0
    v2 = (v2 + v1) & _MASK64
    v1 = _rotl_int(v1, 17) ^ v2
    v2 = _rotl_int(v2, 32)
    return v0, v1, v2, v3


class _SipHash:
    """SipHash-1-3 over two 64-bit words per element, in preallocated buffers.

    Every step writes into its operand (``out=``): the state is four arrays and one scratch array
    for the rotations, whatever the number of rounds, so a chunk of a few thousand values stays in
    cache. A word that is the same for every element (the tweak of a string pattern) is absorbed
    in Python integers before the arrays are touched.
    """

    def __init__(self, n: int) -> None:
        import numpy as np

        self.v = [np.empty(n, np.uint64) for _ in range(4)]
        self.t = np.empty(n, np.uint64)

    def _rotl(self, x: U64, r: int) -> None:
        import numpy as np

        np.right_shift(x, np.uint64(64 - r), out=self.t)
        np.left_shift(x, np.uint64(r), out=x)
        np.bitwise_or(x, self.t, out=x)

    def _round(self) -> None:
        v0, v1, v2, v3 = self.v
        v0 += v1
        self._rotl(v1, 13)
        v1 ^= v0
        self._rotl(v0, 32)
        v2 += v3
        self._rotl(v3, 16)
        v3 ^= v2
        v0 += v3
        self._rotl(v3, 21)
        v3 ^= v0
        v2 += v1
        self._rotl(v1, 17)
        v1 ^= v2
        self._rotl(v2, 32)

    def prf(self, k0: int, k1: int, m1: int | U64, m2: U64, out: U64) -> U64:
        """SipHash-1-3 of the words (m1, m2) under the key (k0, k1), elementwise, into ``out``."""
        import numpy as np

        init = (k0 ^ _SIP_INIT[0], k1 ^ _SIP_INIT[1], k0 ^ _SIP_INIT[2], k1 ^ _SIP_INIT[3])
        v0, v1, v2, v3 = self.v
        if isinstance(m1, int):
            s0, s1, s2, s3 = _sipround_int(init[0], init[1], init[2], init[3] ^ m1)
            for v, x in zip(self.v, (s0 ^ m1, s1, s2, s3), strict=True):
                v.fill(x)
        else:
            for v, x in zip(self.v, init, strict=True):
                v.fill(x)
            v3 ^= m1
            self._round()
            v0 ^= m1
        v3 ^= m2
        self._round()
        v0 ^= m2
        v2 ^= np.uint64(0xFF)
        self._round()
        self._round()
        self._round()
        np.bitwise_xor(v0, v1, out=out)
        out ^= v2
        out ^= v3
        return out


def _feistel(
    big_a: U64, big_b: U64, a: int | U64, b: int | U64, tweak: int | U64, keys: Any
) -> tuple[U64, U64]:
    """Encrypt (A, B) in [0, a) x [0, b) with alternating modular-addition rounds.

    ``a``, ``b`` and ``tweak`` are per element, or Python ints shared by every element.
    """
    import numpy as np

    big_a = big_a.copy()
    big_b = big_b.copy()
    sip = _SipHash(len(big_a))
    f = np.empty(len(big_a), np.uint64)
    for i, (k0, k1) in enumerate(keys):
        if i % 2 == 0:
            sip.prf(k0, k1, tweak, big_b, f)
            np.remainder(f, a, out=f)
            big_a += f
            np.subtract(big_a, a, out=big_a, where=big_a >= a)
        else:
            sip.prf(k0, k1, tweak, big_a, f)
            np.remainder(f, b, out=f)
            big_b += f
            np.subtract(big_b, b, out=big_b, where=big_b >= b)
    return big_a, big_b


def permute(x: U64, a: U64, b: U64, n: U64, tweak: U64, key: bytes, domain: str) -> U64:
    """A keyed bijection of ``[0, n)`` per element (``n <= a*b``), by cycle-walking a Feistel."""
    import numpy as np

    keys = _round_keys(bytes(key), domain)
    out = np.empty_like(x)
    for lo in range(0, len(x), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        y, ca, cb, cn, ct = x[sl].copy(), a[sl], b[sl], n[sl], tweak[sl]
        todo = np.arange(len(y))
        while len(todo):
            # Values that leave [0, n) are encrypted again until they land in it (cycle-walking).
            tb = cb[todo]
            hi_part, lo_part = _feistel(y[todo] // tb, y[todo] % tb, ca[todo], tb, ct[todo], keys)
            z = hi_part * tb + lo_part
            y[todo] = z
            todo = todo[z >= cn[todo]]
        out[sl] = y
    return out


@lru_cache(maxsize=1)
def _intervals() -> tuple[Any, Any, Any, Any]:
    import math

    import numpy as np

    bounds = {0, 1} | {10**k for k in range(1, 20)} | {2**8, 2**16, 2**32}
    bounds |= {2**k for k in (7, 15, 31, 63)} | {2**k + 1 for k in (7, 15, 31, 63)}
    ordered = sorted(bounds)
    sizes = [hi - lo for lo, hi in zip(ordered, [*ordered[1:], 2**64], strict=True)]
    halves_a = [math.isqrt(s - 1) + 1 if s > 1 else 1 for s in sizes]
    halves_b = [-(-s // a) for s, a in zip(sizes, halves_a, strict=True)]
    u = np.uint64
    return (
        np.array(ordered, dtype=u),
        np.array(sizes, dtype=u),
        np.array(halves_a, dtype=u),
        np.array(halves_b, dtype=u),
    )


def permute_int(values: Any, key: bytes, domain: str) -> Any:
    """A keyed bijection of integers that keeps the dtype, the sign and the magnitude interval.

    ``values`` is a numpy integer array (no nulls); 0 maps to 0, the type limits to themselves.
    """
    import numpy as np

    bounds, sizes, half_a, half_b = _intervals()
    dtype = values.dtype
    if dtype.kind == "i":
        raw = values.astype(np.int64).view(np.uint64)
        neg = values < 0
        mag = np.where(neg, np.uint64(0) - raw, raw)
    else:
        mag = values.astype(np.uint64)
        neg = np.zeros(len(values), dtype=bool)
    idx = np.searchsorted(bounds, mag, side="right") - 1
    lo = bounds[idx]
    tweak = idx.astype(np.uint64) | (neg.astype(np.uint64) << np.uint64(8))
    y = permute(mag - lo, half_a[idx], half_b[idx], sizes[idx], tweak, key, "int/" + domain)
    y += lo
    if dtype.kind == "i":
        y = np.where(neg, np.uint64(0) - y, y).view(np.int64)
    return y.astype(dtype)


@dataclass
class Numerals:
    """The ASCII digits and letters of a string column as flat numeral arrays, editable in place.

    ``vals[first[r] + k]`` is the k-th digit/letter of row r (0-9 or 0-25), ``radix`` 10 or 26.
    Every other byte (separators, spaces, non-ASCII characters) is kept as is. One byte per
    numeral and per array: a phone column costs a few bytes per character, not a few words.
    """

    array: Any  # pyarrow LargeStringArray
    data: Any  # uint8 copy of the data buffer
    numeral: Any  # bool per byte of ``data[start:]``: the byte is a digit or a letter
    start: int  # first byte of the rows in ``data``
    base: Any  # uint8 ord("0"), ord("A") or ord("a") per numeral
    vals: Any  # uint8 numeral values
    radix: Any  # uint8 10 or 26
    first: Any  # index in ``vals`` of each row's first numeral
    count: Any  # numerals per row

    @classmethod
    def of(cls, series: pl.Series) -> Numerals:
        import numpy as np
        import polars as pl
        import pyarrow as pa

        array = series.cast(pl.String).to_arrow()
        if array.type != pa.large_string():
            array = array.cast(pa.large_string())
        n = len(array)
        offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
            array.offset : array.offset + n + 1
        ]
        data_buf = array.buffers()[2]
        data = np.frombuffer(data_buf, dtype=np.uint8).copy() if data_buf else np.zeros(0, np.uint8)
        start, end = int(offsets[0]), int(offsets[-1])
        body = data[start:end]
        kinds, kind_base, kind_radix = _kind_tables()
        kind = kinds[body]
        numeral = kind != 0
        kind = kind[numeral]
        base = kind_base[kind]
        vals = body[numeral] - base
        radix = kind_radix[kind]
        before = _count_before(numeral, offsets - start)
        first, count = before[:-1], np.diff(before)
        return cls(array, data, numeral, start, base, vals, radix, first, count)

    @property
    def row(self) -> Any:
        """The row of each numeral."""
        import numpy as np

        return np.repeat(np.arange(len(self.count)), self.count)

    def at(self, rows: Any, rank: Any) -> Any:
        """Flat indices of numeral ``rank`` of ``rows`` (callers mask ranks beyond the count)."""
        import numpy as np

        return np.minimum(self.first[rows] + rank, max(len(self.vals) - 1, 0))

    def to_series(self, name: str) -> pl.Series:
        import polars as pl
        import pyarrow as pa

        body = self.data[self.start : self.start + len(self.numeral)]
        body[self.numeral] = self.base + self.vals
        buffers = self.array.buffers()
        out = pa.Array.from_buffers(
            pa.large_string(),
            len(self.array),
            [buffers[0], buffers[1], pa.py_buffer(self.data)],
            offset=self.array.offset,
        )
        return pl.Series(name, out, dtype=pl.String)

    def encrypt(self, start: Any, stop: Any, key: bytes, domain: str) -> None:
        """Permute the numerals of ranks ``[start[r], stop[r])`` of every row, in place.

        Windows of 20 numerals, swept forward then backward with a stride of 10. Within one step,
        rows are grouped by window width: each group is a dense ``(rows, width)`` matrix, and a
        group whose rows share one digit/letter pattern (a phone column: all of them) runs the
        Feistel network with the radixes and tweak as plain integers.
        """
        import numpy as np

        keys = _round_keys(bytes(key), "str/" + domain)
        length = np.maximum(stop - start, 0)
        last = np.where(length > _WINDOW, -(-(length - _WINDOW) // _STRIDE) * _STRIDE, 0)
        top = int(last.max()) if len(last) else 0
        forward = [(s, (length > 0) & (s <= last)) for s in range(0, top + 1, _STRIDE)]
        backward = [(s, s < last) for s in range(top - _STRIDE, -1, -_STRIDE)]
        for sweep, steps in enumerate((forward, backward)):
            for s, selected in steps:
                rows = np.flatnonzero(selected)
                if not len(rows):
                    continue
                width = np.minimum(_WINDOW, length[rows] - s)
                begin = self.first[rows] + start[rows] + s
                widths = np.unique(width)
                for w in widths:
                    group = begin if len(widths) == 1 else begin[width == w]
                    for lo in range(0, len(group), _CHUNK):
                        self._window(group[lo : lo + _CHUNK], int(w), s, sweep, keys)

    def _window(self, begin: Any, width: int, s: int, sweep: int, keys: Any) -> None:
        """Encrypt the ``width`` numerals from flat index ``begin`` of each row (one block each)."""
        import numpy as np

        u = np.uint64
        idx = begin[:, None] + np.arange(width)
        digits = self.vals[idx]
        letter = self.radix[idx] == 26
        half = (width + 1) // 2
        radix: list[Any]
        letters: int | U64
        if (letter == letter[0]).all():
            radix = [26 if x else 10 for x in letter[0]]
            letters = sum(1 << j for j in range(width) if radix[j] == 26)
        else:
            radix = [np.where(letter[:, j], u(26), u(10)) for j in range(width)]
            letters = (letter.astype(u) << np.arange(width, dtype=u)).sum(axis=1, dtype=u)
        halves = []
        for lo, hi in ((0, half), (half, width)):
            big = np.zeros(len(begin), u)
            size: int | U64 = 1
            for j in range(lo, hi):
                big *= radix[j]
                big += digits[:, j]
                size = size * radix[j]
            halves.append((big, size))
        (big_a, a), (big_b, b) = halves
        extra = (width << 20) | (s << 28) | (sweep << 44)
        tweak = letters | extra if isinstance(letters, int) else letters | u(extra)
        big_a, big_b = _feistel(big_a, big_b, a, b, tweak, keys)
        digit = np.empty(len(begin), u)
        for j in range(width - 1, -1, -1):
            src = big_a if j < half else big_b
            np.divmod(src, radix[j], out=(src, digit))
            digits[:, j] = digit
        self.vals[idx] = digits


def _count_before(mask: Any, positions: Any) -> Any:
    """How many of ``mask[:p]`` are true, for each ``p`` of the ascending ``positions``.

    A running count taken block by block: one count per byte of a large column would cost eight
    times the column. Summing the mask's bytes is several times faster than summing booleans.
    """
    import numpy as np

    out = np.zeros(len(positions), np.int64)
    carry = 0
    for lo in range(0, len(mask), _COUNT_BLOCK):
        hi = min(lo + _COUNT_BLOCK, len(mask))
        seen = np.cumsum(mask[lo:hi].view(np.uint8), dtype=np.int64)
        i, j = np.searchsorted(positions, [lo + 1, hi + 1])
        out[i:j] = carry + seen[positions[i:j] - 1 - lo]
        carry += int(seen[-1])
    return out


@lru_cache(maxsize=1)
def _kind_tables() -> tuple[Any, Any, Any]:
    """Byte -> kind (0 other, 1 digit, 2 upper, 3 lower); kind -> first byte; kind -> radix."""
    import numpy as np

    kinds = np.zeros(256, np.uint8)
    kinds[ord("0") : ord("9") + 1] = 1
    kinds[ord("A") : ord("Z") + 1] = 2
    kinds[ord("a") : ord("z") + 1] = 3
    base = np.array([0, ord("0"), ord("A"), ord("a")], np.uint8)
    radix = np.array([1, 10, 26, 26], np.uint8)
    return kinds, base, radix


def format_strings(series: pl.Series, key: bytes, domain: str) -> pl.Series:
    """Digits -> digits, letters -> letters (case kept), the rest kept; bijective per pattern."""
    import numpy as np

    num = Numerals.of(series)
    num.encrypt(np.zeros(len(num.count), np.int64), num.count, key, domain)
    return num.to_series(series.name)


def luhn_fix(num: Numerals, rows: Any) -> None:
    """Set the last digit of ``rows`` to the Luhn check digit of the digits before it."""
    import numpy as np

    digits_only = np.bincount(num.row, weights=(num.radix != 10), minlength=len(num.count)) == 0
    rows = rows[digits_only[rows] & (num.count[rows] >= 2)]
    in_rows = np.zeros(len(num.count), bool)
    in_rows[rows] = True
    sel = in_rows[num.row]
    rank = np.arange(len(num.vals)) - num.first[num.row]
    p = num.count[num.row] - 1 - rank  # distance from the check digit
    d = num.vals.astype(np.int64)
    doubled = np.where(d * 2 > 9, d * 2 - 9, d * 2)
    contrib = np.where(p % 2 == 1, doubled, d) * ((p >= 1) & sel)
    total = np.bincount(num.row, weights=contrib, minlength=len(num.count)).astype(np.int64)
    check = (10 - total % 10) % 10
    num.vals[num.first[rows] + num.count[rows] - 1] = check[rows].astype(np.uint64)


def iban_fix(num: Numerals, rows: Any) -> None:
    """Recompute the two IBAN check digits (ranks 2-3) of ``rows`` with ISO 7064 mod 97-10."""
    import numpy as np

    rows = rows[num.count[rows] >= 5]
    f, k = num.first[rows], num.count[rows]
    ok = (num.radix[f + 2] == 10) & (num.radix[f + 3] == 10)
    rows, f, k = rows[ok], f[ok], k[ok]
    r = np.zeros(len(rows), np.int64)

    def push(idx: Any, live: Any) -> None:
        nonlocal r
        v = num.vals[idx].astype(np.int64)
        letter = num.radix[idx] == 26
        step = np.where(letter, (r * 100 + 10 + v) % 97, (r * 10 + v) % 97)
        r = np.where(live, step, r)

    for j in range(4, int(k.max()) if len(k) else 4):
        push(np.minimum(f + j, len(num.vals) - 1), j < k)
    push(f, np.ones(len(rows), bool))
    push(f + 1, np.ones(len(rows), bool))
    check = 98 - (r * 100) % 97
    num.vals[f + 2] = (check // 10).astype(np.uint64)
    num.vals[f + 3] = (check % 10).astype(np.uint64)


def phone_prefix(num: Numerals) -> Any:
    """Numerals to keep at the start of each phone: ``+CC`` / ``00CC`` country code, trunk 0."""
    import numpy as np

    n = len(num.count)
    offsets = np.frombuffer(num.array.buffers()[1], dtype=np.int64)[num.array.offset :][:n]
    has = num.count > 0
    if not len(num.data):  # every value null or empty: nothing to look at
        return np.zeros(n, dtype=num.count.dtype)
    first_byte = np.where(has, num.data[np.minimum(offsets, len(num.data) - 1)], 0)

    def digit(rank: int) -> Any:
        idx = num.at(np.arange(n), rank)
        ok = (num.count > rank) & (num.radix[idx] == 10) if len(num.vals) else has
        return np.where(ok, num.vals[idx].astype(np.int64), -1) if len(num.vals) else ok * -1

    d0, d1, d2, d3 = digit(0), digit(1), digit(2), digit(3)
    plus = first_byte == ord("+")
    intl00 = (~plus) & (d0 == 0) & (d1 == 0)
    lead = np.where(intl00, 2, 0)
    c1 = np.where(intl00, d2, d0)
    c2 = np.where(intl00, d3, d1)
    cc2 = np.isin(c1 * 10 + c2, list(_CC2))
    cc_len = np.where((c1 == 1) | (c1 == 7), 1, np.where(cc2, 2, 3))
    keep = np.where(plus | intl00, lead + cc_len, np.where(d0 == 0, 1, 0))
    return np.minimum(keep, num.count)
