"""Keyed bijections (format-preserving encryption) on numpy arrays: integers, digit/letter text.

The cipher is **NIST SP 800-38G FF1** over AES-256 (``cryptography``), checked against NIST's
sample vectors (``tests/redact/test_fpe.py``). FF1 rather than FF3-1: FF3-1 has a 56-bit tweak
(ours carry a pattern digest and the other class of characters), and its history is weaker (FF3
was broken by Durak and Vaudenay in 2017 and patched into FF3-1; FF1's analysis has held).

Vectorised: :class:`FF1` encrypts a whole ``(values, length)`` matrix of numerals per call. Each
of the ten Feistel rounds is one AES-ECB call over a contiguous buffer holding one CBC-MAC block
per value (the MAC of the fixed block P is one AES call shared by all), and the numeral-string
arithmetic is numpy on uint64: a numeral string is a few "chunks" of ``k`` numerals
(``radix**k <= 2**32``, 9 decimal digits, 6 letters, 32 bits), NUM(B) becomes 32-bit limbs, and
the MAC output is reduced modulo ``radix**m`` by short division of its limbs, so every product
fits 64 bits, whatever the length. A vectorised call has a fixed cost that grows with the length
(about 0.2 ms at 10 numerals, 1.4 ms at 64), so strings longer than :data:`VECTOR_MAX` numerals
of one class, and groups of fewer than ``max(8, length / 2)`` values of one length, go through
:func:`ff1_scalar` instead: the same FF1 with Python integers, one value at a time, about 45 us
per value plus 0.35 us per numeral (a phone number costs under 1 us on the vectorised path).

Key material: the AES key is HMAC-SHA256(redaction key, purpose and domain), so every strategy
and entity has its own key, and the redaction key itself never reaches AES.

FF1's domain rule (radix**length >= 1,000,000, SP 800-38G Rev. 1) is explicit: a shorter
numeral string (fewer than 6 digits, 5 letters or 20 bits) is permuted by a **keyed table**, a
uniformly random permutation of the whole small domain (the domain's elements ranked by an
AES-based PRF under a separate key), one table per domain, class and length. Such a value has at
most 10**5 (26**4) possible originals, so no cipher can hide it from someone who can test
guesses; the table keeps the mapping one-to-one and keyed, and does not take the tweak, so equal
short runs of digits map alike whatever surrounds them.

Integers keep their sign and magnitude class: values are permuted inside fixed intervals whose
bounds are the powers of ten and the integer type limits (``[100, 128)``, ``[128, 256)``,
``[256, 1000)``, ... ``[10**9, 2**31)`` ...), with FF1 over the interval's bits (radix 2) and
cycle-walking (fewer than two passes on average), or the table below 2**20 values. The intervals
do not depend on the column's type, so an ``Int32`` key and its ``Int64`` foreign key map alike,
and every output fits the input's type.

Strings keep every character that is not an ASCII digit or letter; digits map to digits and
letters to letters of the same case, so each value keeps its pattern (length, separators,
classes), and the mapping is a bijection per pattern. FF1 takes one radix, so a value's digits
and its letters are two numeral strings, encrypted one after the other: the digits under a tweak
that digests the value with its digits masked (so the pattern and the letters), then the letters
under a tweak that digests the value with its letters masked (so the pattern and the encrypted
digits). Decryption runs the two steps backwards, so the whole stays a bijection, and every
output character depends on every input character of the value.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

ROUNDS = 10
MIN_DOMAIN = 1_000_000
"""FF1's minimum domain size (SP 800-38G Rev. 1): radix**length must reach it."""
VECTOR_MAX = 256
"""Longest numeral string of one class encrypted on the vectorised path (measured: beyond it,
the limb arithmetic of a round costs more than Python integers even for thousands of values)."""
_CHUNK = 1 << 16  # rows per numpy pass: keeps the working set in cache
_COUNT_BLOCK = 1 << 22  # bytes per block of a running count
_MASK32 = (1 << 32) - 1

# Two-digit country calling codes; 1 and 7 are the one-digit ones, everything else has three.
_CC2 = frozenset(
    {20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55}
    | {56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98}
)


@lru_cache(maxsize=256)
def subkey(key: bytes, purpose: str, domain: str) -> bytes:
    """The AES-256 key of one use: HMAC-SHA256 of the purpose and domain under the redaction key."""
    label = b"sandboxer/fpe/v2\x00" + purpose.encode() + b"\x00" + domain.encode()
    return hmac.new(bytes(key), label, hashlib.sha256).digest()


def _ecb(aes_key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()


def _chunk_digits(radix: int) -> int:
    """Numerals per chunk: the largest ``k`` with ``radix**k <= 2**32``."""
    k = 1
    while radix ** (k + 1) <= 1 << 32:
        k += 1
    return k


def _ff1_sizes(radix: int, n: int, t: int) -> tuple[int, int, int, int, bytes]:
    """``u, v, b, d`` and the block P of SP 800-38G, Algorithm 7, steps 1-5."""
    u = n // 2
    v = n - u
    # ceil(v * log2(radix)) exactly: the bit length of radix**v - 1.
    b = ((radix**v - 1).bit_length() + 7) // 8
    d = 4 * ((b + 3) // 4) + 4
    p = (
        bytes([1, 2, 1])
        + radix.to_bytes(3, "big")
        + bytes([10, u % 256])
        + n.to_bytes(4, "big")
        + t.to_bytes(4, "big")
    )
    return u, v, b, d, p


def check_domain(radix: int, n: int) -> None:
    """Refuse what FF1 does not define: a radix outside 2..2**16, a domain below 10**6."""
    if not 2 <= radix <= 1 << 16:
        raise ValueError(f"FF1 radix must be in 2..65536, not {radix}")
    if n < 2 or radix**n < MIN_DOMAIN:
        raise ValueError(
            f"FF1 needs radix**length >= {MIN_DOMAIN:,} (radix {radix}, length {n}): "
            "use the keyed table for smaller domains"
        )


# --- FF1, one value at a time (Python integers) -------------------------------------------------


def _num(numerals: Sequence[int], radix: int) -> int:
    x = 0
    for d in numerals:
        x = x * radix + d
    return x


def _str(x: int, radix: int, m: int) -> list[int]:
    out = [0] * m
    for j in range(m - 1, -1, -1):
        x, out[j] = divmod(x, radix)
    return out


def ff1_scalar(
    aes_key: bytes, tweak: bytes, radix: int, numerals: Sequence[int], *, decrypt: bool = False
) -> list[int]:
    """FF1 of one numeral string, as SP 800-38G Algorithms 7 and 8 state it.

    The readable reference the vectorised :class:`FF1` is tested against, and the path of
    numeral strings longer than :data:`VECTOR_MAX`.
    """
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    n = len(numerals)
    check_domain(radix, n)
    t = len(tweak)
    u, v, b, d, p = _ff1_sizes(radix, n, t)
    cbc = Cipher(algorithms.AES(aes_key), modes.CBC(bytes(16)))
    ecb = _ecb(aes_key)
    a, bb = _num(numerals[:u], radix), _num(numerals[u:], radix)
    la, lb = u, v  # lengths of A and B
    for i in range(ROUNDS - 1, -1, -1) if decrypt else range(ROUNDS):
        if decrypt:
            a, bb, la, lb = bb, a, lb, la  # undo the swap: the round's B is the current A
        m = u if i % 2 == 0 else v
        pad = (-t - b - 1) % 16
        q = tweak + bytes(pad) + bytes([i]) + bb.to_bytes(b, "big")
        r = cbc.encryptor().update(p + q)[-16:]
        r_int = int.from_bytes(r, "big")
        s = r + b"".join(
            ecb.update((r_int ^ j).to_bytes(16, "big")) for j in range(1, (d + 15) // 16)
        )
        y = int.from_bytes(s[:d], "big")
        a = (a - y if decrypt else a + y) % radix**m
        if not decrypt:
            a, bb, la, lb = bb, a, lb, la
    return _str(a, radix, la) + _str(bb, radix, lb)


# --- FF1, many values of one length at once ------------------------------------------------------


class FF1:
    """NIST SP 800-38G FF1 over AES for one radix, on a matrix of equal-length numeral strings.

    ``encrypt(x, tweak)``: ``x`` is an ``(values, length)`` integer array of numerals; ``tweak``
    is bytes shared by every value or a ``(values, t)`` uint8 array (one tweak per value).
    """

    def __init__(self, aes_key: bytes, radix: int) -> None:
        if len(aes_key) not in (16, 24, 32):
            raise ValueError("AES keys have 16, 24 or 32 bytes")
        if not 2 <= radix <= 1 << 16:
            raise ValueError(f"FF1 radix must be in 2..65536, not {radix}")
        self.aes_key = aes_key
        self.radix = radix
        self.k = _chunk_digits(radix)
        self.w = radix**self.k
        self._enc = _ecb(aes_key)

    def encrypt(self, x: Any, tweak: Any = b"") -> Any:
        return self._numerals(x, tweak, decrypt=False)

    def decrypt(self, x: Any, tweak: Any = b"") -> Any:
        return self._numerals(x, tweak, decrypt=True)

    # The numeral matrix <-> chunks (uint64 arrays, least significant first).

    def _chunk_bounds(self, m: int) -> list[tuple[int, int]]:
        """Column ranges of an ``m``-numeral string, one per chunk, least significant first."""
        return [(max(0, m - self.k * (j + 1)), m - self.k * j) for j in range(-(-m // self.k))]

    def _to_chunks(self, x: Any) -> list[Any]:
        import numpy as np

        out = []
        for lo, hi in self._chunk_bounds(x.shape[1]):
            acc = x[:, lo].astype(np.uint64)
            for col in range(lo + 1, hi):
                acc *= np.uint64(self.radix)
                acc += x[:, col]
            out.append(acc)
        return out

    def _from_chunks(self, chunks: list[Any], out: Any) -> None:
        import numpy as np

        r = np.uint64(self.radix)
        for chunk, (lo, hi) in zip(chunks, self._chunk_bounds(out.shape[1]), strict=True):
            c = chunk.copy()
            for col in range(hi - 1, lo, -1):
                out[:, col] = c % r
                c //= r
            out[:, lo] = c

    def _numerals(self, x: Any, tweak: Any, *, decrypt: bool) -> Any:
        import numpy as np

        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError("FF1 takes a (values, length) matrix of numerals")
        n = x.shape[1]
        check_domain(self.radix, n)
        if len(x) and int(x.max()) >= self.radix:
            raise ValueError(f"numerals must be below the radix {self.radix}")
        u = n // 2
        a, b = self._to_chunks(x[:, :u]), self._to_chunks(x[:, u:])
        a, b = self.crypt_chunks(a, b, n, tweak, decrypt=decrypt)
        out = np.empty_like(x)
        self._from_chunks(a, out[:, :u])
        self._from_chunks(b, out[:, u:])
        return out

    # The rounds.

    def crypt_chunks(
        self, a: list[Any], b: list[Any], n: int, tweak: Any, *, decrypt: bool = False
    ) -> tuple[list[Any], list[Any]]:
        """FF1 of the strings whose halves A (``n // 2`` numerals) and B are given as chunks."""
        import numpy as np

        rows = len(a[0])
        shared = isinstance(tweak, bytes | bytearray)
        t = len(tweak) if shared else int(tweak.shape[1])
        u, v, nb, d, p = _ff1_sizes(self.radix, n, t)
        pad = (-t - nb - 1) % 16
        qlen = t + pad + 1 + nb
        ipos = qlen - nb - 1  # the byte of the round number; NUM(B) follows it
        first = ipos // 16  # Q's blocks before this one hold only the tweak: MACed once
        y0 = np.frombuffer(self._enc.update(p), np.uint8)
        q = np.zeros((rows, qlen), np.uint8)
        q[:, :t] = np.frombuffer(bytes(tweak), np.uint8) if shared else tweak
        y = np.broadcast_to(y0, (rows, 16))
        for j in range(first):
            y = self._aes(q[:, 16 * j : 16 * j + 16] ^ y)
        single = first == qlen // 16 - 1
        if single:
            # One block per round (the common case): fold the chained value into Q once, so a
            # round writes its number and NUM(B) (XORed with it) and runs one AES call.
            qx = q[:, 16 * first :] ^ y
            yi, yb = qx[:, ipos - 16 * first].copy(), qx[:, 16 - nb :].copy()
        la, lb = u, v
        for i in range(ROUNDS - 1, -1, -1) if decrypt else range(ROUNDS):
            if decrypt:
                a, b, la, lb = b, a, lb, la
            m = u if i % 2 == 0 else v
            num_b = self._num_bytes(b, nb)
            if single:
                qx[:, ipos - 16 * first] = yi ^ np.uint8(i)
                qx[:, 16 - nb :] = yb ^ num_b
                r = self._aes(qx)
            else:
                q[:, ipos] = i
                q[:, qlen - nb :] = num_b
                r = y
                for j in range(first, qlen // 16):
                    r = self._aes(q[:, 16 * j : 16 * j + 16] ^ r)
            ys = self._mod_chunks(r, d, m)
            a = self._sub(a, ys, m) if decrypt else self._add(a, ys, m)
            if not decrypt:
                a, b, la, lb = b, a, lb, la
        return a, b

    def _aes(self, blocks: Any) -> Any:
        import numpy as np

        blocks = np.ascontiguousarray(blocks)
        out = np.empty(blocks.size + 15, np.uint8)
        self._enc.update_into(blocks, out)
        return out[: blocks.size].reshape(-1, 16)

    def _num_bytes(self, chunks: list[Any], nb: int) -> Any:
        """NUM_radix of the string as ``nb`` big-endian bytes per value."""
        import numpy as np

        rows = len(chunks[0])
        if len(chunks) == 1 and nb <= 8:
            return chunks[0].astype(">u8").view(np.uint8).reshape(rows, 8)[:, 8 - nb :]
        limbs = [np.zeros(rows, np.uint64) for _ in range(-(-nb // 4))]
        w, mask = np.uint64(self.w), np.uint64(_MASK32)
        for chunk in reversed(chunks):  # Horner: limbs = limbs * W + chunk, 32 bits a limb
            carry = chunk.copy()
            for limb in limbs:
                limb *= w
                limb += carry
                np.right_shift(limb, np.uint64(32), out=carry)
                limb &= mask
        words = np.stack(limbs[::-1], axis=1).astype(">u4").view(np.uint8)
        return words.reshape(rows, -1)[:, 4 * len(limbs) - nb :]

    def _mod_chunks(self, r: Any, d: int, m: int) -> list[Any]:
        """The chunks of NUM(S) mod radix**m, S the first ``d`` bytes of R || CIPH(R ^ [j]) ..."""
        import numpy as np

        blocks = [r]
        for j in range(1, -(-d // 16)):
            blocks.append(self._aes(r ^ np.frombuffer(j.to_bytes(16, "big"), np.uint8)))
        s = np.concatenate(blocks, axis=1)[:, :d] if len(blocks) > 1 else r[:, :d]
        bounds = self._chunk_bounds(m)
        out = []
        if d == 8:
            y = r.view(">u8")[:, 0].astype(np.uint64)
            for lo, hi in bounds:
                base = np.uint64(self.radix ** (hi - lo))
                out.append(y % base)
                y //= base
            return out
        words = np.ascontiguousarray(s).view(">u4").astype(np.uint64)
        limbs = [words[:, c] for c in range(words.shape[1])]  # most significant first
        for lo, hi in bounds:
            base = np.uint64(self.radix ** (hi - lo))
            rem = np.zeros(len(r), np.uint64)
            for limb in limbs:  # short division of the limbs by base (< 2**32): fits 64 bits
                cur = (rem << np.uint64(32)) | limb
                np.floor_divide(cur, base, out=limb)
                rem = cur - limb * base
            out.append(rem)
        return out

    def _add(self, a: list[Any], y: list[Any], m: int) -> list[Any]:
        import numpy as np

        out, carry = [], None
        for (lo, hi), x, z in zip(self._chunk_bounds(m), a, y, strict=True):
            base = np.uint64(self.radix ** (hi - lo))
            s = x + z if carry is None else x + z + carry
            over = s >= base
            np.subtract(s, base, out=s, where=over)
            out.append(s)
            carry = over.astype(np.uint64) if len(out) < len(a) else None
        return out

    def _sub(self, a: list[Any], y: list[Any], m: int) -> list[Any]:
        import numpy as np

        out, borrow = [], None
        for (lo, hi), x, z in zip(self._chunk_bounds(m), a, y, strict=True):
            base = np.uint64(self.radix ** (hi - lo))
            s = x + base - z if borrow is None else x + base - z - borrow
            borrow = (s < base).astype(np.uint64)
            s -= (np.uint64(1) - borrow) * base
            out.append(s)
        return out


# --- small domains: a keyed table ----------------------------------------------------------------


@lru_cache(maxsize=32)
def _table(key: bytes, domain: str, label: bytes, size: int) -> Any:
    """A keyed, uniformly random permutation of ``[0, size)`` (``size`` below FF1's minimum).

    Every element gets 64 bits of AES under its own key (block: label, element), and the table is
    the order of those values; a tie (probability about size**2 / 2**65) is broken by position.
    """
    import numpy as np

    if size > 1 << 21:
        raise ValueError("keyed tables are for domains below FF1's minimum")
    blocks = np.zeros((size, 16), np.uint8)
    blocks[:, :8] = np.frombuffer(label.ljust(8, b"\x00")[:8], np.uint8)
    blocks[:, 8:] = np.arange(size, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    enc = _ecb(subkey(key, "table", domain))
    out = np.frombuffer(enc.update(blocks.tobytes()), ">u8").reshape(size, 2)[:, 0]
    return np.argsort(out, kind="stable").astype(np.uint32)


def _table_numerals(x: Any, radix: int, key: bytes, domain: str) -> Any:
    """Numeral strings of one length, radix**length < 10**6, through the keyed table."""
    import numpy as np

    n = x.shape[1]
    size = radix**n
    value = np.zeros(len(x), np.int64)
    for col in range(n):
        value = value * radix + x[:, col]
    value = _table(key, domain, b"s" + bytes([radix, n]), size)[value].astype(np.int64)
    out = np.empty_like(x)
    for col in range(n - 1, -1, -1):
        value, out[:, col] = np.divmod(value, radix)
    return out


# --- integers ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _intervals() -> tuple[Any, Any]:
    import numpy as np

    bounds = {0, 1} | {10**k for k in range(1, 20)} | {2**8, 2**16, 2**32}
    bounds |= {2**k for k in (7, 15, 31, 63)} | {2**k + 1 for k in (7, 15, 31, 63)}
    ordered = sorted(bounds)
    sizes = [hi - lo for lo, hi in zip(ordered, [*ordered[1:], 2**64], strict=True)]
    return np.array(ordered, dtype=np.uint64), np.array(sizes, dtype=np.uint64)


_TABLE_BITS = 20
"""Intervals below 2**20 values take the keyed table; FF1 radix 2 needs 2**20 >= 10**6."""


def _permute_offsets(x: Any, size: int, tweak: bytes, key: bytes, domain: str) -> Any:
    """A keyed bijection of ``[0, size)`` applied to ``x`` (uint64): FF1 on the bits, walked."""
    import numpy as np

    if size <= 1:
        return x
    if size < 1 << _TABLE_BITS:
        return _table(key, domain, b"i" + tweak, size)[x].astype(np.uint64)
    bits = (size - 1).bit_length()
    v = bits - bits // 2  # B's bits; A holds the rest (both at most 32: one chunk each)
    ff1 = FF1(subkey(key, "ff1", domain), 2)
    low = np.uint64((1 << v) - 1)
    y = x.copy()
    todo = np.arange(len(y))
    while len(todo):
        # Cycle-walking: a value that leaves [0, size) is encrypted again until it lands in it.
        cur = y[todo]
        a, b = ff1.crypt_chunks([cur >> np.uint64(v)], [cur & low], bits, tweak)
        cur = (a[0] << np.uint64(v)) | b[0]
        y[todo] = cur
        todo = todo[cur >= np.uint64(size)]
    return y


def permute_int(values: Any, key: bytes, domain: str) -> Any:
    """A keyed bijection of integers that keeps the dtype, the sign and the magnitude interval.

    ``values`` is a numpy integer array (no nulls); 0 maps to 0, the type limits to themselves.
    """
    import numpy as np

    bounds, sizes = _intervals()
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
    y = mag - lo
    group = idx * 2 + neg
    for g in np.flatnonzero(np.bincount(group, minlength=1)):
        rows = np.flatnonzero(group == g)
        i, sign = divmod(int(g), 2)
        y[rows] = _permute_offsets(y[rows], int(sizes[i]), bytes([i, sign]), key, "int/" + domain)
    y += lo
    if dtype.kind == "i":
        y = np.where(neg, np.uint64(0) - y, y).view(np.int64)
    return y.astype(dtype)


# --- strings -------------------------------------------------------------------------------------


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
    def offsets(self) -> Any:
        """Byte offsets of the rows in ``data`` (``len(count) + 1`` of them)."""
        import numpy as np

        n = len(self.count)
        return np.frombuffer(self.array.buffers()[1], dtype=np.int64)[
            self.array.offset : self.array.offset + n + 1
        ]

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
        """Encrypt the numerals of ranks ``[start[r], stop[r])`` of every row, in place.

        The digits of that range are one FF1 numeral string (radix 10) and its letters another
        (radix 26, case kept); see the module docstring for the tweaks that tie them together.
        Rows go in blocks of :data:`_CHUNK`; within a block, one FF1 call per class and length.
        """
        for lo in range(0, len(self.count), _CHUNK):
            hi = min(lo + _CHUNK, len(self.count))
            self._encrypt_block(lo, hi, start[lo:hi], stop[lo:hi], bytes(key), domain)

    def _encrypt_block(
        self, lo: int, hi: int, start: Any, stop: Any, key: bytes, domain: str
    ) -> None:
        import numpy as np

        count = self.count[lo:hi]
        f0 = int(self.first[lo])
        f1 = int(self.first[hi - 1] + count[-1])
        if f1 == f0 or self._encrypt_uniform(lo, hi, start, stop, key, domain):
            return
        vals, radix = self.vals[f0:f1], self.radix[f0:f1]  # views: writes land in self.vals
        row = np.repeat(np.arange(hi - lo), count)
        rank = np.arange(f1 - f0) - (self.first[lo:hi] - f0)[row]
        in_range = (rank >= start[row]) & (rank < stop[row])
        offsets = self.offsets[lo : hi + 1] - self.start
        b0 = int(offsets[0])
        text = self.data[self.start + b0 : self.start + int(offsets[-1])].copy()
        where = np.flatnonzero(self.numeral[b0 : int(offsets[-1])])
        aes_key = subkey(key, "ff1", "str/" + domain)
        for cls_radix, marker in ((10, 0xFD), (26, 0xFE)):
            sel = in_range & (radix == cls_radix)
            if not sel.any():
                continue
            text[where] = self.base[f0:f1] + vals  # the value as it stands (digits done first)
            text[where[sel]] = marker + (self.base[f0:f1][sel] == ord("a"))  # case stays visible
            tweaks = _row_digests(text, offsets - b0)
            per_row = np.bincount(row[sel], minlength=hi - lo)
            flat = np.flatnonzero(sel)
            row_first = np.cumsum(per_row) - per_row
            for n in np.unique(per_row):
                if n == 0:
                    continue
                rows = np.flatnonzero(per_row == n)
                idx = flat[row_first[rows][:, None] + np.arange(n)]
                vals[idx] = _crypt_class(vals[idx], cls_radix, tweaks[rows], aes_key, key, domain)

    def _encrypt_uniform(
        self, lo: int, hi: int, start: Any, stop: Any, key: bytes, domain: str
    ) -> bool:
        """:meth:`_encrypt_block` for a block whose rows share one pattern, on matrices.

        A fixed-format column (phones, ids, cards) is a ``(rows, numerals)`` view of ``vals`` and
        a ``(rows, bytes)`` view of the text, so no per-numeral index is built; the tweaks are
        the same digests as the general path's, summed column by column. False when the rows
        differ in length, numeral layout, character classes or range.
        """
        import numpy as np

        rows = hi - lo
        count = self.count[lo:hi]
        offsets = self.offsets[lo : hi + 1] - self.start
        width = int(offsets[1] - offsets[0])
        cnt = int(count[0])
        if not (
            (count == cnt).all()
            and (np.diff(offsets) == width).all()
            and (start == start[0]).all()
            and (stop == stop[0]).all()
        ):
            return False
        b0, f0 = int(offsets[0]), int(self.first[lo])
        layout = self.numeral[b0 : b0 + rows * width].reshape(rows, width)
        base = self.base[f0 : f0 + rows * cnt].reshape(rows, cnt)
        if not ((layout == layout[0]).all() and (base == base[0]).all()):
            return False
        text = self.data[self.start + b0 : self.start + b0 + rows * width].reshape(rows, width)
        vals = self.vals[f0 : f0 + rows * cnt].reshape(rows, cnt)
        base0 = base[0].astype(np.uint64)
        col = np.flatnonzero(layout[0])  # byte column of each numeral rank
        weight = _powers(1 << max(width, 1).bit_length())[:width]
        in_range = (np.arange(cnt) >= start[0]) & (np.arange(cnt) < stop[0])
        aes_key = subkey(key, "ff1", "str/" + domain)
        with np.errstate(over="ignore"):
            # The digest's terms of the bytes that are not digits or letters (separators).
            other = np.ones(width, bool)
            other[col] = False
            separators = np.zeros(rows, np.uint64)
            for j in np.flatnonzero(other):
                separators += (text[:, j].astype(np.uint64) + np.uint64(1)) * weight[j]
            for cls_radix, marker in ((10, 0xFD), (26, 0xFE)):
                masked = in_range & ((base0 == ord("0")) == (cls_radix == 10))
                ranks = np.flatnonzero(masked)
                if not len(ranks):
                    continue
                h = separators.copy()
                for r in range(cnt):
                    if masked[r]:
                        mark = marker + (cls_radix == 26 and base0[r] == ord("a"))
                        h += np.uint64(mark + 1) * weight[col[r]]
                    else:
                        h += (vals[:, r] + base0[r] + np.uint64(1)) * weight[col[r]]
                tweaks = _digest_finish(h, np.full(rows, width, np.uint64))
                sub = vals[:, ranks]
                vals[:, ranks] = _crypt_class(sub, cls_radix, tweaks, aes_key, key, domain)
        return True


def _crypt_class(x: Any, radix: int, tweaks: Any, aes_key: bytes, key: bytes, domain: str) -> Any:
    """FF1 (or the keyed table, below FF1's minimum) of equal-length numeral strings."""
    n = x.shape[1]
    if radix**n < MIN_DOMAIN:
        return _table_numerals(x, radix, key, "str/" + domain)
    if n <= VECTOR_MAX and len(x) >= max(8, n // 2):
        return FF1(aes_key, radix).encrypt(x, tweaks)
    import numpy as np

    out = np.empty_like(x)
    for r in range(len(x)):  # long strings, small groups: one value at a time (module docstring)
        out[r] = ff1_scalar(aes_key, tweaks[r].tobytes(), radix, x[r].tolist())
    return out


@lru_cache(maxsize=4)
def _powers(n: int) -> Any:
    import numpy as np

    # Wrapping uint64 products of an odd constant: the weights of a polynomial digest.
    out = np.full(n, 0x9E3779B97F4A7C15, np.uint64)
    with np.errstate(over="ignore"):
        return np.cumprod(out, dtype=np.uint64)


def _row_digests(text: Any, offsets: Any) -> Any:
    """An 8-byte digest of each row's bytes, as ``(rows, 8)`` uint8: the rows' FF1 tweaks.

    A polynomial over the bytes modulo 2**64 and a SplitMix64 finaliser. Not a cryptographic
    hash, and it need not be: an FF1 tweak is public, and two rows whose digests collide only
    share a permutation (it stays a bijection, since decryption recomputes the same tweak).
    """
    import numpy as np

    lengths = np.diff(offsets)
    size = 1 << max(int(lengths.max()) if len(lengths) else 1, 1).bit_length()
    rel = np.arange(len(text)) - np.repeat(offsets[:-1], lengths)
    with np.errstate(over="ignore"):
        terms = (text.astype(np.uint64) + np.uint64(1)) * _powers(size)[rel]
        sums = np.zeros(len(text) + 1, np.uint64)
        np.cumsum(terms, dtype=np.uint64, out=sums[1:])
        h = sums[offsets[1:]] - sums[offsets[:-1]]
    return _digest_finish(h, lengths.astype(np.uint64))


def _digest_finish(h: Any, lengths: Any) -> Any:
    """The length and a SplitMix64 finaliser over polynomial sums: ``(rows, 8)`` tweak bytes."""
    import numpy as np

    with np.errstate(over="ignore"):
        h = h ^ (lengths * np.uint64(0xBF58476D1CE4E5B9))
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            h ^= h >> np.uint64(shift)
            h *= np.uint64(mult)
        h ^= h >> np.uint64(31)
    return h.astype(">u8").view(np.uint8).reshape(-1, 8)


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
