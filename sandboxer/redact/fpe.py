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


def _prf(k0: int, k1: int, m1: U64, m2: U64) -> U64:
    """SipHash-1-3 rounds over the words (m1, m2) under the key (k0, k1), elementwise."""
    import numpy as np

    u = np.uint64

    def rotl(x: U64, r: int) -> U64:
        out: U64 = (x << u(r)) | (x >> u(64 - r))
        return out

    n = len(m1)
    v0 = np.full(n, k0 ^ 0x736F6D6570736575, dtype=np.uint64)
    v1 = np.full(n, k1 ^ 0x646F72616E646F6D, dtype=np.uint64)
    v2 = np.full(n, k0 ^ 0x6C7967656E657261, dtype=np.uint64)
    v3 = np.full(n, k1 ^ 0x7465646279746573, dtype=np.uint64)

    def sipround() -> None:
        nonlocal v0, v1, v2, v3
        v0 += v1
        v1 = rotl(v1, 13)
        v1 ^= v0
        v0 = rotl(v0, 32)
        v2 += v3
        v3 = rotl(v3, 16)
        v3 ^= v2
        v0 += v3
        v3 = rotl(v3, 21)
        v3 ^= v0
        v2 += v1
        v1 = rotl(v1, 17)
        v1 ^= v2
        v2 = rotl(v2, 32)

    for m in (m1, m2):
        v3 ^= m
        sipround()
        v0 ^= m
    v2 ^= u(0xFF)
    sipround()
    sipround()
    sipround()
    out: U64 = v0 ^ v1 ^ v2 ^ v3
    return out


def _feistel(big_a: U64, big_b: U64, a: U64, b: U64, tweak: U64, keys: Any) -> tuple[U64, U64]:
    """Encrypt (A, B) in [0, a) x [0, b) with alternating modular-addition rounds."""
    import numpy as np

    big_a = big_a.copy()
    big_b = big_b.copy()
    for i, (k0, k1) in enumerate(keys):
        if i % 2 == 0:
            big_a += _prf(k0, k1, tweak, big_b) % a
            np.subtract(big_a, a, out=big_a, where=big_a >= a)
        else:
            big_b += _prf(k0, k1, tweak, big_a) % b
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


def permute_pair(
    big_a: U64, big_b: U64, a: U64, b: U64, tweak: U64, key: bytes, domain: str
) -> tuple[U64, U64]:
    """A keyed bijection of ``[0, a) x [0, b)`` per element (``a * b`` may exceed 2**64)."""
    import numpy as np

    keys = _round_keys(bytes(key), domain)
    out_a, out_b = np.empty_like(big_a), np.empty_like(big_b)
    for lo in range(0, len(big_a), _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        out_a[sl], out_b[sl] = _feistel(big_a[sl], big_b[sl], a[sl], b[sl], tweak[sl], keys)
    return out_a, out_b


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
    Every other byte (separators, spaces, non-ASCII characters) is kept as is.
    """

    array: Any  # pyarrow LargeStringArray
    data: Any  # uint8 copy of the data buffer
    pos: Any  # byte position of each numeral in ``data``
    base: Any  # b"0", b"A" or b"a" per numeral
    vals: Any  # uint64 numeral values
    radix: Any  # uint64 10 or 26
    row: Any  # row of each numeral
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
        digit = (body >= 48) & (body <= 57)
        upper = (body >= 65) & (body <= 90)
        lower = (body >= 97) & (body <= 122)
        pos = np.flatnonzero(digit | upper | lower)
        base = np.where(digit[pos], 48, np.where(upper[pos], 65, 97)).astype(np.uint8)
        vals = (body[pos] - base).astype(np.uint64)
        radix = np.where(digit[pos], 10, 26).astype(np.uint64)
        row = np.repeat(np.arange(n), np.diff(offsets))[pos]
        count = np.bincount(row, minlength=n).astype(np.int64)
        first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        return cls(array, data, pos + start, base, vals, radix, row, first, count)

    def at(self, rows: Any, rank: Any) -> Any:
        """Flat indices of numeral ``rank`` of ``rows`` (callers mask ranks beyond the count)."""
        import numpy as np

        return np.minimum(self.first[rows] + rank, max(len(self.vals) - 1, 0))

    def to_series(self, name: str) -> pl.Series:
        import numpy as np
        import polars as pl
        import pyarrow as pa

        self.data[self.pos] = self.base + self.vals.astype(np.uint8)
        buffers = self.array.buffers()
        out = pa.Array.from_buffers(
            pa.large_string(),
            len(self.array),
            [buffers[0], buffers[1], pa.py_buffer(self.data.tobytes())],
            offset=self.array.offset,
        )
        return pl.Series(name, out, dtype=pl.String)

    def encrypt(self, start: Any, stop: Any, key: bytes, domain: str) -> None:
        """Permute the numerals of ranks ``[start[r], stop[r])`` of every row, in place."""
        import numpy as np

        n_rows = len(start)
        length = np.maximum(stop - start, 0)
        last = np.where(length > _WINDOW, -(-(length - _WINDOW) // _STRIDE) * _STRIDE, 0)
        top = int(last.max()) if len(last) else 0
        forward = [(s, (length > 0) & (s <= last)) for s in range(0, top + 1, _STRIDE)]
        backward = [(s, s < last) for s in range(top - _STRIDE, -1, -_STRIDE)]
        for sweep, steps in enumerate((forward, backward)):
            for s, selected in steps:
                for lo in range(0, n_rows, _CHUNK):
                    rows = lo + np.flatnonzero(selected[lo : lo + _CHUNK])
                    if not len(rows):
                        continue
                    self._window(
                        rows,
                        start[rows] + s,
                        np.minimum(_WINDOW, length[rows] - s),
                        s,
                        sweep,
                        key,
                        domain,
                    )

    def _window(
        self, rows: Any, begin: Any, width: Any, s: int, sweep: int, key: bytes, domain: str
    ) -> None:
        import numpy as np

        u = np.uint64
        n = len(rows)
        half = (width + 1) // 2
        big_a, big_b = np.zeros(n, u), np.zeros(n, u)
        a, b = np.ones(n, u), np.ones(n, u)
        letters = np.zeros(n, u)
        flat = []
        for j in range(_WINDOW):
            live = j < width
            if not live.any():
                break
            idx = self.at(rows, begin + j)
            flat.append((idx, live))
            r = np.where(live, self.radix[idx], u(1))
            v = np.where(live, self.vals[idx], u(0))
            in_a = j < half
            big_a = np.where(in_a, big_a * r + v, big_a)
            a = np.where(in_a, a * r, a)
            big_b = np.where(in_a, big_b, big_b * r + v)
            b = np.where(in_a, b, b * r)
            letters |= (r == u(26)).astype(u) << u(j)
        tweak = letters | (width.astype(u) << u(20)) | (u(s) << u(28)) | (u(sweep) << u(44))
        big_a, big_b = permute_pair(big_a, big_b, a, b, tweak, key, "str/" + domain)
        for j in range(len(flat) - 1, -1, -1):
            idx, live = flat[j]
            r = np.where(live, self.radix[idx], u(1))
            in_a = j < half
            src = np.where(in_a, big_a, big_b)
            digit = src % r
            big_a = np.where(in_a, big_a // r, big_a)
            big_b = np.where(in_a, big_b, big_b // r)
            self.vals[idx[live]] = digit[live]


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
    first_byte = np.where(has, num.data[np.minimum(offsets, max(len(num.data) - 1, 0))], 0)

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
