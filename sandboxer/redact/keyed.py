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

import hashlib
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


def key_fingerprint(key: bytes) -> str:
    """A short public fingerprint of the key, safe for manifests (never the key itself)."""
    return hashlib.sha256(b"sandboxer-key-fingerprint\0" + bytes(key)).hexdigest()[:16]


def subkey(key: bytes, label: str) -> bytes:
    """A 32-byte key derived from ``key`` for one purpose (e.g. FPE round keys of a domain)."""
    return hashlib.sha256(b"sandboxer-subkey\0" + bytes(key) + b"\0" + label.encode()).digest()


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
    return series.cast(pl.String)


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    config: dict[str, Any] = {"enable_external_access": False}
    if THREADS is not None:
        config["threads"] = THREADS
    return duckdb.connect(config=config)


def keyed_frame(
    series: pl.Series, key: bytes, domain: str, *, words: int = 1, hex_chars: int = 0
) -> pl.DataFrame:
    """Keyed pseudorandom outputs of each value, from one SHA-256 per value.

    Returns columns ``w0 .. w{words-1}`` (UInt64, up to 3 words from the first 192 bits) and,
    if ``hex_chars`` (<= 16), ``hex``: lowercase hex from the last 64 bits. Nulls stay null.
    """
    import polars as pl

    check_key(key)
    if ":" in domain:
        raise ValueError("keyed domains must not contain ':' (it separates the hashed fields)")
    if not 0 <= words <= 3 or not 0 <= hex_chars <= 16:
        raise ValueError("words must be in 0..3 and hex_chars in 0..16")
    digests = _sha256_hex(series, key, domain, 64)
    columns = [
        digests.str.slice(16 * i, 16).str.to_integer(base=16, dtype=pl.UInt64).alias(f"w{i}")
        for i in range(words)
    ]
    if hex_chars:
        columns.append(digests.str.slice(48, hex_chars).alias("hex"))
    return pl.DataFrame(columns)


def _sha256_hex(series: pl.Series, key: bytes, domain: str, length: int) -> pl.Series:
    import polars as pl

    con = _connect()
    try:
        con.register("src", pl.DataFrame({"v": canonical_text(series)}).to_arrow())
        table = con.sql(
            f"SELECT left(sha256($prefix || v), {int(length)}) AS h FROM src",
            params={"prefix": f"{bytes(key).hex()}:{domain}:"},
        ).to_arrow_table()
    finally:
        con.close()
    out = pl.from_arrow(table)
    assert isinstance(out, pl.DataFrame)
    return out["h"]


def keyed_u64(series: pl.Series, key: bytes, domain: str) -> pl.Series:
    """A keyed, stable UInt64 per value (nulls stay null), named like ``series``."""
    return keyed_frame(series, key, domain)["w0"].alias(series.name)


def keyed_hex(series: pl.Series, key: bytes, domain: str, length: int = 16) -> pl.Series:
    """A keyed, stable lowercase hex digest per value, ``length`` <= 64 chars (nulls stay null)."""
    check_key(key)
    if ":" in domain or not 1 <= length <= 64:
        raise ValueError("keyed domains must not contain ':'; length must be in 1..64")
    return _sha256_hex(series, key, domain, length).alias(series.name)
