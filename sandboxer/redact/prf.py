"""The keyed primitive every redaction strategy builds on: stable pseudorandom words per value.

Construction: ``SHA-256(hex(key) ":" domain ":" text(value))``, computed vectorised by DuckDB.
The key is a secret prefix of fixed length, so this is a keyed PRF in the classic "secret prefix"
form; its only generic weakness (length extension) does not apply because callers only ever see
truncated digests. Why not polars ``hash()`` or DuckDB ``hash()``: both are unkeyed and their
algorithms are allowed to change between releases, which would silently break joins between
snapshots built with different versions. SHA-256 and decimal/ISO text are stable forever.

Canonical text (:func:`canonical_text`) makes equal values of different types map alike: an
``Int32`` primary key and its ``Int64`` foreign key are both decimal text, dates are ISO
``YYYY-MM-DD``, strings are taken byte for byte (no case folding: joins are exact, so pseudonyms
are exact too). The domain separates uses (``fake/email``, ``hash/username`` ...), so the same
value as an email and as a username gets unrelated outputs.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import polars as pl

THREADS: int | None = None
"""DuckDB threads for keyed hashing (None: DuckDB's default). Benchmarks set 1."""

MIN_KEY_BYTES = 16


def check_key(key: bytes) -> None:
    """Refuse keys too short to be secret (a short key can be brute-forced from outputs)."""
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        from sandboxer.errors import SandboxerError

        raise SandboxerError(
            f"The redaction key must be at least {MIN_KEY_BYTES} bytes",
            hint="Generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`.",
        )


def canonical_text(series: pl.Series) -> pl.Series:
    """The series as text in the form keyed hashing uses: stable across types and versions."""
    import polars as pl

    dtype = series.dtype
    if dtype == pl.String:
        return series
    if dtype == pl.Binary:
        return series.bin.encode("hex")
    if dtype.is_nested():
        from sandboxer.errors import SandboxerError

        raise SandboxerError(f"Cannot pseudonymise a column of type {dtype}: not a scalar type")
    if dtype == pl.Datetime:
        # Naive ISO with microseconds whatever the time unit, so ms and us columns agree.
        return series.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
    if dtype == pl.Duration:
        return series.dt.total_nanoseconds().cast(pl.String)
    return series.cast(pl.String)


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    config: dict[str, Any] = {"enable_external_access": False}
    if THREADS is not None:
        config["threads"] = THREADS
    return duckdb.connect(config=config)


DISTINCT_PROBE = 8192
"""Values looked at to guess whether a column repeats enough to hash each distinct value once."""
DISTINCT_MAX_SHARE = 0.5
"""Hash distinct values, then join back, when the probe holds at most this share of distinct."""


def keyed_frame(
    series: pl.Series, key: bytes, domain: str, *, words: int = 1, hex_chars: int = 0
) -> pl.DataFrame:
    """Keyed pseudorandom outputs of each value, from one SHA-256 per value.

    Returns columns ``w0 .. w{words-1}`` (UInt64, up to 3 words from the first 192 bits) and,
    if ``hex_chars`` (<= 16), ``hex``: lowercase hex from the last 64 bits. Nulls stay null.
    """
    check_key(key)
    if ":" in domain:
        raise ValueError("keyed domains must not contain ':' (it separates the hashed fields)")
    if not 0 <= words <= 3 or not 0 <= hex_chars <= 16:
        raise ValueError("words must be in 0..3 and hex_chars in 0..16")
    return _per_distinct(
        canonical_text(series), lambda text: _digest_frame(text, key, domain, words, hex_chars)
    )


def _per_distinct(text: pl.Series, digest: Any) -> pl.DataFrame:
    """``digest(text)``, computed once per distinct value when the column repeats a lot.

    SHA-256 dominates the cost, so a column of a few thousand statuses or cities among millions
    of rows is hashed per distinct value and joined back (same outputs, row for row).
    """
    import polars as pl

    n = len(text)
    if n < 4 * DISTINCT_PROBE or text.head(DISTINCT_PROBE).n_unique() > (
        DISTINCT_MAX_SHARE * DISTINCT_PROBE
    ):
        return digest(text)
    distinct = text.unique().drop_nulls()
    if len(distinct) > DISTINCT_MAX_SHARE * n:
        return digest(text)
    table = digest(distinct).with_columns(distinct.alias("_v"))
    return (
        pl.DataFrame({"_v": text})
        .join(table, on="_v", how="left", maintain_order="left")
        .drop("_v")
    )


def _digest_frame(
    text: pl.Series, key: bytes, domain: str, words: int, hex_chars: int
) -> pl.DataFrame:
    """The words and hex suffix of ``text``'s digests, parsed from DuckDB's hex text in numpy.

    DuckDB hands back 64 hex characters per value. Every non-null digest has exactly that length,
    so each Arrow data buffer is one run of hex text: it is decoded in one C call
    (``binascii.a2b_hex``) and reshaped to an ``(n, 32)`` byte matrix, instead of a string kernel
    per slice and per word.
    """
    import binascii

    import numpy as np
    import polars as pl
    import pyarrow as pa

    chunks = _sha256_arrow(text, key, domain, 64).chunks
    n = sum(len(c) for c in chunks)
    valid = np.ones(n, bool)
    at = 0
    for c in chunks:
        if c.null_count:
            valid[at : at + len(c)] = c.is_valid().to_numpy(zero_copy_only=False)
        at += len(c)
    ascii_hex = [_fixed_width(c, 64) for c in chunks]
    mask = None if valid.all() else ~valid
    columns: list[pl.Series] = []
    if words:
        raw = b"".join(binascii.a2b_hex(m.data) for m in ascii_hex if m.size)
        digests = np.frombuffer(raw, np.uint8).reshape(-1, 32)
        values = np.ascontiguousarray(digests[:, : 8 * words]).view(">u8").astype(np.uint64)
        for i in range(words):
            full = values[:, i]
            if mask is not None:
                full = np.zeros(n, np.uint64)
                full[valid] = values[:, i]
            columns.append(pl.Series(f"w{i}", pa.array(full, mask=mask), dtype=pl.UInt64))
    if hex_chars:
        body = np.concatenate([m[:, 48 : 48 + hex_chars] for m in ascii_hex] or [[]], axis=None)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(valid * hex_chars, out=offsets[1:])
        array = pa.Array.from_buffers(
            pa.large_string(),
            n,
            [
                None if mask is None else pa.array(valid).buffers()[1],
                pa.py_buffer(offsets),
                pa.py_buffer(body.astype(np.uint8)),
            ],
            null_count=n - int(valid.sum()),
        )
        columns.append(pl.Series("hex", array, dtype=pl.String))
    return pl.DataFrame(columns, height=n)


def _fixed_width(chunk: Any, width: int) -> Any:
    """The non-null values of a string Arrow array whose values all have ``width`` bytes."""
    import numpy as np
    import pyarrow as pa

    if chunk.type not in (pa.string(), pa.large_string()):
        chunk = chunk.cast(pa.large_string())
    offsets_type = np.int64 if chunk.type == pa.large_string() else np.int32
    offsets = np.frombuffer(chunk.buffers()[1], offsets_type)[
        chunk.offset : chunk.offset + len(chunk) + 1
    ]
    data = chunk.buffers()[2]
    body = (
        np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]] if data else np.zeros(0, np.uint8)
    )
    rows = len(chunk) - chunk.null_count
    if len(body) != rows * width:
        raise RuntimeError("DuckDB returned SHA-256 digests of unexpected lengths")
    return body.reshape(rows, width)


def _sha256_arrow(series: pl.Series, key: bytes, domain: str, length: int) -> Any:
    """``left(sha256(prefix || text), length)`` per value, as an Arrow chunked array."""
    import polars as pl

    digest = (
        "sha256($prefix || v)" if length == 64 else f"left(sha256($prefix || v), {int(length)})"
    )
    con = _hashing_connection()
    con.register("src", pl.DataFrame({"v": canonical_text(series)}).to_arrow())
    try:
        table = con.sql(
            f"SELECT {digest} AS h FROM src",
            params={"prefix": f"{bytes(key).hex()}:{domain}:"},
        ).to_arrow_table()
    finally:
        con.unregister("src")
    return table.column(0)


_LOCAL = threading.local()


def _hashing_connection() -> duckdb.DuckDBPyConnection:
    """One in-memory connection per thread (and process), reused: connecting costs ~10 ms.

    It holds no table between calls (``src`` is unregistered after each query). A connection
    inherited through ``fork`` is left alone: DuckDB's threads do not survive it.
    """
    state = (os.getpid(), THREADS)
    previous = getattr(_LOCAL, "state", None)
    if previous != state:
        if previous is not None and previous[0] == state[0]:
            _LOCAL.con.close()  # THREADS changed
        _LOCAL.con = _connect()
        _LOCAL.state = state
    con: duckdb.DuckDBPyConnection = _LOCAL.con
    return con


def _sha256_hex(series: pl.Series, key: bytes, domain: str, length: int) -> pl.Series:
    import polars as pl

    out = pl.from_arrow(_sha256_arrow(series, key, domain, length))
    assert isinstance(out, pl.Series)
    return out.cast(pl.String).alias("h")


def keyed_u64(series: pl.Series, key: bytes, domain: str) -> pl.Series:
    """A keyed, stable UInt64 per value (nulls stay null), named like ``series``."""
    return keyed_frame(series, key, domain)["w0"].alias(series.name)


def keyed_hex(series: pl.Series, key: bytes, domain: str, length: int = 16) -> pl.Series:
    """A keyed, stable lowercase hex digest per value, ``length`` <= 64 chars (nulls stay null)."""
    import polars as pl

    check_key(key)
    if ":" in domain or not 1 <= length <= 64:
        raise ValueError("keyed domains must not contain ':'; length must be in 1..64")
    digests = _per_distinct(
        canonical_text(series), lambda text: pl.DataFrame([_sha256_hex(text, key, domain, length)])
    )
    return digests["h"].alias(series.name)
